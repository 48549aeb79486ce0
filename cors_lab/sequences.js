// cors-lab canvas sequences: short scripts that show rules one image and one operation never show
// (what cleans a tainted canvas, patterns, bitmaprenderer). Owns: loading the two images, running the
// sequences named, and reporting each final readback as "ok" or the DOMException's name. Must not: wait
// without a timeout. cors_lab/sequences.py runs the same steps on the canvas model of each engine profile.
//
// One function expression, called the way Playwright's page.evaluate and cors_lab.engines' evaluate
// call it: (fn)([xUrl, sUrl, names, waitMs]). X is a cross-origin image loaded without crossorigin (it
// taints), S a same-origin one. Resolves to {name: "ok" | exception name | "error: ..."}.
async ([xUrl, sUrl, names, waitMs]) => {
  const load = (url) => new Promise((resolve, reject) => {
    const img = new Image();
    const timer = setTimeout(() => reject(new Error(`${url} did not load within ${waitMs} ms`)), waitMs);
    img.onload = () => { clearTimeout(timer); resolve(img); };
    img.onerror = () => { clearTimeout(timer); reject(new Error(`${url} fired error`)); };
    img.src = url;
  });
  const [X, S] = await Promise.all([load(xUrl), load(sUrl)]);
  const canvas = () => { const c = document.createElement("canvas"); c.width = 4; c.height = 4; return c; };
  const read = (c) => { try { c.toDataURL(); return "ok"; } catch (e) { return e.name; } };
  const attempt = (f) => { try { f(); return "ok"; } catch (e) { return e.name; } };
  const tainted2d = () => { const c = canvas(); c.getContext("2d").drawImage(X, 0, 0); return c; };

  const SEQUENCES = {
    "pattern-assigned-then-replaced-still-taints": async () => {
      const c = canvas(); const x = c.getContext("2d");
      x.fillStyle = x.createPattern(X, "repeat"); x.fillStyle = "red";
      return read(c);
    },
    "pattern-created-not-assigned-stays-clean": async () => {
      const c = canvas(); c.getContext("2d").createPattern(X, "repeat");
      return read(c);
    },
    "pattern-captures-clean-source-at-creation": async () => {
      const b = canvas(), a = canvas(); b.getContext("2d").drawImage(S, 0, 0);
      const p = a.getContext("2d").createPattern(b, "repeat"); b.getContext("2d").drawImage(X, 0, 0);
      const ax = a.getContext("2d"); ax.fillStyle = p; ax.fillRect(0, 0, 4, 4);
      return read(a);
    },
    "width-reset-cleans": async () => { const c = tainted2d(); c.width = 4; return read(c); },
    "height-reset-cleans": async () => { const c = tainted2d(); c.height = 4; return read(c); },
    "clearRect-keeps-taint": async () => { const c = tainted2d(); c.getContext("2d").clearRect(0, 0, 4, 4); return read(c); },
    "ctx-reset-keeps-taint": async () => { const c = tainted2d(); c.getContext("2d").reset(); return read(c); },
    "getImageData-zero-width-on-tainted": async () => {
      const c = tainted2d();
      return attempt(() => c.getContext("2d").getImageData(0, 0, 0, 4));
    },
    "bitmaprenderer-takes-tainted-bitmap": async () => {
      const c = canvas(); c.getContext("bitmaprenderer").transferFromImageBitmap(await createImageBitmap(X));
      return read(c);
    },
    "bitmap-of-tainted-canvas-taints": async () => {
      const a = canvas(); a.getContext("2d").drawImage(await createImageBitmap(tainted2d()), 0, 0);
      return read(a);
    },
    "bitmaprenderer-null-after-tainted": async () => {
      const c = canvas(); const r = c.getContext("bitmaprenderer");
      r.transferFromImageBitmap(await createImageBitmap(X)); r.transferFromImageBitmap(null);
      return read(c);
    },
    "bitmaprenderer-width-after-tainted": async () => {
      const c = canvas(); const r = c.getContext("bitmaprenderer");
      r.transferFromImageBitmap(await createImageBitmap(X)); c.width = 4;
      return read(c);
    },
    "bitmaprenderer-clean-bitmap-after-tainted": async () => {
      const c = canvas(); const r = c.getContext("bitmaprenderer");
      r.transferFromImageBitmap(await createImageBitmap(X)); r.transferFromImageBitmap(await createImageBitmap(S));
      return read(c);
    },
  };

  const out = {};
  for (const name of names) {
    if (!Object.prototype.hasOwnProperty.call(SEQUENCES, name)) { out[name] = `error: no sequence ${name}`; continue; }
    try {
      out[name] = await SEQUENCES[name]();
    } catch (e) {
      out[name] = `error: ${(e && e.name) || "Error"}: ${(e && e.message) || e}`;
    }
  }
  return out;
}
