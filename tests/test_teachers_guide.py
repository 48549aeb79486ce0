"""docs/teachers-guide.md: its answers section is written from the executed reference copies and the
exercises' one source (tools/teachers_guide.py), and stays in step with them."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("teachers_guide", ROOT / "tools" / "teachers_guide.py")
guide = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guide)
REFERENCES = sorted((ROOT / "notebooks" / "reference").glob("0[0-8]-*.ipynb"))


def test_the_answers_section_is_up_to_date():
    text = guide.GUIDE.read_text()
    assert text.count(guide.BEGIN) == 1 and text.count(guide.END) == 1
    assert guide.updated(text) == text, "run: python tools/teachers_guide.py"


@pytest.mark.parametrize("path", REFERENCES, ids=lambda p: p.stem)
def test_every_predict_question_of_the_reference_copy_has_its_answer(path):
    stored = sum(1 for c in json.loads(path.read_text())["cells"] for o in c.get("outputs", [])
                 if guide._plain(o).startswith(guide.PREDICT))
    found = guide.questions(path)
    assert len(found) == stored
    for q in found:
        assert q["prompt"] and q["answer"].startswith(("outcome: ", "answer: ")), q
        assert not re.search(r"(127\.0\.0\.1|localhost):\d", q["prompt"] + q["answer"] + q["why"]), q  # PORT


def test_every_exercise_s_reference_answer_is_in_the_guide():
    from cors_lab.exercises import EXERCISES, LOG_PUZZLES

    text = guide.answers_markdown()
    for e in EXERCISES:
        assert f"**{e.number}. {e.title}**" in text
        if e.number in LOG_PUZZLES:
            assert LOG_PUZZLES[e.number].explain in text
        else:
            body = e.solution.split('"""')[1].strip("\n") if '"""' in e.solution else e.solution
            assert body in text


def test_updated_adds_the_section_to_a_guide_without_one():
    new = guide.updated("# Guide\n\nText.\n")
    assert new.startswith("# Guide\n\nText.\n\n" + guide.BEGIN) and new.rstrip().endswith(guide.END)
    assert guide.updated(new) == new
