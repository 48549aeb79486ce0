// cors-lab trial: ONE canvas experiment, run in a real page.
// Owns: load an <img> (crossorigin attribute or none), run one canvas operation on it, report what the
// browser did as plain JSON. Must not: import anything, touch the network except through the <img>,
// or hang (every wait has a timeout). Plain ES2020, so Playwright's page.evaluate, a sandboxed srcdoc
// iframe and the anywidget live probe all run this same file.
//
//   globalThis.corsLabOperations        the operation names, in order
//   globalThis.corsLabTrial(spec)       -> Promise<result>; never rejects for browser behaviour
//   globalThis.corsLabServe({parentOrigin, status, label})
//                                       the one postMessage responder, for a page in an iframe (the lab's
//                                       /probe page, the live probe's and the harness's sandboxed srcdoc
//                                       pages): answers {type: "cors-lab-trial", id, spec} from the parent
//                                       window with {type: "cors-lab-result", id, result} and announces
//                                       {type: "cors-lab-ready", page, operations}
//
// spec   = {url, crossorigin: null | string, operation, timeoutMs = 5000, misplaced?: one of MISPLACED}
//          misplaced: set "anonymous" there instead of the <img>'s attribute (a learner's mistake)
// result = {load: "load"|"error", readback: "ok"|"SecurityError"|null, exception: name|null, message,
//           origin_clean_guess: true|false|null, pixel: [r,g,b,a]|null, page, elapsed_ms, steps: [...],
//           gl_error: number|null (texImage2D only)}
// Spec: https://html.spec.whatwg.org/multipage/canvas.html#security-with-canvas-elements
(function () {
  "use strict";

  const OPERATIONS = [
    "drawImage",
    "getImageData",
    "toDataURL",
    "toBlob",
    "captureStream",
    "convertToBlob",
    "texImage2D",
    "createImageBitmap",
    "pattern",
    "canvas-to-canvas",
    "transferToImageBitmap",
    "localStorage",
  ];
  const MISPLACED = ["canvas.crossOrigin", "ctx.crossOrigin", "img.origin"];
  const STORAGE_KEY = "cors-lab-saved-image";
  const DEFAULT_TIMEOUT_MS = 5000;
  const GL_ERRORS = { 0: "NO_ERROR", 1280: "INVALID_ENUM", 1281: "INVALID_VALUE", 1282: "INVALID_OPERATION",
    1285: "OUT_OF_MEMORY", 1286: "INVALID_FRAMEBUFFER_OPERATION", 37442: "CONTEXT_LOST_WEBGL" };

  // The canvas a trial draws into: the image's natural size (1x1 for a broken image).
  function sizeOf(img) {
    return [Math.max(1, img.naturalWidth || 0), Math.max(1, img.naturalHeight || 0)];
  }

  function canvasFor(img) {
    const canvas = document.createElement("canvas");
    [canvas.width, canvas.height] = sizeOf(img);
    // A misplaced crossOrigin (spec.misplaced): set where a learner might, to show it does nothing.
    if (img.corsLabMisplaced === "canvas.crossOrigin") canvas.crossOrigin = "anonymous";
    if (img.corsLabMisplaced === "ctx.crossOrigin") canvas.getContext("2d").crossOrigin = "anonymous";
    return canvas;
  }

  function pixelOf(data) {
    return [data[0], data[1], data[2], data[3]];
  }

  // Read the whole 2D context back; returns the top-left pixel. Throws SecurityError when tainted.
  function readBack(ctx, r, what) {
    const w = ctx.canvas.width, h = ctx.canvas.height;
    r.steps.push(`${what}.getImageData(0, 0, ${w}, ${h})`);
    const data = ctx.getImageData(0, 0, w, h).data;
    return pixelOf(data);
  }

  // Load the image. Resolves "load", "error" or "timeout"; never rejects.
  function loadImage(img, spec, r, t0, timeoutMs) {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (how) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        img.onload = img.onerror = null;
        r.steps.push(`${how} after ${Math.round(performance.now() - t0)} ms`);
        resolve(how);
      };
      const timer = setTimeout(() => settle("timeout"), timeoutMs);
      img.onload = () => settle("load");
      img.onerror = () => settle("error");
      r.steps.push(`img.src = ${JSON.stringify(spec.url)}`);
      img.src = spec.url;
    });
  }

  // Each operation draws the image (so a broken image throws where the browser throws) and, unless it
  // is "drawImage", reads back in its own way. A return value is the sample pixel; a throw is reported.
  const RUN = {
    async drawImage(img, r) {
      const canvas = canvasFor(img), ctx = canvas.getContext("2d");
      r.steps.push("ctx.drawImage(img, 0, 0)");
      ctx.drawImage(img, 0, 0);
      // Draw only: the readback verdict comes from a separate probe, which is not the operation's exception.
      if (r.load !== "load") return null;
      try {
        const pixel = readBack(ctx, r, "probe: ctx");
        r.readback = "ok";
        return pixel;
      } catch (e) {
        r.steps.push(`probe threw ${e.name}: ${e.message}`);
        r.readback = e.name === "SecurityError" ? "SecurityError" : null;
        r.probe_message = e.message;
        return null;
      }
    },

    async getImageData(img, r) {
      const ctx = canvasFor(img).getContext("2d");
      r.steps.push("ctx.drawImage(img, 0, 0)");
      ctx.drawImage(img, 0, 0);
      return readBack(ctx, r, "ctx");
    },

    async toDataURL(img, r) {
      const canvas = canvasFor(img), ctx = canvas.getContext("2d");
      r.steps.push("ctx.drawImage(img, 0, 0)");
      ctx.drawImage(img, 0, 0);
      r.steps.push('canvas.toDataURL("image/png")');
      const url = canvas.toDataURL("image/png");
      r.steps.push(`-> ${url.length} characters`);
      return pixelOf(ctx.getImageData(0, 0, 1, 1).data);
    },

    async toBlob(img, r) {
      const canvas = canvasFor(img), ctx = canvas.getContext("2d");
      r.steps.push("ctx.drawImage(img, 0, 0)");
      ctx.drawImage(img, 0, 0);
      r.steps.push('canvas.toBlob(callback, "image/png")');
      // The SecurityError is thrown synchronously by toBlob itself, not passed to the callback.
      const blob = await new Promise((resolve, reject) => {
        try {
          canvas.toBlob(resolve, "image/png");
        } catch (e) {
          reject(e);
        }
      });
      r.steps.push(`-> callback with ${blob ? blob.size + " bytes" : "null"}`);
      return pixelOf(ctx.getImageData(0, 0, 1, 1).data);
    },

    async captureStream(img, r) {
      const canvas = canvasFor(img), ctx = canvas.getContext("2d");
      r.steps.push("ctx.drawImage(img, 0, 0)");
      ctx.drawImage(img, 0, 0);
      r.steps.push("canvas.captureStream(0)");
      const stream = canvas.captureStream(0);
      r.steps.push(`-> MediaStream with ${stream.getVideoTracks().length} video track(s)`);
      stream.getTracks().forEach((t) => t.stop());
      return pixelOf(ctx.getImageData(0, 0, 1, 1).data);
    },

    async convertToBlob(img, r) {
      const [w, h] = sizeOf(img);
      r.steps.push(`new OffscreenCanvas(${w}, ${h})`);
      const offscreen = new OffscreenCanvas(w, h), ctx = offscreen.getContext("2d");
      r.steps.push("offscreenCtx.drawImage(img, 0, 0)");
      ctx.drawImage(img, 0, 0);
      r.steps.push('await offscreen.convertToBlob({type: "image/png"})');
      const blob = await offscreen.convertToBlob({ type: "image/png" });
      r.steps.push(`-> ${blob.size} bytes`);
      return pixelOf(ctx.getImageData(0, 0, 1, 1).data);
    },

    async texImage2D(img, r) {
      const canvas = canvasFor(img);
      const gl = canvas.getContext("webgl") || canvas.getContext("experimental-webgl");
      if (!gl) {
        r.steps.push('canvas.getContext("webgl") -> null');
        const e = new Error("no WebGL context could be created in this browser (headless Chromium needs " +
          "SwiftShader: --enable-unsafe-swiftshader)");
        e.name = "NoWebGL";
        throw e;
      }
      r.steps.push(`WebGL: ${gl.getParameter(gl.VERSION)}`);
      const texture = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, texture);
      r.steps.push("gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, img)");
      let thrown = null;
      try {
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, img);
      } catch (e) {
        thrown = e;
      }
      const err = gl.getError();
      r.gl_error = err;
      r.steps.push(`gl.getError() = ${err} (${GL_ERRORS[err] || "?"})`);
      if (thrown) throw thrown;
      if (err !== gl.NO_ERROR) {
        // A broken image: WebGL reports INVALID_VALUE through getError(), no exception.
        r.message = `texImage2D raised no exception; gl.getError() = ${err} (${GL_ERRORS[err] || "?"})`;
        return null;
      }
      // Read the uploaded texture back through a framebuffer: proves the pixels arrived.
      const fb = gl.createFramebuffer();
      gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
      if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) {
        r.steps.push("framebuffer incomplete: no sample pixel");
        return null;
      }
      const px = new Uint8Array(4);
      r.steps.push("gl.readPixels(0, 0, 1, 1) from the texture");
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
      return pixelOf(px);
    },

    async createImageBitmap(img, r) {
      r.steps.push("await createImageBitmap(img)");
      const bitmap = await createImageBitmap(img);
      const ctx = canvasFor(img).getContext("2d");
      r.steps.push("ctx.drawImage(bitmap, 0, 0)");
      ctx.drawImage(bitmap, 0, 0);
      bitmap.close();
      return readBack(ctx, r, "ctx");
    },

    async pattern(img, r) {
      const ctx = canvasFor(img).getContext("2d");
      r.steps.push('ctx.createPattern(img, "repeat")');
      const pattern = ctx.createPattern(img, "repeat");
      r.steps.push(`-> ${pattern === null ? "null" : "CanvasPattern"}`);
      ctx.fillStyle = pattern === null ? "transparent" : pattern;
      r.steps.push("ctx.fillStyle = pattern; ctx.fillRect(...)");
      ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
      return readBack(ctx, r, "ctx");
    },

    async "canvas-to-canvas"(img, r) {
      const b = canvasFor(img).getContext("2d"), a = canvasFor(img).getContext("2d");
      r.steps.push("ctxB.drawImage(img, 0, 0)");
      b.drawImage(img, 0, 0);
      r.steps.push("ctxA.drawImage(canvasB, 0, 0)");
      a.drawImage(b.canvas, 0, 0);
      return readBack(a, r, "ctxA");
    },

    async transferToImageBitmap(img, r) {
      const [w, h] = sizeOf(img);
      const offscreen = new OffscreenCanvas(w, h), octx = offscreen.getContext("2d");
      r.steps.push("offscreenCtx.drawImage(img, 0, 0)");
      octx.drawImage(img, 0, 0);
      r.steps.push("offscreen.transferToImageBitmap()");
      const bitmap = offscreen.transferToImageBitmap();
      const ctx = canvasFor(img).getContext("2d");
      r.steps.push("ctx.drawImage(bitmap, 0, 0)");
      ctx.drawImage(bitmap, 0, 0);
      bitmap.close();
      return readBack(ctx, r, "ctx");
    },

    // The MDN guide's "save": draw, then localStorage.setItem(key, canvas.toDataURL("image/png")).
    async localStorage(img, r) {
      const canvas = canvasFor(img), ctx = canvas.getContext("2d");
      r.steps.push("ctx.drawImage(img, 0, 0)");
      ctx.drawImage(img, 0, 0);
      let url;
      try {
        r.steps.push('canvas.toDataURL("image/png")');
        url = canvas.toDataURL("image/png");
        if (r.load === "load") r.readback = "ok";
      } catch (e) {
        if (r.load === "load" && e.name === "SecurityError") r.readback = "SecurityError";
        throw e;
      }
      let pixel = pixelOf(ctx.getImageData(0, 0, 1, 1).data);
      try {
        r.steps.push(`localStorage.setItem(${JSON.stringify(STORAGE_KEY)}, dataURL /* ${url.length} chars */)`);
        localStorage.setItem(STORAGE_KEY, url);
      } finally {
        try {
          localStorage.removeItem(STORAGE_KEY);
          r.steps.push(`localStorage.removeItem(${JSON.stringify(STORAGE_KEY)})`);
        } catch (e) {
          r.steps.push(`localStorage.removeItem threw ${e.name}`);
        }
      }
      return pixel;
    },
  };

  async function corsLabTrial(spec) {
    const t0 = performance.now();
    spec = spec || {};
    const operation = spec.operation || "getImageData";
    if (!Object.prototype.hasOwnProperty.call(RUN, operation)) {
      throw new TypeError(`unknown operation ${JSON.stringify(operation)}; one of ${OPERATIONS.join(", ")}`);
    }
    const timeoutMs = spec.timeoutMs == null ? DEFAULT_TIMEOUT_MS : Number(spec.timeoutMs);
    const r = {
      load: "error",
      readback: null,
      exception: null,
      message: null,
      origin_clean_guess: null,
      pixel: null,
      // self.origin is the document's origin ("null" when opaque); location.origin would say "null"
      // for every about:srcdoc frame, sandboxed or not.
      page: String(typeof self.origin === "string" ? self.origin : location.origin),
      elapsed_ms: null,
      steps: [],
      gl_error: null,
    };
    const img = new Image();
    const misplaced = spec.misplaced == null ? null : String(spec.misplaced);
    if (misplaced !== null) {
      if (!MISPLACED.includes(misplaced) || spec.crossorigin != null || operation !== "getImageData") {
        throw new TypeError(`misplaced must be one of ${MISPLACED.join(", ")}, without crossorigin, for getImageData`);
      }
      img.corsLabMisplaced = misplaced;
      if (misplaced === "img.origin") img.origin = "anonymous";
      r.steps.push(`${misplaced} = "anonymous" (instead of the img's crossorigin attribute)`);
    }
    // The attribute, not the property: the attribute keeps an invalid value such as "foo" as written.
    if (spec.crossorigin !== null && spec.crossorigin !== undefined) {
      img.setAttribute("crossorigin", String(spec.crossorigin));
      r.steps.push(`img.setAttribute("crossorigin", ${JSON.stringify(String(spec.crossorigin))})`);
    } else {
      r.steps.push("no crossorigin attribute");
    }
    const how = await loadImage(img, spec, r, t0, timeoutMs);
    if (how === "timeout") {
      // Stop waiting; the image is neither loaded nor broken, so no operation is attempted.
      img.removeAttribute("src");
      r.message = "timeout";
      r.elapsed_ms = performance.now() - t0;
      return r;
    }
    r.load = how;
    if (how === "error") r.message = "the image fired an error event (network error, CORS failure or undecodable data)";
    try {
      r.pixel = await RUN[operation](img, r);
      if (r.load === "load" && operation !== "drawImage" && r.readback === null) r.readback = "ok";
    } catch (e) {
      const name = (e && e.name) || "Error";
      r.exception = name;
      r.message = (e && e.message) || String(e);
      r.steps.push(`threw ${name}: ${r.message}`);
      if (r.load === "load" && r.readback === null && name === "SecurityError") r.readback = "SecurityError";
    }
    if (r.load !== "load") {
      r.readback = null;
      r.pixel = null;
    }
    if (r.readback !== "ok") r.pixel = null;
    r.origin_clean_guess = r.readback === "ok" ? true : r.readback === "SecurityError" ? false : null;
    r.elapsed_ms = performance.now() - t0;
    return r;
  }

  // parentOrigin (e.g. "http://127.0.0.1:8888"): only messages from that origin are answered, and
  // replies go to it alone. Without it, replies use targetOrigin "*": a result is the image's verdict, a
  // DOMException name and message, an origin and one pixel, never a cookie or other secret. Only the
  // parent window is ever answered. status: an element whose text says how the page is doing.
  let serving = false;
  function corsLabServe(options) {
    const { parentOrigin = null, status = null, label = "cors-lab probe" } = options || {};
    if (parentOrigin !== null && !(typeof parentOrigin === "string" && /^https?:\/\/[^/?#\s]+$/.test(parentOrigin))) {
      throw new TypeError(`parentOrigin must be an origin such as "http://127.0.0.1:8888"; got ${JSON.stringify(parentOrigin)}`);
    }
    if (serving) throw new Error("corsLabServe: this page already answers its parent");
    serving = true;
    const target = parentOrigin || "*";
    let runs = 0;
    const say = (text) => {
      if (status) status.textContent = `${label} on ${self.origin}: ${text}`;
    };
    addEventListener("message", async (event) => {
      const data = event.data;
      if (event.source !== window.parent || !data || data.type !== "cors-lab-trial") return;
      if (parentOrigin && event.origin !== parentOrigin) return;
      let result;
      try {
        result = await corsLabTrial(data.spec);
      } catch (e) {
        result = { error: `${(e && e.name) || "Error"}: ${(e && e.message) || e}` };
      }
      runs += 1;
      say(`${runs} experiment${runs === 1 ? "" : "s"} run.`);
      window.parent.postMessage({ type: "cors-lab-result", id: data.id, result }, target);
    });
    say("ready.");
    window.parent.postMessage({ type: "cors-lab-ready", page: self.origin, operations: OPERATIONS.slice() }, target);
  }

  globalThis.corsLabOperations = OPERATIONS.slice();
  globalThis.corsLabTrial = corsLabTrial;
  globalThis.corsLabServe = corsLabServe;
})();
