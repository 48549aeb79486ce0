"""The kernel browser: loads images over real HTTP exactly as an engine would, and lets the model decide.

Owns the I/O around cors_lab.spec: sends each hop's request (Origin, Sec-Fetch-*, Accept, cookies
from its own jar per credentials mode), follows redirects itself through `ImageFetch`, keeps an HTTP
cache through `HTTPCache`, decodes with `cors_lab.assets.decode_image`. It decides no rule itself:
the engine profile it browses as (Chromium by default; Firefox, WebKit or the standards' letter)
picks the request headers, the cache key and the messages, exactly as in `predict`.
Every failure ends as an "error" load result with a reason: never a traceback, never a hang; one
wall-clock deadline (``timeout``) covers a whole load, every redirect and the decoding included.
"""

from __future__ import annotations

import functools
import heapq
import html
import http.client
import http.cookiejar
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import requests
import urllib3
from requests.cookies import MockRequest, MockResponse, RequestsCookieJar, get_cookie_header

from .assets import DecodedImage, decode_image
from .errors import CorsLabError, UsageError
from .outcome import Outcome
from .predict import engine_profile, outcome_of
from .render import origin_code, plain_row, plain_table
from .spec.cache import HTTPCache
from .spec.canvas import check_operation
from .spec.fetch import (
    REDIRECT_STATUSES,
    FetchResult,
    HopRequest,
    ImageFetch,
    available_image_key,
    image_request,
    joins_available_images,
    secure_for_cookies,
)
from .spec.headers import HeaderList
from .spec.origins import origin_of, parse_origin
from .spec.profiles import DEFAULT_PROFILE, Profile
from .useragent import KERNEL_USER_AGENT_PREFIX

KERNEL_USER_AGENT = f"{KERNEL_USER_AGENT_PREFIX}0.1 (Python; models a browser engine's image loading)"
DEFAULT_TIMEOUT = 5.0  # seconds for one whole image load, all hops
MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 16_000_000


@dataclass(frozen=True)
class RawResponse:
    """What a transport returns: status, header lines in order (duplicates kept), the body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class TransportError(CorsLabError):
    """The transport could not get a response (refused, reset, timed out, too large)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


Transport = Callable[[str, list, float], RawResponse]


