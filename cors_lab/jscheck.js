// cors-lab JavaScript exercise: runs a learner's showPicture(url, canvas, report) in a sandboxed page.
// Owns: watching the learner's <img> elements (when src and crossOrigin were set, in which order), the
// report() handed to the learner, catching what the learner's code throws, one case after another,
// and posting every case's record to the parent window. Must not: decide whether the code is right
// (cors_lab/jscheck.py grades the records), touch the network except through the learner's <img> and
// the one picture a case taints its canvas with, or wait without a timeout.
//
// jscheck.html places this file first, then the learner's code (which defines showPicture), then
// corsLabJsCheck.start(spec):
//   spec   = {id, cases: [{name, url, taint: url | null, width, height}], timeoutMs}
//   posts    {type: "cors-lab-script-result", id, result} to the parent, result =
//            {defined: bool, syntax: "Name: message" | null, cases: [record]}
//   record = {name, reported: bool, value: [r, g, b, a] | string | null, calls, uncaught: ["Name: message"],
//             images: [{src, crossOriginAtSrc: string | null, crossOriginLater: bool}], tainted: bool | null, ms}
(function () {
  "use strict";
  const SETTLE_MS = 50; // after an uncaught error, how long a report may still come
  const state = { current: null, syntax: null, images: new Map() };

  // --- watching the learner's images: the order of crossOrigin and src is what the request's mode depends on
  function imageRecord(img) {
    const rec = state.current;
    if (!rec || img.corsLabOwn) return null;
    let entry = state.images.get(img);
    if (!entry) {
      entry = { src: null, crossOriginAtSrc: null, crossOriginLater: false };
      state.images.set(img, entry);
      rec.images.push(entry);
    }
    return entry;
  }
  function noteSrc(img, value) {
    const entry = imageRecord(img);
    if (entry && entry.src === null) {
      entry.src = String(value);
      entry.crossOriginAtSrc = img.getAttribute("crossorigin");
    }
  }
  function noteCrossOrigin(img) {
    const entry = imageRecord(img);
    if (entry && entry.src !== null) entry.crossOriginLater = true;
  }
  function wrapSetter(proto, name, before) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    Object.defineProperty(proto, name, {
      configurable: true,
      enumerable: d.enumerable,
      get() { return d.get.call(this); },
      set(value) {
        before(this, value);
        d.set.call(this, value);
      },
    });
  }
  wrapSetter(HTMLImageElement.prototype, "src", noteSrc);
  wrapSetter(HTMLImageElement.prototype, "crossOrigin", noteCrossOrigin);
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement) {
      const lower = String(name).toLowerCase();
      if (lower === "src") noteSrc(this, value);
      if (lower === "crossorigin") noteCrossOrigin(this);
    }
    return setAttribute.call(this, name, value);
  };

  // --- what the learner's code throws and reports
  function describe(error) {
    if (error && typeof error === "object" && "name" in error) return `${error.name}: ${error.message || ""}`.trim();
    return String(error);
  }
  addEventListener("error", (event) => {
    const text = event.error ? describe(event.error) : String(event.message || "an error");
    if (state.current) state.current.uncaught.push(text);
    else if (state.syntax === null) state.syntax = text; // the learner's script did not even parse
  });
  addEventListener("unhandledrejection", (event) => {
    if (state.current) state.current.uncaught.push(describe(event.reason));
  });

  // A plain value for the kernel: four numbers for pixel data, else a short text.
  function plain(value) {
    if (value && typeof value === "object" && value.data && value.data.length >= 4) value = value.data; // ImageData
    if (value && typeof value === "object" && typeof value.length === "number" && value.length >= 4 &&
        typeof value[0] === "number") {
      return [value[0], value[1], value[2], value[3]].map(Number);
    }
    if (typeof value === "string") return value.slice(0, 200);
    if (value instanceof Event) return `an ${value.constructor.name} (${value.type})`;
    if (value instanceof Error || (value && typeof value === "object" && "name" in value)) return describe(value);
    return value === undefined ? "undefined" : String(value).slice(0, 200);
  }

  // --- a canvas some earlier code already made foreign: a picture drawn without CORS
  function taint(canvas, url) {
    return new Promise((resolve) => {
      const img = new Image();
      img.corsLabOwn = true;
      const timer = setTimeout(() => resolve(false), 3000);
      img.onload = () => {
        clearTimeout(timer);
        canvas.getContext("2d").drawImage(img, 0, 0, 1, 1);
        resolve(true);
      };
      img.onerror = () => {
        clearTimeout(timer);
        resolve(false);
      };
      img.src = url;
    });
  }
  function isTainted(canvas) {
    try {
      canvas.getContext("2d").getImageData(0, 0, 1, 1);
      return false;
    } catch (e) {
      return true;
    }
  }

  async function runCase(c, timeoutMs) {
    const rec = { name: c.name, reported: false, value: null, calls: 0, uncaught: [], images: [], tainted: null, ms: null };
    const canvas = document.createElement("canvas");
    canvas.width = c.width;
    canvas.height = c.height;
    canvas.title = c.name;
    document.body.appendChild(canvas);
    if (c.taint) {
      if (!(await taint(canvas, c.taint))) rec.uncaught.push("cors-lab: the picture that taints this canvas did not load");
      rec.tainted = isTainted(canvas);
    }
    const t0 = performance.now();
    state.current = rec;
    await new Promise((resolve) => {
      let ended = false;
      let timer = null;
      const errors = () => {
        if (rec.uncaught.length) setTimeout(end, SETTLE_MS);
      };
      // A case ends on its first report, shortly after an uncaught error, or at its timeout; its error
      // listeners go with it, so a later case's errors are its own.
      function end() {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        removeEventListener("error", errors);
        removeEventListener("unhandledrejection", errors);
        resolve();
      }
      timer = setTimeout(end, timeoutMs);
      addEventListener("error", errors);
      addEventListener("unhandledrejection", errors);
      const report = (value) => {
        rec.calls += 1;
        if (rec.calls === 1) {
          rec.reported = true;
          rec.value = plain(value);
          end();
        }
      };
      try {
        globalThis.showPicture(c.url, canvas, report);
      } catch (e) {
        rec.uncaught.push(describe(e));
        setTimeout(end, SETTLE_MS);
      }
    });
    state.current = null;
    rec.ms = Math.round(performance.now() - t0);
    return rec;
  }

  async function start(spec) {
    const result = { defined: typeof globalThis.showPicture === "function", syntax: state.syntax, cases: [] };
    if (result.defined) {
      for (const c of spec.cases) result.cases.push(await runCase(c, spec.timeoutMs));
    }
    // The parent is the notebook page or the harness's page; the record holds pixels and error names only.
    window.parent.postMessage({ type: "cors-lab-script-result", id: spec.id, result }, "*");
  }

  globalThis.corsLabJsCheck = { start };
})();
