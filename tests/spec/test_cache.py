"""Tests for cors_lab.spec.cache: storing, freshness, age, Vary, cache modes, cache keys, HTTPCache.

Times are POSIX seconds; T is when the first response arrived. Ids name the rule under test.
"""

import math
from email.utils import formatdate

import pytest

from cors_lab.errors import UsageError
from cors_lab.spec.cache import (
    CACHE_MODES,
    HTTPCache,
    cache_control,
    cache_key,
    current_age,
    freshness_lifetime,
    storable,
    vary_fields,
    vary_matches,
)
from cors_lab.spec.headers import HeaderList

T = 1_700_000_000.0
DAY = 86_400
SITE = "http://site.test"
URL = "http://cdn.test/cat.png"


def date(t):
    return formatdate(t, usegmt=True)


# What the kernel browser sends for a plain <img> and for <img crossorigin="anonymous">.
PLAIN = [("Accept", "image/*"), ("Sec-Fetch-Dest", "image"), ("Sec-Fetch-Mode", "no-cors")]
CORS = [("Accept", "image/*"), ("Sec-Fetch-Dest", "image"), ("Sec-Fetch-Mode", "cors"), ("Origin", SITE)]


def h5bp(*, vary=False, extra=()):
    """The h5bp Apache rule: ACAO only when the request has Origin; cacheable for an hour."""

    def respond(request):
        headers = [("Content-Type", "image/png"), ("Cache-Control", "max-age=3600"), ("Date", date(T))]
        if HeaderList(request).contains("Origin"):
            headers.append(("Access-Control-Allow-Origin", "*"))
        if vary:
            headers.append(("Vary", "Origin"))
        return headers + list(extra)

    return respond


# --- storable: RFC 9111 section 3 ---------------------------------------------------------------


@pytest.mark.parametrize(
    "status, response, request_headers, method, ok",
    [
        pytest.param(200, [("Cache-Control", "max-age=3600")], [], "GET", True, id="store-max-age"),
        pytest.param(200, [("Cache-Control", "no-store, max-age=3600")], [], "GET", False, id="store-no-store-response"),
        pytest.param(200, [("Cache-Control", "max-age=3600")], [("Cache-Control", "no-store")], "GET", False, id="store-no-store-request"),
        pytest.param(302, [("Cache-Control", "private, max-age=60")], [], "GET", True, id="store-private-ok-for-browser-cache"),
        pytest.param(302, [("Cache-Control", "private")], [], "GET", True, id="store-private-alone-makes-storable"),
        pytest.param(302, [("Cache-Control", "public")], [], "GET", True, id="store-public-makes-storable"),
        pytest.param(302, [("Expires", date(T + 60))], [], "GET", True, id="store-expires-makes-storable"),
        pytest.param(200, [], [], "GET", True, id="store-status-200-heuristically-cacheable"),
        pytest.param(404, [], [], "GET", True, id="store-status-404-heuristically-cacheable"),
        pytest.param(302, [], [], "GET", False, id="store-status-302-without-freshness-not-stored"),
        pytest.param(302, [("Cache-Control", "s-maxage=600")], [], "GET", False, id="store-s-maxage-only-for-shared-caches"),
        pytest.param(103, [("Cache-Control", "max-age=60")], [], "GET", False, id="store-status-not-final"),
        pytest.param(206, [("Cache-Control", "max-age=60")], [], "GET", False, id="store-206-not-understood-deviation"),
        pytest.param(304, [("Cache-Control", "max-age=60")], [], "GET", False, id="store-304-never-stored-deviation"),
        pytest.param(200, [("Cache-Control", "max-age=60")], [], "POST", False, id="store-only-get-deviation"),
        pytest.param(200, [("Cache-Control", "must-understand, no-store")], [], "GET", False, id="store-must-understand-not-modelled-deviation"),
        pytest.param(200, [("Cache-Control", "no-cache")], [], "GET", True, id="store-no-cache-is-storable"),
    ],
)
def test_storable(status, response, request_headers, method, ok):
    check = storable(status=status, response_headers=response, request_headers=request_headers, method=method)
    assert check.ok is ok, check.why
    assert check.why


def test_cache_control_parsing():
    cc = cache_control([("Cache-Control", 'max-age="60", No-Cache="Set-Cookie, X"'), ("cache-control", "max-age=5, public")])
    assert cc == {"max-age": "60", "no-cache": "Set-Cookie, X", "public": None}


# --- freshness lifetime: RFC 9111 section 4.2.1 -------------------------------------------------


