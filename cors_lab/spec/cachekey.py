"""Which HTTP cache a fetch uses and under which key: Fetch's partition, Chromium's triple key.

Owns the cache key Chromium's HTTP cache stores a response under (top-level site, frame site,
URL), the part other engines add to it (a ``variant``: see profiles.Profile.cache_variant) and the
cases that bypass the cache (opaque sites, non-HTTP(S) URLs). Pure: stdlib only.
"""

from __future__ import annotations

from .freshness import CHROMIUM_NET
from .origins import ParsedURL, obtain_site, parse_origin, parse_url

CHROMIUM_CACHE_KEY = f"{CHROMIUM_NET}http/http_cache.cc"  # HttpCache::GenerateCacheKey
CHROMIUM_NIK = f"{CHROMIUM_NET}base/network_isolation_key.h"  # the "triple-key" scheme
PARTITIONING_EXPLAINER = "https://github.com/shivanigithub/http-cache-partitioning"
KEY_PREFIX = "1/0/_dk_"


def _site(origin_or_url: object) -> str | None:
    """A schemeful site, serialised as Chromium's SchemefulSite does; None for an opaque origin.

    Spec: https://html.spec.whatwg.org/multipage/browsers.html#obtain-a-site
    """
    site = obtain_site(parse_origin(origin_or_url))  # type: ignore[arg-type]
    if not isinstance(site, tuple):
        return None
    # Serialization of a site (https://html.spec.whatwg.org/multipage/browsers.html#serialization-of-a-site):
    # "2. Let result be site[0]. 3. Append "://" to result. 4. Append site[1], serialized, to result."
    # Ports do not count for sites; registrable_domain has its own Deviation (no Public Suffix List).
    scheme, host = site
    return f"{scheme}://{host}"


def _url_for_request(parsed: ParsedURL) -> str:
    # Chromium's HttpUtil::SpecForRequest: "Strip out the reference, username, and password".
    # Deviation: the host and default port are canonicalised (by parse_url) but the path is not
    # (no percent-encoding normalisation): "/%7e" and "/~" are different keys here.
    path = parsed.path.split("#", 1)[0]
    if not path.startswith("/"):
        path = "/" + path
    port = "" if parsed.port is None else f":{parsed.port}"
    return f"{parsed.scheme}://{parsed.host}{port}{path}"


def cache_key(url: str, *, top_level_site: object, frame_site: object = None, variant: str = "") -> str | None:
    """Chromium's HTTP cache key, or None when the HTTP cache is not used for this load.

    ``"1/0/_dk_" + top-level site + " " + frame site + " " + URL without fragment``: the "1" is the
    credentials part (only split when SplitCacheByIncludeCredentials is on, which it is not by
    default), "0" the upload id of a GET, and ``_dk_`` marks a double-keyed ("triple-key": URL, top
    frame site, frame site) entry. ``frame_site`` defaults to ``top_level_site`` (a load by the
    top-level page). An opaque site makes the network isolation key transient: nothing is cached.
    ``variant`` (say "anonymous") is what an engine keys on beyond these, appended after the URL;
    "" for Chromium and the standard.
    Spec: https://fetch.spec.whatwg.org/#determine-the-http-cache-partition
    """
    parsed = parse_url(url)
    # Only HTTP(S) fetches reach HTTP-network-or-cache fetch; data:, blob: and file: never do.
    if parsed.scheme not in ("http", "https"):
        return None
    # Fetch: "Let key be the result of determining the network partition key given request."
    # "If key is null, then return null." "Return the unique HTTP cache associated with key."
    # Chromium's partition is its NetworkIsolationKey (CHROMIUM_NIK): "`top_frame_site` -> the
    # schemeful site of the top level page. `frame_site` -> the schemeful site of the frame."
    top = _site(top_level_site)
    frame = _site(top_level_site if frame_site is None else frame_site)
    # Chromium, HttpCache::GenerateCacheKey: "if (network_isolation_key.IsTransient()) return
    # nullopt" -- a key with an opaque site is transient, and the load bypasses the cache.
    if top is None or frame is None:
        return None
    # Deviation: the credentials split is left out, as in Chromium's default: a plain <img> and a
    # crossorigin="anonymous" load of one URL share one key (the "Vary: Origin" lesson needs it).
    # "The key format is: credential_key/upload_data_identifier/[isolation_key]url"
    key = f"{KEY_PREFIX}{top} {frame} {_url_for_request(parsed)}"
    # Choices "cache-key-credentials" (Firefox's "a," anonymous keys) and "cache-key-request-mode"
    # (WebKitGTK's memory cache): the same URL under another key. RFC 9111 permits not reusing.
    return f"{key} {variant}" if variant else key


def key_parts(key: str) -> tuple[str, str, str]:
    """(top-level site, frame site, URL) of a key made by ``cache_key`` (its variant left out)."""
    top, frame, rest = key[len(KEY_PREFIX) :].split(" ", 2)
    return top, frame, rest.split(" ", 1)[0]
