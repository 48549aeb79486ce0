"""The course notebooks: built from tools/build_notebooks.py, executed, stored, and listed in 00."""

import importlib.util
import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
builder = importlib.util.module_from_spec(spec)
spec.loader.exec_module(builder)
NAMES = sorted(builder.NOTEBOOKS)


def load(name):
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())


def test_every_notebook_file_has_a_source():
    files = sorted(str(p.relative_to(ROOT / "notebooks").with_suffix("")) for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
    assert files == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_matches_its_source(name):
    nb = load(name)
    stored = ["".join(c["source"]) for c in nb["cells"]]
    assert stored == [c.source for c in builder.NOTEBOOKS[name]], "rebuild: python tools/build_notebooks.py " + name


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_executed_in_order_with_kernelspec(name):
    nb = load(name)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    counts = [c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))
    text = json.dumps(nb)
    assert "sys.path" not in text and not re.search(r"[?&]token=[0-9a-f]{16,}|_xsrf=", text)


@pytest.mark.parametrize("name", NAMES)
def test_raising_cells_are_tagged_and_keep_their_error(name):
    for cell in load(name)["cells"]:
        if cell["cell_type"] != "code":
            continue
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        tagged = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        assert bool(errors) == tagged, "".join(cell["source"])


def test_start_here_lists_every_notebook():
    toc = "".join(c.source for c in builder.NOTEBOOKS["00-start-here"])
    for name in [n for n in NAMES if "/" not in n]:
        assert f"`{name}`" in toc, name


def test_code_cells_are_short():
    for name in NAMES:
        for cell in builder.NOTEBOOKS[name]:
            if cell.cell_type == "code":
                assert len(cell.source.splitlines()) <= 10, (name, cell.source)


def test_exercise_solutions_pass_and_starters_do_not():
    from cors_lab.exercises import EXERCISES
    from cors_lab.predict import OPERATIONS

    for e in EXERCISES:
        for source, expected in ((e.solution, True), (e.starter, False)):
            scope = {"OPERATIONS": OPERATIONS}
            exec(source, scope)
            ok, why = e.check(scope["answer"])
            assert ok is expected, (e.number, source, why)
            assert why


def test_check_prints_verdict_and_refuses_unknown_exercise(capsys):
    from cors_lab.errors import CorsLabError
    from cors_lab.exercises import check

    check(1, {"crossorigin": "anonymous", "acao": "*"})
    check(1, "not a dict")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✔ Readable") and out[1].startswith("✘ Not yet: Answer with a dict")
    with pytest.raises(CorsLabError, match="no exercise 99"):
        check(99, None)
