"""Build the course notebooks from their text sources: learners' copies and executed reference copies.

    python tools/build_notebooks.py [NAME ...]

The sources are MyST Markdown notebooks, ``notebooks/src/NN-name.md`` (jupytext): open one in
JupyterLab as a notebook (right-click, Open With, Jupytext Notebook), edit, save, then run this build
and commit the sources with the .ipynb files it writes. What a source shows is what the learner gets,
cell for cell (tags and cell metadata too); the build adds nothing to a learner's copy. Each source gives:
- ``notebooks/NAME.ipynb``, the learner's copy: no outputs, so nothing is answered before the learner
  runs a cell and commits a guess in its predict widget (`cors_lab.course`);
- ``notebooks/reference/NAME.ipynb``, executed top to bottom with every answer shown at once
  (`reference_copy()` in its second cell; links made relative to that folder), for maintainers, GitHub
  readers and nbval.
``09-exercises`` has no text source: it and its solutions (``notebooks/solutions/``, executed) are
generated from one source, ``cors_lab.exercises.EXERCISES``. Every notebook stores its kernelspec (so
JupyterLab never asks "Select Kernel"); cells tagged raises-exception keep their error output; cell ids
are derived from the cell's text, so rebuilding an unchanged cell changes nothing in git.
"""

from __future__ import annotations

import copy
import hashlib
import pathlib
import re
import sys

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = HERE / "src"
SOURCE_FORMAT = "md:myst"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str, *tags: str):
    cell = nbformat.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def source_path(name: str) -> pathlib.Path:
    return SOURCES / f"{name}.md"


def read_source(path: pathlib.Path) -> list:
    """The cells of one text source, as JupyterLab (with jupytext) shows them."""
    return jupytext.read(path, fmt=SOURCE_FORMAT).cells


def source_names() -> list[str]:
    return sorted(p.stem for p in SOURCES.glob("[0-9][0-9]-*.md"))


NOTEBOOKS: dict[str, list] = {name: read_source(source_path(name)) for name in source_names()}


def _exercises(solved: bool) -> list:
    """09-exercises and its solutions from one source: cors_lab.exercises.EXERCISES."""
    from cors_lab.exercises import EXERCISES

    title = "09 · Exercises: solutions" if solved else "09 · Exercises"
    intro = ("Reference answers; other answers that the checks accept are right too."
             if solved else "Edit each `answer`, run the cell, then run `check`. The checks run your answer (in "
             "the model, in a real browser, on the lab's servers), so any answer a browser would accept passes. "
             "Solutions: [solutions/09-exercises-solutions](solutions/09-exercises-solutions.ipynb).")
    top = md(f"# {title}\n\n{intro}") if solved else md(f"""
# {title}

**You will be able to:**
- make a cross-origin picture readable from the attribute and the server's headers
- write the JavaScript that loads it, reports a load error and catches a refused readback
- write the Apache or nginx lines that allow it, and read a server log of a failed load

**Before this:** notebooks `00`-`08` (exercise 6 follows `06`, 7 follows `05`, 9 follows `04`) ·
**Time:** about 45 minutes · [glossary](../docs/glossary.md) · [cheat sheet](../docs/cheat-sheet.md)

{intro}""")
    cells = [top, code("from cors_lab import OPERATIONS\nfrom cors_lab.exercises import check")]
    for e in EXERCISES:
        cells.append(md(f"## {e.number}. {e.title}\n\n{e.task}"))
        if e.setup:
            cells.append(code(e.setup))
        cells.append(code(e.solution if solved else e.starter))
        cells.append(code(f"check({e.number}, answer{e.check_args})"))
    return cells


NOTEBOOKS["09-exercises"] = _exercises(solved=False)
NOTEBOOKS["solutions/09-exercises-solutions"] = _exercises(solved=True)


# The reference copies' second cell: every question below shows its answer without asking.
REFERENCE_CELL = "from cors_lab.course import reference_copy\nreference_copy()   # maintainers' copy: answers shown at once"
REFERENCE_DIR = "reference"
EXECUTED_ONLY = ("solutions/",)  # already a reference: written executed, with no learner's copy


# A relative Markdown link target: not a URL, not an anchor, not from the root.
LINK = re.compile(r"\]\((?![a-z][a-z0-9+.-]*:|#|/)([^)\s]+)\)")


def relink(text: str) -> str:
    """A learner's link, from ``notebooks/reference/``: sibling notebooks are the reference copies
    beside it, ``reference/`` is that folder itself, anything else is one folder further up."""

    def target(m: re.Match) -> str:
        link = m.group(1)
        if re.fullmatch(r"[0-9][0-9]-[^/]*\.ipynb(#.*)?", link):
            return m.group(0)
        if link.startswith(REFERENCE_DIR + "/"):
            return f"]({link.removeprefix(REFERENCE_DIR + '/') or './'})"
        return f"](../{link})"

    return LINK.sub(target, text)


def reference_cells(name: str) -> list:
    """The reference copy's cells: the learner's, with `REFERENCE_CELL` after the title and links relinked."""
    cells = copy.deepcopy(NOTEBOOKS[name])
    for cell in cells:
        if cell.cell_type == "markdown":
            cell.source = relink(cell.source)
    return [cells[0], code(REFERENCE_CELL), *cells[1:]]


def new_notebook(cells: list):
    """A notebook of ``cells`` (fresh copies: no outputs, no execution counts), each with an id taken
    from its text, so an unchanged cell keeps its id from build to build."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    seen: set[str] = set()
    for cell in cells:
        fresh = (code(cell.source) if cell.cell_type == "code" else
                 nbformat.v4.new_markdown_cell(cell.source))
        fresh.metadata.update(copy.deepcopy(dict(cell.metadata)))
        digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()
        fresh.id = next(digest[i:i + 8] for i in range(0, 33) if digest[i:i + 8] not in seen)
        seen.add(fresh.id)
        nb.cells.append(fresh)
    return nb


def write(nb, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    print(f"wrote {path.relative_to(HERE.parent)}")


def build(name: str) -> None:
    if name.startswith(EXECUTED_ONLY):
        executed, path = new_notebook(copy.deepcopy(NOTEBOOKS[name])), HERE / f"{name}.ipynb"
    else:
        write(new_notebook(copy.deepcopy(NOTEBOOKS[name])), HERE / f"{name}.ipynb")
        executed, path = new_notebook(reference_cells(name)), HERE / REFERENCE_DIR / f"{name}.ipynb"
    # Run from the learner's folder, so relative paths and links behave as in the learner's copy.
    NotebookClient(executed, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(HERE)}},
                   store_widget_state=False, record_timing=False).execute()
    write(executed, path)


if __name__ == "__main__":
    for name in sys.argv[1:] or list(NOTEBOOKS):
        build(name)
