"""A simulated page for the live probe's headless tests (test_live.py, test_comparison.py).

It delivers the custom messages live.js sends ({type: "frontend", facts} and {type: "report", report})
through ipywidgets' own message handler, and builds trial.js-shaped results. Its fixtures, ``lab``
(one per test module, unless the module has its own) and ``probe`` (a fresh site-mode probe), reach
every test module through ``pytest_plugins`` in conftest.py.
"""

from __future__ import annotations

import pytest

from cors_lab.live import LiveProbe
from cors_lab.servers import Lab

TAINTED_MESSAGE = ("Failed to execute 'getImageData' on 'CanvasRenderingContext2D': "
                   "The canvas has been tainted by cross-origin data.")


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        yield lab


@pytest.fixture
def probe(lab):
    p = LiveProbe(lab, environ={})
    yield p
    p.close()


def page_says(probe: LiveProbe, content: dict) -> None:
    """Deliver one custom message from the page, as the widget's comm does."""
    probe.frame._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def attach(probe: LiveProbe, lab: Lab, **facts) -> None:
    page_says(probe, {"type": "frontend", "facts": {
        "hostname": lab.host, "origin": f"http://{lab.host}:8888", "base_url": "/", "hub": False,
        "loopback": True, "browser": "Chrome 156", "mode": probe.mode, "frame_state": "ready",
        "frame_origin": lab.site.origin, "extension": None, "view": 1, **facts}})


def tainted(lab: Lab, **changes) -> dict:
    return {"load": "load", "readback": "SecurityError", "exception": "SecurityError", "message": TAINTED_MESSAGE,
            "origin_clean_guess": False, "pixel": None, "page": lab.site.origin, "elapsed_ms": 12.5,
            "steps": ["no crossorigin attribute", "load after 9 ms", "ctx.getImageData(0, 0, 64, 48)"],
            "gl_error": None, **changes}


def readable(lab: Lab) -> dict:
    return {"load": "load", "readback": "ok", "exception": None, "message": None, "origin_clean_guess": True,
            "pixel": [220, 50, 47, 255], "page": lab.site.origin, "elapsed_ms": 8.0, "steps": [], "gl_error": None}


def answer(probe: LiveProbe, tid: str, result: dict | None = None, *, error: str | None = None, view: int = 1) -> None:
    report = {"id": tid, "round_trip_ms": 20.0, "view": view}
    report.update({"error": error} if error is not None else {"result": result})
    page_says(probe, {"type": "report", "report": report})


def engine_facts(engine: str, *, version: str = "", platform: str = "Linux", name: str = "") -> dict:
    """``attach(..., engine=engine_facts(...))``: the engine live.js's detectEngine reports."""
    return {"name": name, "engine": engine, "version": version, "platform": platform,
            "evidence": ["(simulated)"], "ua_engine": engine, "agrees": True}
