"""Measure where a truncated picture starts to load, per format, in an engine and in the model.

For every lab picture and every length N (0 to the file's size; BMP to 400 bytes, then a few
larger), the lab serves the picture cut to N bytes (the ``truncate`` knob: Content-Length N, a
well-formed response carrying a broken image), and one shared document loads each with
``crossorigin="anonymous"`` and ACAO ``*``. Prints, per format, the lengths at which the engine fires
``load`` as ranges, and the lengths where the model (`image_loads` for that engine's profile) and the
kernel browser's decoding say otherwise.

    python tools/measure_truncation.py                        # Chromium: what cors_lab/spec/images.py records
    python tools/measure_truncation.py --engine firefox picture.gif

Nothing here is a test: the rule it measured lives in cors_lab.spec.images (SIZE_RULES).
"""

from __future__ import annotations

import sys

from cors_lab.assets import decode_image, get_asset
from cors_lab.errors import CorsLabError
from cors_lab.engines import engine_class
from cors_lab.servers import Lab
from cors_lab.spec.images import image_loads
from cors_lab.trial import Trial

ASSETS = ("picture.png", "picture.gif", "picture.jpg", "picture.webp", "picture.avif", "picture.bmp",
          "picture.ico", "picture.svg")


def ranges(ns: list[int]) -> str:
    out, start = [], None
    for i, n in enumerate(ns):
        if start is None:
            start = n
        if i + 1 == len(ns) or ns[i + 1] != n + 1:
            out.append(f"{start}" if start == n else f"{start}-{n}")
            start = None
    return ", ".join(out) or "none"


def lengths(size: int, name: str) -> list[int]:
    if name.endswith(".bmp"):
        return list(range(0, 401)) + [1000, 4000, 9000, size]
    return list(range(0, size + 1))


def main(argv: list[str]) -> int:
    engine_name = "chromium"
    if argv[:1] == ["--engine"]:
        engine_name, argv = argv[1], argv[2:]
    with Lab() as lab, engine_class(engine_name)() as engine:
        print(f"{engine_name} {engine.version}")
        page = lab.site.url("picture.png", nonce="truncation-page")
        for name in argv or ASSETS:
            asset = get_asset(name)
            ns = lengths(len(asset.body), name)
            trials = [Trial(lab.cdn.url(name, acao="*", truncate=n, nonce=f"t{engine_name}{name}{n}"), "anonymous",
                            "drawImage") for n in ns]
            outcomes = engine.run(trials, page_url=page, fresh_context=False)
            measured = [n for n, o in zip(ns, outcomes) if o.load == "load"]
            model = [n for n in ns if image_loads(asset.body[:n], asset.content_type, profile=engine_name)]
            kernel = []
            for n in ns:
                try:
                    decode_image(asset.body[:n], content_type=asset.content_type, partial=True)
                    kernel.append(n)
                except CorsLabError:
                    pass
            print(f"{name} ({len(asset.body)} bytes): {engine_name} loads at {ranges(measured)}")
            print(f"    model differs at {ranges(sorted(set(measured) ^ set(model)))}")
            print(f"    kernel decoding differs at {ranges(sorted(set(measured) ^ set(kernel)))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
