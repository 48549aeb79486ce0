"""cors_lab.servers.validators: the pictures' file date, their ETag and Last-Modified, and RFC 9110's
preconditions; then what the lab answers to conditional requests (through `ask`, no socket)."""

from __future__ import annotations

import email.utils

import pytest

from cors_lab.servers.validators import FILE_DATE, file_date, not_modified, validator_headers

ETAG = '"d6-677484800-1a2b3c4d"'
MODIFIED = FILE_DATE
NOW = FILE_DATE + 86400
LM = email.utils.formatdate(MODIFIED, usegmt=True)


def values(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


@pytest.mark.parametrize(
    "inm, ims, expected",
    [
        (None, None, False),
        (ETAG, None, True),
        ('W/' + ETAG, None, True),  # "A recipient MUST use the weak comparison function"
        (f'"other", {ETAG}', None, True),  # "one of the listed tags matches"
        ("*", None, True),
        ('"other"', None, False),
        ('"other"', LM, False),  # If-Modified-Since is ignored when If-None-Match is present
        (None, LM, True),
        (None, email.utils.formatdate(MODIFIED + 60, usegmt=True), True),  # later than Last-Modified
        (None, email.utils.formatdate(MODIFIED - 1, usegmt=True), False),
        (None, email.utils.formatdate(NOW + 3600, usegmt=True), False),  # in the future: ignored
        (None, "yesterday", False),  # not an HTTP-date: ignored
        (None, f"{LM}, {LM}", False),  # more than one member: ignored
    ],
    ids=[
        "no-preconditions",
        "step3-inm-matches",
        "step3-inm-weak-comparison",
        "step3-inm-list",
        "step3-inm-star",
        "step3-inm-no-match",
        "step3-inm-wins-over-ims",
        "step4-ims-equal",
        "step4-ims-later",
        "step4-ims-earlier",
        "step4-ims-future-ignored",
        "step4-ims-invalid-ignored",
        "step4-ims-list-ignored",
    ],
)
def test_not_modified(inm, ims, expected):
    why = not_modified(etag=ETAG, modified=MODIFIED, if_none_match=inm, if_modified_since=ims, now=NOW)
    assert (why is not None) == expected
    if why:
        assert "https://www.rfc-editor.org/rfc/rfc9110#section-13.1." in why


def test_validator_headers_follow_the_body_and_the_date():
    (lm_name, lm), (etag_name, etag) = validator_headers(b"abc", modified=MODIFIED)
    assert (lm_name, etag_name) == ("Last-Modified", "ETag")
    assert lm == "Wed, 01 Jan 2025 00:00:00 GMT" and etag.startswith('"3-') and etag.endswith('"')
    assert validator_headers(b"abd", modified=MODIFIED)[1][1] != etag  # same size, another body
    assert validator_headers(b"abc", modified=MODIFIED + 1)[1] != (etag_name, etag)


def test_file_date_is_fixed_or_dated_from_the_first_answer():
    assert file_date(None, key="a", now=NOW) == FILE_DATE
    first = file_date(60, key=("test", 1), now=NOW + 0.7)
    assert first == NOW - 60
    assert file_date(60, key=("test", 1), now=NOW + 500) == first  # a file's date stays put
    assert file_date(60, key=("test", 2), now=NOW + 500) == NOW + 440


# -- the lab's answers ------------------------------------------------------------------------------


def test_a_picture_has_validators_and_an_old_date(lab, ask):
    status, headers, _ = ask(lab.cdn.url("picture.png"))
    assert status == 200
    assert values(headers, "Last-Modified") == ["Wed, 01 Jan 2025 00:00:00 GMT"]
    assert len(values(headers, "ETag")) == 1
    status, headers, _ = ask(lab.cdn.url("picture.png", validators=False))
    assert status == 200 and values(headers, "Last-Modified") == values(headers, "ETag") == []


def test_a_matching_validator_gets_304_with_the_cors_headers(lab, ask):
    url = lab.cdn.url("picture.png", apache=True, vary="Origin", cache="no-cache", nosniff=True, acac=True)
    _, first, _ = ask(url)
    etag, lm = values(first, "ETag")[0], values(first, "Last-Modified")[0]
    origin = {"Origin": lab.site.origin}
    for conditional in ({"If-None-Match": etag}, {"If-Modified-Since": lm}, {"If-None-Match": etag, "If-Modified-Since": lm}):
        status, headers, body = ask(url, {**origin, **conditional})
        assert (status, body) == (304, b"")
        names = [n for n, _ in headers]
        assert "Content-Type" not in names and "Content-Length" not in names
        assert values(headers, "ETag") == [etag] and values(headers, "Last-Modified") == [lm]
        assert values(headers, "Access-Control-Allow-Origin") == ["*"]  # the guide's rule fires on 304
        assert values(headers, "Access-Control-Allow-Credentials") == ["true"]
        assert values(headers, "Vary") == ["Origin"] and values(headers, "Cache-Control") == ["no-cache"]
        assert values(headers, "X-Content-Type-Options") == ["nosniff"]
    status, headers, _ = ask(url, {"If-None-Match": etag})
    assert status == 304 and values(headers, "Access-Control-Allow-Origin") == []  # no Origin, no rule


@pytest.mark.parametrize(
    "knobs, conditional",
    [
        ({}, {"If-None-Match": '"not-this-one"'}),
        ({}, {"If-Modified-Since": "Tue, 31 Dec 2024 23:59:59 GMT"}),
        ({}, {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}),
        ({"validators": False}, {"If-None-Match": "*"}),
        ({"status": 404}, {"If-None-Match": "*"}),
        ({"status": 203}, {"If-None-Match": "*"}),
    ],
    ids=["other-etag", "modified-since", "future-date-ignored", "validators-off", "error-status", "not-200"],
)
def test_the_whole_answer_when_a_precondition_does_not_hold(lab, ask, knobs, conditional):
    status, headers, body = ask(lab.cdn.url("picture.png", **knobs), conditional)
    assert status == knobs.get("status", 200) and body and values(headers, "Content-Type") == ["image/png"]
    assert values(headers, "ETag") == ([] if knobs else values(headers, "ETag"))


def test_no_validators_where_no_file_is_sent(lab, ask):
    for knobs in ({"status": 404}, {"status": 204}, {"to": lab.site.url("picture.png")}, {"status": 500, "errorpage": True}):
        _, headers, _ = ask(lab.cdn.url("picture.png", **knobs))
        assert values(headers, "ETag") == values(headers, "Last-Modified") == [], knobs
    _, headers, _ = ask(lab.cdn.login_url("alice"))
    assert values(headers, "ETag") == []


def test_age_dates_the_file_from_the_first_answer(lab, ask):
    url = lab.cdn.url("picture.png", age=3600, nonce=True)
    _, first, _ = ask(url)
    modified = email.utils.parsedate_to_datetime(values(first, "Last-Modified")[0]).timestamp()
    date = email.utils.parsedate_to_datetime(values(first, "Date")[0]).timestamp()
    assert date - modified == 3600
    _, again, _ = ask(url)
    assert values(again, "Last-Modified") == values(first, "Last-Modified") and values(again, "ETag") == values(first, "ETag")


def test_errorpage_is_the_servers_own_html(lab, ask):
    status, headers, body = ask(lab.cdn.url("picture.png", status=404, errorpage=True, acao="*"))
    assert status == 404 and body.startswith(b"<!doctype html>") and b"<title>404 Not Found</title>" in body
    assert values(headers, "Content-Type") == ["text/html; charset=utf-8"]
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]
