"""The lab's request log: what each request carried and what the lab answered, safe to show anywhere.

Owns `Request` (a request as it arrived), `LogEntry`, `LogBook` (one origin's log, bounded in
entries and bytes) and `RequestLog` with its text and HTML tables, the split of cookies into the
lab's own (kept, when they look like the lab's) and everyone else's (only counted), the redaction of
foreign Referer queries, the clipping of long values and the client classification (kernel,
browser, other). Must not: answer, serve, or keep any secret: JupyterLab's cookies and tokens reach
every port of the host.
"""

from __future__ import annotations

import html
import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..spec.headers import HeaderList
from ..useragent import KERNEL_USER_AGENT_PREFIX
from .knobs import USER_PATTERN

__all__ = [
    "LAB_COOKIES",
    "LAB_COOKIE_PREFIX",
    "LOG_BYTES",
    "LOG_FIELD",
    "LOG_LIMIT",
    "USER_COOKIE",
    "LogBook",
    "LogEntry",
    "Request",
    "RequestLog",
    "classify_client",
    "clip",
    "entry_size",
    "log_entry",
    "safe_referer",
    "split_cookies",
]

LOG_LIMIT = 5000  # entries kept per origin; older ones are dropped
LOG_BYTES = 8 * 1024 * 1024  # characters of text kept per origin; older entries are dropped
LOG_FIELD = 1024  # characters kept of any one value (a path, a header); the rest is counted only
LAB_COOKIE_PREFIX = "cors_lab_"  # every cookie the lab sets is named so
USER_COOKIE = "cors_lab_user"
# The lab's cookies and the only values the lab ever sets them to: a cookie is kept only when both
# match (anything else, e.g. "cors_lab_user=alice, _xsrf=..." from a comma-joined header, is counted).
LAB_COOKIES = {USER_COOKIE: USER_PATTERN}
_LOG_ITEMS = 64  # Sec-Fetch-* headers and response headers kept per entry
_seq = itertools.count(1)


@dataclass(frozen=True)
class Request:
    """One request as it arrived: method, target (path and query, undecoded), header lines in order."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = field(default=(), kw_only=True)
    arrived: float = field(default_factory=time.time, kw_only=True)
    closing: bool = field(default=False, kw_only=True)  # the connection closes after this answer

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lower = name.lower()
        return next((v for n, v in self.headers if n.lower() == lower), None)

    def header_all(self, name: str) -> list[str]:
        lower = name.lower()
        return [v for n, v in self.headers if n.lower() == lower]


@dataclass(frozen=True)
class LogEntry:
    """One request as a lab server saw it, and what it answered.

    ``origin`` is the request's ``Origin`` header: ``None`` when absent, ``"null"`` when the page was
    opaque. ``cookies`` holds only the lab's own cookies; ``other_cookies`` counts the rest, whose
    names and values are never kept.
    """

    time: float  # when the request arrived (time.time())
    server: str  # "site" | "cdn" | "other"
    client: str  # "kernel" | "browser" | "other"
    method: str
    path: str  # path and query exactly as requested (clipped past LOG_FIELD characters, like every value)
    origin: str | None
    referer: str | None
    sec_fetch: dict[str, str]
    accept: str | None
    cookies: dict[str, str]
    other_cookies: int
    status: int
    headers: tuple[tuple[str, str], ...]  # the response's headers, in order
    error: str | None = None  # the reason of a 400/404/500
    seq: int = field(default=0, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """A response header's value (several lines joined with ", "), or None."""
        return HeaderList(self.headers).get(name)

    @property
    def mode(self) -> str | None:
        """The request's ``Sec-Fetch-Mode`` ("cors", "no-cors", ...) or None."""
        return self.sec_fetch.get("Sec-Fetch-Mode")


def log_entry(
    request: Request,
    *,
    server: str,
    status: int,
    headers: Iterable[tuple[str, str]],
    error: str | None,
    lab_origins: Iterable[str],
) -> LogEntry:
    """The log's record of ``request`` answered with ``status`` and ``headers`` by origin ``server``."""
    cookies, other_cookies = split_cookies(request.header_all("Cookie"))
    sec_fetch = [("-".join(p.capitalize() for p in k.split("-")), v) for k, v in request.headers
                 if k.lower().startswith("sec-fetch-")]
    return LogEntry(
        time=request.arrived,
        server=server,
        client=classify_client(request.header("User-Agent")),
        method=clip(request.method),
        path=clip(request.target),
        origin=clip(request.header("Origin")),
        referer=clip(safe_referer(request.header("Referer"), lab_origins)),
        sec_fetch={clip(k): clip(v) for k, v in sec_fetch[:_LOG_ITEMS]},
        accept=clip(request.header("Accept")),
        cookies=cookies,
        other_cookies=other_cookies,
        status=status,
        headers=tuple((clip(n), clip(v)) for n, v in list(headers)[:_LOG_ITEMS]),
        error=clip(error),
        seq=next(_seq),
    )


