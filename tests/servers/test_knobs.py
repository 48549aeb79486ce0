"""cors_lab.servers.knobs: the one knob table, its parsers and encoders."""

from __future__ import annotations

import re

import pytest

from cors_lab import servers
from cors_lab.errors import UsageError
from cors_lab.servers import KNOBS, encode_knobs, parse_knobs


def test_parse_and_encode_agree():
    pairs = encode_knobs({"acao": ["*", "null"], "acac": "True", "status": 404, "delay": 1.5, "ctype": ""})
    k = parse_knobs(pairs)
    assert (k.acao, k.acac, k.status, k.delay, k.ctype) == (("*", "null"), "True", 404, 1.5, "")
    assert parse_knobs("apache&nosniff=1").apache and parse_knobs("apache&nosniff=1").nosniff
    assert parse_knobs("apache=0").apache is False
    assert parse_knobs("").final_status == 200
    assert parse_knobs("to=http://a:1/").final_status == 302


# One Python value per knob, and what parse_knobs makes of its encoding.
ROUND_TRIPS = {
    "acao": (["*", "null"], ("*", "null")),
    "acac": (True, "true"),
    "vary": ("Origin", ("Origin",)),
    "cache": ("max-age=60", "max-age=60"),
    "apache": (True, True),
    "status": (404, 404),
    "to": ("http://a:1/x.png", "http://a:1/x.png"),
    "delay": (0.25, 0.25),
    "ctype": ("", ""),
    "truncate": (10, 10),
    "nosniff": (True, True),
    "validators": (False, False),
    "age": (3600, 3600),
    "errorpage": (True, True),
    "nonce": (7, "7"),
    "user": ("alice", "alice"),
    "samesite": ("none", "None"),
}


@pytest.mark.parametrize("name", list(KNOBS))
def test_every_knob_parses_what_it_encodes(name):
    value, parsed = ROUND_TRIPS[name]
    endpoint = "login" if KNOBS[name].login_only else "img"
    extra = {"user": "bob"} if endpoint == "login" and name != "user" else {}
    extra.update({"status": 404} if name == "errorpage" else {})
    assert getattr(parse_knobs(encode_knobs({name: value, **extra}), endpoint=endpoint), name) == parsed


@pytest.mark.parametrize("name", ["user", "samesite"])
def test_login_only_knobs_are_refused_elsewhere(name):
    assert KNOBS[name].login_only
    with pytest.raises(UsageError, match="only works on /login"):
        parse_knobs(encode_knobs({name: ROUND_TRIPS[name][0]}))


def test_unknown_knob_points_to_the_table():
    for attempt in (lambda: parse_knobs("acoa=*"), lambda: encode_knobs({"acoa": "*"})):
        with pytest.raises(UsageError, match=r"Unknown knob 'acoa'.*cors_lab\.servers\.KNOBS"):
            attempt()


def test_every_knob_is_documented_in_the_table():
    # The package docstring points to the table; the table documents every knob for learners.
    assert "`KNOBS`" in servers.__doc__ and "print(cors_lab.servers.KNOBS)" in servers.__doc__
    printed = str(KNOBS)
    assert printed == KNOBS.table()
    for name, knob in KNOBS.items():
        assert knob.example.startswith(f"{name}=") and knob.effect, name
        assert re.search(rf"^{name}\s+{re.escape(knob.example)}\s+\S", printed, re.M), name
    page = KNOBS._repr_html_()
    assert page.startswith('<table class="cors-lab-knobs">') and all(f"<code>{n}</code>" in page for n in KNOBS)
    assert set(servers.__all__) <= set(dir(servers))


def test_validators_are_on_unless_turned_off():
    assert parse_knobs("").validators is True and parse_knobs("validators=1").validators is True
    assert parse_knobs("validators=0").validators is False
    assert encode_knobs({"validators": True}) == [] and encode_knobs({"validators": False}) == [("validators", "0")]
    with pytest.raises(UsageError, match="pass validators=False"):
        encode_knobs({"validators": "no"})


@pytest.mark.parametrize(
    "query, message",
    [
        ("age=-1", "whole seconds"),
        ("age=1.5", "whole seconds"),
        ("age=99999999999", "whole seconds"),
        ("age=60&validators=0", "validators=0 does not send"),
        ("errorpage=1", "needs status=400..599"),
        ("errorpage=1&status=204", "needs status=400..599"),
        ("errorpage=1&status=404&ctype=image/png", "do not go together"),
    ],
    ids=["age-negative", "age-fraction", "age-too-large", "age-without-validators", "errorpage-without-status",
         "errorpage-on-204", "errorpage-with-ctype"],
)
def test_new_knobs_refuse_what_cannot_be(query, message):
    with pytest.raises(UsageError, match=message):
        parse_knobs(query)


@pytest.mark.parametrize("char", [chr(c) for c in [*range(0x01, 0x09), *range(0x0B, 0x0D), *range(0x0E, 0x20), 0x7F]])
@pytest.mark.parametrize("knob", ["acao", "acac", "vary", "cache", "ctype"])
def test_header_knobs_refuse_every_control_character_but_tab(knob, char):
    with pytest.raises(UsageError, match=f"control character U\\+{ord(char):04X}"):
        parse_knobs([(knob, f"a{char}b")])


def test_header_knobs_keep_a_tab():
    assert parse_knobs([("acao", "a\tb")]).acao == ("a\tb",)
