"""cors_lab/spec/ stays pure: the standard library (no I/O modules), cors_lab.errors and each other.

One checker for every import form (`import x`, `from x import y`, relative or absolute, and the
string given to `importlib.import_module` / `__import__`), run over every module under
cors_lab/spec/ and over the pure façade (predict.py, outcome.py). The test of the test plants each
form in a scratch module and shows the checker catches it.
"""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2] / "cors_lab"

# Standard-library modules that do I/O (network, processes, threads, files, the OS): never in the model.
IO_MODULES = frozenset({
    "_thread", "asyncio", "concurrent", "ctypes", "dbm", "fileinput", "ftplib", "glob", "http",
    "imaplib", "io", "mmap", "multiprocessing", "os", "pathlib", "poplib", "select", "selectors",
    "shelve", "shutil", "signal", "smtplib", "socket", "socketserver", "sqlite3", "ssl",
    "subprocess", "tempfile", "threading", "urllib.request", "urllib.response", "webbrowser",
    "xmlrpc", "zipimport",
})  # fmt: skip

# Which cors_lab modules each pure module may import (a name covers its submodules).
SPEC_ALLOWED = ("cors_lab.errors", "cors_lab.spec")
FACADE_ALLOWED = SPEC_ALLOWED + ("cors_lab.outcome", "cors_lab.render", "cors_lab.trial")
OUR_PACKAGES = ("cors_lab", "cors_lab.spec")  # `from <package> import name` imports <package>.name


def module_name(path: pathlib.Path, root: pathlib.Path = ROOT) -> str:
    """The dotted name of the module at ``path`` inside the package rooted at ``root``."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, level: int, package: str) -> str | None:
    """An absolute module name for a (possibly relative) import; None if it climbs out of the package."""
    if not level:
        return name
    base = package.split(".")
    if level > len(base):
        return None
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imported_modules(source: str, *, module: str, is_package: bool = False) -> list[tuple[int, str | None]]:
    """(line, absolute module name) for every import in ``source``; None = cannot be resolved/checked."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str | None]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", node.level, package)
            if base is None or not base:
                found.append((node.lineno, None))
                continue
            if base == "__future__":
                continue
            # `from x import y` may import the submodule x.y; for our own packages that is the only
            # module that matters (the package itself is already being imported).
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*"]
            if base not in OUR_PACKAGES:
                found.append((node.lineno, base))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name not in ("import_module", "__import__"):
                continue
            arg = node.args[0] if node.args else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                found.append((node.lineno, None))  # a computed name cannot be checked: refuse it
                continue
            text = arg.value
            level = len(text) - len(text.lstrip("."))
            anchor = package
            extra = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "package"), None)
            if level and isinstance(extra, ast.Constant) and isinstance(extra.value, str):
                anchor = extra.value
            found.append((node.lineno, _resolve(text.lstrip("."), level, anchor)))
    return found


def violations(path: pathlib.Path, *, allowed: tuple[str, ...], module: str | None = None) -> list[str]:
    """Every import in ``path`` that is not the standard library (minus I/O) or one of ``allowed``."""
    module = module or module_name(path)
    bad = []
    for line, name in imported_modules(path.read_text(encoding="utf-8"), module=module, is_package=path.stem == "__init__"):
        if name is None:
            bad.append(f"line {line}: an import that cannot be checked (relative past the top, or computed)")
            continue
        prefixes = [".".join(name.split(".")[: i + 1]) for i in range(name.count(".") + 1)]
        top = prefixes[0]
        if top == "cors_lab":
            if name != "cors_lab" and any(p in allowed for p in prefixes):
                continue
            bad.append(f"line {line}: {name}")
        elif top not in sys.stdlib_module_names:
            bad.append(f"line {line}: {name} (not the standard library)")
        elif IO_MODULES.intersection(prefixes):
            bad.append(f"line {line}: {name} (does I/O)")
    return bad


SPEC_MODULES = sorted((ROOT / "spec").rglob("*.py"))
FACADE_MODULES = [ROOT / "predict.py", ROOT / "outcome.py"]