@pytest.mark.parametrize(
    "status, headers, seconds, source",
    [
        pytest.param(200, [("Cache-Control", "max-age=3600")], 3600, "max-age", id="lifetime-max-age"),
        pytest.param(200, [("Cache-Control", 'max-age="120"')], 120, "max-age", id="lifetime-max-age-quoted"),
        pytest.param(200, [("Cache-Control", "max-age=10"), ("Cache-Control", "max-age=99")], 10, "max-age", id="lifetime-max-age-first-occurrence-wins"),
        pytest.param(200, [("Cache-Control", "max-age=99999999999")], 2**31, "max-age", id="lifetime-max-age-capped-at-2-31"),
        pytest.param(200, [("Cache-Control", "max-age=60"), ("Date", date(T)), ("Expires", date(T + 9999))], 60, "max-age", id="lifetime-max-age-beats-expires"),
        pytest.param(200, [("Cache-Control", "s-maxage=600")], 0, "none", id="lifetime-s-maxage-ignored-private-cache"),
        pytest.param(200, [("Cache-Control", "s-maxage=600, max-age=60")], 60, "max-age", id="lifetime-s-maxage-ignored-max-age-used"),
        pytest.param(200, [("Cache-Control", "max-age=soon"), ("Date", date(T)), ("Expires", date(T + 30))], 30, "expires", id="lifetime-invalid-max-age-ignored-chromium"),
        pytest.param(200, [("Date", date(T - 100)), ("Expires", date(T + 500))], 600, "expires", id="lifetime-expires-minus-date"),
        pytest.param(200, [("Expires", date(T + 500))], 500, "expires", id="lifetime-expires-without-date-uses-response-time"),
        pytest.param(200, [("Date", date(T)), ("Expires", date(T - DAY))], 0, "expires", id="lifetime-expires-in-past"),
        pytest.param(200, [("Date", date(T)), ("Expires", "0")], 0, "expires", id="lifetime-expires-invalid-already-expired"),
        pytest.param(200, [("Date", date(T)), ("Last-Modified", date(T - DAY))], DAY / 10, "heuristic", id="lifetime-heuristic-10pct-of-date-minus-last-modified"),
        pytest.param(200, [("Last-Modified", date(T - 1000))], 100, "heuristic", id="lifetime-heuristic-without-date-uses-response-time"),
        pytest.param(200, [("Date", date(T)), ("Last-Modified", date(T + DAY))], 0, "none", id="lifetime-heuristic-last-modified-in-future"),
        pytest.param(200, [("Cache-Control", "must-revalidate"), ("Date", date(T)), ("Last-Modified", date(T - DAY))], 0, "none", id="lifetime-heuristic-not-with-must-revalidate"),
        pytest.param(404, [("Date", date(T)), ("Last-Modified", date(T - DAY))], 0, "none", id="lifetime-heuristic-chromium-statuses-only-deviation"),
        pytest.param(301, [], math.inf, "implicit", id="lifetime-301-implicitly-fresh-chromium"),
        pytest.param(200, [("Date", date(T))], 0, "none", id="lifetime-none"),
    ],
)
def test_freshness_lifetime(status, headers, seconds, source):
    lifetime = freshness_lifetime(headers, status=status, response_time=T)
    assert (lifetime.seconds, lifetime.source) == (seconds, source)


# --- current age: RFC 9111 section 4.2.3 --------------------------------------------------------


@pytest.mark.parametrize(
    "headers, request_time, now, age",
    [
        pytest.param([("Date", date(T))], T, T + 12, 12, id="age-resident-time"),
        pytest.param([], T, T + 12, 12, id="age-no-date-means-received-now"),
        pytest.param([("Date", date(T)), ("Age", "100")], T, T + 12, 112, id="age-header-added"),
        pytest.param([("Date", date(T)), ("Age", "100, 7")], T, T, 100, id="age-list-first-member"),
        pytest.param([("Date", date(T)), ("Age", "-5")], T, T, 0, id="age-invalid-ignored"),
        pytest.param([("Date", date(T - 50))], T, T, 50, id="age-apparent-age-from-date"),
        pytest.param([("Date", date(T)), ("Age", "10")], T - 3, T, 13, id="age-response-delay-corrects-age-header"),
    ],
)
def test_current_age(headers, request_time, now, age):
    assert current_age(headers, request_time=request_time, response_time=T, now=now) == age


# --- Vary: RFC 9111 section 4.1 -----------------------------------------------------------------


