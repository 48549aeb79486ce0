"""Origins and sites: URL -> origin, same origin, same site, serialisation.

Owns the URL Standard's origin of a URL and HTML's origin relations. Pure: stdlib only, no I/O.
It parses just enough of a URL to find its origin; it is not a full URL parser.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re
from dataclasses import dataclass, field

from ..errors import UsageError

# https://url.spec.whatwg.org/#special-scheme  (scheme -> default port)
DEFAULT_PORTS = {"ftp": 21, "file": None, "http": 80, "https": 443, "ws": 80, "wss": 443}
TUPLE_ORIGIN_SCHEMES = ("ftp", "http", "https", "ws", "wss")

_opaque_ids = itertools.count(1)


@dataclass(frozen=True)
class TupleOrigin:
    """A tuple origin (scheme, host, port); port is None for the scheme's default port.

    Spec: https://html.spec.whatwg.org/multipage/browsers.html#concept-origin-tuple
    """

    scheme: str
    host: str
    port: int | None

    opaque = False

    def serialize(self) -> str:
        """Spec: https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin"""
        # 2. Otherwise, let result be origin's scheme. 3. Append "://" to result. 4. Append origin's
        # host, serialized, to result. 5. If origin's port is non-null, append a U+003A COLON
        # character (:), and origin's port, serialized, to result. 6. Return result.
        text = f"{self.scheme}://{self.host}"
        return text if self.port is None else f"{text}:{self.port}"

    def __str__(self) -> str:
        return self.serialize()


@dataclass(frozen=True, eq=False)
class OpaqueOrigin:
    """An opaque origin: equal only to itself; serialises as "null".

    Spec: https://html.spec.whatwg.org/multipage/browsers.html#concept-origin-opaque
    """

    why: str = "opaque"
    ident: int = field(default_factory=lambda: next(_opaque_ids))

    opaque = True
    scheme = host = port = None

    def serialize(self) -> str:
        # 1. If origin is an opaque origin, then return "null".
        return "null"

    def __str__(self) -> str:
        return "null"

    def __repr__(self) -> str:
        return f"OpaqueOrigin({self.why!r}, #{self.ident})"


Origin = TupleOrigin | OpaqueOrigin

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(.*)$", re.S)
_C0_SPACE = "".join(chr(c) for c in range(0x21))
# A forbidden host code point, a C0 control, "%" or DEL (https://url.spec.whatwg.org/#forbidden-domain-code-point).
_FORBIDDEN_RE = re.compile(r"[\x00-\x1f #/:<>?@\[\\\]^|%\x7f]")
_HEX = re.compile(r"0[xX][0-9a-fA-F]*")
_OCTAL = re.compile(r"0[0-7]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,2}")
_IPV4_TEXT = re.compile(r"[0-9.]+")
_LOOPBACK_V4 = re.compile(r"127\.\d+\.\d+\.\d+")


def _fail(url: str, why: str) -> UsageError:
    return UsageError(
        f"Invalid URL {url!r}: {why}. Give an absolute URL such as 'http://127.0.0.1:8000/cat.png'."
    )


def parse_host(text: str, url: str = "") -> str:
    """Host parser, enough for origins: IPv6, IPv4 (with hex/octal parts), lower-cased domains.

    Spec: https://url.spec.whatwg.org/#concept-host-parser
    """
    if text.startswith("["):
        # 1. If input starts with "[", then: if it does not end with "]", validation error, failure.
        if not text.endswith("]"):
            raise _fail(url, "an IPv6 host must end with ']'")
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError as err:
            raise _fail(url, f"bad IPv6 address ({err})") from None
    # 5. Let domain be the result of running UTF-8 decode without BOM on the percent-decoding of input.
    host = _percent_decode(text)
    # 6. Let asciiDomain be the result of running domain to ASCII with domain and false.
    # Deviation: domain to ASCII uses Python's IDNA 2003 codec, not UTS #46; ASCII hosts are exact.
    try:
        host = host.encode("idna").decode("ascii").lower() if not host.isascii() else host.lower()
    except UnicodeError:
        raise _fail(url, f"host {text!r} is not a valid domain") from None
    if not host:
        raise _fail(url, "the host is empty")
    if _FORBIDDEN_RE.search(host):
        raise _fail(url, f"host {text!r} has a forbidden character")
    # 8. If asciiDomain ends in a number, then return the result of IPv4 parsing asciiDomain.
    last = host.rstrip(".").rsplit(".", 1)[-1] if host.rstrip(".") else ""
    if last and (last.isdigit() or _HEX.fullmatch(last)):
        return _parse_ipv4(host, url)
    return host


def _percent_decode(text: str) -> str:
    if "%" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        return chr(int(m.group(1), 16))

    return re.sub(r"%([0-9A-Fa-f]{2})", repl, text)


def _parse_ipv4(host: str, url: str) -> str:
    """Spec: https://url.spec.whatwg.org/#concept-ipv4-parser"""
    parts = host.split(".")
    # 2. If the last item in parts is the empty string, then: (2.2) if parts's size is greater than
    #    1, then remove the last item from parts.
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    # 4. If parts's size is greater than 4, validation error, return failure.
    if len(parts) > 4 or "" in parts:
        raise _fail(url, f"{host!r} is not a valid IPv4 address")
    # The common case first: four plain decimal parts ("127.0.0.1"), no hex, no octal.
    if len(parts) == 4 and all(_DECIMAL.fullmatch(p) for p in parts):
        numbers = [int(p) for p in parts]
        if all(n <= 255 for n in numbers):
            return ".".join(map(str, numbers))
    numbers = []
    for part in parts:
        if _HEX.fullmatch(part):
            numbers.append(int(part[2:] or "0", 16))
        elif _OCTAL.fullmatch(part):
            numbers.append(int(part, 8))
        elif part.isascii() and part.isdigit():
            numbers.append(int(part))
        else:
            raise _fail(url, f"{host!r} is not a valid IPv4 address")
    # 8-9. Every number but the last must be <= 255; the last < 256 ** (5 - count).
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise _fail(url, f"{host!r} is out of range for IPv4")
    ipv4 = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        ipv4 += n * 256 ** (3 - i)
    return str(ipaddress.IPv4Address(ipv4))


