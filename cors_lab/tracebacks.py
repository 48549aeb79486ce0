"""How a kit error looks in a notebook: the message and its Fix first, the kit's own frames on request.

Owns `short_traceback`, which IPython calls through `CorsLabError._render_traceback_` (IPython's hook
for exceptions that draw their own traceback) the first time it shows an error: the error's name and
message (with its ``Fix:`` line), then only the learner's own lines (the cell, their functions), and
how to see the rest. Showing the same error again — ``%tb`` does exactly that — gives IPython's full
traceback. The error output keeps its name and message (``ename``/``evalue``), which is what nbval
compares. Stdlib only; it never raises (a broken display must not hide the error).
"""

from __future__ import annotations

import linecache
import os
import traceback
from types import TracebackType

__all__ = ["short_traceback"]

_KIT = os.path.dirname(os.path.abspath(__file__)) + os.sep
_RED, _GREEN, _DIM, _RESET = "\x1b[0;31m", "\x1b[0;32m", "\x1b[2m", "\x1b[0m"
_SHOWN = "_cors_lab_shown"  # set on an error once its short form was shown


def short_traceback(error: BaseException) -> list[str]:
    """IPython's structured traceback for ``error``: short the first time, full when shown again."""
    try:
        if getattr(error, _SHOWN, False):
            return _full(error)
        setattr(error, _SHOWN, True)
        lines = [f"{_RED}{type(error).__name__}{_RESET}: {_message(error)}"]
        frames = _learner_frames(error.__traceback__)
        hidden = _kit_frames(error.__traceback__)
        for filename, lineno, name in frames[-3:]:
            code = linecache.getline(filename, lineno).strip()
            where = "your cell" if name == "<module>" else f"your function {name}()"
            lines.append(f"  {_GREEN}{where}, line {lineno}{_RESET}: {code}")
        if hidden:
            lines.append(f"{_DIM}({hidden} frame{'s' if hidden != 1 else ''} inside cors_lab hidden; "
                         f"%tb shows the full traceback){_RESET}")
        return ["\n".join(lines)]
    except Exception:  # noqa: BLE001 - fall back to Python's own text, never lose the error
        return traceback.format_exception(type(error), error, error.__traceback__)


def _message(error: BaseException) -> str:
    text = str(error)
    return text.replace("\nFix: ", f"\n{_GREEN}Fix:{_RESET} ")


def _frames(tb: TracebackType | None):
    while tb is not None:
        code = tb.tb_frame.f_code
        yield code.co_filename, tb.tb_lineno, code.co_name
        tb = tb.tb_next


def _is_kit(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_KIT)


def _is_learner(filename: str) -> bool:
    """A cell (ipykernel names them like /tmp/ipykernel_<pid>/<hash>.py, IPython <ipython-input-...>)."""
    return filename.startswith("<ipython-input") or os.sep + "ipykernel_" in filename


def _learner_frames(tb: TracebackType | None) -> list[tuple[str, int, str]]:
    return [f for f in _frames(tb) if _is_learner(f[0])]


def _kit_frames(tb: TracebackType | None) -> int:
    return sum(1 for f in _frames(tb) if _is_kit(f[0]))


def _full(error: BaseException) -> list[str]:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.InteractiveTB.structured_traceback(type(error), error, error.__traceback__)
    except Exception:  # noqa: BLE001
        pass
    return traceback.format_exception(type(error), error, error.__traceback__)