@pytest.mark.parametrize(
    "vary, stored, new, ok",
    [
        pytest.param([], [], [("Origin", SITE)], True, id="vary-none-plain-then-cors-match"),
        pytest.param([("Vary", "Origin")], [], [], True, id="vary-origin-absent-vs-absent-match"),
        pytest.param([("Vary", "Origin")], [], [("Origin", SITE)], False, id="vary-origin-absent-vs-present-miss"),
        pytest.param([("Vary", "Origin")], [("Origin", SITE)], [], False, id="vary-origin-present-vs-absent-miss"),
        pytest.param([("Vary", "Origin")], [("Origin", SITE)], [("Origin", SITE)], True, id="vary-origin-same-value-match"),
        pytest.param([("Vary", "Origin")], [("Origin", SITE)], [("Origin", "http://other.test")], False, id="vary-origin-other-value-miss"),
        pytest.param([("Vary", "origin")], [], [("Origin", SITE)], False, id="vary-name-case-insensitive-miss"),
        pytest.param([("Vary", "origin")], [("ORIGIN", SITE)], [("Origin", SITE)], True, id="vary-name-case-insensitive-match"),
        pytest.param([("Vary", "Origin")], [("Origin", SITE)], [("Origin", SITE.upper())], False, id="vary-value-case-not-folded-deviation"),
        pytest.param([("Vary", "Accept-Encoding, Origin")], [("Accept-Encoding", "gzip")], [("Accept-Encoding", "gzip"), ("Origin", SITE)], False, id="vary-accept-encoding-origin-origin-differs"),
        pytest.param([("Vary", "Accept-Encoding, Origin")], [("Accept-Encoding", "gzip")], [("Accept-Encoding", "br")], False, id="vary-accept-encoding-origin-encoding-differs"),
        pytest.param([("Vary", "Accept-Encoding, Origin")], [("Accept-Encoding", "gzip"), ("Origin", SITE)], [("Origin", SITE), ("Accept-Encoding", "gzip")], True, id="vary-accept-encoding-origin-match"),
        pytest.param([("Vary", "Accept-Encoding"), ("Vary", "Origin")], [("Accept-Encoding", "gzip")], [("Accept-Encoding", "gzip"), ("Origin", SITE)], False, id="vary-two-lines-combined"),
        pytest.param([("Vary", "*")], [], [], False, id="vary-star-never-matches"),
        pytest.param([("Vary", "Origin, *")], [], [], False, id="vary-star-member-never-matches"),
        pytest.param([("Vary", "Accept-Encoding")], [("Accept-Encoding", "gzip,deflate")], [("Accept-Encoding", " gzip ,  deflate ")], True, id="vary-whitespace-normalised"),
        pytest.param([("Vary", "Accept-Encoding")], [("Accept-Encoding", "gzip"), ("Accept-Encoding", "br")], [("Accept-Encoding", "gzip, br")], True, id="vary-multiple-lines-combined"),
        pytest.param([("Vary", "Accept-Encoding")], [("Accept-Encoding", "gzip, br")], [("Accept-Encoding", "br, gzip")], False, id="vary-no-reordering-deviation"),
        pytest.param([("Vary", "Origin")], [], [("Origin", "")], False, id="vary-absent-only-matches-absent"),
    ],
)
def test_vary_matches(vary, stored, new, ok):
    check = vary_matches(vary, stored, new)
    assert check.ok is ok, check.why


def test_vary_fields_dedupes_and_keeps_spelling():
    assert vary_fields([("Vary", "origin, Accept-Encoding"), ("vary", "Origin")]) == ["origin", "Accept-Encoding"]


# --- cache key: Fetch partition, Chromium's key ------------------------------------------------


@pytest.mark.parametrize(
    "a, b, same",
    [
        pytest.param((URL, SITE, None), (URL + "#frag", SITE, None), True, id="key-fragment-ignored"),
        pytest.param((URL, SITE, None), ("http://user:pw@cdn.test/cat.png", SITE, None), True, id="key-userinfo-stripped"),
        pytest.param((URL, SITE, None), ("HTTP://CDN.test:80/cat.png", SITE, None), True, id="key-host-case-and-default-port"),
        pytest.param((URL, SITE, None), (URL + "?v=2", SITE, None), False, id="key-query-kept"),
        pytest.param((URL, SITE, None), (URL, "http://other.test", None), False, id="key-different-top-level-site"),
        pytest.param((URL, SITE, None), (URL, "http://www.site.test/page.html", None), True, id="key-same-site-subdomain-shares-partition"),
        pytest.param((URL, "http://127.0.0.1:8000", None), (URL, "http://127.0.0.1:9000", None), True, id="key-ports-do-not-count-for-sites"),
        pytest.param((URL, SITE, None), (URL, "https://site.test", None), False, id="key-schemeful-site"),
        pytest.param((URL, SITE, None), (URL, SITE, "http://frame.test"), False, id="key-frame-site-partitions"),
        pytest.param(("http://cdn.test/%7e.png", SITE, None), ("http://cdn.test/~.png", SITE, None), False, id="key-path-not-percent-normalised-deviation"),
    ],
)
def test_cache_key_equality(a, b, same):
    ka = cache_key(a[0], top_level_site=a[1], frame_site=a[2])
    kb = cache_key(b[0], top_level_site=b[1], frame_site=b[2])
    assert (ka == kb) is same, (ka, kb)


