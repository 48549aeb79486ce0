"""The live probe's page on every lab origin: ``/probe`` (probe.html, with probe.js inline) and ``/probe/trial.js``.

Owns the page, read from the package's ``probe.html`` and ``probe.js`` at import, and its
Content-Security-Policy, whose hashes are computed from those files' text. Must not: take knobs, set
cookies, or load anything but the kit's own ``trial.js`` (``cors_lab.trial`` owns that file).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from string import Template

from .. import trial

__all__ = ["PROBE_CSP", "PROBE_JS", "PROBE_PAGE", "PROBE_PATH", "PROBE_SCRIPT_PATH", "probe_body"]

PROBE_PATH = "/probe"
PROBE_SCRIPT_PATH = "/probe/trial.js"
_HERE = Path(__file__).parent

PROBE_JS = (_HERE / "probe.js").read_text(encoding="utf-8")
PROBE_PAGE = Template((_HERE / "probe.html").read_text(encoding="utf-8")).substitute(
    trial_js_path=PROBE_SCRIPT_PATH, probe_js=PROBE_JS
)


def _csp_hashes(page: str, tag: str) -> str:
    """The CSP source list allowing exactly the page's inline ``<tag>`` blocks (those without attributes)."""
    texts = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(t.encode("utf-8")).digest()).decode("ascii") + "'" for t in texts
    )


# Scripts: trial.js from here and probe.js inline, nothing else; images from anywhere (the trial loads
# whatever URL the learner gives); framing by loopback pages only (the notebook page).
PROBE_CSP = "; ".join(
    (
        "default-src 'none'",
        f"script-src 'self' {_csp_hashes(PROBE_PAGE, 'script')}",
        f"style-src {_csp_hashes(PROBE_PAGE, 'style')}",
        "img-src * data: blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*",
    )
)


def probe_body(path: str) -> tuple[str, bytes]:
    """(Content-Type, body) of ``PROBE_PATH`` or ``PROBE_SCRIPT_PATH``; OSError if trial.js is missing."""
    if path == PROBE_PATH:
        return "text/html; charset=utf-8", PROBE_PAGE.encode("utf-8")
    if path == PROBE_SCRIPT_PATH:
        return "text/javascript; charset=utf-8", trial.TRIAL_JS.read_bytes()
    raise ValueError(f"{path!r} is not a probe path")
