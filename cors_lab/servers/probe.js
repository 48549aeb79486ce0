// cors-lab probe page (/probe on every lab origin): inlined into probe.html, whose Content-Security-Policy
// allows this script by the hash of this file's text. Owns: reading the parent's origin from the fragment,
// #parent=http://host:port (fragments never reach a server or a log), and starting trial.js's responder.
// Must not: answer messages itself (trial.js's corsLabServe does), or do anything without a parent.
(function () {
  "use strict";
  const status = document.getElementById("status");
  const parentOrigin = new URLSearchParams(location.hash.slice(1)).get("parent");
  // Only a reason, never a result: safe to send to "*" when the parent's origin is unknown or bad.
  function broken(message) {
    status.textContent = `cors-lab probe on ${self.origin}: ${message}.`;
    window.parent.postMessage({ type: "cors-lab-probe-broken", page: self.origin, message }, "*");
  }
  if (window.parent === window) {
    status.textContent = `cors-lab probe on ${self.origin}: this page does nothing on its own; LiveProbe embeds it.`;
    return;
  }
  if (typeof globalThis.corsLabServe !== "function") {
    broken("trial.js did not load");
    return;
  }
  try {
    globalThis.corsLabServe({ parentOrigin, status });
  } catch (e) {
    broken(`${e.name}: ${e.message}`);
  }
})();
