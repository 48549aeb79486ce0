// cors-lab engines: the page side every engine runs (Chromium via Playwright, Firefox via Marionette,
// WebKitGTK via WebKitWebDriver). Owns: making trial.js callable in a lab page or in an opaque-origin
// sandboxed srcdoc frame, asking it for one trial, and evaluating a function with one argument (as
// Playwright's page.evaluate does). Must not: decide anything, or wait without a timeout.
//
// Executed as an asynchronous WebDriver script BODY (not a function): arguments = [command, payload,
// done], where done is the driver's callback (playwright.js calls it the same way). Every command calls
// done exactly once with a JSON value; failures come back as {error: "..."}, never as a thrown exception.
//
//   ["inject",       {source}]                    trial.js into the top document (unless already there)
//   ["open-sandbox", {source, waitMs}]            a <iframe sandbox="allow-scripts" srcdoc> running trial.js
//   ["trial",        {spec, opaque, waitMs, source?}]   one trial, in the page or in the sandboxed frame;
//                                                 with source, trial.js is injected first (one round trip)
//   ["evaluate",     {fn, arg}]                   (fn)(arg) in the page; -> {value}
//   ["webgl-renderer", {}]                        -> {value: the WebGL renderer string, or null: no WebGL}
//
// Any payload may carry {url}: the top document first takes that (same-origin) URL with
// history.replaceState, without loading anything (the Referer's source is the document's URL).
//
// `window`, not globalThis: Marionette runs scripts without a sandbox in a scope whose globalThis is not
// the page's, while `window` is the page's own window in both drivers.
const [command, payload, done] = arguments;
const win = window;
const fail = (e) => done({ error: `${(e && e.name) || "Error"}: ${(e && e.message) || e}` });

function frameNamed() {
  return win.document.getElementById("cors-lab-sandbox");
}

function ensureTrial(source) {
  // An indirect eval in the page's realm defines corsLabTrial on the page's own global. A page that
  // loaded trial.js itself (the lab's /probe page, whose CSP forbids eval) already has it.
  if (typeof win.corsLabTrial !== "function") win.eval(source);
}

function inject({ source }) {
  ensureTrial(source);
  done({ origin: String(win.origin) });
}

function openSandbox({ source, waitMs }) {
  const old = frameNamed();
  if (old) old.remove();
  const frame = win.document.createElement("iframe");
  frame.id = "cors-lab-sandbox";
  frame.setAttribute("sandbox", "allow-scripts");
  const timer = setTimeout(() => {
    win.removeEventListener("message", onReady);
    done({ error: `the sandboxed frame did not start within ${waitMs} ms` });
  }, waitMs);
  function onReady(event) {
    if (event.source === frame.contentWindow && event.data && event.data.type === "cors-lab-ready") {
      clearTimeout(timer);
      win.removeEventListener("message", onReady);
      done({ origin: String(event.origin) });
    }
  }
  win.addEventListener("message", onReady);
  // trial.js's one responder answers this page's origin only (when it has one: about:blank's is opaque
  // too) and announces itself with cors-lab-ready.
  const parentOrigin = /^https?:$/.test(win.location.protocol) ? win.location.origin : null;
  const script = source.replace(/<\/script/gi, "<\\/script");
  frame.srcdoc = "<!doctype html><meta charset=utf-8><title>cors-lab sandbox</title><script>" + script +
    `\ncorsLabServe({ parentOrigin: ${JSON.stringify(parentOrigin)} });</` + "script>";
  (win.document.body || win.document.documentElement).appendChild(frame);
}

function askSandbox({ spec, waitMs }) {
  const frame = frameNamed();
  if (!frame) return done({ error: "no sandboxed frame: open-sandbox first" });
  const id = Math.random().toString(36).slice(2);
  const timer = setTimeout(() => {
    win.removeEventListener("message", onResult);
    done({ error: `no answer from the sandboxed frame after ${waitMs} ms` });
  }, waitMs);
  function onResult(event) {
    if (event.source === frame.contentWindow && event.data && event.data.type === "cors-lab-result" &&
        event.data.id === id) {
      clearTimeout(timer);
      win.removeEventListener("message", onResult);
      done(event.data.result);
    }
  }
  win.addEventListener("message", onResult);
  frame.contentWindow.postMessage({ type: "cors-lab-trial", id, spec }, "*");
}

function trial({ spec, opaque, waitMs, source }) {
  if (opaque) return askSandbox({ spec, waitMs });
  if (source) ensureTrial(source);
  if (typeof win.corsLabTrial !== "function") return done({ error: "trial.js is not in this page: inject first" });
  win.corsLabTrial(spec).then(done, fail);
}

function evaluate({ fn, arg }) {
  const f = win.eval("(" + fn + ")");
  Promise.resolve()
    .then(() => f(arg))
    .then((value) => done({ value: value === undefined ? null : value }), fail);
}

function webglRenderer() {
  const gl = win.document.createElement("canvas").getContext("webgl");
  if (!gl) return done({ value: null });
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  done({ value: info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER) });
}

const COMMANDS = { inject, "open-sandbox": openSandbox, trial, evaluate, "webgl-renderer": webglRenderer };
try {
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, command)) throw new TypeError(`unknown command ${command}`);
  if (payload && payload.url) win.history.replaceState(null, "", payload.url);
  COMMANDS[command](payload || {});
} catch (e) {
  fail(e);
}