@pytest.mark.parametrize(
    "url, top, frame, key",
    [
        pytest.param(URL + "#x", SITE, None, f"1/0/_dk_{SITE} {SITE} {URL}", id="key-chromium-format"),
        pytest.param("https://cdn.test?x=1", "https://a.test:8443/p", "https://b.test", "1/0/_dk_https://a.test https://b.test https://cdn.test/?x=1", id="key-chromium-format-with-frame"),
        pytest.param(URL, "null", None, None, id="key-opaque-top-level-transient"),
        pytest.param(URL, SITE, "null", None, id="key-opaque-frame-transient"),
        pytest.param("data:image/png;base64,AAAA", SITE, None, None, id="key-data-url-not-cached"),
    ],
)
def test_cache_key(url, top, frame, key):
    assert cache_key(url, top_level_site=top, frame_site=frame) == key


# --- HTTPCache: sequences of store and lookup -------------------------------------------------


def store(request, response, *, at=T, status=200, site=SITE, url=URL, mode="default", stored=True, sent=None):
    return ("store", request, response, dict(at=at, status=status, site=site, url=url, mode=mode, sent=sent), dict(stored=stored))


def lookup(request, *, at, expect, site=SITE, url=URL, mode="default", method="GET", validators=None, has=(), lacks=(), why=()):
    return (
        "lookup",
        request,
        None,
        dict(at=at, site=site, url=url, mode=mode, method=method),
        dict(action=expect, validators=validators, has=has, lacks=lacks, why=why),
    )


def run(steps):
    cache = HTTPCache()
    for kind, request, response, args, expect in steps:
        if kind == "store":
            headers = response(request) if callable(response) else response
            result = cache.store(
                request, args["url"], status=args["status"], response_headers=headers,
                response_time=args["at"], request_time=args["sent"], top_level_site=args["site"], cache_mode=args["mode"],
            )
            assert result.stored is expect["stored"], result.why
            assert "https://" in result.why
            continue
        d = cache.lookup(request, args["url"], args["at"], top_level_site=args["site"], cache_mode=args["mode"], method=args["method"])
        assert d.action == expect["action"], d.why
        assert "https://" in d.why and d.why.endswith(".")
        if expect["validators"] is not None:
            assert list(d.validators) == expect["validators"]
        for name in expect["has"]:
            assert d.entry is not None and d.entry.headers.contains(name), d.entry
        for name in expect["lacks"]:
            assert d.entry is not None and not d.entry.headers.contains(name), d.entry
        for words in expect["why"]:
            assert words in d.why, d.why
    return cache


ETAG = [("Content-Type", "image/png"), ("Cache-Control", "max-age=60"), ("Date", date(T)), ("ETag", '"v1"')]
LASTMOD = [("Cache-Control", "max-age=60"), ("Date", date(T)), ("Last-Modified", date(T - DAY))]
HOUR = [("Cache-Control", "max-age=3600"), ("Date", date(T))]


