// cors-lab: run a whole page (a learner's JavaScript exercise, cors_lab/jscheck.html) in a sandboxed
// srcdoc frame (an opaque origin) and wait for its one {type: "cors-lab-script-result"} message.
// Owns: making the frame, the wait (an error object after waitMs) and removing the frame.
// Must not: judge the result (cors_lab.jscheck does), or wait without a timeout.
//
// One expression, a function of [srcdoc, waitMs]: an engine evaluates it in its top page
// (cors_lab.engines Engine.evaluate).
([srcdoc, waitMs]) => new Promise((resolve) => {
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
})
