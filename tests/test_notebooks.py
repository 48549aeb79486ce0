"""The course notebooks: built by tools/build_notebooks.py from their text sources (notebooks/src/, MyST
Markdown read by jupytext) as learners' copies (no outputs, so no answer before a guess) and executed
reference copies (notebooks/reference/, solutions/), and listed in 00."""

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
LEARNERS = [n for n in NAMES if not n.startswith(builder.EXECUTED_ONLY)]
# Executed notebooks (path under notebooks/ without .ipynb) -> their source's name.
EXECUTED = {**{f"{builder.REFERENCE_DIR}/{n}": n for n in LEARNERS},
            **{n: n for n in NAMES if n.startswith(builder.EXECUTED_ONLY)}}


def load(name):
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())


def cells_of(cells):
    """What a source decides about each cell: its type, its text and its metadata (tags included)."""
    return [(c["cell_type"], "".join(c["source"]), dict(c.get("metadata", {}))) for c in cells]


def test_every_notebook_file_has_a_source():
    files = sorted(str(p.relative_to(ROOT / "notebooks").with_suffix("")) for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
    assert files == sorted(LEARNERS + list(EXECUTED))


@pytest.mark.parametrize("name", LEARNERS)
def test_learner_copy_matches_its_source_and_stores_no_output(name):
    nb = load(name)
    assert cells_of(nb["cells"]) == cells_of(builder.NOTEBOOKS[name]), (
        "stale against its source; rebuild: python tools/build_notebooks.py " + name)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    stored = [c for c in nb["cells"] if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert not stored, "a learner's copy must not hold an answer before the learner's guess"


@pytest.mark.parametrize("path", sorted(EXECUTED))
def test_reference_copy_matches_its_source(path):
    name = EXECUTED[path]
    expected = builder.reference_cells(name) if path != name else builder.NOTEBOOKS[name]
    assert cells_of(load(path)["cells"]) == cells_of(expected), (
        "stale against its source; rebuild: python tools/build_notebooks.py " + name)


@pytest.mark.parametrize("name", LEARNERS)
def test_every_prediction_is_a_question_not_an_answer(name):
    """Each question cell calls ask/choose; no markdown states a result right before its question."""
    cells = builder.NOTEBOOKS[name]
    questions = [i for i, c in enumerate(cells) if c.cell_type == "code" and re.search(r"\b(ask|choose)\(", c.source)]
    prompts = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and "**Predict" in c.source]
    assert not prompts, "Predict prompts are questions now: cors_lab.course.ask/choose"
    if name not in ("09-exercises",):
        assert questions, f"{name} asks nothing"


@pytest.mark.parametrize("path", sorted(EXECUTED))
def test_notebook_is_executed_in_order_with_kernelspec(path):
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    counts = [c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))
    text = json.dumps(nb)
    assert "sys.path" not in text and not re.search(r"[?&]token=[0-9a-f]{16,}|_xsrf=", text)


@pytest.mark.parametrize("path", sorted(EXECUTED))
def test_raising_cells_are_tagged_and_keep_their_error(path):
    for cell in load(path)["cells"]:
        if cell["cell_type"] != "code":
            continue
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        tagged = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        assert bool(errors) == tagged, "".join(cell["source"])