@pytest.mark.parametrize(
    "steps",
    [
        # The gotcha: no Vary: Origin, so the CORS load reuses the stored response without ACAO.
        pytest.param(
            [store(PLAIN, h5bp()), lookup(CORS, at=T + 12, expect="reuse", lacks=["Access-Control-Allow-Origin"],
                                          why=["age 12 s < max-age 3600", "no Vary header", "Origin", "rfc9111#name-calculating-cache-keys-with"])],
            id="no-vary-plain-then-cors-reuse",
        ),
        # The fix: Vary: Origin makes the CORS request miss and go to the server.
        pytest.param(
            [store(PLAIN, h5bp(vary=True)), lookup(CORS, at=T + 12, expect="miss", why=["Vary: Origin", "no Origin header", f"Origin: {SITE}"])],
            id="vary-origin-plain-then-cors-miss",
        ),
        pytest.param(
            [store(PLAIN, h5bp(vary=True)), lookup(CORS, at=T + 12, expect="miss"), store(CORS, h5bp(vary=True), at=T + 12),
             lookup(CORS, at=T + 20, expect="reuse", has=["Access-Control-Allow-Origin"], why=["Vary: Origin matches"])],
            id="vary-origin-cors-response-stored-then-reused",
        ),
        pytest.param(
            [store(PLAIN, h5bp(vary=True)), store(CORS, h5bp(vary=True), at=T + 12), lookup(PLAIN, at=T + 20, expect="miss")],
            id="vary-origin-one-entry-per-key-deviation",
        ),
        pytest.param(
            [store(PLAIN, h5bp(vary=True)), lookup(PLAIN, at=T + 20, expect="reuse", why=["both requests have no Origin"])],
            id="vary-origin-plain-then-plain-reuse",
        ),
        pytest.param(
            [store([("Origin", SITE), ("Accept-Encoding", "gzip")], [*HOUR, ("Vary", "Accept-Encoding, Origin")]),
             lookup([("Origin", "http://other.test"), ("Accept-Encoding", "gzip")], at=T + 1, expect="miss", why=["Origin: http://other.test"])],
            id="vary-accept-encoding-origin-miss-on-origin",
        ),
        # A Vary mismatch: Chromium revalidates with If-None-Match alone when there is an ETag
        # ("Can't rely on last-modified if vary is different"); without one, a plain request.
        pytest.param(
            [store(PLAIN, [*ETAG, ("Vary", "*")]),
             lookup(PLAIN, at=T + 1, expect="revalidate", validators=[("If-None-Match", '"v1"')], why=["Vary: *"])],
            id="vary-star-revalidates-with-if-none-match-chromium",
        ),
        pytest.param(
            [store(PLAIN, [*ETAG, *LASTMOD[2:], ("Vary", "Origin")]),
             lookup(CORS, at=T + 1, expect="revalidate", validators=[("If-None-Match", '"v1"')], why=["Origin"])],
            id="vary-mismatch-revalidates-without-if-modified-since-chromium",
        ),
        pytest.param(
            [store(PLAIN, [*LASTMOD, ("Vary", "*")]), lookup(PLAIN, at=T + 1, expect="miss", validators=[], why=["Vary: *"])],
            id="vary-mismatch-without-etag-miss",
        ),
        # Freshness and staleness.
        pytest.param([store(PLAIN, HOUR), lookup(PLAIN, at=T + 3599, expect="reuse")], id="max-age-fresh-reuse"),
        pytest.param([store(PLAIN, HOUR), lookup(PLAIN, at=T + 3600, expect="revalidate", why=["stale", "age 3600 s >= max-age 3600"])], id="max-age-boundary-stale"),
        pytest.param(
            [store(PLAIN, h5bp()), lookup(PLAIN, at=T + 4000, expect="revalidate", validators=[], why=["without validators"])],
            id="stale-after-max-age-revalidate",
        ),
        pytest.param(
            [store(PLAIN, ETAG), lookup(PLAIN, at=T + 61, expect="revalidate", validators=[("If-None-Match", '"v1"')])],
            id="stale-with-etag-sends-if-none-match",
        ),
        pytest.param(
            [store(PLAIN, LASTMOD), lookup(PLAIN, at=T + 61, expect="revalidate", validators=[("If-Modified-Since", date(T - DAY))])],
            id="stale-with-last-modified-sends-if-modified-since",
        ),
        pytest.param(
            [store(PLAIN, [("Date", date(T)), ("Expires", date(T - 60))]), lookup(PLAIN, at=T + 1, expect="revalidate", why=["Expires - Date = 0 s"])],
            id="expires-in-past-revalidate",
        ),
        pytest.param(
            [store(PLAIN, [("Date", date(T)), ("Expires", date(T + 600))]), lookup(PLAIN, at=T + 599, expect="reuse")],
            id="expires-in-future-reuse",
        ),
        pytest.param(
            [store(PLAIN, [("Date", date(T)), ("Age", "3590"), ("Cache-Control", "max-age=3600")]),
             lookup(PLAIN, at=T + 20, expect="revalidate", why=["age 3610 s"])],
            id="age-header-makes-stale",
        ),
        pytest.param(
            [store(PLAIN, [("Date", date(T)), ("Last-Modified", date(T - 10 * DAY))]), lookup(PLAIN, at=T + DAY - 1, expect="reuse", why=["heuristic"])],
            id="heuristic-fresh-reuse",
        ),
        pytest.param(
            [store(PLAIN, [("Location", "http://cdn.test/b.png")], status=301), lookup(PLAIN, at=T + 365 * DAY, expect="reuse", why=["for ever"])],
            id="implicit-301-fresh-for-ever-chromium",
        ),
        pytest.param(
            [store(PLAIN, [*HOUR, ("Cache-Control", "stale-while-revalidate=600")]), lookup(PLAIN, at=T + 3700, expect="revalidate")],
            id="stale-while-revalidate-not-modelled-deviation",
        ),
        # no-cache and no-store.
        pytest.param(
            [store(PLAIN, [("Cache-Control", "no-cache, max-age=3600"), ("Date", date(T)), ("ETag", '"v1"')]),
             lookup(PLAIN, at=T + 1, expect="revalidate", validators=[("If-None-Match", '"v1"')], why=["no-cache", "rfc9111#section-5.2.2.4"])],
            id="no-cache-response-revalidate-while-fresh",
        ),
        pytest.param(
            [store(PLAIN, [("Cache-Control", 'no-cache="Set-Cookie", max-age=3600'), ("Date", date(T))]), lookup(PLAIN, at=T + 1, expect="revalidate")],
            id="no-cache-qualified-treated-as-plain-deviation",
        ),
        pytest.param(
            [store(PLAIN, HOUR), lookup([*PLAIN, ("Cache-Control", "no-cache")], at=T + 1, expect="revalidate", why=["rfc9111#section-5.2.1.4"])],
            id="no-cache-request-revalidate-not-reload-deviation",
        ),
        pytest.param(
            [store(PLAIN, HOUR), lookup([*PLAIN, ("Pragma", "no-cache")], at=T + 1, expect="revalidate", why=["Pragma: no-cache"])],
            id="pragma-no-cache-request-revalidate",
        ),
        pytest.param(
            [store(PLAIN, HOUR), lookup([*PLAIN, ("Cache-Control", "max-age=0")], at=T, expect="revalidate", why=["max-age=0"])],
            id="request-max-age-0-revalidate",
        ),
        pytest.param(
            [store(PLAIN, HOUR), lookup([*PLAIN, ("Cache-Control", "max-age=30")], at=T + 31, expect="revalidate")],
            id="request-max-age-exceeded-revalidate",
        ),
        pytest.param(
            [store(PLAIN, HOUR), lookup([*PLAIN, ("Cache-Control", "max-age=30")], at=T + 30, expect="reuse")],
            id="request-max-age-within-reuse",
        ),
        pytest.param(
            [store(PLAIN, [("Cache-Control", "no-store, max-age=3600")], stored=False), lookup(PLAIN, at=T + 1, expect="miss")],
            id="no-store-response-not-stored-then-miss",
        ),
        pytest.param(
            [store([*PLAIN, ("Cache-Control", "no-store")], HOUR, stored=False), lookup(PLAIN, at=T + 1, expect="miss")],
            id="no-store-request-not-stored-then-miss",
        ),
        # Keys and partitions.
        pytest.param(
            [store(PLAIN, HOUR), lookup(PLAIN, at=T + 1, expect="miss", site="http://other.test", why=["partitioned by site", SITE])],
            id="different-top-level-site-miss",
        ),
        pytest.param([store(PLAIN, HOUR), lookup(PLAIN, at=T + 1, expect="reuse", url=URL + "#part")], id="fragment-same-entry-reuse"),
        pytest.param(
            [store(PLAIN, HOUR, site="null", stored=False), lookup(PLAIN, at=T + 1, expect="miss", site="null", why=["opaque origin"])],
            id="opaque-page-not-cached-chromium",
        ),
        pytest.param([store(PLAIN, HOUR), lookup(PLAIN, at=T + 1, expect="miss", method="POST")], id="post-lookup-miss-deviation"),
        # Fetch adjusts the mode for a request that is already conditional.
        pytest.param(
            [store(PLAIN, ETAG), lookup([*PLAIN, ("If-None-Match", '"v1"')], at=T + 1, expect="miss", why=['"no-store"']),
             store([*PLAIN, ("If-None-Match", '"v0"')], ETAG, stored=False)],
            id="conditional-request-default-becomes-no-store",
        ),
    ],
)
def test_sequence(steps):
    run(steps)