@dataclass(frozen=True)
class ParsedURL:
    """The parts of a URL that origins, CORS and redirects care about."""

    href: str
    scheme: str
    host: str | None
    port: int | None  # None = default port (or no port)
    has_credentials: bool
    path: str  # everything after the authority (path, query, fragment), or the opaque path


def parse_url(url: str) -> ParsedURL:
    """Split an absolute URL into scheme, host (parsed), port (default normalised) and credentials.

    Spec: https://url.spec.whatwg.org/#concept-basic-url-parser
    """
    if not isinstance(url, str):
        raise UsageError(f"A URL must be a string, not {type(url).__name__}: {url!r}.")
    return _parse_url(url)


@functools.lru_cache(maxsize=4096)
def _parse_url(url: str) -> ParsedURL:
    # Leading and trailing C0 control or space are stripped; tab and newline are removed.
    text = url.strip(_C0_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    m = _SCHEME.match(text)
    if not m:
        raise _fail(url, "it has no scheme")
    scheme, rest = m.group(1).lower(), m.group(2)
    if scheme not in DEFAULT_PORTS:
        return ParsedURL(text, scheme, None, None, False, rest)
    if scheme == "file":
        return ParsedURL(text, scheme, "", None, False, rest)
    # Special schemes treat "\" like "/" and ignore any number of leading slashes.
    rest = rest.replace("\\", "/").lstrip("/")
    end = min([i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0], default=len(rest))
    authority, path = rest[:end], rest[end:] or "/"
    userinfo, _, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        close = hostport.find("]")
        host_text, port_text = (hostport[: close + 1], hostport[close + 2 :]) if close >= 0 else (hostport, "")
        if close >= 0 and hostport[close + 1 : close + 2] not in ("", ":"):
            raise _fail(url, "junk after the IPv6 address")
    else:
        host_text, _, port_text = hostport.partition(":")
    if not host_text:
        raise _fail(url, "the host is empty")
    host = parse_host(host_text, url)
    port: int | None = None
    if port_text:
        if not (port_text.isascii() and port_text.isdigit()):
            raise _fail(url, f"the port {port_text!r} is not a number")
        port = int(port_text)
        if port > 65535:
            raise _fail(url, f"the port {port} is greater than 65535")
        # The port is set to null when it is the scheme's default port.
        if port == DEFAULT_PORTS[scheme]:
            port = None
    return ParsedURL(text, scheme, host, port, bool(userinfo), path)


def origin_of(url: str | ParsedURL, *, blob_entry_origin: Origin | None = None) -> Origin:
    """The origin of a URL.

    Spec: https://url.spec.whatwg.org/#concept-url-origin
    """
    parsed = url if isinstance(url, ParsedURL) else parse_url(url)
    scheme = parsed.scheme
    if scheme == "blob":
        # 1. If url's blob URL entry is non-null, then return url's blob URL entry's environment's origin.
        if blob_entry_origin is not None:
            return blob_entry_origin
        # 2. Let pathURL be the result of parsing the result of URL path serializing url.
        # 3. If pathURL is failure, then return a new opaque origin.
        try:
            inner = parse_url(parsed.path)
        except UsageError:
            return OpaqueOrigin("blob: URL whose path is not a URL")
        # 4. If pathURL's scheme is "http", "https", or "file", then return pathURL's origin.
        if inner.scheme in ("http", "https", "file"):
            return origin_of(inner)
        # 5. Return a new opaque origin.
        return OpaqueOrigin("blob: URL of a non-HTTP(S) URL")
    if scheme in TUPLE_ORIGIN_SCHEMES:
        # Return the tuple origin (url's scheme, url's host, url's port).
        return TupleOrigin(scheme, parsed.host or "", parsed.port)
    if scheme == "file":
        # "Unfortunate as it is, this is left as an exercise to the reader. When in doubt, return a
        # new opaque origin." Chromium and Firefox give file: documents opaque origins for fetches.
        return OpaqueOrigin("file: URL")
    # Otherwise: return a new opaque origin (data:, about:, javascript:, ...).
    return OpaqueOrigin(f"{scheme}: URL")


def parse_origin(text: str | Origin) -> Origin:
    """An origin from what a learner types: an origin, any URL, or "null" (a new opaque origin)."""
    if isinstance(text, (TupleOrigin, OpaqueOrigin)):
        return text
    if not isinstance(text, str):
        raise UsageError(f"An origin must be a string such as 'https://a.test', not {text!r}.")
    if text.strip() == "null":
        return OpaqueOrigin("sandboxed document")
    return origin_of(text)


def same_origin(a: Origin, b: Origin) -> bool:
    """Spec: https://html.spec.whatwg.org/multipage/browsers.html#same-origin"""
    # 1. If A and B are the same opaque origin, then return true.
    if a.opaque or b.opaque:
        return a is b
    # 2. If A and B are both tuple origins and their schemes, hosts, and port are identical, then
    #    return true.  3. Return false.
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def registrable_domain(host: str) -> str:
    """The host's registrable domain, used for sites.

    Spec: https://url.spec.whatwg.org/#host-registrable-domain
    """
    # Deviation: no Public Suffix List here (it is data, not a rule). IP addresses and one-label hosts
    # (localhost) stand for themselves; otherwise the last two labels are taken, so "a.test" and
    # "x.a.test" are same site while "a.github.io" and "b.github.io" wrongly are too.
    if host.startswith("[") or _IPV4_TEXT.fullmatch(host) or "." not in host.strip("."):
        return host
    return ".".join(host.rstrip(".").split(".")[-2:])


def obtain_site(origin: Origin) -> Origin | tuple[str, str]:
    """The origin's site: the opaque origin itself, or (scheme, registrable domain or host).

    Spec: https://html.spec.whatwg.org/multipage/browsers.html#obtain-a-site
    """
    # 1. If origin is an opaque origin, then return origin.
    if origin.opaque:
        return origin
    # 2. If origin's host's registrable domain is null, then return (origin's scheme, origin's host).
    # 3. Return (origin's scheme, origin's host's registrable domain).
    # (registrable_domain answers the host itself where the registrable domain is null.)
    return (origin.scheme, registrable_domain(origin.host))


def same_site(a: Origin, b: Origin) -> bool:
    """Schemeful same site.

    Spec: https://html.spec.whatwg.org/multipage/browsers.html#same-site
    """
    # 1. Let siteA be the result of obtaining a site given A.  2. Let siteB ... given B.
    site_a, site_b = obtain_site(a), obtain_site(b)
    # 3. If siteA is same site with siteB, then return true.  4. Return false.
    # Sites, same site (https://html.spec.whatwg.org/multipage/browsers.html#concept-site-same-site):
    # "1. If A and B are the same opaque origin, then return true. 2. If A or B is an opaque origin,
    #  then return false. 3. If A's and B's scheme values are different, then return false. 4. If A's
    #  and B's host values are not equal, then return false. 5. Return true."
    if isinstance(site_a, OpaqueOrigin) or isinstance(site_b, OpaqueOrigin):
        return site_a is site_b
    return site_a == site_b


def is_potentially_trustworthy(url: str | ParsedURL) -> bool:
    """Spec: https://w3c.github.io/webappsec-secure-contexts/#is-url-trustworthy"""
    parsed = url if isinstance(url, ParsedURL) else parse_url(url)
    # 1. If url is "about:blank" or "about:srcdoc", return "Potentially Trustworthy".
    if parsed.scheme == "about":
        return parsed.path in ("blank", "srcdoc")
    # 2. If url's scheme is "data", return "Potentially Trustworthy".
    if parsed.scheme == "data":
        return True
    # 3. Return the result of executing "Is origin potentially trustworthy?" on url's origin:
    origin = origin_of(parsed)
    if origin.opaque:
        # 1. If origin is an opaque origin, return "Not Trustworthy".  6. If origin's scheme is
        # "file", return "Potentially Trustworthy".  (origin_of gives file: URLs an opaque origin.)
        return parsed.scheme == "file"
    # 3. If origin's scheme is either "https" or "wss", return "Potentially Trustworthy".
    if origin.scheme in ("https", "wss"):
        return True
    # 4. If origin's host matches one of the CIDR notations 127.0.0.0/8 or ::1/128, return
    #    "Potentially Trustworthy".
    host = origin.host
    if host == "[::1]" or _LOOPBACK_V4.fullmatch(host):
        return True
    # 5. ... origin's host is "localhost" or "localhost.", or ends with ".localhost" or ".localhost."
    #    (the user agent follows let-localhost-be-localhost, as Chromium does).
    # Deviation: the trailing-dot forms ("localhost.", "x.localhost.") are not recognised here.
    return host == "localhost" or host.endswith(".localhost")
