"""The public façade: a short, sorted __all__ whose names all import; the pure core loads alone."""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cors_lab

INIT = Path(cors_lab.__file__)
# The engines, loaded on first use, and the module that owns each.
ENGINES = {"Browser": "browser", "Lab": "servers", "LabCanvas": "labcanvas", "LiveProbe": "live",
           "LocalStorage": "storage", "compare": "comparison", "start": "servers"}

# Runs in a fresh interpreter: every module loaded after `code`, outside the standard library.
THIRD_PARTY = """
import json, sys
{code}
found = sorted({{name.split(".")[0] for name in sys.modules}} - set(sys.stdlib_module_names) - {{"cors_lab"}})
print(json.dumps(found))
"""


def loaded_after(code: str) -> set[str]:
    # From the package's parent directory, so the fresh interpreter imports this same cors_lab.
    run = subprocess.run([sys.executable, "-c", THIRD_PARTY.format(code=code)], capture_output=True, text=True,
                         timeout=60, check=True, cwd=INIT.parent.parent)
    return set(json.loads(run.stdout))


def third_party_after(code: str) -> list[str]:
    # Site start-up hooks (.pth files: editable installs, setuptools' distutils shim) load before any code.
    return sorted(loaded_after(code) - loaded_after(""))


def test_all_is_sorted_short_and_importable():
    assert cors_lab.__all__ == sorted(cors_lab.__all__)
    assert 5 <= len(cors_lab.__all__) <= 20
    for name in cors_lab.__all__:
        assert getattr(cors_lab, name) is not None


def test_all_is_a_literal_list():
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    (value,) = [node.value for node in tree.body if isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["__all__"]]
    assert ast.literal_eval(value) == cors_lab.__all__


def test_predict_is_exported():
    from cors_lab import OPERATIONS, predict  # noqa: F401


@pytest.mark.parametrize("code", [
    "import cors_lab.predict",
    "from cors_lab import predict, Outcome, OPERATIONS",
    "import cors_lab.trial, cors_lab.render, cors_lab.errors",
    "import cors_lab; cors_lab.predict(page='https://a.test', chain=[('https://b.test/c.png', 200, [])])",
])
def test_the_pure_core_loads_nothing_outside_the_standard_library(code):
    assert third_party_after(code) == []


def test_the_check_sees_an_engine_load():
    # The same check over an engine: it must list what the façade keeps out of the core.
    assert {"ipycanvas", "numpy"} <= set(third_party_after("import cors_lab; cors_lab.LabCanvas"))


@pytest.mark.parametrize("name, module", ENGINES.items())
def test_engines_resolve_on_first_use(name, module):
    value = getattr(cors_lab, name)
    assert value is getattr(importlib.import_module(f"cors_lab.{module}"), name)
    assert vars(cors_lab)[name] is value  # kept: later look-ups skip __getattr__


def test_dir_lists_the_lazy_names_and_unknown_names_fail():
    assert set(cors_lab.__all__) <= set(dir(cors_lab))
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        cors_lab.Nope  # noqa: B018
