"""Tests for cors_lab.spec.headers: Fetch header-list semantics."""

import pytest

from cors_lab.errors import UsageError
from cors_lab.spec.headers import HeaderList, check_header, control_character, is_valid_value, normalize


@pytest.mark.parametrize(
    "pairs, name, expected",
    [
        pytest.param([("A", "1")], "a", "1", id="get-name-case-insensitive"),
        pytest.param([("a", "1"), ("A", "2")], "a", "1, 2", id="get-combines-with-comma-space"),
        pytest.param([("x", "1")], "a", None, id="get-absent-is-null"),
        pytest.param([("a", "")], "a", "", id="get-empty-value-is-not-null"),
        pytest.param([("a", " * ")], "a", "*", id="get-normalises-spaces"),
        pytest.param([("a", "\t*\t")], "a", "*", id="get-normalises-tabs"),
        pytest.param([("a", "1"), ("b", "x"), ("a", "2")], "A", "1, 2", id="get-combines-non-adjacent"),
    ],
)
def test_get(pairs, name, expected):
    assert HeaderList(pairs).get(name) == expected


def test_duplicates_kept_in_order():
    h = HeaderList([("Vary", "Origin"), ("vary", "Accept")])
    assert h.items() == [("Vary", "Origin"), ("vary", "Accept")]
    assert h.get_all("VARY") == ["Origin", "Accept"] and len(h) == 2


def test_set_replaces_all_and_keeps_position():
    h = HeaderList([("a", "1"), ("b", "2"), ("A", "3")])
    h.set("a", "9")
    assert h.items() == [("a", "9"), ("b", "2")]
    h.set("c", "x")
    assert h.get("c") == "x"


def test_delete_and_append_and_contains():
    h = HeaderList({"a": "1"})
    h.append("B", "2")
    assert h.contains("b")
    h.delete("A")
    assert not h.contains("a") and list(h) == [("B", "2")]
    assert h == HeaderList([("B", "2")]) and "HeaderList" in repr(h)


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param("a, b", ["a", "b"], id="decode-split-comma"),
        pytest.param('"a, b", c', ['"a, b"', "c"], id="decode-split-quoted-comma"),
        pytest.param("", [""], id="decode-split-empty"),
    ],
)
def test_get_decode_split(value, expected):
    assert HeaderList([("x", value)]).get_decode_split("x") == expected


def test_get_decode_split_absent():
    assert HeaderList().get_decode_split("x") is None


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param(" x ", "x", id="normalize-space"),
        pytest.param("\r\nx\n", "x", id="normalize-crlf"),
        pytest.param("x y", "x y", id="normalize-keeps-inner"),
    ],
)
def test_normalize(value, expected):
    assert normalize(value) == expected


@pytest.mark.parametrize(
    "name, value, match",
    [
        pytest.param("Access-Control-Allow-Origin", "*\r\nSet-Cookie: x=1", "line break", id="value-crlf-refused"),
        pytest.param("X", "a\nb", "line break", id="value-lf-refused"),
        pytest.param("X", "a\x00b", "NUL", id="value-nul-refused"),
        pytest.param("Bad Name", "x", "not a valid header name", id="name-with-space-refused"),
        pytest.param("", "x", "not a valid header name", id="empty-name-refused"),
        pytest.param("X", 5, "must be a string", id="value-not-string"),
        pytest.param("X", "\u2603", "outside Latin-1", id="value-non-latin1"),
    ],
)
def test_check_header_refuses(name, value, match):
    with pytest.raises(UsageError, match=match):
        check_header(name, value)


@pytest.mark.parametrize("code", [*range(0x01, 0x09), *range(0x0B, 0x0D), *range(0x0E, 0x20), 0x7F])
def test_check_header_refuses_every_control_character_but_tab(code):
    # RFC 9110 5.5: "Field values containing other CTL characters are also invalid".
    with pytest.raises(UsageError, match=f"control character U\\+{code:04X}.*may hold tabs but no other"):
        check_header("Access-Control-Allow-Origin", f"a{chr(code)}X-Injected: yes")
    assert control_character(f"a{chr(code)}") == f"U+{code:04X}"


def test_check_header_accepts_padded_tabbed_and_latin1():
    check_header("Access-Control-Allow-Origin", " * ")
    check_header("X", "a\tb")
    check_header("X", "caf\xe9")
    assert control_character("a\tb caf\xe9") is None


def test_is_valid_value():
    assert is_valid_value("x") and not is_valid_value(" x") and not is_valid_value("a\rb")


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param([("only-name",)], id="pair-too-short"),
        pytest.param(["ab"], id="string-not-pair"),
        pytest.param([("a", 1)], id="value-int"),
    ],
)
def test_headerlist_rejects_bad_pairs(bad):
    with pytest.raises(UsageError):
        HeaderList(bad)
