"""Tests for cors_lab.spec.origins: URL -> origin, same origin, same site, serialisation."""

import pytest

from cors_lab.errors import UsageError
from cors_lab.spec.origins import (
    OpaqueOrigin,
    TupleOrigin,
    is_potentially_trustworthy,
    origin_of,
    parse_origin,
    parse_url,
    registrable_domain,
    same_origin,
    same_site,
)


@pytest.mark.parametrize(
    "url, serialized",
    [
        pytest.param("http://a.test/x.png", "http://a.test", id="tuple-origin-http"),
        pytest.param("http://a.test:80/x.png", "http://a.test", id="default-port-80-normalised"),
        pytest.param("https://a.test:443/", "https://a.test", id="default-port-443-normalised"),
        pytest.param("https://a.test:80/", "https://a.test:80", id="port-80-on-https-kept"),
        pytest.param("http://a.test:8080/", "http://a.test:8080", id="non-default-port-kept"),
        pytest.param("HTTP://A.TEST/", "http://a.test", id="scheme-and-host-lowercased"),
        pytest.param("ws://a.test:80/", "ws://a.test", id="ws-default-port"),
        pytest.param("wss://a.test:443/", "wss://a.test", id="wss-default-port"),
        pytest.param("ftp://a.test:21/", "ftp://a.test", id="ftp-default-port"),
        pytest.param("http://user:pw@a.test/", "http://a.test", id="credentials-not-in-origin"),
        pytest.param("http://a.test", "http://a.test", id="no-path"),
        pytest.param("http://a.test?q", "http://a.test", id="query-right-after-host"),
        pytest.param("http://a.test#f", "http://a.test", id="fragment-right-after-host"),
        pytest.param("http:\\\\a.test\\x", "http://a.test", id="backslashes-as-slashes"),
        pytest.param("http:a.test/x", "http://a.test", id="special-scheme-missing-slashes"),
        pytest.param("  http://a.test/  ", "http://a.test", id="c0-space-stripped"),
        pytest.param("http://127.0.0.1:8000/", "http://127.0.0.1:8000", id="ipv4"),
        pytest.param("http://0x7f.1/", "http://127.0.0.1", id="ipv4-hex-short-form"),
        pytest.param("http://0177.0.0.1/", "http://127.0.0.1", id="ipv4-octal"),
        pytest.param("http://2130706433/", "http://127.0.0.1", id="ipv4-single-number"),
        pytest.param("http://[::1]:8000/", "http://[::1]:8000", id="ipv6"),
        pytest.param("http://[0:0:0:0:0:0:0:1]/", "http://[::1]", id="ipv6-compressed"),
        pytest.param("http://a.t%65st/", "http://a.test", id="host-percent-decoded"),
        pytest.param("http://bücher.test/", "http://xn--bcher-kva.test", id="idna-host"),
        pytest.param("blob:https://a.test/uuid", "https://a.test", id="blob-of-https"),
        pytest.param("blob:file:///x", "null", id="blob-of-file-is-opaque-file-origin"),
        pytest.param("blob:data:text/plain,x", "null", id="blob-of-data-opaque"),
        pytest.param("blob:not a url", "null", id="blob-unparsable-opaque"),
        pytest.param("data:image/png;base64,AAAA", "null", id="data-opaque"),
        pytest.param("file:///tmp/x.png", "null", id="file-opaque"),
        pytest.param("about:blank", "null", id="about-opaque"),
        pytest.param("javascript:alert(1)", "null", id="javascript-opaque"),
    ],
)
def test_origin_of(url, serialized):
    assert origin_of(url).serialize() == serialized


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("", id="empty"),
        pytest.param("a.test/x.png", id="relative-no-scheme"),
        pytest.param("http://", id="empty-host"),
        pytest.param("http://a.test:99999/", id="port-too-big"),
        pytest.param("http://a.test:8x/", id="port-not-number"),
        pytest.param("http://[::1/", id="ipv6-unclosed"),
        pytest.param("http://[zz::1]/", id="ipv6-bad"),
        pytest.param("http://1.2.3.4.5/", id="ipv4-too-many-parts"),
        pytest.param("http://256.0.0.1/", id="ipv4-part-too-big"),
        pytest.param("http://a b.test/", id="space-in-host"),
        pytest.param("http://a<b.test/", id="forbidden-host-char"),
    ],
)
def test_parse_url_rejects_with_fix(url):
    with pytest.raises(UsageError, match="Invalid URL.*absolute URL such as"):
        origin_of(url)


