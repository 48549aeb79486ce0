// cors-lab: the JavaScript a learner sees beside each experiment, one template per canvas operation.
// Owns: the readable page code of a Trial (cors_lab/snippet.py fills it in: URL, crossOrigin line,
// operation). Must not: be run as is (it is a template), or differ in outcome from trial.js for the same
// Trial — tests/test_snippet.py runs every filled-in copy in Chromium next to trial.js and compares.
// Sections start with "// @@ name"; {{crossorigin}}, {{url}}, {{misplaced}} and {{operation}} are filled in
// ({{misplaced}}: the line that puts "anonymous" on a canvas or its context, or nothing).
// @@ page
async function experiment() {
  const img = new Image();
{{crossorigin}}
  const load = await new Promise((resolve) => {
    img.onload = () => resolve("load");
    // a refused CORS check fires "error": a network error, not a taint
    img.onerror = () => resolve("error");
    // set src after crossOrigin: the attribute decides the request's mode
    img.src = {{url}};
  });
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth || 1;
  canvas.height = img.naturalHeight || 1;
{{misplaced}}
  try {
{{operation}}
  } catch (e) {
    return { load, exception: e.name, message: e.message };
  }
}
experiment().then((result) => console.log(result));
// @@ drawImage
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);  // drawing is allowed; only a broken image throws (InvalidStateError)
    try {
      ctx.getImageData(0, 0, 1, 1);
      return { load, readback: "ok" };
    } catch (e) {
      return { load, readback: e.name };  // "SecurityError": drawn, but the canvas is tainted
    }
// @@ getImageData
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const pixel = ctx.getImageData(0, 0, 1, 1).data;  // SecurityError on a tainted canvas
    return { load, readback: "ok", pixel: Array.from(pixel) };
// @@ toDataURL
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const dataURL = canvas.toDataURL("image/png");  // SecurityError on a tainted canvas
    return { load, readback: "ok", characters: dataURL.length };
// @@ toBlob
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    // toBlob throws SecurityError itself (synchronously): the Promise rejects with it
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    return { load, readback: "ok", bytes: blob && blob.size };
// @@ captureStream
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const stream = canvas.captureStream(0);  // SecurityError on a tainted canvas
    stream.getTracks().forEach((track) => track.stop());
    return { load, readback: "ok" };
// @@ convertToBlob
    const offscreen = new OffscreenCanvas(canvas.width, canvas.height);
    offscreen.getContext("2d").drawImage(img, 0, 0);
    const blob = await offscreen.convertToBlob({ type: "image/png" });  // SecurityError when tainted
    return { load, readback: "ok", bytes: blob.size };
// @@ texImage2D
    const gl = canvas.getContext("webgl");  // WebGL instead of 2D
    gl.bindTexture(gl.TEXTURE_2D, gl.createTexture());
    // WebGL refuses to upload foreign pixels at all: SecurityError here
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, img);
    return { load, readback: "ok", glError: gl.getError() };  // a broken image: INVALID_VALUE, no throw
// @@ createImageBitmap
    const ctx = canvas.getContext("2d");
    const bitmap = await createImageBitmap(img);  // no throw: the bitmap carries the taint
    ctx.drawImage(bitmap, 0, 0);
    const pixel = ctx.getImageData(0, 0, 1, 1).data;  // SecurityError if the bitmap was foreign
    return { load, readback: "ok", pixel: Array.from(pixel) };
// @@ pattern
    const ctx = canvas.getContext("2d");
    const pattern = ctx.createPattern(img, "repeat");  // no throw
    ctx.fillStyle = pattern || "transparent";          // a foreign pattern taints the canvas here
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const pixel = ctx.getImageData(0, 0, 1, 1).data;   // SecurityError if the pattern was foreign
    return { load, readback: "ok", pixel: Array.from(pixel) };
// @@ canvas-to-canvas
    const ctx = canvas.getContext("2d");
    const other = document.createElement("canvas");
    other.width = canvas.width;
    other.height = canvas.height;
    other.getContext("2d").drawImage(img, 0, 0);       // canvas B gets the image (and its taint)
    ctx.drawImage(other, 0, 0);                        // canvas A gets B, taint included
    const pixel = ctx.getImageData(0, 0, 1, 1).data;   // SecurityError if the image was foreign
    return { load, readback: "ok", pixel: Array.from(pixel) };
// @@ transferToImageBitmap
    const ctx = canvas.getContext("2d");
    const offscreen = new OffscreenCanvas(canvas.width, canvas.height);
    offscreen.getContext("2d").drawImage(img, 0, 0);
    const bitmap = offscreen.transferToImageBitmap();  // no throw: the bitmap carries the taint
    ctx.drawImage(bitmap, 0, 0);
    const pixel = ctx.getImageData(0, 0, 1, 1).data;   // SecurityError if the image was foreign
    return { load, readback: "ok", pixel: Array.from(pixel) };
// @@ localStorage
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const dataURL = canvas.toDataURL("image/png");        // SecurityError on a tainted canvas
    localStorage.setItem("saved-image-example", dataURL);  // QuotaExceededError when storage is full
    return { load, readback: "ok", characters: dataURL.length };
