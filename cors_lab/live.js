// cors-lab live probe: the learner's own browser runs trial.js and reports what it did to the kernel.
// Owns: the probe frame (the lab's /probe page on its "site" origin, or a sandboxed srcdoc page with
// an opaque origin where only one origin exists, e.g. Binder), the postMessage round trip, what this
// page's location says (host name, base URL; never the query string, which may hold a token) and the
// data-* state tests wait for. Must not: run a second trial (trial.js does the experiment), decide a
// verdict (the kernel turns results into Outcomes), or swallow a failure (each one is reported).
//
// Python -> JS (synced traits): probe_src, lab_host, mode ("site" | "opaque"), trial_js (opaque only),
//   pending: [{id, spec}], ready_timeout_ms.
// JS -> Python: custom messages, not trait updates: {type: "frontend", facts: {hostname, origin,
//   base_url, hub, loopback, frame_state, frame_origin, ...}} and {type: "report", report: {id,
//   result | error, round_trip_ms}}. Why: the widget manager sends a model's next trait update only
//   after the kernel reports "idle" for the previous one, and ipykernel 7 handles a widget message
//   that arrives while a cell runs without any busy/idle status, so every later update of that
//   model stayed buffered in the page forever (seen here under Run All). Custom messages are not
//   throttled, so each one arrives, in order.

const LOOPBACK = ["127.0.0.1", "localhost"];
const GRACE_MS = 5000; // beyond the trial's own timeout before a request counts as unanswered
const shared = new WeakMap(); // model -> {claimed: Set of request ids some view has taken}
let viewCount = 0;

function sharedOf(model) {
  let s = shared.get(model);
  if (!s) {
    s = { claimed: new Set() };
    shared.set(model, s);
  }
  return s;
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
    hostname: location.hostname,
    origin: location.origin,
    base_url: baseUrl,
    hub: /^\/user\/[^/]+\//.test(location.pathname) || /^\/user\//.test(baseUrl),
    loopback: LOOPBACK.includes(location.hostname),
    browser,
  };
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
  const state = sharedOf(model);
  const mode = model.get("mode");
  const facts = pageFacts();
  const timers = new Set();
  const inflight = new Map(); // id -> {timer, t0}
  const done = [];
  let frameState = "loading";
  let frameOrigin = null;
  let extension = null; // opaque mode: "ok" | "missing" | null
  let alive = true;

  el.classList.add("cors-lab-live-probe");
  el.dataset.corsLabMode = mode;
  el.dataset.corsLabState = frameState;
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

  const problems = [];
  function problem(text) {
    problems.push(text);
    notice.textContent = problems.join(" ");
    notice.style.display = "block";
    el.dataset.corsLabProblem = "1";
  }

  function reportFrontend() {
    const facts_ = { ...facts, mode, frame_state: frameState, frame_origin: frameOrigin, extension, view };
    model.send({ type: "frontend", facts: facts_ });
  }

  // -- the frame --------------------------------------------------------------------------------
  let targetOrigin = "*";
  let expectOrigin = "null";
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
    const labHost = model.get("lab_host");
    if (!facts.loopback || facts.hub) {
      problem(
        `This notebook page is at ${facts.origin}${facts.hub ? " (JupyterHub/Binder)" : ""}, so your browser ` +
          "probably cannot reach the lab's loopback servers. Use the opaque-origin probe: " +
          'LiveProbe(lab, mode="opaque").'
      );
    } else if (facts.hostname !== labHost) {
      problem(
        `You opened Jupyter at ${facts.hostname}, but the lab runs as ${labHost}: the probe page is cross-site ` +
          "to this page, so cookies and localStorage behave unlike the lesson. Fix: lab.stop(); " +
          `lab = cors_lab.start(host="${facts.hostname}"); probe = LiveProbe(lab)`
      );
    }
  }
  line.textContent = "loading the probe page...";

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

  later(() => {
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
            "The kit's Jupyter server extension does not answer at " + probeUrl.pathname + ": enable it with " +
              "`jupyter server extension enable cors_lab.jupyter_ext` and restart Jupyter."
          );
        }
        reportFrontend();
      });
  }

  // -- requests ---------------------------------------------------------------------------------
  function resolveSpec(spec) {
    // Opaque mode gets root-relative URLs (the server extension's); make them absolute here.
    try {
      return { ...spec, url: new URL(spec.url, location.origin).href };
    } catch (e) {
      return spec;
    }
  }

  function pump() {
    if (!alive || frameState !== "ready") return;
    for (const item of model.get("pending") || []) {
      if (state.claimed.has(item.id)) continue;
      state.claimed.add(item.id);
      const waitMs = (item.spec.timeoutMs || 5000) + GRACE_MS;
      const timer = later(
        () => finish(item.id, { error: `no answer from the probe page after ${waitMs} ms` }),
        waitMs
      );
      inflight.set(item.id, { timer, t0: performance.now() });
      line.textContent = `running ${item.id}...`;
      frame.contentWindow.postMessage(trialMessage(item.id, resolveSpec(item.spec)), targetOrigin);
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
    model.send({ type: "report", report: { id, ...payload, round_trip_ms: roundTrip, view } });
  }

  model.on("change:pending", pump);
  reportFrontend();

  return () => {
    alive = false;
    window.removeEventListener("message", onMessage);
    model.off("change:pending", pump);
    for (const t of timers) clearTimeout(t);
    // Requests this view took but did not answer go back to the others (or to the next view).
    for (const id of inflight.keys()) state.claimed.delete(id);
    inflight.clear();
  };
}

export default { render };