class _Watchdog:
    """One thread that shuts a socket down when its deadline passes.

    Socket timeouts count per read: a server sending one byte a second never trips them. A load's
    deadline is wall-clock, so the watchdog ends the connection itself when it is over.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._socks: dict[int, socket.socket] = {}
        self._fired: set[int] = set()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, deadline: float) -> int:
        with self._cond:
            token = next(self._ids)
            self._socks[token] = sock
            heapq.heappush(self._heap, (deadline, token))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cors-lab-browser-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
            return token

    def forget(self, token: int) -> bool:
        """Stop watching; True if the deadline had already passed and the socket was shut."""
        with self._cond:
            self._socks.pop(token, None)
            fired = token in self._fired
            self._fired.discard(token)
            return fired

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._socks:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, token = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                sock = self._socks.pop(token)
                self._fired.add(token)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


_watchdog = _Watchdog()
_current = threading.local()  # the deadline of the load this thread is sending, and its watch tokens


def _watch(sock: socket.socket | None) -> None:
    deadline = getattr(_current, "deadline", None)
    if sock is not None and deadline is not None:
        _current.tokens.append(_watchdog.watch(sock, deadline))


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def getresponse(self):  # the request is sent: from here on, the deadline holds the socket
        _watch(self.sock)
        return super().getresponse()


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def getresponse(self):
        _watch(self.sock)
        return super().getresponse()


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class RequestsTransport:
    """The default transport: one `requests.Session` (keep-alive), no redirects, no cookie handling.

    Cookies are the Browser's job (it decides per hop whether to attach them), so the session's own
    jar is never used; the body is read in chunks under a size cap. ``timeout`` is wall-clock: from
    the moment the request is sent until the last body byte, a watchdog closes the connection when
    it runs out, however slowly the server drips its headers or body.
    """

    def __init__(self, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.session = requests.Session()
        self.session.trust_env = False  # never a proxy: the lab lives on loopback
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, _WatchedAdapter())
        self.max_bytes = max_bytes

    def __call__(self, url: str, headers: list, timeout: float) -> RawResponse:
        deadline = time.monotonic() + timeout
        _current.deadline, _current.tokens = deadline, []
        try:
            return self._fetch(url, headers, timeout, deadline)
        except requests.RequestException as err:
            if self._forget():
                raise _timed_out(timeout) from None
            raise TransportError(f"the request failed ({_short(err)})") from None
        finally:
            if self._forget():  # the answer was complete, but only after the deadline
                raise _timed_out(timeout)
            _current.deadline = None

    @staticmethod
    def _forget() -> bool:
        tokens, _current.tokens = getattr(_current, "tokens", []), []
        return any([_watchdog.forget(t) for t in tokens])

    def _fetch(self, url: str, headers: list, timeout: float, deadline: float) -> RawResponse:
        prepared = requests.Request("GET", url, headers=dict(headers)).prepare()
        try:
            resp = self.session.send(prepared, allow_redirects=False, stream=True, timeout=(timeout, timeout))
        except requests.Timeout:
            raise TransportError("the server did not answer in time", timed_out=True) from None
        except requests.ConnectionError as err:
            if self._forget():
                raise _timed_out(timeout) from None
            raise TransportError(f"the server could not be reached ({_short(err)})") from None
        self.session.cookies.clear()  # the Browser keeps cookies, not the transport
        try:
            body = bytearray()
            for chunk in resp.iter_content(64 * 1024):
                body += chunk
                if len(body) > self.max_bytes:
                    raise TransportError(f"the body is larger than {self.max_bytes // (1024 * 1024)} MiB")
                if time.monotonic() > deadline:
                    raise TransportError("the body did not arrive in time", timed_out=True)
        except requests.RequestException as err:
            if self._forget():
                raise _timed_out(timeout) from None
            raise TransportError(f"the connection broke while reading the body ({_short(err)})") from None
        finally:
            resp.close()
        raw_headers = resp.raw.headers
        items = list(raw_headers.iteritems()) if hasattr(raw_headers, "iteritems") else list(raw_headers.items())
        return RawResponse(resp.status_code, tuple(items), bytes(body))

    def close(self) -> None:
        self.session.close()


def _timed_out(timeout: float) -> TransportError:
    return TransportError("the server did not send its whole answer in time", timed_out=True)


def _short(err: Exception) -> str:
    text = str(err)
    for marker in ("Connection refused", "Read timed out", "Connection reset", "Max retries exceeded"):
        if marker in text:
            return marker.lower() if marker != "Max retries exceeded" else "connection failed"
    return text[:120]


@dataclass(frozen=True)
class Exchange:
    """One hop as it happened: the request the model said to send, and what came back."""

    request: HopRequest
    sent: tuple[tuple[str, str], ...]  # the header lines actually sent (lab cookies only)
    status: int  # 0 = no response (network failure)
    headers: tuple[tuple[str, str], ...]
    from_cache: bool = False
    cache_why: str = ""
    elapsed_ms: float = 0.0
    error: str | None = None
    validated: bool = False  # a 304 answered the revalidation: the stored response, updated, was used


@dataclass(kw_only=True)
class LoadResult:
    """What `Browser.load_image` saw: the load/error event, why, the decoded pixels, every hop."""

    url: str
    page: str
    crossorigin: str | None
    event: str  # "load" | "error"
    reason: str
    fetch: FetchResult
    decoded: DecodedImage | None
    hops: list[Exchange] = field(default_factory=list)
    elapsed_ms: float = 0.0
    profile: str | Profile = DEFAULT_PROFILE  # the engine profile the load was made as

    @property
    def state(self) -> str:
        """The image request's state. Spec: https://html.spec.whatwg.org/multipage/images.html#img-req-state"""
        return "completely available" if self.event == "load" else "broken"

    @property
    def response_tainting(self) -> str | None:
        return self.fetch.response_tainting if self.fetch.ok else None

    @property
    def cors_same_origin(self) -> bool:
        return self.event == "load" and self.fetch.cors_same_origin

    def outcome(self, operation: str = "getImageData") -> Outcome:
        """This load followed by `operation`, decided by the same model as `predict`."""
        check_operation(operation)
        pixel = self.decoded.pixel(0, 0) if self.decoded is not None else None
        out = outcome_of(self.fetch, decodes=self.decoded is not None, operation=operation, page=self.page,
                         url=self.url, crossorigin=self.crossorigin, engine="kernel",
                         reason_broken=self.reason, pixel=pixel, profile=self.profile)
        return out.with_engine("kernel", elapsed_ms=self.elapsed_ms)

    def summary(self) -> str:
        size = f" {self.decoded.width}x{self.decoded.height} {self.decoded.format}" if self.decoded else ""
        tainting = f', response tainting "{self.response_tainting}"' if self.response_tainting else ""
        return f"{self.event}{size}{tainting}: {self.reason}"

    def __str__(self) -> str:
        lines = [self.summary()]
        for i, hop in enumerate(self.hops, 1):
            origin = "(absent)" if hop.request.origin is None else hop.request.origin
            where = "cache" if hop.from_cache else ("no response" if hop.status == 0 else str(hop.status))
            where += " (revalidated: the stored response, updated by it)" if hop.validated else ""
            lines.append(f"  hop {i}: GET {hop.request.url}  Origin: {origin}  "
                         f"cookies: {'sent' if hop.request.cookies else 'not sent'}  -> {where}")
            if hop.cache_why and (hop.from_cache or hop.validated):
                lines.append(f"         {hop.cache_why}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        rows = [
            plain_row([str(i), f"<code>{html.escape(h.request.url)}</code>", origin_code(h.request.origin),
                       "sent" if h.request.cookies else "not sent", "cache" if h.from_cache else str(h.status or "none"),
                       f"<code>{html.escape(dict((n.lower(), v) for n, v in h.headers).get('access-control-allow-origin', '—'))}</code>"])
            for i, h in enumerate(self.hops, 1)
        ]
        table = plain_table(("hop", "URL", "Origin", "cookies", "status", "ACAO"), rows)
        return f"<div><b>{html.escape(self.summary())}</b>{table}</div>"


