"""Write the answers section of docs/teachers-guide.md from the course itself.

    python tools/teachers_guide.py          # rewrite the section between the markers
    python tools/teachers_guide.py --check  # exit 1 if the section is out of date

Every Predict question of notebooks 00-08 with its answer and why, read from the executed reference
copies (notebooks/reference/*.ipynb: what the experiments answered, not what someone typed), and
every exercise's reference answer from cors_lab.exercises (the one source of 09 and its solutions).
Ports, nonces and clock times are replaced as notebooks/sanitize.cfg replaces them for nbval, so the
section only changes when an answer does. tests/test_teachers_guide.py keeps it in sync.
"""

from __future__ import annotations

import configparser
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "teachers-guide.md"
REFERENCE = ROOT / "notebooks" / "reference"
SANITIZE = ROOT / "notebooks" / "sanitize.cfg"
BEGIN = "<!-- answers: written by tools/teachers_guide.py from notebooks/reference and cors_lab.exercises; do not edit by hand -->"
END = "<!-- /answers -->"
PREDICT = "Predict: "
WHY_MAX = 320  # characters of the why kept in the guide (to the end of a sentence)


def _sanitizers() -> list[tuple[re.Pattern, str]]:
    config = configparser.ConfigParser(interpolation=None)
    config.read(SANITIZE)
    return [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]


def sanitize(text: str, rules: list[tuple[re.Pattern, str]]) -> str:
    for pattern, replace in rules:
        text = pattern.sub(replace, text)
    return text


def _plain(output: dict) -> str:
    data = output.get("data", {})
    text = data.get("text/plain", output.get("text", ""))
    return "".join(text) if isinstance(text, list) else str(text)


def _short(text: str) -> str:
    """The why, on one line, up to its first link (the rule's), else cut after the sentence that passes
    `WHY_MAX` characters."""
    text = " ".join(text.split())
    link = re.search(r"https?://(?!127\.0\.0\.1|localhost)\S+", text)  # the rule's link, not a lab origin
    if link:
        return text[:link.end()]
    if len(text) <= WHY_MAX:
        return text
    cut = text.find(". ", WHY_MAX)
    return text if cut < 0 else text[:cut + 1] + " …"


def _why(after: list[dict]) -> str:
    """From the outputs after a question's verdict: the "Why" an ask() shows, else the first thing a
    choose() run shows (a model result's "why: ...", or its own short text)."""
    texts = [_plain(o) for o in after]
    for text in texts:
        if text.startswith("Why\n"):
            return _short(text[4:])
    for text in texts:
        if "why: " in text:
            return _short(text.split("why: ", 1)[1])
    return _short(texts[0].strip("'\"")) if texts else ""


def questions(path: pathlib.Path) -> list[dict]:
    """Each question of one executed notebook: its heading, prompt, answer and why, in order."""
    rules = _sanitizers()
    found, heading = [], ""
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            heads = re.findall(r"^#{1,3} (.+)$", source, re.MULTILINE)
            heading = heads[-1].strip() if heads else heading
            continue
        outputs = cell.get("outputs", [])
        starts = [i for i, o in enumerate(outputs) if _plain(o).startswith(PREDICT)]
        for n, i in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(outputs)
            verdict = _plain(outputs[i + 1]) if i + 1 < end else ""
            found.append({
                "heading": heading,
                "prompt": sanitize(_plain(outputs[i])[len(PREDICT):].strip(), rules),
                "answer": sanitize(verdict.strip(), rules),
                "why": sanitize(_why(outputs[i + 2:end]), rules),
            })
    return found


def _exercise_lines() -> list[str]:
    from cors_lab.exercises import EXERCISES, LOG_PUZZLES
    from cors_lab.serverlines import read

    lines = ["### 09-exercises", "",
             ("Reference answers from `cors_lab.exercises` (the checks accept any answer that works). Each is run "
             "by `tests/test_notebooks.py` and executed in `notebooks/solutions/`."), ""]
    for e in EXERCISES:
        lines.append(f"**{e.number}. {e.title}**")
        lines.append("")
        puzzle = LOG_PUZZLES.get(e.number)
        if puzzle is not None:
            lines.append(f"`{puzzle.right}`: {puzzle.choices[puzzle.right]} {puzzle.explain}")
        else:
            code, language = e.solution, "python"
            if '"""' in code:  # the answer is a text: JavaScript (6) or a server's lines (7)
                code = code.split('"""', 1)[1].rsplit('"""', 1)[0].strip("\n")
                language = "javascript" if e.browser else read(code).kind.lower()
            lines += [f"```{language}", code, "```"]
        lines.append("")
    return lines


def answers_markdown() -> str:
    """The whole generated section, markers included."""
    lines = [BEGIN, "", "## Answers", "",
             ("Every *Predict* question of notebooks 00-08, as the executed reference copies answered it "
             "(`notebooks/reference/`; each answer is right under its question there, with both engines, the "
             "JavaScript and the server lines). Ports are written `PORT`."), ""]
    for path in sorted(REFERENCE.glob("0[0-8]-*.ipynb")):
        found = questions(path)
        lines += [f"### {path.stem}", ""]
        if not found:
            lines += ["(no questions)", ""]
            continue
        for n, q in enumerate(found, 1):
            where = f"*{q['heading']}* · " if q["heading"] else ""
            lines.append(f"{n}. {where}{q['prompt']}  ")
            lines.append(f"   **{q['answer']}**" + (f" — {q['why']}" if q["why"] else ""))
        lines.append("")
    lines += _exercise_lines()
    lines.append(END)
    return "\n".join(lines)


def updated(text: str) -> str:
    """``text`` (the guide) with its answers section replaced (or added at the end)."""
    section = answers_markdown()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + section + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + section + "\n"


def main(argv: list[str]) -> int:
    text = GUIDE.read_text()
    new = updated(text)
    if "--check" in argv:
        if new != text:
            print(f"{GUIDE.relative_to(ROOT)} is out of date: python tools/teachers_guide.py")
            return 1
        return 0
    GUIDE.write_text(new)
    print(f"wrote {GUIDE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