# --- Revalidation answered with 304: RFC 9111 section 4.3.4 ------------------------------------


def test_304_freshens_stored_response():
    cache = run([store(PLAIN, ETAG), lookup(PLAIN, at=T + 100, expect="revalidate")])
    result = cache.store(
        [*PLAIN, ("If-None-Match", '"v1"')][:3], URL, status=304, top_level_site=SITE,
        response_headers=[("ETag", '"v1"'), ("Date", date(T + 100)), ("Cache-Control", "max-age=60"), ("Content-Length", "0")],
        request_time=T + 100, response_time=T + 100,
    )
    assert result.stored and result.entry.status == 200 and "rfc9111#section-4.3.4" in result.why
    assert result.entry.headers.get("Content-Type") == "image/png"
    assert not result.entry.headers.contains("Content-Length"), "a 304's Content-Length must not replace the stored one"
    assert cache.lookup(PLAIN, URL, T + 130, top_level_site=SITE).action == "reuse"


def test_304_freshens_without_comparing_validators_deviation():
    cache = run([store(PLAIN, ETAG)])
    result = cache.store(PLAIN, URL, status=304, response_headers=[("ETag", '"v2"')], response_time=T + 100, top_level_site=SITE)
    # Freshened although its ETag differs; the stored ETag itself stays, as in Chromium (next test).
    assert result.stored and result.entry.headers.get("ETag") == '"v1"'


