"""Lab servers: real HTTP servers on loopback, one per origin, every server knob in the URL.

Owns the lab's three origins, the URL knobs, redirects between the lab's own origins, the login cookie
and the per-origin request log. It decides no CORS rule (that is ``cors_lab.spec``), binds the
loopback only (127.0.0.1; a ``localhost`` origin [::1] too, on the same port) and reads no file but
its probe page and the kit's own ``trial.js``: images come from ``cors_lab.assets``.

A lab has three origins on one loopback address, each its own HTTP/1.1 server (keep-alive, one thread
per connection, ephemeral port)::

    lab.site    http://HOST:P1    the page's origin
    lab.cdn     http://HOST:P2    same site, cross-origin (ports do not count for sites)
    lab.other   http://OTHER:P3   cross-site: OTHER is the other loopback name
                                  (localhost <-> 127.0.0.1), for redirects and cookie lessons

Endpoints: ``/img/<name>`` for each ``cors_lab.assets.ASSET_NAMES`` name, ``/login?user=alice``,
``/logout``. Anything else is 404 (and is logged). Knobs work on all three endpoints.

``/probe`` is the live probe's page (``lab.site.probe_url()``, files ``probe.html`` and ``probe.js``
here): it loads ``/probe/trial.js`` (the kit's ``trial.js``), whose ``corsLabServe`` answers the
parent's ``postMessage({type: "cors-lab-trial", id, spec})`` with ``{type: "cors-lab-result", id,
result}`` (see ``cors_lab.live``). Both take no knobs (a query string gets 400) and are sent
``no-store`` with a Content-Security-Policy that allows only these scripts and framing by loopback pages.

Knobs: the table is `KNOBS` (``print(cors_lab.servers.KNOBS)``): one row per knob with an example,
what the server then does, and the knob's own parser and encoder. ``lab.cdn.url("picture.png",
acao="*", vary="Origin")`` builds a URL. Flags (``apache``, ``nosniff``) take ``1`` or an empty
value (``?apache``) for on, ``0`` for off. Bad knobs (an unknown name, a status out of range, a delay
over 30 s, a header value with any control character but a tab, a redirect off the lab) get ``400``
with a one-line plain-text reason in the body, never in a header; the Python builder raises
``cors_lab.errors.UsageError`` with the same reason first. So does a GET with a body the lab cannot
skip safely (``Transfer-Encoding``, a bad ``Content-Length``), and the connection is closed.

Hostile clients: a request head must arrive within ``HEADER_TIMEOUT`` (10 s) however slowly it
drips, an origin keeps at most ``MAX_CONNECTIONS`` (128) open (past that the one waiting longest is
closed, or the newcomer gets a 503), and a connection the server cannot serve (no thread) gets a 503
while the accept loop carries on; ``lab.running`` is False if a server ever stops on its own.

Python API::

    lab = start()                      # host: the name in Jupyter's address (start(host="localhost")
                                       # to choose); idempotent; Lab() makes an extra lab
    lab.use_host("localhost")          # the same servers under the other loopback name
    lab.site, lab.cdn, lab.other       # LabOrigin: .origin .host .port .address .label
    lab.cdn.url("picture.png", **knobs) -> str        lab.cdn.login_url("alice", samesite="None")
    lab.site.probe_url() -> str        # the live probe's page on this origin
    lab.chain([lab.cdn, lab.other, lab.site], "picture.png", hop_knobs={...}, **knobs) -> str
    lab.cdn.log, lab.log(), lab.clear_log()           RequestLog: a list of LogEntry, shown as a table
    lab.cdn.exchange(Request("GET", "/img/picture.png?acao=*"))   # the server's answer, no socket
    lab.stop()                         # also on leaving ``with start() as lab:`` and at exit

The log: every request is recorded per origin (``lab.cdn.log``, ``lab.log()`` merged by time) with
the request's ``Origin`` (``None`` = absent, distinct from ``"null"``), ``Referer``, ``Sec-Fetch-*``,
``Accept``, the lab's own cookie (``cors_lab_user``, kept only when its value has the lab's format),
a *count* of every other cookie (JupyterLab's auth cookies reach every port of the host; they are
never stored), and the response's status and headers. Every value is clipped at ``LOG_FIELD``
characters and each origin keeps at most ``LOG_LIMIT`` entries and ``LOG_BYTES`` of text. Nothing is
printed per request.

Modules: ``knobs`` (the table, parse and encode), ``log`` (requests as recorded), ``responses`` (what
the lab answers, no sockets; the Jupyter extension uses it too), ``probe`` (the probe page),
``plumbing`` (sockets and threads), ``lab`` (Lab, LabOrigin, start).
"""

from __future__ import annotations

from ..trial import TRIAL_JS
from ..useragent import KERNEL_USER_AGENT_PREFIX
from .knobs import H5BP_IMAGE_PATTERN, KNOBS, MAX_DELAY, KnobInfo, Knobs, KnobTable, encode_knobs, parse_knobs, query_string
from .lab import ALLOWED_HOSTS, Lab, LabOrigin, running_lab, start
from .log import LAB_COOKIE_PREFIX, LAB_COOKIES, LOG_BYTES, LOG_FIELD, LOG_LIMIT, LogEntry, Request, RequestLog
from .plumbing import BIND_ADDRESS, BIND_ADDRESS_V6, HEADER_TIMEOUT, MAX_CONNECTIONS
from .probe import PROBE_CSP, PROBE_JS, PROBE_PAGE, PROBE_PATH, PROBE_SCRIPT_PATH
from .responses import ASSET_PREFIX, NO_BODY_STATUSES, USER_COOKIE, Answer, asset_names, respond

__all__ = [
    "ALLOWED_HOSTS",
    "ASSET_PREFIX",
    "Answer",
    "BIND_ADDRESS",
    "BIND_ADDRESS_V6",
    "H5BP_IMAGE_PATTERN",
    "HEADER_TIMEOUT",
    "KERNEL_USER_AGENT_PREFIX",
    "KNOBS",
    "KnobInfo",
    "KnobTable",
    "Knobs",
    "LAB_COOKIES",
    "LAB_COOKIE_PREFIX",
    "LOG_BYTES",
    "LOG_FIELD",
    "LOG_LIMIT",
    "Lab",
    "LabOrigin",
    "LogEntry",
    "MAX_CONNECTIONS",
    "MAX_DELAY",
    "NO_BODY_STATUSES",
    "PROBE_CSP",
    "PROBE_JS",
    "PROBE_PAGE",
    "PROBE_PATH",
    "PROBE_SCRIPT_PATH",
    "Request",
    "RequestLog",
    "TRIAL_JS",
    "USER_COOKIE",
    "asset_names",
    "encode_knobs",
    "parse_knobs",
    "query_string",
    "respond",
    "running_lab",
    "start",
]
