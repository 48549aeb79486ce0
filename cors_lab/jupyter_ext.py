"""A Jupyter server extension: the lab's pictures from Jupyter's own origin, for one-origin setups.

Owns one handler, ``GET|HEAD {base_url}cors-lab/img/<name>?<knobs>``, for Binder and JupyterHub, where
every port sits behind one origin and the lab's loopback servers are out of the browser's reach. It
serves only ``cors_lab.assets`` pictures, with the lab servers' own URL knobs and response rules
(``cors_lab.servers``), and answers without authentication: a sandboxed ``srcdoc`` iframe (origin
``null``) sends no cookies, so an authenticated URL would only redirect it to the login page. It must
not serve anything else, read or set cookies, redirect, or need a token anywhere. Because it answers
on Jupyter's own origin, everything it sends that is not an image (its plain-text errors, a picture
whose ``ctype`` knob names a non-image type) carries ``Content-Security-Policy: default-src 'none'``
(and the errors ``X-Content-Type-Options: nosniff``), so no answer can run as a page there; bad input
gets a one-line 400, never a 500 with a traceback in the server's log.

Knobs here: ``acao``, ``acac``, ``vary``, ``cache``, ``apache``, ``status`` (no 3xx), ``ctype``,
``truncate``, ``nosniff``, ``nonce``. Not here: ``to`` (there is no second origin to send to),
``delay`` (it would hold a server thread), ``user``/``samesite`` (no logins).

A non-editable ``pip install`` enables it (the package installs
``etc/jupyter/jupyter_server_config.d/cors_lab.json``); an editable one does not, and
``jupyter server extension enable`` refuses a module no config file names yet (jupyter_server 2.21),
so `enable` writes that file: ``python -m cors_lab enable-extension`` (binder/postBuild runs it).
Measured here (JupyterLab 4.6.6, jupyter_server 2.21, and JupyterHub 6.1.1): from a sandboxed srcdoc
iframe, ``crossorigin="anonymous"`` images from this handler are readable with ACAO ``*`` or ``null``
and fire ``error`` without ACAO; the server sees ``Origin: null`` and no cookie.
See https://jupyter-server.readthedocs.io/en/latest/developers/extensions.html
"""

from __future__ import annotations

import http
import sys
from pathlib import Path
from typing import Any

from .errors import UsageError
from .spec.fetch import REDIRECT_STATUSES

__all__ = ["ASSET_ROUTE", "CONFIG", "NON_IMAGE_CSP", "asset_path", "enable", "handler_class", "is_image_type"]

ASSET_ROUTE = "cors-lab/img/"  # under the server's base_url
# The config file that enables this extension, as shipped in the package.
CONFIG = Path(__file__).with_name("jupyter-config") / "jupyter_server_config.d" / "cors_lab.json"
_NOT_HERE = {
    "to": "this server is the only origin here, so it cannot redirect to another one",
    "delay": "delays would hold one of Jupyter's own server threads",
    "user": "there are no logins here",
    "samesite": "there are no logins here",
}
NON_IMAGE_CSP = "default-src 'none'"  # for every answer that is not an image: nothing in it may run or load
# Headers Jupyter adds to every answer, removed so the picture's answer is exactly the lab servers'.
_JUPYTER_DEFAULTS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Content-Type",
)


def check_knobs(query: str):
    """The validated knobs of one request; ``UsageError`` with the reason for anything not served here."""
    from urllib.parse import parse_qsl

    from .servers import parse_knobs

    for name, _ in parse_qsl(query, keep_blank_values=True):
        if name in _NOT_HERE:
            raise UsageError(f"Knob {name} does not work on the Jupyter server extension: {_NOT_HERE[name]}.")
    knobs = parse_knobs(query, endpoint="img", allowed_origins=())
    if knobs.final_status in REDIRECT_STATUSES:  # pragma: no cover - parse_knobs needs `to` for these
        raise UsageError("Redirects do not work on the Jupyter server extension.")
    return knobs


def asset_path(base_url: str, name: str, **knobs: object) -> str:
    """The root-relative URL of picture ``name`` on the extension, e.g. ``/user/x/cors-lab/img/picture.png?acao=*``."""
    from .servers import asset_names, encode_knobs, query_string

    if name not in asset_names():
        raise UsageError(f"No asset {name!r}; the lab serves {', '.join(asset_names())}.")
    query = query_string(encode_knobs(knobs))
    check_knobs(query)
    base = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    return f"{base}{ASSET_ROUTE}{name}" + (f"?{query}" if query else "")