def test_304_does_not_replace_what_chromium_keeps_deviation():
    cache = run([store(PLAIN, ETAG)])
    result = cache.store(
        PLAIN, URL, status=304, response_time=T + 100, top_level_site=SITE,
        response_headers=[("Content-Type", "text/html"), ("X-Content-Type-Options", "nosniff"), ("ETag", '"v1"'),
                          ("Access-Control-Allow-Origin", "*"), ("Cache-Control", "no-cache")],
    )
    headers = result.entry.headers
    assert headers.get("Content-Type") == "image/png" and not headers.contains("X-Content-Type-Options")
    # Everything else is replaced or added: the CORS check then reads the 304's ACAO.
    assert headers.get("Access-Control-Allow-Origin") == "*" and headers.get("Cache-Control") == "no-cache"


def test_304_after_a_vary_mismatch_makes_the_new_request_the_stored_one():
    # The CORS request revalidates the plain one's answer (Vary: Origin); the 304 carries ACAO, and
    # the stored request becomes the CORS one, so the next CORS request reuses without asking.
    cache = run([store(PLAIN, [*ETAG, ("Vary", "Origin")])])
    result = cache.store(CORS, URL, status=304, response_time=T + 2, top_level_site=SITE,
                         response_headers=[("ETag", '"v1"'), ("Vary", "Origin"), ("Access-Control-Allow-Origin", "*")])
    assert result.entry.headers.get("Access-Control-Allow-Origin") == "*"
    assert cache.lookup(CORS, URL, T + 3, top_level_site=SITE).action == "reuse"
    assert cache.lookup(PLAIN, URL, T + 3, top_level_site=SITE).action == "revalidate"


def test_304_with_nothing_stored_is_not_stored():
    result = HTTPCache().store(PLAIN, URL, status=304, response_headers=[("ETag", '"v1"')], response_time=T, top_level_site=SITE)
    assert not result.stored and result.entry is None


# --- Fetch cache modes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, state, action",
    [
        pytest.param("default", "fresh", "reuse", id="mode-default-fresh-reuse"),
        pytest.param("default", "stale", "revalidate", id="mode-default-stale-revalidate"),
        pytest.param("default", "none", "miss", id="mode-default-nothing-stored-miss"),
        pytest.param("no-store", "fresh", "miss", id="mode-no-store-skips-cache"),
        pytest.param("reload", "fresh", "miss", id="mode-reload-skips-cache"),
        pytest.param("no-cache", "fresh", "revalidate", id="mode-no-cache-fresh-revalidate"),
        pytest.param("no-cache", "stale", "revalidate", id="mode-no-cache-stale-revalidate"),
        pytest.param("force-cache", "fresh", "reuse", id="mode-force-cache-fresh-reuse"),
        pytest.param("force-cache", "stale", "reuse", id="mode-force-cache-stale-reuse"),
        pytest.param("force-cache", "no-cache", "reuse", id="mode-force-cache-no-cache-response-reuse"),
        pytest.param("force-cache", "none", "miss", id="mode-force-cache-nothing-stored-network"),
        pytest.param("force-cache", "vary-mismatch", "miss", id="mode-force-cache-vary-mismatch-network"),
        pytest.param("only-if-cached", "stale", "reuse", id="mode-only-if-cached-stale-reuse"),
        pytest.param("only-if-cached", "none", "network-error", id="mode-only-if-cached-nothing-stored-error"),
        pytest.param("only-if-cached", "vary-mismatch", "network-error", id="mode-only-if-cached-vary-mismatch-error"),
    ],
)
def test_cache_modes(mode, state, action):
    cache = HTTPCache()
    headers = {"no-cache": [("Cache-Control", "no-cache, max-age=3600")], "vary-mismatch": [*HOUR, ("Vary", "Origin")]}.get(state, HOUR)
    if state != "none":
        cache.store(PLAIN, URL, status=200, response_headers=headers, response_time=T, top_level_site=SITE)
    now = T + (7200 if state == "stale" else 10)
    d = cache.lookup(CORS, URL, now, top_level_site=SITE, cache_mode=mode)
    assert d.action == action, d.why
    assert "https://" in d.why


