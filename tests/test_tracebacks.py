"""cors_lab.tracebacks: a kit error in a notebook shows its message and Fix first, the kit's frames on %tb."""

from __future__ import annotations

import linecache
import re

from cors_lab.errors import SecurityError, UsageError
from cors_lab.tracebacks import short_traceback

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _raised_in_a_cell(source: str) -> BaseException:
    """The error a cell raises; ipykernel names cells like /tmp/ipykernel_<pid>/<hash>.py and keeps their
    source in linecache (as IPython's compiler does)."""
    filename = "/tmp/ipykernel_4242/2271.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    try:
        exec(code, {})
    except BaseException as err:  # noqa: BLE001
        return err
    raise AssertionError("the cell raised nothing")


def test_first_the_message_the_fix_and_the_learner_s_line():
    err = _raised_in_a_cell("import cors_lab\ncors_lab.predict(page='https://a.test', chain=[])\n")
    assert isinstance(err, UsageError)
    (text,) = short_traceback(err)
    plain = ANSI.sub("", text)
    lines = plain.splitlines()
    assert lines[0] == "UsageError: chain is empty: give at least one (url, status, headers) response."
    assert lines[1] == "  your cell, line 2: cors_lab.predict(page='https://a.test', chain=[])"
    assert re.fullmatch(r"\(\d+ frames? inside cors_lab hidden; %tb shows the full traceback\)", lines[2])
    assert "site-packages" not in plain and "cors_lab/predict.py" not in plain


def test_the_fix_line_is_kept():
    err = _raised_in_a_cell(
        "from cors_lab.errors import SecurityError\n"
        "def save():\n    raise SecurityError('The operation is insecure.', fix='set crossorigin')\nsave()\n")
    plain = ANSI.sub("", short_traceback(err)[0])
    assert plain.startswith("SecurityError: The operation is insecure.\nFix: set crossorigin\n")
    assert "  your function save(), line 3: raise SecurityError" in plain


def test_shown_again_it_is_the_full_traceback():
    err = _raised_in_a_cell("import cors_lab\ncors_lab.predict(page='https://a.test', chain=[])\n")
    short_traceback(err)
    full = ANSI.sub("", "".join(short_traceback(err)))  # what %tb asks for: the same error again
    assert "predict.py" in full and "chain is empty" in full


def test_ipython_uses_it_for_every_kit_error():
    assert SecurityError("x")._render_traceback_()[0].endswith("x")
