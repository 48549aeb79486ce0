"""Write the course notebooks from the cell lists below, execute them top to bottom, store outputs.

    python tools/build_notebooks.py [NAME ...]

One source of truth for the course text: edit the cells here, rebuild, commit the .ipynb files.
Each notebook stores its kernelspec (so JupyterLab never asks "Select Kernel") and its outputs
(so GitHub readers see results and nbval compares them). Cells tagged raises-exception keep their
error output.
"""

from __future__ import annotations

import pathlib
import sys

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str, *tags: str):
    cell = nbformat.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


NOTEBOOKS: dict[str, list] = {}

NOTEBOOKS["00-start-here"] = [
    md("""
# cors-lab: cross-origin images and tainted canvases

Draw an image from another origin into a `<canvas>` and try to read its pixels back. Will it work?
Here is the whole course in three lines:
"""),
    code("""
from cors_lab import predict
r = predict(page="https://a.test", chain=[("https://b.test/cat.png", 200, [])])
r.readback
"""),
    md("""
The page `https://a.test` drew an image from `https://b.test` without asking for CORS approval,
so the canvas became **tainted**, and `getImageData()` throws a `SecurityError`.
The model says why, naming the rule and linking the standard:
"""),
    code("print(r.why)"),
    md("""
Before you run the next cell, **predict**: the image now has the `crossorigin="anonymous"` attribute,
but the server still sends no `Access-Control-Allow-Origin` header. Tainted canvas, or something else?
"""),
    code("""
r = predict(page="https://a.test", chain=[("https://b.test/cat.png", 200, [])], crossorigin="anonymous")
print(r)
"""),
    md("""
Surprise: with `crossorigin` set, a missing header is not a taint, it is a **load error**: the image never
arrives, and drawing a broken image throws `InvalidStateError`. Now let the server approve:
"""),
    code("""
approved = [("https://b.test/cat.png", 200, [("Access-Control-Allow-Origin", "*")])]
predict(page="https://a.test", chain=approved, crossorigin="anonymous").verdict
"""),
    md("""
`(load, readback, exception)`: the image loaded, readback works, nothing was thrown.

## The course

| notebook | what you do |
|---|---|
| `00-start-here` | this page: the three outcomes (readable, tainted, load error) |

Read alongside MDN's guide
[Allowing cross-origin use of images and canvas](https://developer.mozilla.org/en-US/docs/Web/HTML/CORS_enabled_image),
and when in doubt, the standards: [Fetch's CORS check](https://fetch.spec.whatwg.org/#concept-cors-check)
and [HTML's canvas security rules](https://html.spec.whatwg.org/multipage/canvas.html#security-with-canvas-elements).
"""),
]


def build(name: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = NOTEBOOKS[name]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    path = HERE / f"{name}.ipynb"
    nbformat.write(nb, path)
    print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    for name in sys.argv[1:] or list(NOTEBOOKS):
        build(name)