@pytest.mark.parametrize("path", SPEC_MODULES, ids=lambda p: f"spec/{p.relative_to(ROOT / 'spec')}")
def test_spec_module_is_pure(path):
    bad = violations(path, allowed=SPEC_ALLOWED)
    assert not bad, f"{path.name} imports {bad}: cors_lab/spec must stay pure (stdlib without I/O, errors, itself)"


@pytest.mark.parametrize("path", FACADE_MODULES, ids=lambda p: p.name)
def test_facade_module_is_pure(path):
    bad = violations(path, allowed=FACADE_ALLOWED)
    assert not bad, f"{path.name} imports {bad}: the predict façade must stay importable without engines"


def test_the_checker_sees_every_module():
    names = {p.relative_to(ROOT / "spec").as_posix() for p in SPEC_MODULES}
    assert {"__init__.py", "fetch.py", "origins.py", "cache.py", "headers.py", "images.py", "canvas/sources.py"} <= names


# --- The test of the test: each import form, planted, is caught -----------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("import requests", id="import-third-party"),
        pytest.param("import socket", id="import-io-stdlib"),
        pytest.param("import os.path", id="import-io-stdlib-submodule"),
        pytest.param("import urllib.request", id="import-urllib-request"),
        pytest.param("from urllib import request", id="from-urllib-import-request"),
        pytest.param("from http.client import HTTPConnection", id="from-io-stdlib-import"),
        pytest.param("from PIL import Image", id="from-third-party-import"),
        pytest.param("from .. import servers", id="relative-from-parent-import-module"),
        pytest.param("from ..servers import Lab", id="relative-from-sibling-package-module"),
        pytest.param("from ..browser import Browser", id="relative-engine"),
        pytest.param("from ... import x", id="relative-past-the-top"),
        pytest.param("import cors_lab.servers", id="absolute-import-our-module"),
        pytest.param("import cors_lab", id="absolute-import-our-package"),
        pytest.param("from cors_lab import servers", id="absolute-from-package-import-module"),
        pytest.param("from cors_lab.servers import Lab", id="absolute-from-module-import-name"),
        pytest.param("import importlib\nimportlib.import_module('cors_lab.servers')", id="import-module-string"),
        pytest.param("from importlib import import_module\nimport_module('..servers', 'cors_lab.spec')", id="import-module-relative-string"),
        pytest.param("__import__('socket')", id="dunder-import-string"),
        pytest.param("import importlib\nname = 'socket'\nimportlib.import_module(name)", id="import-module-computed-name"),
        pytest.param("def later():\n    from ..live import LiveProbe\n", id="import-inside-a-function"),
        pytest.param("try:\n    import numpy\nexcept ImportError:\n    numpy = None\n", id="import-in-try"),
    ],
)
def test_checker_catches_a_planted_violation(tmp_path, line):
    planted = tmp_path / "planted.py"
    planted.write_text(f'"""A scratch spec module."""\n\nfrom ..errors import UsageError\n{line}\n', encoding="utf-8")
    bad = violations(planted, allowed=SPEC_ALLOWED, module="cors_lab.spec.planted")
    assert bad, f"the checker missed: {line!r}"


def test_checker_passes_a_clean_module(tmp_path):
    clean = tmp_path / "clean.py"
    clean.write_text(
        "from __future__ import annotations\n"
        "import re\nfrom urllib.parse import urljoin\nfrom dataclasses import dataclass\n"
        "from ..errors import UsageError\nfrom . import headers\nfrom .origins import parse_url\n"
        "from cors_lab.spec.fetch import HTML\nfrom cors_lab import errors\nimport cors_lab.spec.cache\n",
        encoding="utf-8",
    )
    assert violations(clean, allowed=SPEC_ALLOWED, module="cors_lab.spec.clean") == []


def test_facade_may_use_outcome_render_and_trial_but_not_engines(tmp_path):
    facade = tmp_path / "predict.py"
    facade.write_text("from .outcome import Outcome\nfrom .render import COLOURS\nfrom .trial import OPERATIONS\n", encoding="utf-8")
    assert violations(facade, allowed=FACADE_ALLOWED, module="cors_lab.predict") == []
    facade.write_text("from .browser import Browser\n", encoding="utf-8")
    assert violations(facade, allowed=FACADE_ALLOWED, module="cors_lab.predict")