@pytest.mark.parametrize("path", sorted(p for p in EXECUTED if p != EXECUTED[p]))
def test_reference_canvases_store_a_picture_with_alt_text(path):
    for cell in load(path)["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if str(data.get("text/plain", "")).startswith("LabCanvas "):
                assert data.get("image/png") and 'alt="' in data.get("text/html", ""), path
                assert "application/vnd.jupyter.widget-view+json" not in data


def test_the_guide_code_shown_in_06_is_verbatim():
    from cors_lab.course import guide_code

    guide = (ROOT.parent.parent / "shared" / "reference" / "mdn-cors-enabled-image.md")
    shown = guide_code().text
    assert "function startDownload()" in shown and "function imageReceived()" in shown
    if guide.exists():  # the project's copy of MDN's page
        blocks = re.findall(r"```js\n(.*?)```", guide.read_text(), re.S)
        assert shown == "\n".join(blocks).strip()


def test_start_here_lists_every_notebook():
    toc = "".join(c.source for c in builder.NOTEBOOKS["00-start-here"])
    for name in [n for n in NAMES if "/" not in n]:
        assert f"`{name}`" in toc, name


def test_code_cells_are_short():
    for name in NAMES:
        for cell in builder.NOTEBOOKS[name]:
            if cell.cell_type == "code":
                assert len(cell.source.splitlines()) <= 10, (name, cell.source)


def _exercises():
    """Each exercise; the JavaScript one runs in Chromium (browser tier, skipped with the reason without one)."""
    from cors_lab.exercises import EXERCISES
    from cors_lab.jscheck import chromium_reason

    reason = chromium_reason()
    return [pytest.param(e, id=str(e.number), marks=[pytest.mark.browser, pytest.mark.skipif(reason is not None, reason=reason or "")]
                         if e.browser else []) for e in EXERCISES]


@pytest.mark.parametrize("e", _exercises())
def test_exercise_solutions_pass_and_starters_do_not(e):
    from cors_lab.predict import OPERATIONS

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


SOURCES = sorted(builder.SOURCES.glob("[0-9][0-9]-*.md"))


def test_every_learner_notebook_but_the_exercises_has_a_text_source():
    assert [p.stem for p in SOURCES] == [n for n in LEARNERS if n != "09-exercises"]
    assert not (builder.SOURCES / "09-exercises.md").exists()  # generated from cors_lab.exercises only


def _without_version(text):
    return re.sub(r"(?m)^    jupytext_version: .*\n", "", text)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_source_round_trips_through_jupytext(path):
    """Reading a source and writing it back gives the same text (the jupytext version aside), so a
    notebook saved unchanged from JupyterLab is the file the build reads, cell for cell."""
    import jupytext

    text = path.read_text()
    nb = jupytext.reads(text, fmt=builder.SOURCE_FORMAT)
    again = jupytext.writes(nb, fmt=builder.SOURCE_FORMAT)
    assert _without_version(again) == _without_version(text), f"jupytext would rewrite {path.name}"
    assert cells_of(jupytext.reads(again, fmt=builder.SOURCE_FORMAT).cells) == cells_of(nb.cells)
    assert nb.metadata["kernelspec"]["name"] == "python3"  # JupyterLab opens it without "Select Kernel"


@pytest.mark.parametrize("path", SOURCES[:1] + SOURCES[-1:], ids=lambda p: p.stem)
def test_jupyterlab_save_keeps_the_source(path, tmp_path):
    """Through jupytext's contents manager (what Jupyter serves JupyterLab with): open the source as a
    notebook, run a cell as a kernel would (outputs, execution metadata, language_info), show every cell
    in the property inspector, save: the file is unchanged, and an edit made there is what the build reads."""
    import shutil

    from jupytext import TextFileContentsManager

    shutil.copy(path, tmp_path / path.name)
    shutil.copy(builder.SOURCES / "jupytext.toml", tmp_path)  # the sources' jupytext settings
    cm = TextFileContentsManager(root_dir=str(tmp_path))
    model = cm.get(path.name)
    assert model["type"] == "notebook"
    nb = model["content"]
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3", "version": "3.11.7",
                                    "codemirror_mode": {"name": "ipython", "version": 3}}
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.execution_count = 1
    first.outputs = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
    first.metadata["execution"] = {"iopub.status.busy": "2026-11-30T00:00:00Z"}
    for cell in nb.cells:  # what JupyterLab's property inspector writes into each cell it shows
        cell.metadata.update({"editable": True, "deletable": True, "slideshow": {"slide_type": ""}})
    cm.save(model, path.name)
    saved = (tmp_path / path.name).read_text()
    assert _without_version(saved) == _without_version(path.read_text())
    nb.cells[0].source += "\n\nA teacher's new sentence."
    cm.save(model, path.name)
    built = builder.read_source(tmp_path / path.name)
    assert built[0].source.endswith("A teacher's new sentence.") and cells_of(built[1:]) == cells_of(
        builder.read_source(path)[1:])


LINK = re.compile(r"\]\((?![a-z][a-z0-9+.-]*:|#)([^)\s#]+)[^)\s]*\)")


@pytest.mark.parametrize("path", LEARNERS + sorted(EXECUTED))
def test_relative_links_lead_to_files(path):
    """Links in a notebook's Markdown resolve from where that notebook is (reference copies are one folder down)."""
    folder = (ROOT / "notebooks" / path).parent
    for kind, text, _ in cells_of(load(path)["cells"]):
        for link in LINK.findall(text) if kind == "markdown" else []:
            assert (folder / link).exists(), (path, link)


@pytest.mark.parametrize("name", NAMES)
def test_mermaid_diagrams_have_no_semicolons(name):
    """Mermaid ends a statement at ";": a message such as `P->>F: a; b` no longer parses, and JupyterLab
    shows the diagram's text in a warning box instead of the picture (seen in 01's sequence diagram)."""
    for cell in builder.NOTEBOOKS[name]:
        for block in re.findall(r"```mermaid\n(.*?)```", cell.source, re.S) if cell.cell_type == "markdown" else []:
            assert ";" not in block, (name, block)
