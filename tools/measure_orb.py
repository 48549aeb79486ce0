"""Measure Opaque Response Blocking per engine: which no-cors cross-origin responses an <img> loads.

For a grid of responses from the lab's cdn origin (Content-Type x X-Content-Type-Options: nosniff x
status x body: the lab's PNG, its AVIF and SVG, an empty body, the server's HTML error page), each
engine loads each one without ``crossorigin`` from a page on the site origin (same-site,
cross-origin: ORB applies) and draws it. Prints one row per response: what each engine fired
(load / error), beside what the model predicts for each engine's profile over the same response.

    python tools/measure_orb.py                       # chromium firefox webkit
    python tools/measure_orb.py firefox               # one engine

Nothing here is a test: the rules it measured live in cors_lab.spec.orb (and the profiles'
"orb-*" deviations); the conformance matrix pins them.
"""

from __future__ import annotations

import sys

from cors_lab.conformance import lab_answer
from cors_lab.engines import ENGINE_NAMES, engine_class, unavailable_reason
from cors_lab.predict import predict
from cors_lab.servers import Lab
from cors_lab.spec.headers import HeaderList
from cors_lab.spec.images import image_loads
from cors_lab.spec.orb import NEVER_SNIFFED
from cors_lab.trial import Trial

CTYPES = ("text/html", "text/plain", "application/json", "text/xml", "application/xml", "text/csv",
          "application/pdf", "application/zip", "audio/mpeg", "video/mp4", "application/octet-stream", "",
          "image/png", "image/gif", "text/css", "application/javascript", "multipart/x-mixed-replace",
          "text/vtt", "application/dash+xml", "image/svg+xml")


def grid() -> list[tuple[str, dict]]:
    """(label, knobs and asset) for every response measured."""
    out = []
    for ctype in CTYPES:
        for nosniff in (False, True):
            knobs = {"ctype": ctype, **({"nosniff": True} if nosniff else {})}
            out.append((f"png as {ctype or '(none)'}{' nosniff' if nosniff else ''}", {"asset": "picture.png", **knobs}))
    for ctype in sorted(NEVER_SNIFFED - set(CTYPES)) + ["video/webm", "video/ogg", "audio/ogg", "audio/wav"]:
        out.append((f"png as {ctype}", {"asset": "picture.png", "ctype": ctype}))
    for status in (404, 500):
        for ctype in ("image/png", "text/html"):
            out.append((f"png as {ctype}, status {status}", {"asset": "picture.png", "status": status, "ctype": ctype}))
    out.append(("HTML error page 404", {"asset": "picture.png", "status": 404, "errorpage": True}))
    for ctype in ("image/png", "text/html", ""):
        out.append((f"empty body as {ctype or '(none)'}", {"asset": "picture.png", "truncate": 0, "ctype": ctype}))
    for asset, ctype in (("picture.avif", "image/avif"), ("picture.avif", "application/octet-stream"),
                         ("picture.svg", "image/svg+xml"), ("picture.svg", "text/xml"), ("picture.svg", "")):
        out.append((f"{asset} as {ctype or '(none)'}", {"asset": asset, "ctype": ctype}))
    return out


def main(names: list[str]) -> int:
    rows = grid()
    results: dict[str, list[str]] = {}
    with Lab() as lab:
        page = lab.site.url("picture.png", nonce="orb-page")
        for name in names:
            reason = unavailable_reason(name)
            if reason:
                print(reason, file=sys.stderr)
                continue
            trials = []
            for i, (_, spec) in enumerate(rows):
                knobs = {k: v for k, v in spec.items() if k != "asset"}
                trials.append(Trial(lab.cdn.url(spec["asset"], nonce=f"orb{name}{i}", **knobs), None, "drawImage"))
            with engine_class(name)() as engine:
                print(f"{name} {engine.version}", file=sys.stderr)
                outcomes = engine.run(trials, page_url=page, fresh_context=False)
            results[name] = [o.load for o in outcomes]
            log = {e.path: e for e in lab.log() if e.client == "browser"}
            model = []
            for t in trials:
                entry = next((e for p, e in log.items() if p in t.url), None)
                if entry is None:
                    model.append("no request")
                    continue
                answer = lab_answer(lab, {"url": t.url})
                ctype = HeaderList(list(entry.headers)).get("Content-Type") or ""
                out = predict(page=page, chain=[(t.url, entry.status, list(entry.headers))], engine=name,
                              operation="drawImage", body=answer.body, decodes=image_loads(answer.body, ctype))
                model.append(out.load)
            results[f"{name} model"] = model
    width = max(len(label) for label, _ in rows)
    heads = list(results)
    print(f"{'response':{width}}  " + "  ".join(f"{h:>14}" for h in heads))
    for i, (label, _) in enumerate(rows):
        cells = []
        for h in heads:
            v = results[h][i]
            flag = "" if not h.endswith("model") or v == results[h[:-6]][i] else " *"
            cells.append(f"{v + flag:>14}")
        print(f"{label:{width}}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(ENGINE_NAMES)))