@pytest.mark.parametrize(
    "mode, stored",
    [
        pytest.param("default", True, id="mode-default-stores"),
        pytest.param("reload", True, id="mode-reload-stores"),
        pytest.param("no-cache", True, id="mode-no-cache-stores"),
        pytest.param("no-store", False, id="mode-no-store-never-stores"),
    ],
)
def test_cache_modes_store(mode, stored):
    cache = HTTPCache()
    result = cache.store(PLAIN, URL, status=200, response_headers=HOUR, response_time=T, top_level_site=SITE, cache_mode=mode)
    assert result.stored is stored and len(cache) == int(stored)


def test_cache_modes_table_has_fetchs_six_modes():
    assert sorted(CACHE_MODES) == sorted(["default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached"])
    assert CACHE_MODES["only-if-cached"].on_miss == "network-error"
    assert not CACHE_MODES["no-store"].looks_up and not CACHE_MODES["no-store"].stores


def test_unknown_cache_mode_is_a_usage_error():
    with pytest.raises(UsageError, match="force-cache"):
        HTTPCache().lookup(PLAIN, URL, T, top_level_site=SITE, cache_mode="forced")


def test_clear_and_entries():
    cache = run([store(PLAIN, HOUR), store(PLAIN, HOUR, site="http://other.test")])
    assert len(cache) == 2 and all(k.startswith("1/0/_dk_") for k in cache.entries)
    cache.clear()
    assert len(cache) == 0 and cache.lookup(PLAIN, URL, T, top_level_site=SITE).action == "miss"


def test_why_is_the_example_sentence_for_the_gotcha():
    cache = HTTPCache()
    cache.store([], URL, status=200, response_headers=HOUR, response_time=T, top_level_site=SITE)
    d = cache.lookup([("Origin", SITE)], URL, T + 12, top_level_site=SITE)
    assert d.why == (
        "Reused the stored response: it is fresh (age 12 s < max-age 3600) and it has no Vary header, so the new "
        "request's Origin header is not compared "
        "(RFC 9111 §4.1: https://www.rfc-editor.org/rfc/rfc9111#name-calculating-cache-keys-with)."
    )
    assert (d.age, d.lifetime, d.key) == (12, 3600, cache_key(URL, top_level_site=SITE))


def test_a_cancelled_load_is_not_stored_deviation():
    # Chromium: a load given up once its headers arrived (failed CORS check, ORB) never finishes
    # its cache entry; the next load goes to the network.
    cache = HTTPCache()
    headers = [("Content-Type", "image/png"), ("Cache-Control", "max-age=3600"), ("Date", date(T))]
    result = cache.store(CORS, URL, status=200, response_headers=headers, response_time=T, top_level_site=SITE,
                         cancelled=True, body=b"x" * 214)
    assert not result.stored and "cancelled" in result.why
    assert cache.lookup(PLAIN, URL, T + 1, top_level_site=SITE).action == "miss"
    assert cache.store(PLAIN, URL, status=200, response_headers=headers, response_time=T, top_level_site=SITE).stored


@pytest.mark.parametrize(
    "headers, size, stored",
    [
        pytest.param([("Content-Type", "text/plain")], 214, True, id="cancelled-deviation-sniffed-small-body-stored"),
        pytest.param([], 2048, True, id="cancelled-deviation-no-type-2048-stored"),
        pytest.param([], 4096, False, id="cancelled-deviation-past-first-read-not-stored"),
        pytest.param([("Content-Type", "image/png")], 214, False, id="cancelled-image-type-not-sniffed-not-stored"),
        pytest.param([("Content-Type", "text/plain"), ("X-Content-Type-Options", "nosniff")], 214, False,
                     id="cancelled-nosniff-not-stored"),
    ],
)
def test_a_cancelled_load_read_whole_first_is_stored_deviation(headers, size, stored):
    cache = HTTPCache()
    result = cache.store(CORS, URL, status=200, response_headers=headers + [("Cache-Control", "max-age=3600")],
                         response_time=T, top_level_site=SITE, cancelled=True, body=b"x" * size)
    assert result.stored is stored, result.why
