"""Measure where a truncated picture starts to load, per format, in Chromium and in the kernel browser.

For every lab picture and every length N (0 to the file's size; BMP to 400 bytes, then a few
larger), the lab serves the picture cut to N bytes (the ``truncate`` knob: Content-Length N, a
well-formed response carrying a broken image), and one shared document loads each with
``crossorigin="anonymous"`` and ACAO ``*``. Prints, per format, the lengths at which Chromium fires
``load`` as ranges, and the lengths where the kernel browser's decoding says otherwise.

    python tools/measure_truncation.py            # the numbers cors_lab/spec/images.py records

Nothing here is a test: the rule it measured lives in cors_lab.spec.images (SIZE_RULES).
"""

from __future__ import annotations

import sys

from cors_lab.assets import decode_image, get_asset
from cors_lab.errors import CorsLabError
from cors_lab.harness import ChromiumHarness
from cors_lab.servers import Lab
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


def main() -> int:
    with Lab() as lab, ChromiumHarness() as harness:
        print(f"Chromium {harness.version}")
        page = lab.site.url("picture.png", nonce="truncation-page")
        for name in ASSETS if len(sys.argv) < 2 else sys.argv[1:]:
            asset = get_asset(name)
            ns = lengths(len(asset.body), name)
            trials = [Trial(lab.cdn.url(name, acao="*", truncate=n, nonce=f"t{name}{n}"), "anonymous", "drawImage")
                      for n in ns]
            outcomes = harness.run(trials, page_url=page, fresh_context=False)
            chromium = [n for n, o in zip(ns, outcomes) if o.load == "load"]
            kernel = []
            for n in ns:
                try:
                    decode_image(asset.body[:n], content_type=asset.content_type, partial=True)
                    kernel.append(n)
                except CorsLabError:
                    pass
            differ = sorted(set(chromium) ^ set(kernel))
            print(f"{name} ({len(asset.body)} bytes): Chromium loads at {ranges(chromium)}")
            print(f"    kernel differs at {ranges(differ)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