def handler_class() -> type:
    """The tornado handler (built on first use so importing this module needs no jupyter_server)."""
    from jupyter_server.auth.decorator import allow_unauthenticated
    from jupyter_server.base.handlers import JupyterHandler

    from .servers import NO_BODY_STATUSES, asset_names, respond

    class AssetHandler(JupyterHandler):
        """The kit's pictures, with URL-driven CORS headers, for pages with an opaque origin."""

        def compute_etag(self) -> None:  # not tornado's ETag and 304s: the lab's own (`respond`)
            return None

        def check_xsrf_cookie(self) -> None:  # GET and HEAD only; nothing here changes state
            return None

        @allow_unauthenticated
        def get(self, name: str) -> None:
            self._answer(name, send_body=True)

        @allow_unauthenticated
        def head(self, name: str) -> None:
            self._answer(name, send_body=False)

        def _plain(self, status: int, text: str) -> None:
            self._clear_jupyter_headers()
            self.set_status(status, _phrase(status))
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Content-Security-Policy", NON_IMAGE_CSP)
            self.finish(f"{status} {_phrase(status)}: {text}\n")

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            # Whatever went wrong, a one-line answer: no traceback, no HTML page on Jupyter's origin.
            self._plain(status_code, "the cors-lab extension could not answer this request.")

        def _clear_jupyter_headers(self) -> None:
            for header in _JUPYTER_DEFAULTS + tuple(self.settings.get("headers", {})):
                self.clear_header(header)

        def _answer(self, name: str, *, send_body: bool) -> None:
            if name not in asset_names():
                self._plain(404, f"the extension serves {ASSET_ROUTE}<name> for <name> in {', '.join(asset_names())}.")
                return
            try:
                knobs = check_knobs(self.request.query)
            except UsageError as err:
                self._plain(400, str(err))
                return
            # The lab servers' own response rules; no cookies are read (an opaque page sends none).
            try:
                answer = respond("img", name, path=self.request.path, knobs=knobs,
                                 origin=self.request.headers.get("Origin"),
                                 if_none_match=self.request.headers.get("If-None-Match"),
                                 if_modified_since=self.request.headers.get("If-Modified-Since"))
            except Exception as err:  # noqa: BLE001 - a bug or a broken asset: one line, no traceback
                self._plain(500, f"{type(err).__name__}: {err}")
                return
            self._clear_jupyter_headers()
            self.set_status(answer.status, _phrase(answer.status))
            for header_name, value in answer.headers:
                self.add_header(header_name, value)
            if not is_image_type(answer.headers.get("Content-Type")):
                self.set_header("Content-Security-Policy", NON_IMAGE_CSP)
            if answer.status in NO_BODY_STATUSES:
                self.finish()
                return
            if not send_body:
                self.set_header("Content-Length", str(len(answer.body)))
                self.finish()
                return
            self.finish(answer.body)

    return AssetHandler


def is_image_type(content_type: str | None) -> bool:
    """Whether a Content-Type names an image (``image/png; x=y`` does; none, ``text/html`` do not)."""
    return bool(content_type) and content_type.split(";", 1)[0].strip().lower().startswith("image/")


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def enable(config_dir: str | Path | None = None) -> Path:
    """Enable the extension for every Jupyter server reading ``config_dir`` (default: this Python
    environment's ``{sys.prefix}/etc/jupyter``): write ``jupyter_server_config.d/cors_lab.json`` there,
    the file a non-editable install puts there. Returns its path; restart Jupyter to load it."""
    folder = Path(config_dir) if config_dir is not None else Path(sys.prefix) / "etc" / "jupyter"
    target = folder / "jupyter_server_config.d" / CONFIG.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(CONFIG.read_bytes())
    return target


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "cors_lab.jupyter_ext"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Add the picture handler under the server's base_url."""
    from jupyter_server.utils import url_path_join

    web_app = server_app.web_app
    route = url_path_join(web_app.settings["base_url"], ASSET_ROUTE, r"([A-Za-z0-9_.-]+)")
    web_app.add_handlers(".*$", [(route, handler_class())])
    server_app.log.info("cors-lab: serving the lab's pictures at %s", url_path_join(web_app.settings["base_url"], ASSET_ROUTE))