def test_parse_url_rejects_non_string():
    with pytest.raises(UsageError, match="must be a string"):
        parse_url(42)


def test_parse_url_keeps_credentials_flag():
    assert parse_url("http://u:p@a.test/").has_credentials
    assert not parse_url("http://a.test/").has_credentials


def test_opaque_origins_are_unique():
    a, b = origin_of("data:,x"), origin_of("data:,x")
    assert isinstance(a, OpaqueOrigin) and a.serialize() == "null" and str(a) == "null"
    assert not same_origin(a, b)
    assert same_origin(a, a)


def test_tuple_origin_str_is_serialization():
    assert str(TupleOrigin("http", "a.test", 81)) == "http://a.test:81"


@pytest.mark.parametrize(
    "a, b, expected",
    [
        pytest.param("http://a.test", "http://a.test:80", True, id="same-origin-default-port"),
        pytest.param("http://a.test/x", "http://a.test/y?z", True, id="same-origin-path-ignored"),
        pytest.param("http://a.test", "https://a.test", False, id="scheme-differs"),
        pytest.param("http://a.test:8000", "http://a.test:8001", False, id="port-differs"),
        pytest.param("http://a.test", "http://b.a.test", False, id="subdomain-differs"),
        pytest.param("http://127.0.0.1:8000", "http://localhost:8000", False, id="ip-vs-localhost"),
        pytest.param("http://A.test", "http://a.TEST", True, id="host-case-insensitive"),
    ],
)
def test_same_origin(a, b, expected):
    assert same_origin(origin_of(a), origin_of(b)) is expected


@pytest.mark.parametrize(
    "a, b, expected",
    [
        pytest.param("http://127.0.0.1:8000", "http://127.0.0.1:9000", True, id="same-site-ports-ignored"),
        pytest.param("http://localhost:8000", "http://127.0.0.1:8000", False, id="localhost-vs-ip-cross-site"),
        pytest.param("https://a.example.test", "https://b.example.test", True, id="same-registrable-domain"),
        pytest.param("http://a.test", "https://a.test", False, id="schemeful-same-site"),
        pytest.param("http://a.test", "http://b.test", False, id="different-domains"),
        pytest.param("http://127.0.0.1", "http://127.0.0.2", False, id="ip-addresses-stand-alone"),
    ],
)
def test_same_site(a, b, expected):
    assert same_site(origin_of(a), origin_of(b)) is expected


def test_same_site_opaque_only_with_itself():
    o = parse_origin("null")
    assert same_site(o, o) and not same_site(o, parse_origin("null"))
    assert not same_site(o, origin_of("http://a.test"))


def test_registrable_domain_deviation_no_public_suffix_list():
    # Deviation pinned: without the PSL, github.io user sites count as one site.
    assert registrable_domain("a.github.io") == registrable_domain("b.github.io")
    assert registrable_domain("localhost") == "localhost"
    assert registrable_domain("[::1]") == "[::1]"


@pytest.mark.parametrize(
    "text, serialized",
    [
        pytest.param("https://a.test", "https://a.test", id="origin-text"),
        pytest.param("https://a.test/page.html?x", "https://a.test", id="page-url"),
        pytest.param("null", "null", id="null-is-new-opaque"),
        pytest.param(TupleOrigin("http", "x", None), "http://x", id="origin-object-passes-through"),
    ],
)
def test_parse_origin(text, serialized):
    assert parse_origin(text).serialize() == serialized


def test_parse_origin_rejects_non_string():
    with pytest.raises(UsageError, match="origin must be a string"):
        parse_origin(None)


@pytest.mark.parametrize(
    "url, expected",
    [
        pytest.param("https://a.test/", True, id="https-trustworthy"),
        pytest.param("http://a.test/", False, id="http-not-trustworthy"),
        pytest.param("http://127.0.0.1:9/", True, id="loopback-v4"),
        pytest.param("http://127.9.9.9/", True, id="loopback-v4-range"),
        pytest.param("http://[::1]/", True, id="loopback-v6"),
        pytest.param("http://localhost:8/", True, id="localhost"),
        pytest.param("http://x.localhost/", True, id="dot-localhost"),
        pytest.param("data:,x", True, id="data-trustworthy"),
        pytest.param("about:blank", True, id="about-blank"),
        pytest.param("wss://a.test/", True, id="wss"),
    ],
)
def test_is_potentially_trustworthy(url, expected):
    assert is_potentially_trustworthy(url) is expected
