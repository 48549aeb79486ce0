"""nbval of every notebook as a Binder kernel runs it: the JupyterHub/Binder environment variables set.

No browser and no hub: a kernel behind one origin sees these variables (JupyterHub sets
JUPYTERHUB_SERVICE_PREFIX for every single-user server, Binder adds BINDER_*), and the kit switches to
its one-origin mode on them (`cors_lab.live.one_origin_reason`). One nbval run (the README's options)
in a subprocess; each notebook is judged from its JUnit report, twice: it runs top to bottom without an
unexpected exception, and its outputs match the stored ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from .course import ISSUE8_NBVAL
from .notebook import ROOT

NBVAL_TIMEOUT_S = 1200
# What mybinder.org sets in a session's environment (JupyterHub's variables and Binder's own).
BINDER_ENV = {
    "JUPYTERHUB_SERVICE_PREFIX": "/user/owner-cors-lab-ab12cd34/",
    "JUPYTERHUB_USER": "owner-cors-lab-ab12cd34",
    "BINDER_LAUNCH_HOST": "https://mybinder.org/",
    "BINDER_REPO_URL": "https://github.com/OWNER/cors-lab",
    "BINDER_REF_URL": "https://github.com/OWNER/cors-lab/tree/HEAD",
    "BINDER_REQUEST": "v2/gh/OWNER/cors-lab/HEAD",
    "BINDER_PERSISTENT_REQUEST": "v2/gh/OWNER/cors-lab/HEAD",
}
NOTEBOOKS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
BROKEN = {"notebooks/07-your-browser.ipynb"}


def _params(broken_reason: str):
    return [pytest.param(nb, id=nb.removeprefix("notebooks/"),
                         marks=[pytest.mark.xfail(raises=AssertionError, strict=True, reason=broken_reason)]
                         if nb in BROKEN else []) for nb in NOTEBOOKS]


@pytest.fixture(scope="module")
def nbval_one_origin(tmp_path_factory) -> dict[str, list[tuple[str, str]]]:
    """notebook path -> [(cell, failure text)] from one nbval run with the Binder variables set."""
    report = tmp_path_factory.mktemp("nbval") / "junit.xml"
    env = {**os.environ, **BINDER_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval", "--nbval-sanitize-with",
         "notebooks/sanitize.cfg", f"--junitxml={report}", *NOTEBOOKS],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=NBVAL_TIMEOUT_S)
    if not report.exists():
        raise RuntimeError(f"nbval wrote no report (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    failures: dict[str, list[tuple[str, str]]] = {nb: [] for nb in NOTEBOOKS}
    by_class = {nb.replace("/", "."): nb for nb in NOTEBOOKS}
    cells = 0
    for case in ET.parse(report).getroot().iter("testcase"):
        cells += 1
        for bad in [*case.iter("failure"), *case.iter("error")]:
            failures[by_class[case.get("classname")]].append((case.get("name"), bad.text or bad.get("message", "")))
    assert cells > len(NOTEBOOKS), f"nbval ran {cells} cells:\n{done.stdout[-2000:]}"
    return failures


def test_binder_env_is_what_the_kit_checks():
    from cors_lab.live import one_origin_reason

    assert one_origin_reason(BINDER_ENV) and one_origin_reason({}) is None


@pytest.mark.parametrize("notebook", _params(ISSUE8_NBVAL))
def test_runs_top_to_bottom_behind_one_origin(nbval_one_origin, notebook):
    raised = [(cell, text[-600:]) for cell, text in nbval_one_origin[notebook] if "Cell outputs differ" not in text]
    assert raised == [], raised


@pytest.mark.parametrize("notebook", _params(ISSUE8_NBVAL))
def test_outputs_match_behind_one_origin(nbval_one_origin, notebook):
    assert nbval_one_origin[notebook] == [], [(cell, text[-600:]) for cell, text in nbval_one_origin[notebook]]
