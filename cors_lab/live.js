// cors-lab live probe: the learner's own browser runs trial.js and reports what it did to the kernel.
// Owns: the probe frame (the lab's /probe page on its "site" origin, or a sandboxed srcdoc page with
// an opaque origin where only one origin exists, e.g. Binder), the postMessage round trip, visits
// (a login or logout request with the browser's cookies, before the experiments after it), what this
// page's location says (host name, base URL; never the query string, which may hold a token) and the
// data-* state tests wait for. Must not: run a second trial (trial.js does the experiment), run one
// request twice however many views of the probe exist, decide a verdict (the kernel turns results
// into Outcomes), or swallow a failure (each one is reported).
//
// Python -> JS (synced traits): probe_id, probe_src (reloaded when it changes), lab_host, mode
//   ("site" | "opaque"), trial_js (opaque only), server_url (opaque only), pending: [{id, spec} |
//   {id, visit} | {id, script, wait_ms}], ready_timeout_ms. A script is a whole page (the JavaScript
//   exercise, cors_lab/jscheck.html) run in a sandboxed frame below the probe; its report is {id, result}.
// JS -> Python: custom messages, not trait updates: {type: "frontend", facts: {hostname, origin,
//   base_url, hub, loopback, frame_state, frame_origin, ...}} and {type: "report", report: {id,
//   result | error | visited, url, round_trip_ms, view}}. Why: the widget manager sends a model's next
//   trait update only after the kernel reports "idle" for the previous one, and ipykernel 7 handles a
//   widget message that arrives while a cell runs without any busy/idle status, so every later update
//   of that model stayed buffered in the page forever (seen here under Run All). Custom messages are
//   not throttled, so each one arrives, in order.

const LOOPBACK = ["127.0.0.1", "localhost"];
const GRACE_MS = 5000; // beyond the trial's own timeout before a request counts as unanswered
const VISIT_TIMEOUT_MS = 5000;
// Claims shared by every view of one probe: anywidget hands each view its own model proxy, so the
// probe's id (a synced trait) is the key. A request id is run by the first view that claims it.
const claimsByProbe = new Map();
let viewCount = 0;

function claimsOf(model) {
  const key = model.get("probe_id") || "";
  let claims = claimsByProbe.get(key);
  if (!claims) {
    claims = new Set();
    claimsByProbe.set(key, claims);
  }
  return claims;
}

// What this page's address says. Only the host, origin and base path: never location.search or the
// config's token.
function pageFacts() {
  let baseUrl = "/";
  try {
    const cfg = document.getElementById("jupyter-config-data");
    if (cfg) baseUrl = JSON.parse(cfg.textContent).baseUrl || "/";
  } catch (e) {
    baseUrl = "/";
  }
  const ua = navigator.userAgent;
  const m = ua.match(/(Firefox|Edg|Chrome|Chromium|Version)\/(\d+)/);
  const browser = m ? `${m[1] === "Version" ? "Safari" : m[1] === "Edg" ? "Edge" : m[1]} ${m[2]}` : "unknown";
  return {
    engine: detectEngine(ua),
    hostname: location.hostname,
    origin: location.origin,
    base_url: baseUrl,
    hub: /^\/user\/[^/]+\//.test(location.pathname) || /^\/user\//.test(baseUrl),
    loopback: LOOPBACK.includes(location.hostname),
    browser,
  };
}

