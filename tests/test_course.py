"""cors_lab.course: nothing runs and nothing is answered before the learner's choice."""

from __future__ import annotations

import pytest

from cors_lab import Browser, course
from cors_lab.course import Question, Revealed, ask, choose, outcome_class, reference_copy
from cors_lab.outcome import Outcome


@pytest.fixture(autouse=True)
def learner_mode():
    reference_copy(False)
    yield
    reference_copy(False)


def test_outcome_class_names_the_three_outcomes():
    assert outcome_class(Outcome(load="error", readback=None, exception="InvalidStateError")) == "load error"
    assert outcome_class(Outcome(load="load", readback="SecurityError", exception="SecurityError")) == "tainted"
    assert outcome_class(Outcome(load="load", readback="ok", exception=None)) == "readable"


def test_choose_runs_only_after_the_choice_and_once():
    runs = []
    q = choose("Is it tainted?", ["tainted", "clean"], lambda: runs.append(1) or ("tainted", "shown"))
    assert isinstance(q, Question) and runs == []
    assert course.ANSWER_LATER in repr(q) and "you said" not in repr(q)
    q.toggles["answer"].value = "clean"
    q.toggles["answer"].value = "tainted"  # disabled after the first choice: no second run
    assert runs == [1] and q.answer.choices == {"answer": "tainted"}
    assert all(t.disabled for t in q.toggles.values())


def test_a_run_that_answers_outside_its_choices_is_reported_not_swallowed():
    q = choose("?", ["a", "b"], lambda: ("c",))
    q.toggles["answer"].value = "a"
    assert q.answer is None
    assert "not one of the choices" in "".join(o.get("text", "") for o in q.output.outputs)


def test_learner_question_stores_no_answer_in_its_plain_text(lab):
    q = ask(lab, lab.cdn.url("picture.png"), crossorigin="anonymous")
    text = q._repr_mimebundle_()["text/plain"]
    assert "load error" in text  # the choices are listed...
    assert q.answer is None


@pytest.mark.parametrize("crossorigin, knobs, right, exception", [
    (None, {}, "tainted", "SecurityError"),
    ("anonymous", {}, "load error", "InvalidStateError"),
    ("anonymous", {"acao": "*"}, "readable", "none"),
])
def test_ask_answers_from_the_kernel_after_the_choice(lab, crossorigin, knobs, right, exception):
    url = lab.cdn.url("picture.png", nonce=True, **knobs)
    q = ask(lab, url, crossorigin=crossorigin, exception=True, browser=Browser(lab.site))
    before = len(lab.cdn.log)
    assert q.answer is None
    q.toggles["outcome"].value = "readable"
    assert q.answer is None and len(lab.cdn.log) == before  # one row chosen: nothing runs yet
    q.toggles["exception"].value = "none"
    assert q.answer.choices == {"outcome": right, "exception": exception}
    texts = [o.get("data", {}).get("text/plain", "") for o in q.output.outputs]
    assert any("function experiment" not in t and "you said readable" in t for t in texts)
    assert any("async function experiment()" in t for t in texts)


def test_reference_copy_reveals_at_once(lab):
    reference_copy()
    shown = ask(lab, lab.cdn.url("picture.png", nonce=True))
    assert isinstance(shown, Revealed) and shown.answer.choices == {"outcome": "tainted"}


def test_ask_shows_the_server_config_that_answers_as_the_lab_did_after_the_choice(lab):
    from cors_lab.serverconf import apache_config, nginx_config

    url = lab.cdn.url("picture.png", nonce=True, acao="*", vary="Origin")
    q = ask(lab, url, crossorigin="anonymous", browser=Browser(lab.site))
    assert q.output.outputs == ()
    q.toggles["outcome"].value = "tainted"
    texts = [o.get("data", {}).get("text/plain", "") for o in q.output.outputs]
    assert any(t.endswith(apache_config(url=url)) and t.startswith("Apache 2.4:") for t in texts)
    assert any(t.endswith(nginx_config(url=url)) and t.startswith("nginx:") for t in texts)
    markdown = [o["data"]["text/markdown"] for o in q.output.outputs if "<details>" in o.get("data", {}).get("text/markdown", "")]
    assert len(markdown) == 2 and all("</details>" in m for m in markdown)


def test_server_config_follows_a_redirect_chain_and_says_what_no_server_can_do(lab):
    chain = lab.chain([lab.cdn, lab.other], "picture.png", acao="*", hop_knobs={"acao": "*"})
    shown = course.server_config(chain)
    assert [s.title.split(":")[0] for s in shown] == ["Apache 2.4", "nginx", "Apache 2.4", "nginx"]
    assert "(hop 1 of 2)" in shown[0].title and lab.other.origin in shown[2].title and "Redirect 302" in shown[0].text
    slow = course.server_config(lab.cdn.url("picture.png", delay=1))
    assert all(s.text.startswith("# No ") and "delay=1" in s.text for s in slow)
    # The kit's extension picture (behind one origin): one block per server all the same, saying it has no lines.
    extension = course.server_config("http://127.0.0.1:1/cors-lab/img/picture.png?acao=*")
    assert [s.title.split(":")[0] for s in extension] == ["Apache 2.4", "nginx"]
    assert all("server extension" in s.text and "no server lines" in s.text for s in extension)


def test_show_config_false_leaves_it_out(lab):
    reference_copy()
    shown = ask(lab, lab.cdn.url("picture.png", nonce=True), show_config=False, show_code=False)
    assert not any(getattr(s, "language", None) in ("apache", "nginx") for s in shown.answer.shown)