class TrustworthyCookiePolicy(http.cookiejar.DefaultCookiePolicy):
    """Python's cookie policy, but "secure" as the engine counts it (`secure_for_cookies`).

    RFC 6265bis, the Cookie header: "If the cookie's secure-only-flag is true, then the
    request-uri's scheme must denote a "secure" protocol (as defined by the user agent)." Python
    counts only https; Chromium and Firefox count every potentially trustworthy origin, so
    ``http://127.0.0.1`` and ``http://localhost`` keep and get ``Secure`` cookies (measured: a
    ``SameSite=None; Secure`` login on the lab is sent to the lab); WebKitGTK keeps none from http.
    https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-the-cookie-header
    """

    def __init__(self, *, profile: str | Profile = DEFAULT_PROFILE) -> None:
        super().__init__()
        self.profile = profile

    def set_ok(self, cookie, request) -> bool:
        # RFC 6265bis, storage model: a Secure cookie from a request-uri that is not "secure" is dropped.
        if cookie.secure and not secure_for_cookies(request.get_full_url(), profile=self.profile):
            return False
        return super().set_ok(cookie, request)

    def return_ok_secure(self, cookie, request) -> bool:
        return not cookie.secure or secure_for_cookies(request.get_full_url(), profile=self.profile)


class Browser:
    """A kernel-side browser for one page: `load_image(url, crossorigin=...)` like an `<img>`.

        b = Browser(page=lab.site)            # the page's origin (a LabOrigin, an origin or a URL)
        r = b.load_image(lab.cdn.url("picture.png", acao="*"), crossorigin="anonymous")
        r.event, r.response_tainting           # ('load', 'cors')
        b.run(url, crossorigin=None, operation="toDataURL")   # an Outcome, like predict()

    It keeps its own cookie jar (set by `login`) and HTTP cache (`clear_cache()`), and never sends a
    cookie the lab did not set. `transport` is injectable for tests: ``(url, headers, timeout) -> RawResponse``.
    ``engine`` is the profile it browses as ("chromium", "firefox", "webkit", "spec"; ``browser`` is
    its older name). ``page="null"`` is an opaque-origin page (a sandboxed frame); ``container`` the
    top-level page around it (a URL or origin; None: an opaque top such as about:blank), which decides
    what is cross-site for cookies and caches, as in `cors_lab.predict`.
    """

    def __init__(
        self,
        page: object = "http://127.0.0.1",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: Transport | None = None,
        engine: str | None = None,
        browser: str | None = None,
        container: str | None = None,
        clock: Callable[[], float] = time.time,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        page_text = getattr(page, "origin", page)
        if not isinstance(page_text, str):
            raise UsageError(f"page must be an origin or URL string (or lab.site), not {page!r}.")
        if not (isinstance(timeout, (int, float)) and 0 < timeout <= 120):
            raise UsageError(f"timeout must be a number of seconds between 0 and 120, not {timeout!r}.")
        self.page_url = page_text
        self.origin = parse_origin(page_text)
        self.timeout = float(timeout)
        self.transport = transport or RequestsTransport()
        self.profile = engine_profile(engine, browser)
        self.container = container if self.origin.opaque else None
        # The top-level page holding this page's frame (an opaque page's container), or None: top-level.
        self.top = None if self.container is None else origin_of(self.container)
        self.browser = self.profile.name  # the older attribute name
        self.clock = clock
        self.max_pixels = max_pixels
        self.cookies = RequestsCookieJar(policy=TrustworthyCookiePolicy(profile=self.profile))
        self.cache = HTTPCache()
        # The page's list of available images: key -> the load that put it there.
        self.available_images: dict[tuple, LoadResult] = {}

    def __repr__(self) -> str:
        return f"<Browser page={self.origin.serialize()} cached={len(self.cache)} cookies={len(self.cookies)}>"

    # -- state ---------------------------------------------------------------------------------------

    def clear_cache(self) -> None:
        """Empty the HTTP cache and the page's list of available images (as a new page would have)."""
        self.cache.clear()
        self.available_images.clear()

    def new_page(self) -> None:
        """The same page opened again (a reload): its list of available images starts empty, while the
        HTTP cache and the cookies stay, so the next load of a URL asks the cache (and the server)."""
        self.available_images.clear()

    def clear_cookies(self) -> None:
        self.cookies.clear()

    def login(self, url: str) -> int:
        """Visit a login URL as a top-level navigation, keeping the cookies it sets; returns the status."""
        headers = [("User-Agent", KERNEL_USER_AGENT)]
        try:
            raw = self.transport(url, headers, self.timeout)
        except TransportError as err:
            raise UsageError(f"Could not reach {url}: {err}. Is the lab running (cors_lab.start())?") from None
        message = http.client.HTTPMessage()
        for name, value in raw.headers:
            message[name] = value
        request = requests.Request("GET", url, headers=dict(headers)).prepare()
        self.cookies.extract_cookies(MockResponse(message), MockRequest(request))
        return raw.status

    # -- loading -------------------------------------------------------------------------------------

    def run(self, url: str, crossorigin: str | None = None, operation: str = "getImageData", **kw) -> Outcome:
        """Load the image, then run `operation` on it: an Outcome(engine="kernel")."""
        return self.load_image(url, crossorigin=crossorigin, **kw).outcome(operation)

    def load_image(self, url: str, crossorigin: str | None = None, *, cache_mode: str = "default") -> LoadResult:
        """Load url as ``<img src=url crossorigin=...>`` on this page would: "load" or "error", and why.

        An image this page loaded before with the same crossorigin mode comes from the page's list of
        available images, with no request (`available_image_key`); `clear_cache` forgets them too.
        """
        url = str(url)
        key = available_image_key(url, crossorigin=crossorigin, page_origin=self.origin, profile=self.profile)
        earlier = self.available_images.get(key)
        if earlier is not None and cache_mode == "default":
            return replace(earlier, hops=[], elapsed_ms=0.0, crossorigin=crossorigin,
                           reason=f"{earlier.reason} (shown again from the page's list of available images: "
                                  "no request)")
        result = self._load(url, crossorigin, cache_mode=cache_mode)
        vary = HeaderList(result.hops[-1].headers).get("Vary") if result.hops else None
        if joins_available_images(loaded=result.event == "load", vary=vary, profile=self.profile):
            self.available_images[key] = result
        return result

    def _load(self, url: str, crossorigin: str | None, *, cache_mode: str) -> LoadResult:
        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        request = image_request(url, page_origin=self.origin, crossorigin=crossorigin, page_url=self.page_url,
                                container_url=self.container, cookie_samesite=self._cookie_samesite())
        walk = ImageFetch(request, profile=self.profile)
        hops: list[Exchange] = []
        body = b""
        content_type = None
        while True:
            cookie = self._cookie_header(request.current_url)
            sent = walk.prepare(cookies_held=cookie is not None)
            if isinstance(sent, FetchResult):
                result = sent
                break
            headers = sent.headers(cookie=cookie) + [("User-Agent", KERNEL_USER_AGENT)]
            exchange, response, store = self._exchange(sent, headers, cache_mode, deadline)
            result = walk.receive(response.status if response else 0, list(response.headers) if response else [],
                                  body=response.body if response else None)
            if store is not None:
                # The cache is offered the response only now: a load given up on this response
                # (its CORS check failed, ORB blocked it) keeps nothing (HTTPCache.store, cancelled)
                # in an engine with the deviation "cancelled-load-not-cached".
                cancelled = result is not None and not result.ok and response.status not in REDIRECT_STATUSES \
                    and self.profile.has("cancelled-load-not-cached")
                keep = self.profile.has("sniffed-body-cached-before-cancel")
                exchange = replace(exchange, cache_why=store(cancelled=cancelled, keep_read_first=keep).why)
            hops.append(exchange)
            if response is not None:
                body = response.body
                # "" (not None, a file's unknown type): an HTTP response without Content-Type.
                content_type = HeaderList(response.headers).get("Content-Type") or ""
            if result is not None:
                break
        elapsed = (time.perf_counter() - started) * 1000
        seen = functools.partial(LoadResult, url=url, page=self.origin.serialize(), crossorigin=crossorigin,
                                 fetch=result, hops=hops, elapsed_ms=elapsed, profile=self.profile)
        if not result.ok:
            reason = result.reason
            if hops and hops[-1].error:
                reason = hops[-1].error
            return seen(event="error", reason=reason, decoded=None)
        remaining = deadline - time.monotonic()  # one deadline for the whole load, decoding included
        if remaining <= 0:
            return seen(event="error", reason=f"gave up after {self.timeout:g} s (timeout)", decoded=None)
        try:
            decoded = decode_image(body, content_type=content_type, max_pixels=self.max_pixels, partial=True,
                                   timeout=remaining, profile=self.profile)
        except CorsLabError as err:
            return seen(event="error", reason=str(err).split("\n", 1)[0], decoded=None)
        reason = result.reason
        if not decoded.complete:
            reason += "; the file is truncated, but its size arrived, so the image still loads (what is missing is transparent)"
        return seen(event="load", reason=reason, decoded=decoded)

    # -- one hop ---------------------------------------------------------------------------------------

    def _exchange(self, sent: HopRequest, headers: list, cache_mode: str, deadline: float):
        """One hop through the cache or the network: (Exchange, the response or None, and the store
        still to do for a response from the network: ``store(cancelled=...)``, or None)."""
        url = sent.url
        now = self.clock()
        variant = self.profile.cache_variant(mode=sent.mode, credentials_mode=sent.credentials_mode)
        decision = self.cache.lookup(headers, url, now, top_level_site=self.top or self.origin, frame_site=self.origin,
                                     cache_mode=cache_mode, variant=variant)
        if decision.action == "reuse" and decision.entry is not None:
            entry = decision.entry
            raw = RawResponse(entry.status, tuple(entry.headers.items()), entry.body)
            return Exchange(sent, tuple(headers), raw.status, raw.headers, True, decision.why), raw, None
        if decision.action == "network-error":
            return Exchange(sent, tuple(headers), 0, (), False, decision.why, error=decision.why), None, None
        send = list(headers) + list(decision.validators if decision.action == "revalidate" else ())
        remaining = deadline - time.monotonic()
        t0 = time.perf_counter()
        if remaining <= 0:
            return Exchange(sent, tuple(send), 0, (), error=f"gave up after {self.timeout:g} s (timeout)"), None, None
        try:
            raw = self.transport(url, send, remaining)
        except TransportError as err:
            text = f"{err} (the Browser's timeout is {self.timeout:g} s)" if err.timed_out else str(err)
            return Exchange(sent, tuple(send), 0, (), elapsed_ms=(time.perf_counter() - t0) * 1000,
                            error=text), None, None
        ms = (time.perf_counter() - t0) * 1000
        revalidating = decision.action == "revalidate"
        if raw.status == 304 and not revalidating:  # a 304 nobody asked for: nothing to freshen
            return Exchange(sent, tuple(send), raw.status, raw.headers, False, "", ms), raw, None
        # The cache is offered the request as the page made it: the validators above are the cache's
        # own, and must not turn cache mode "default" into "no-store" as a page's would.
        store = functools.partial(self.cache.store, headers, url, status=raw.status, response_headers=list(raw.headers),
                                  response_time=self.clock(), request_time=now, top_level_site=self.top or self.origin,
                                  frame_site=self.origin, cache_mode=cache_mode, body=raw.body, variant=variant)
        # Fetch, HTTP-network-or-cache fetch: "If the revalidatingFlag is set and forwardResponse's
        # status is 304, then: 1. Update storedResponse's header list using forwardResponse's header
        # list, as per the "Freshening Stored Responses upon Validation" chapter of HTTP Caching.
        # 2. Set response to storedResponse. 3. Set response's cache state to "validated"."
        # HTTP fetch then runs the CORS check on that response ("If request's response tainting is
        # "cors" and a CORS check for request and response returns failure, then return a network
        # error"): the stored response's headers, updated by the 304's, decide.
        if raw.status == 304:
            stored = store()
            if stored.entry is not None:
                entry = stored.entry
                freshened = RawResponse(entry.status, tuple(entry.headers.items()), entry.body)
                return (Exchange(sent, tuple(send), 304, freshened.headers, False, stored.why, ms, validated=True),
                        freshened, None)
            return Exchange(sent, tuple(send), raw.status, raw.headers, False, stored.why, ms), raw, None
        return Exchange(sent, tuple(send), raw.status, raw.headers, False, "", ms), raw, store

    def _cookie_samesite(self) -> str:
        """The SameSite attribute of the cookies held (the lab's login sets one cookie); "Lax" by default."""
        for cookie in self.cookies:
            value = cookie.get_nonstandard_attr("SameSite") or cookie.get_nonstandard_attr("samesite")
            if value:
                return str(value).capitalize()
        return "Lax"

    def _cookie_header(self, url: str) -> str | None:
        if not len(self.cookies):
            return None
        return get_cookie_header(self.cookies, requests.Request("GET", url).prepare())