// Which engine runs this page: feature detection first (a user agent can be anything), the user agent
// for the version and platform. Gecko alone has window.mozInnerScreenX and -moz-orient; Blink alone has
// window.chrome or navigator.userAgentData; WebKit alone has -webkit-initial-letter and Apple's vendor
// string (measured in Chromium 156, Firefox ESR 153, WebKitGTK 2.50). `agrees` says whether the user
// agent names the same engine. WebKit's user agent carries no WebKit version on Linux (frozen).
function detectEngine(ua) {
  const supports = (p, v) => typeof CSS !== "undefined" && CSS.supports && CSS.supports(p, v);
  const evidence = [];
  if ("mozInnerScreenX" in window) evidence.push("window.mozInnerScreenX");
  if (supports("-moz-orient", "inline")) evidence.push("CSS -moz-orient");
  if (window.chrome) evidence.push("window.chrome");
  if ("userAgentData" in navigator) evidence.push("navigator.userAgentData");
  if (supports("-webkit-initial-letter", "2")) evidence.push("CSS -webkit-initial-letter");
  if (navigator.vendor === "Apple Computer, Inc.") evidence.push("navigator.vendor Apple");
  const has = (x) => evidence.includes(x);
  let engine = "unknown";
  if (has("window.mozInnerScreenX") && has("CSS -moz-orient")) engine = "firefox";
  else if (has("window.chrome") || has("navigator.userAgentData")) engine = "chromium";
  else if (has("CSS -webkit-initial-letter") && has("navigator.vendor Apple")) engine = "webkit";
  const platform = /iPhone|iPad|iPod/.test(ua) ? "iOS" : /Android/.test(ua) ? "Android" :
    /Macintosh|Mac OS X/.test(ua) ? "macOS" : /Windows/.test(ua) ? "Windows" : /Linux|X11|CrOS/.test(ua) ? "Linux" : "";
  let name = "";
  let version = "";
  let uaEngine = "unknown";
  const firefox = ua.match(/Firefox\/(\d+)/);
  const chrome = ua.match(/(?:Chrome|Chromium|CriOS)\/(\d+)/);
  const safari = ua.match(/Version\/(\d+(?:\.\d+)?).*Safari\//);
  if (firefox) {
    uaEngine = "firefox";
    name = "Firefox";
    version = firefox[1];
  } else if (chrome) {
    uaEngine = "chromium";
    const brands = (navigator.userAgentData && navigator.userAgentData.brands) || [];
    const brand = brands.find((b) => !/Not.?A.?Brand/i.test(b.brand) && b.brand !== "Chromium") ||
      brands.find((b) => b.brand === "Chromium");
    name = brand ? brand.brand : /Edg\//.test(ua) ? "Microsoft Edge" : "Chrome";
    version = brand ? String(brand.version) : chrome[1];
  } else if (/AppleWebKit\//.test(ua)) {
    uaEngine = "webkit";
    name = platform === "macOS" || platform === "iOS" ? "Safari" : "WebKitGTK";
    version = name === "Safari" && safari ? safari[1] : "";
  }
  return { name: engine === uaEngine || engine === "unknown" ? name : "", engine, version: engine === uaEngine ? version : "",
           platform, evidence, ua_engine: uaEngine, agrees: engine === uaEngine };
}

// The opaque-origin page: trial.js and its own responder (corsLabServe), answering this notebook page's
// origin only (when it has an http(s) one).
function opaqueSrcdoc(trialJs) {
  const source = String(trialJs || "").replace(/<\/script/gi, "<\\/script");
  const parentOrigin = /^https?:$/.test(location.protocol) ? location.origin : null;
  const serve =
    `corsLabServe({ parentOrigin: ${JSON.stringify(parentOrigin)}, ` +
    'status: document.getElementById("status"), label: "cors-lab opaque probe" });';
  return (
    "<!doctype html><html lang=en><meta charset=utf-8><title>cors-lab opaque probe</title>" +
    "<body style='margin:0;font:12px/1.4 system-ui,sans-serif;color:#555;padding:2px 4px;white-space:nowrap'>" +
    "<span id=status>cors-lab opaque probe: starting...</span><script>" +
    source + "\n" + serve + "</" + "script></body></html>"
  );
}

function el_(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// The request of the postMessage protocol (cors_lab/trial.py describes it): spec is the kernel's
// Trial.spec(), as queued in `pending`; the answer is {type: "cors-lab-result", id, result}.
function trialMessage(id, spec) {
  return { type: "cors-lab-trial", id, spec };
}

function render({ model, el }) {
  const view = ++viewCount;
  const claims = claimsOf(model);
  const mode = model.get("mode");
  const facts = pageFacts();
  const timers = new Set();
  const inflight = new Map(); // id -> {timer, t0, url}
  const done = [];
  let frameState = "loading";
  let frameOrigin = null;
  let extension = null; // opaque mode: "ok" | "missing" | null
  let alive = true;
  let readyTimer = null;

  el.classList.add("cors-lab-live-probe");
  el.dataset.corsLabMode = mode;
  el.dataset.corsLabView = String(view);
  el.dataset.corsLabDone = "";

  const box = el_("div", { style: "font:13px/1.45 system-ui,sans-serif" });
  const head = el_("div", { style: "font-weight:600" });
  const line = el_("div", { class: "cors-lab-live-line", style: "color:#444" });
  const notice = el_("div", { class: "cors-lab-live-notice", style: "display:none;margin:4px 0;padding:4px 6px;border-left:4px solid #b3261e;background:#fdecea;color:#5f1410;white-space:normal" });
  const frame = el_("iframe", {
    title: "cors-lab probe page",
    style: "display:block;width:100%;height:22px;border:1px dashed #bbb;border-radius:3px;margin-top:4px;background:transparent",
  });
  box.append(head, line, notice, frame);
  el.appendChild(box);

  const later = (fn, ms) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (alive) fn();
    }, ms);
    timers.add(t);
    return t;
  };

  function setState(s) {
    frameState = s;
    el.dataset.corsLabState = s;
  }

  let problems = [];
  function problem(text) {
    problems.push(text);
    notice.textContent = problems.join(" ");
    notice.style.display = "block";
    el.dataset.corsLabProblem = "1";
  }
  function clearProblems() {
    problems = [];
    notice.textContent = "";
    notice.style.display = "none";
    delete el.dataset.corsLabProblem;
  }

  function reportFrontend() {
    const facts_ = { ...facts, mode, frame_state: frameState, frame_origin: frameOrigin, extension, view };
    model.send({ type: "frontend", facts: facts_ });
  }

  // -- the frame --------------------------------------------------------------------------------
  let targetOrigin = "*";
  let expectOrigin = "null";

  function loadFrame() {
    clearProblems();
    setState("loading");
    frameOrigin = null;
    if (readyTimer !== null) {
      clearTimeout(readyTimer);
      timers.delete(readyTimer);
    }
    if (mode === "opaque") {
      head.textContent = "Live probe: your browser, in a sandboxed page with an opaque origin (null)";
      frame.setAttribute("sandbox", "allow-scripts");
      frame.srcdoc = opaqueSrcdoc(model.get("trial_js"));
    } else {
      const src = model.get("probe_src");
      expectOrigin = new URL(src).origin;
      targetOrigin = expectOrigin;
      head.textContent = `Live probe: your browser, in a page on ${expectOrigin}`;
      frame.src = `${src}#parent=${encodeURIComponent(location.origin)}`;
      const labHost = new URL(src).hostname; // the name the lab uses now (lab_host may update after src)
      if (!facts.loopback || facts.hub) {
        problem(
          `This notebook page is at ${facts.origin}${facts.hub ? " (JupyterHub/Binder)" : ""}, so your browser ` +
            "probably cannot reach the lab's loopback servers. Use the opaque-origin probe. Fix: " +
            'probe = cors_lab.LiveProbe(lab, mode="opaque")'
        );
      } else if (facts.hostname !== labHost) {
        problem(
          `You opened Jupyter at ${facts.hostname}, but the lab runs as ${labHost}: the probe page is cross-site ` +
            "to this page, so cookies and localStorage behave unlike the lesson. Fix: " +
            `lab = cors_lab.start(host="${facts.hostname}") (the same servers under that name; this probe follows)`
        );
      }
    }
    line.textContent = "loading the probe page...";
    readyTimer = later(() => {
      readyTimer = null;
      if (frameState !== "loading") return;
      setState("blocked");
      const seconds = Math.round(model.get("ready_timeout_ms") / 1000);
      problem(
        `The probe page did not answer within ${seconds} s. It may be blocked (a browser extension or a ` +
          "proxy), or the lab is not running (check lab.running; restart with cors_lab.start())."
      );
      line.textContent = "no probe page: experiments wait.";
      reportFrontend();
    }, model.get("ready_timeout_ms"));
  }

  function onMessage(event) {
    if (event.source !== frame.contentWindow || !event.data) return;
    if (event.origin !== expectOrigin) return;
    const data = event.data;
    if (data.type === "cors-lab-ready") {
      frameOrigin = data.page;
      setState("ready");
      line.textContent = `ready: experiments run in a page whose origin is ${data.page}. ${done.length} done.`;
      reportFrontend();
      pump();
    } else if (data.type === "cors-lab-probe-broken") {
      setState("blocked");
      problem(`The probe page says: ${data.message}.`);
      reportFrontend();
    } else if (data.type === "cors-lab-result") {
      finish(data.id, data.result && data.result.error ? { error: data.result.error } : { result: data.result });
    }
  }
  window.addEventListener("message", onMessage);

  // Opaque mode: is the kit's server extension there to serve the images?
  if (mode === "opaque") {
    const probeUrl = new URL(`${facts.base_url}cors-lab/img/picture.png`, location.origin);
    fetch(probeUrl, { method: "HEAD", credentials: "omit", cache: "no-store", redirect: "manual" })
      .then((r) => (r.ok && (r.headers.get("content-type") || "").startsWith("image/") ? "ok" : "missing"))
      .catch(() => "missing")
      .then((found) => {
        if (!alive) return;
        extension = found;
        if (found === "missing") {
          problem(
            "The kit's Jupyter server extension does not answer at " + probeUrl.pathname + ". Fix: " +
              "python -m cors_lab enable-extension, then restart Jupyter."
          );
        }
        reportFrontend();
      });
  }

  // -- requests ---------------------------------------------------------------------------------
  // The URL this page loads. The kernel may name the Jupyter server by its own address (server_url,
  // e.g. http://127.0.0.1:8888/user/x/); this page reaches the same server at its own origin and base URL.
  function resolveUrl(url) {
    const server = model.get("server_url") || "";
    if (server && url.startsWith(server)) {
      return new URL(facts.base_url + url.slice(server.length), location.origin).href;
    }
    try {
      return new URL(url, location.origin).href;
    } catch (e) {
      return url;
    }
  }

  // A visit: the browser requests a URL with its cookies (a login sets one, a logout clears it), from
  // this notebook page, before the experiments queued after it.
  async function visit(item) {
    const t0 = performance.now();
    const url = resolveUrl(item.visit);
    let payload;
    try {
      const controller = new AbortController();
      const timer = later(() => controller.abort(), VISIT_TIMEOUT_MS);
      await fetch(url, { mode: "no-cors", credentials: "include", cache: "no-store", signal: controller.signal });
      clearTimeout(timer);
      timers.delete(timer);
      payload = { visited: true };
    } catch (e) {
      payload = { visited: false, error: `${(e && e.name) || "Error"}: ${(e && e.message) || e}` };
    }
    if (!alive) return;
    model.send({ type: "report", report: { id: item.id, ...payload, url, round_trip_ms: performance.now() - t0, view } });
  }

  // A script: a whole page in a sandboxed frame (origin null) below the probe, whose one
  // {type: "cors-lab-script-result"} message is the report. Its canvases stay in view until the next one.
  let scriptFrame = null;
  let scriptDone = null;
  function runScript(item) {
    if (scriptDone) scriptDone({ error: "replaced by a newer run" });
    if (scriptFrame) scriptFrame.remove();
    const f = el_("iframe", {
      title: "cors-lab: your code", sandbox: "allow-scripts",
      style: "display:block;width:100%;height:64px;border:1px dashed #bbb;border-radius:3px;margin-top:4px",
    });
    scriptFrame = f;
    const t0 = performance.now();
    const waitMs = item.wait_ms || 15000;
    const onResult = (event) => {
      if (event.source === f.contentWindow && event.data && event.data.type === "cors-lab-script-result") {
        scriptDone({ result: event.data.result });
      }
    };
    const timer = later(() => scriptDone({ error: `no answer from the page after ${waitMs} ms` }), waitMs);
    scriptDone = (payload) => {
      scriptDone = null;
      clearTimeout(timer);
      timers.delete(timer);
      window.removeEventListener("message", onResult);
      if (!alive) return;
      const ms = performance.now() - t0;
      line.textContent = `${item.id}: your code ran in this browser (${Math.round(ms)} ms). ${done.length} done.`;
      model.send({ type: "report", report: { id: item.id, ...payload, round_trip_ms: ms, view } });
    };
    scriptDone.id = item.id;
    window.addEventListener("message", onResult);
    line.textContent = `running ${item.id} (your code)...`;
    f.srcdoc = item.script;
    box.appendChild(f);
  }

  function post(item) {
    const spec = { ...item.spec, url: resolveUrl(item.spec.url) };
    const waitMs = (spec.timeoutMs || 5000) + GRACE_MS;
    const timer = later(() => finish(item.id, { error: `no answer from the probe page after ${waitMs} ms` }), waitMs);
    inflight.set(item.id, { timer, t0: performance.now(), url: spec.url });
    line.textContent = `running ${item.id}...`;
    frame.contentWindow.postMessage(trialMessage(item.id, spec), targetOrigin);
  }

  // Runs what is pending, in order; a visit finishes before anything queued after it starts.
  let pumping = false;
  let again = false;
  async function pump() {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        for (const item of model.get("pending") || []) {
          if (!alive || frameState !== "ready") return;
          if (claims.has(item.id)) continue;
          claims.add(item.id);
          if (item.visit) await visit(item);
          else if (item.script) runScript(item);
          else post(item);
        }
      } while (again && alive);
    } finally {
      pumping = false;
    }
  }

  function finish(id, payload) {
    const entry = inflight.get(id);
    if (!entry) return;
    inflight.delete(id);
    clearTimeout(entry.timer);
    timers.delete(entry.timer);
    const roundTrip = performance.now() - entry.t0;
    done.push(id);
    el.dataset.corsLabDone = done.join(" ");
    el.dataset.corsLabLast = id;
    const r = payload.result;
    line.textContent = r
      ? `${id}: ${r.load}${r.readback ? ", readback " + r.readback : ""}${r.exception ? ", " + r.exception : ""} ` +
        `(${Math.round(roundTrip)} ms). ${done.length} done.`
      : `${id}: ${payload.error}`;
    model.send({ type: "report", report: { id, ...payload, url: entry.url, round_trip_ms: roundTrip, view } });
  }

  function onSource() {
    // The lab moved (another host name) or the kernel rebound the probe to another lab: reload the page.
    if (mode !== "site") return;
    loadFrame();
    reportFrontend();
  }

  loadFrame();
  model.on("change:pending", pump);
  model.on("change:probe_src", onSource);
  reportFrontend();

  return () => {
    alive = false;
    window.removeEventListener("message", onMessage);
    if (scriptDone) {
      // Unanswered: the script goes back to the other views (or to the next one), as trials do.
      claims.delete(scriptDone.id);
      scriptDone({ error: "the probe's view was closed" });
    }
    model.off("change:pending", pump);
    model.off("change:probe_src", onSource);
    for (const t of timers) clearTimeout(t);
    // Requests this view took but did not answer go back to the others (or to the next view).
    for (const id of inflight.keys()) claims.delete(id);
    inflight.clear();
  };
}

export default { render };
