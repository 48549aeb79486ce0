// cors-lab engines, Chromium only: how Playwright runs page.js. page.evaluate takes a function, while
// page.js is a WebDriver asynchronous script BODY (arguments = [command, payload, done]); this wrapper
// gives it those arguments and turns done into the promise page.evaluate awaits.
// cors_lab.engines.chromium puts page.js's text where the PAGE_JS comment stands (nothing else changes).
(([command, payload]) => new Promise((done) => (function () {
/* PAGE_JS */
}).call(window, command, payload, done)))
