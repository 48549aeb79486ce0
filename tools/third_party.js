// tools/measure_engines.py, third-party section: one function expression, called the way Playwright's
// page.evaluate and cors_lab.engines' evaluate call it: (fn)([action, ...args]). Plain ES2020.
//
//   ["load-image", url, waitMs]            load url as an <img> (no crossorigin) -> "load" | "error" | "timeout"
//   ["frame-storage", probeUrl, imageUrl, waitMs]
//       embed the lab's /probe page (another origin) in an iframe and ask it, by postMessage, to run
//       trial.js's "localStorage" operation (draw, toDataURL, localStorage.setItem, removeItem) ->
//       {page, load, readback, exception, message} as the framed page reports them
async ([action, ...args]) => {
  const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms));
  if (action === "load-image") {
    const [url, waitMs] = args;
    const img = new Image();
    const done = new Promise((resolve) => { img.onload = () => resolve("load"); img.onerror = () => resolve("error"); });
    img.src = url;
    return Promise.race([done, timeout(waitMs, "timeout")]).catch(() => "timeout");
  }
  if (action === "frame-storage") {
    const [probeUrl, imageUrl, waitMs] = args;
    const frame = document.createElement("iframe");
    const answer = (type) => new Promise((resolve) => {
      addEventListener("message", function on(event) {
        if (event.source === frame.contentWindow && event.data && event.data.type === type) {
          removeEventListener("message", on);
          resolve(event.data);
        }
      });
    });
    const ready = answer("cors-lab-ready");
    frame.src = probeUrl;
    (document.body || document.documentElement).appendChild(frame);
    try {
      const hello = await Promise.race([ready, timeout(waitMs, "the framed probe page did not start")]);
      const result = answer("cors-lab-result");
      frame.contentWindow.postMessage({ type: "cors-lab-trial", id: "third-party-storage",
        spec: { url: imageUrl, crossorigin: null, operation: "localStorage", timeoutMs: waitMs } }, "*");
      const { result: r } = await Promise.race([result, timeout(2 * waitMs, "the framed probe page did not answer")]);
      return { page: hello.page, load: r.load, readback: r.readback, exception: r.exception, message: r.message };
    } catch (e) {
      return { error: String(e.message || e) };
    } finally {
      frame.remove();
    }
  }
  throw new TypeError(`unknown action ${action}`);
}
