"""nbval of every notebook as a Binder kernel runs it: the JupyterHub/Binder environment variables set.

No browser and no hub: a kernel behind one origin sees these variables (JupyterHub sets
JUPYTERHUB_SERVICE_PREFIX and JUPYTERHUB_SERVICE_URL for every single-user server, Binder adds BINDER_*),
and the kit switches to its one-origin mode on them (`cors_lab.live.one_origin_reason`). The single-user
server is a real Jupyter server here, under the hub's base URL and with the kit's extension enabled, so
the kernel fetches the extension's pictures as on Binder. One nbval run (the README's options) in a
subprocess; each notebook is judged from its JUnit report, twice: it runs top to bottom without an
unexpected exception, and its outputs match the stored ones. The stored outputs are the local ones:
what legitimately differs behind one origin is listed in ONE_ORIGIN_SANITIZE, and nothing else may.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from .jupyter import JupyterServer
from .notebook import ROOT

NBVAL_TIMEOUT_S = 1200
PREFIX = "/user/owner-cors-lab-ab12cd34/"
# What mybinder.org sets in a session's environment (JupyterHub's variables and Binder's own).
BINDER_ENV = {
    "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
    "JUPYTERHUB_USER": "owner-cors-lab-ab12cd34",
    "BINDER_LAUNCH_HOST": "https://mybinder.org/",
    "BINDER_REPO_URL": "https://github.com/OWNER/cors-lab",
    "BINDER_REF_URL": "https://github.com/OWNER/cors-lab/tree/HEAD",
    "BINDER_REQUEST": "v2/gh/OWNER/cors-lab/HEAD",
    "BINDER_PERSISTENT_REQUEST": "v2/gh/OWNER/cors-lab/HEAD",
}
NOTEBOOKS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
# What changes behind one origin, and only that: notebook 07's experiments run on the opaque page
# ("null") with the server extension's pictures instead of the lab's "site" page and "cdn" pictures.
ONE_ORIGIN_SANITIZE = r"""
[one-origin-page]
regex: page (<code>)?(null|http://127\.0\.0\.1:PORT)\b
replace: page \1PAGE

[one-origin-origin-header]
regex: <code>(null|http://127\.0\.0\.1:PORT)</code>
replace: <code>PAGE</code>

[one-origin-picture-url]
regex: http://127\.0\.0\.1:PORT(/user/[\w-]+/cors-lab)?/img/
replace: PICTURES/img/

[one-origin-picture-label]
regex: \b(cdn|jupyter) picture\.png
replace: PICTURES picture.png

[one-origin-requests-heading]
regex: <b>(what the servers saw|the requests)</b>
replace: <b>REQUESTS</b>

[one-origin-kernel-only-note]
regex: \n+Your browser is behind one origin and cannot reach this lab server, so only the kernel answers here \(notebook 07 runs the probe's own pictures\)\.
replace: 

[one-origin-live-status]
regex: no live probe given \(compare\(\.\.\., probe=cors_lab\.LiveProbe\(lab\)\)\)|no browser has answered yet — the kernel engine carries on \(its answer arrives after this cell if one shows this notebook\)
replace: LIVE STATUS

[one-origin-server-lines]
regex: (?s)^(<details><summary>)?(Apache 2\.4|nginx): the lines that make the server of .*
replace: SERVER LINES
"""


@pytest.fixture(scope="module")
def nbval_one_origin(tmp_path_factory) -> dict[str, list[tuple[str, str]]]:
    """notebook path -> [(cell, failure text)] from one nbval run with the Binder variables set."""
    folder = tmp_path_factory.mktemp("nbval")
    report = folder / "junit.xml"
    sanitize = folder / "sanitize.cfg"
    sanitize.write_text((ROOT / "notebooks" / "sanitize.cfg").read_text() + ONE_ORIGIN_SANITIZE)
    server = JupyterServer(app="lab", root=folder / "server", notebooks=ROOT / "notebooks", ip="127.0.0.1",
                           extension=True, base_url=PREFIX)
    server.start()
    try:
        env = {**os.environ, **BINDER_ENV, "JUPYTERHUB_SERVICE_URL": server.base}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval", "--nbval-sanitize-with",
             str(sanitize), f"--junitxml={report}", *NOTEBOOKS],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=NBVAL_TIMEOUT_S)
    finally:
        server.stop()
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


def test_the_sanitizer_maps_only_the_one_origin_differences():
    import re

    # nbval's own parser (nbval.plugin.get_sanitize_patterns): "replace: " needs its space even when empty.
    from nbval.plugin import get_sanitize_patterns

    rules = get_sanitize_patterns(ONE_ORIGIN_SANITIZE)
    assert len(rules) == sum(line.startswith("[") for line in ONE_ORIGIN_SANITIZE.splitlines()), "a rule nbval skips"
    local = ("getImageData on http://127.0.0.1:PORT/img/picture.png?acao=* from page http://127.0.0.1:PORT "
             "<b>what the servers saw</b> <code>http://127.0.0.1:PORT</code> cdn picture.png")
    behind = (f"getImageData on http://127.0.0.1:PORT{PREFIX}cors-lab/img/picture.png?acao=* from page null "
              "<b>the requests</b> <code>null</code> jupyter picture.png")

    def clean(text):
        for pattern, replace in rules:
            text = re.sub(pattern, replace.replace("\\1", r"\1"), text)
        return text

    assert clean(local) == clean(behind)
    # ask() behind one origin: a note that only the kernel answers, and no server lines for the
    # extension's own pictures (they are not the lab's knobs).
    note = ("\n\nYour browser is behind one origin and cannot reach this lab server, so only the kernel answers here "
            "(notebook 07 runs the probe's own pictures).")
    assert clean("**Why**\n\nTainted." + note) == "**Why**\n\nTainted."
    # ask() behind one origin runs without the live column (the browser cannot reach the lab).
    waiting = ("browser —  no browser has answered yet — the kernel engine carries on (its answer arrives after this cell "
               "if one shows this notebook)")
    assert clean(waiting) == clean("browser —  no live probe given (compare(..., probe=cors_lab.LiveProbe(lab)))")
    lab_lines = "<details><summary>nginx: the lines that make the server of http://127.0.0.1:PORT answer</summary>\nx\n</details>"
    extension = "nginx: the lines that make the server of this picture answer as it did\n# no server lines"
    assert clean(lab_lines) == clean(extension) == "SERVER LINES"
    assert clean("page https://a.test") == "page https://a.test" and clean("other picture.png") == "other picture.png"


@pytest.mark.parametrize("notebook", [pytest.param(nb, id=nb.removeprefix("notebooks/")) for nb in NOTEBOOKS])
def test_runs_top_to_bottom_behind_one_origin(nbval_one_origin, notebook):
    raised = [(cell, text[-600:]) for cell, text in nbval_one_origin[notebook] if "Cell outputs differ" not in text]
    assert raised == [], raised


@pytest.mark.parametrize("notebook", [pytest.param(nb, id=nb.removeprefix("notebooks/")) for nb in NOTEBOOKS])
def test_outputs_match_behind_one_origin(nbval_one_origin, notebook):
    assert nbval_one_origin[notebook] == [], [(cell, text[-9000:]) for cell, text in nbval_one_origin[notebook]]
