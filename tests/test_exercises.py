"""cors_lab.exercises 7-9: a server config run on the lab (and on Debian's servers), and two server logs to
read. Each: a right answer passes, wrong ones fail with feedback that points at the evidence and does not
hold the answer. (1-5: tests/test_notebooks.py; 6, the JavaScript: tests/test_jscheck.py.)"""

from __future__ import annotations

import pytest

from cors_lab import realservers
from cors_lab.errors import CorsLabError
from cors_lab.exercises import (
    CONFIG_SOLUTION,
    CONFIG_STARTER,
    EXERCISES,
    LOG_PUZZLES,
    check,
    show_log,
)

BY_NUMBER = {e.number: e for e in EXERCISES}


def answer_of(source: str):
    scope: dict = {}
    exec(source, scope)
    return scope["answer"]


def run(number: int, answer, **options) -> tuple[bool, str]:
    return BY_NUMBER[number].check(answer, **options)


def test_the_config_solution_is_the_guides_rule_without_its_ifmodule_lines():
    from cors_lab.serverconf import GUIDE_APACHE_LINES

    assert answer_of(CONFIG_SOLUTION).strip() == GUIDE_APACHE_LINES.split("\n", 1)[1].replace("\n  ", "\n  ")


def test_the_config_solution_passes_and_says_what_it_sent():
    ok, text = run(7, answer_of(CONFIG_SOLUTION))
    assert ok and "Read as Apache" in text and "Access-Control-Allow-Origin: *" in text
    assert "Vary: Origin" in text  # the guide's rule answers a plain request differently: the cache note


@pytest.mark.parametrize("answer, says, not_said", [
    (answer_of(CONFIG_STARTER), "IS_CORS is not set for this request", "SetEnvIf"),
    ('Header set Access-Control-Allow-Origin "*"\nHeader always set Access-Control-Allow-Origin "*"',
     "several values", None),
    ('<FilesMatch "\\.jpe?g$">\nHeader set Access-Control-Allow-Origin "*"\n</FilesMatch>', "does not match 'picture.png'", None),
    ('add_header Access-Control-Allow-Origin "*";\nlocation /img/ {\n  add_header Cache-Control "max-age=60";\n}',
     "are NOT added", None),
    ("Header set Access-Control-Allow-Origin", "needs a header name and a value", None),
])
def test_wrong_configs_fail_and_point_at_the_line(answer, says, not_said):
    try:
        ok, text = run(7, answer)
    except CorsLabError as err:  # a line that cannot be read: check() prints it as "Not yet: ..."
        ok, text = False, str(err)
    assert not ok and says in text, text
    if not_said:
        assert not_said not in text


def test_check_prints_a_broken_line_as_not_yet(capsys):
    check(7, "Headers set Access-Control-Allow-Origin *")
    assert capsys.readouterr().out.startswith("✘ Not yet: line 1 ")
    with pytest.raises(CorsLabError, match="takes no option"):
        check(7, "x", probe=None)


@pytest.mark.realservers
@pytest.mark.parametrize("kind, source", [("apache", CONFIG_SOLUTION),
                                           ("nginx", 'answer = """add_header Access-Control-Allow-Origin "*";"""')])
def test_real_true_serves_the_lines_from_debians_server(kind, source):
    reason = realservers.unavailable_reason(kind)
    if reason:
        pytest.skip(reason)
    ok, text = run(7, answer_of(source), real=True)
    assert ok and f"On Debian's {realservers.BINARIES[kind]} with your lines: readable." in text


@pytest.mark.realservers
@pytest.mark.parametrize("kind, answer", [
    ("apache", 'Header set Access-Control-Allow-Origin "*"\nRequestHeader set X-Probe'),  # read here, refused there
    ("apache", 'Header set Access-Control-Allow-Origin "*" early'),  # accepted there, never applied in a <Directory>
    ("nginx", 'add_header Access-Control-Allow-Origin "*";\netag ofx;'),  # read here (etag is left out), refused there
])
def test_real_true_fails_what_the_real_server_refuses_or_ignores(kind, answer):
    reason = realservers.unavailable_reason(kind)
    if reason:
        pytest.skip(reason)
    ok, text = run(7, answer, real=True)
    assert not ok and "/tmp/" not in text, text
    assert any(said in text for said in ("it refused your lines: AH00526: Syntax error", "'early' lines",
                                         'it refused your lines: invalid value "ofx" in "etag" directive')), text


@pytest.mark.parametrize("number", sorted(LOG_PUZZLES))
def test_the_log_is_a_real_failed_load_with_its_settings_hidden(number, capsys):
    from cors_lab.browser import Browser
    from cors_lab.servers import start

    lab = start()
    assert LOG_PUZZLES[number].run(lab, Browser(lab.site), f"t{number}").event == "error"
    show_log(number)
    out = capsys.readouterr().out
    assert "[settings hidden]" in out and not any(k in out for k in ("acao=", "acac=", "to=", "nonce="))
    assert "GET" in out and "OPTIONS" not in out


@pytest.mark.parametrize("number", sorted(LOG_PUZZLES))
def test_the_right_cause_passes_and_each_wrong_one_points_at_the_log(number):
    puzzle = LOG_PUZZLES[number]
    ok, text = run(number, puzzle.right.upper() + " ")
    assert ok and text == puzzle.explain
    secret = {8: ("cookie", "credential", "*"), 9: ("null", "redirect to another origin")}[number]
    for choice in puzzle.choices:
        if choice == puzzle.right:
            continue
        ok, text = run(number, choice)
        assert not ok and text == f"Not this one. {puzzle.hints[choice]}"
        assert not any(s in text for s in secret if not (number == 9 and choice == "d" and s == "cookie")), text
    assert run(number, "z") == (False, f"Answer with one letter: {', '.join(puzzle.choices)}.")


def test_show_log_knows_which_exercises_have_a_log():
    with pytest.raises(CorsLabError, match="has no log"):
        show_log(1)
