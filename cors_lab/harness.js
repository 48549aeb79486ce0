// cors-lab harness page helpers: what cors_lab.harness (Playwright) runs in the top page it drives.
// Owns: the sandboxed srcdoc iframe (an opaque origin) that runs trial.js and starts trial.js's own
// responder (corsLabServe), asking that frame for one trial, running a whole page in such a frame (the
// JavaScript exercise), and reading the WebGL renderer string.
// Must not: run a trial itself (trial.js does), or wait without a timeout.
//
// One expression, an object of functions: cors_lab.harness evaluates `(<this file>).openSandbox` etc.,
// and Playwright calls the function with its argument, in any document (an image, a 404 page, about:blank).
({
  // Create the sandboxed frame holding trial.js (source: its text, "</script" escaped) and wait until
  // its responder announces itself. Resolves to the frame's origin as the page sees it ("null").
  openSandbox: async ([source, waitMs]) => {
    const old = document.getElementById("cors-lab-sandbox");
    if (old) old.remove();
    const frame = document.createElement("iframe");
    frame.id = "cors-lab-sandbox";
    frame.setAttribute("sandbox", "allow-scripts");
    const ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the sandboxed frame did not start")), waitMs);
      addEventListener("message", function onReady(event) {
        if (event.source === frame.contentWindow && event.data && event.data.type === "cors-lab-ready") {
          clearTimeout(timer);
          removeEventListener("message", onReady);
          resolve(event.origin);
        }
      });
    });
    // The frame answers this page's origin only (when it has one: about:blank's is opaque too).
    const parentOrigin = /^https?:$/.test(location.protocol) ? location.origin : null;
    frame.srcdoc = "<!doctype html><meta charset=utf-8><title>cors-lab sandbox</title><script>" + source +
      `\ncorsLabServe({ parentOrigin: ${JSON.stringify(parentOrigin)} });</` + "script>";
    (document.body || document.documentElement).appendChild(frame);
    return await ready;
  },

  // Ask the sandboxed frame to run one trial and wait for its answer (an error object after waitMs).
  askSandbox: ([spec, waitMs]) => new Promise((resolve) => {
    const frame = document.getElementById("cors-lab-sandbox");
    const id = Math.random().toString(36).slice(2);
    const timer = setTimeout(() => {
      removeEventListener("message", onResult);
      resolve({ error: "no answer from the sandboxed frame after " + waitMs + " ms" });
    }, waitMs);
    function onResult(event) {
      if (event.source === frame.contentWindow && event.data && event.data.type === "cors-lab-result" &&
          event.data.id === id) {
        clearTimeout(timer);
        removeEventListener("message", onResult);
        resolve(event.data.result);
      }
    }
    addEventListener("message", onResult);
    frame.contentWindow.postMessage({ type: "cors-lab-trial", id, spec }, "*");
  }),

  // Run a whole page (srcdoc: a learner's exercise, cors_lab/jscheck.html) in a sandboxed frame and wait
  // for its one {type: "cors-lab-script-result"} message (an error object after waitMs); the frame goes.
  runScriptFrame: ([srcdoc, waitMs]) => new Promise((resolve) => {
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "allow-scripts");
    const timer = setTimeout(() => finish({ error: "no answer from the page after " + waitMs + " ms" }), waitMs);
    function finish(answer) {
      clearTimeout(timer);
      removeEventListener("message", onResult);
      frame.remove();
      resolve(answer);
    }
    function onResult(event) {
      if (event.source === frame.contentWindow && event.data && event.data.type === "cors-lab-script-result") {
        finish(event.data.result);
      }
    }
    addEventListener("message", onResult);
    frame.srcdoc = srcdoc;
    (document.body || document.documentElement).appendChild(frame);
  }),

  // The WebGL renderer string, or null when no WebGL context can be made.
  webglRenderer: () => {
    const gl = document.createElement("canvas").getContext("webgl");
    if (!gl) return null;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  },
})
