"""cors_lab/spec/ (and the pure predict façade) import only the standard library and each other."""

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2] / "cors_lab"
PURE = sorted((ROOT / "spec").glob("*.py")) + [ROOT / "predict.py", ROOT / "outcome.py"]
ALLOWED_OURS = {"errors", "spec", "outcome"}


def imports_of(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield 0, alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node.level, node.module or ""


@pytest.mark.parametrize("path", [p for p in PURE if p.exists()], ids=lambda p: p.name)
def test_pure_module_imports_only_stdlib(path):
    bad = []
    for level, module in imports_of(path):
        top = module.split(".")[0]
        if level:
            if top and top not in ALLOWED_OURS and path.parent.name != "spec":
                bad.append(module)
            continue
        if top == "__future__":
            continue
        if top not in sys.stdlib_module_names or top in {"socket", "threading", "asyncio", "ssl", "http", "sqlite3"}:
            bad.append(module)
        if module.startswith("urllib.request"):
            bad.append(module)
    assert not bad, f"{path.name} imports {bad}: cors_lab/spec must stay pure (stdlib only, no I/O)"


def test_pure_modules_exist():
    assert (ROOT / "spec" / "fetch.py").exists() and (ROOT / "spec" / "origins.py").exists()