def clip(text: str | None, limit: int = LOG_FIELD) -> str | None:
    """``text`` cut to ``limit`` characters, saying how many more there were (None stays None)."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit:,} more characters not logged]"


def entry_size(entry: LogEntry) -> int:
    """Characters of text an entry keeps: what the per-origin budget counts."""
    texts = [entry.method, entry.path, entry.origin, entry.referer, entry.accept, entry.error,
             *entry.sec_fetch, *entry.sec_fetch.values(), *entry.cookies, *entry.cookies.values()]
    texts += [t for pair in entry.headers for t in pair]
    return 256 + sum(len(t) for t in texts if t)  # 256: the entry's own fields and bookkeeping


class LogBook:
    """One origin's log, oldest first: at most ``limit`` entries and ``budget`` characters of text.

    Past either bound the oldest entries go, so a flood of huge requests costs a few megabytes,
    never the kernel's memory.
    """

    def __init__(self, *, limit: int = LOG_LIMIT, budget: int = LOG_BYTES) -> None:
        self.limit, self.budget = limit, budget
        self._entries: deque[tuple[LogEntry, int]] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def append(self, entry: LogEntry) -> None:
        size = entry_size(entry)
        with self._lock:
            self._entries.append((entry, size))
            self._size += size
            while len(self._entries) > self.limit or (self._size > self.budget and len(self._entries) > 1):
                _, dropped = self._entries.popleft()
                self._size -= dropped

    def snapshot(self) -> RequestLog:
        with self._lock:
            return RequestLog(entry for entry, _ in self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    @property
    def size(self) -> int:
        """Characters of text kept now (see `entry_size`)."""
        return self._size

    def __len__(self) -> int:
        return len(self._entries)


def classify_client(user_agent: str | None) -> str:
    """"kernel" (cors_lab.browser's User-Agent), "browser" (Mozilla/...) or "other"."""
    if user_agent and user_agent.startswith(KERNEL_USER_AGENT_PREFIX):
        return "kernel"
    if user_agent and user_agent.startswith("Mozilla/"):
        return "browser"
    return "other"


def split_cookies(lines: Iterable[str]) -> tuple[dict[str, str], int]:
    """The lab's own cookies by name, and a count of every other cookie (never kept).

    A cookie is the lab's only when its name is in `LAB_COOKIES` and its value has the lab's format.
    Cookie lines are split at ";" and at "," (no cookie value may hold either, and proxies or
    HTTP/2 gateways join several Cookie headers with ", "), so nothing else rides along in a value.
    """
    own: dict[str, str] = {}
    others = 0
    for line in lines:
        for part in re.split(r"[;,]", line):
            name, _, value = part.strip().partition("=")
            name, value = name.strip(), value.strip()
            if not name and not value:
                continue
            pattern = LAB_COOKIES.get(name)
            if pattern is not None and pattern.fullmatch(value) and name not in own:
                own[name] = value
            else:
                others += 1
    return own, others


def safe_referer(referer: str | None, lab_origins: Iterable[str]) -> str | None:
    """Keep a Referer from the lab whole; from anywhere else keep no query (it may hold a token)."""
    if referer is None:
        return None
    if any(referer == o or referer.startswith(o + "/") for o in lab_origins):
        return referer
    cut = min([i for i in (referer.find("?"), referer.find("#")) if i >= 0], default=-1)
    return referer if cut < 0 else referer[:cut] + "?[query not logged]"


_COLUMNS = ("time", "server", "client", "method", "status", "path", "Origin", "mode", "ACAO", "cookies")


def _row(e: LogEntry) -> dict[str, str]:
    cookies = ", ".join(f"{k}={v}" for k, v in e.cookies.items())
    if e.other_cookies:
        cookies = f"{cookies} +{e.other_cookies} other" if cookies else f"+{e.other_cookies} other"
    acao = HeaderList(e.headers).get_all("Access-Control-Allow-Origin")
    return {
        "time": time.strftime("%H:%M:%S", time.localtime(e.time)) + f".{int(e.time * 1000) % 1000:03d}",
        "server": e.server,
        "client": e.client,
        "method": e.method,
        "status": str(e.status),
        "path": e.path,
        "Origin": "(absent)" if e.origin is None else e.origin,
        "mode": e.mode or "",
        "ACAO": " | ".join(acao) if acao else "",
        "cookies": cookies,
    }


class RequestLog(list):
    """A list of ``LogEntry``, oldest first, that renders as a table in Jupyter and in a terminal."""

    def table(self, *, width: int = 60) -> str:
        """A plain-text table; paths longer than ``width`` characters are shortened with "..."."""
        rows = [_row(e) for e in self]
        for r in rows:
            if len(r["path"]) > width:
                r["path"] = r["path"][: width - 3] + "..."
        widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in _COLUMNS}
        lines = ["  ".join(c.ljust(widths[c]) for c in _COLUMNS).rstrip()]
        lines += ["  ".join(r[c].ljust(widths[c]) for c in _COLUMNS).rstrip() for r in rows]
        if not rows:
            lines.append("(no requests yet)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        # Plain cells, no verdict colours (a log records, it does not judge); stored notebook outputs
        # hold this exact markup.
        head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
        body = []
        for r in (_row(e) for e in self):
            cells = []
            for c in _COLUMNS:
                text = html.escape(r[c])
                if c == "Origin" and r[c] == "(absent)":
                    text = "<em>(absent)</em>"
                cells.append(f"<td><code>{text}</code></td>" if c in ("path", "ACAO") else f"<td>{text}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        if not body:
            body.append(f'<tr><td colspan="{len(_COLUMNS)}"><em>no requests yet</em></td></tr>')
        return (
            '<table class="cors-lab-log">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text("RequestLog([...])" if cycle else self.table())

    def __repr__(self) -> str:
        return self.table()
