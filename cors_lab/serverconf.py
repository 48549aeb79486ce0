"""Server configuration equivalent to a lab URL's knobs, as Apache and nginx snippets.

Owns the translation knobs -> config text, so a learner can carry a working lab scenario to a real
server. Pure functions returning strings: no I/O, no servers. Knobs are validated by the same
``cors_lab.servers.parse_knobs`` the lab servers use. What no stock directive can do (a delay, a
truncated body) is written as a comment, never silently dropped.

    >>> print(apache_config(acao="*", vary="Origin"))      # doctest: +SKIP
    >>> print(nginx_config(url=lab.cdn.url("picture.png", apache=True)))   # doctest: +SKIP
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from .errors import UsageError
from .servers import ASSET_PREFIX, H5BP_IMAGE_PATTERN, Knobs, encode_knobs, parse_knobs, query_string

__all__ = ["apache_config", "knobs_from_url", "nginx_config"]

_NGINX_MAP_VARIABLE = "$cors_lab_image_acao"
_H5BP_IMAGE = re.compile(H5BP_IMAGE_PATTERN)

# The guide's block, verbatim (reference/mdn-cors-enabled-image.md).
_H5BP_APACHE = f"""\
<IfModule mod_setenvif.c>
  <IfModule mod_headers.c>
    <FilesMatch "{H5BP_IMAGE_PATTERN}">
      SetEnvIf Origin ":" IS_CORS
      Header set Access-Control-Allow-Origin "*" env=IS_CORS
    </FilesMatch>
  </IfModule>
</IfModule>"""

_H5BP_NGINX_MAP = f"""\
# In the http {{}} block: "*" when the request's Origin contains ":" (SetEnvIf Origin ":" IS_CORS).
map $http_origin {_NGINX_MAP_VARIABLE} {{
    default "";
    "~:"    "*";
}}"""


def knobs_from_url(url: str) -> tuple[str | None, dict[str, object]]:
    """(asset name, Python knobs) of a lab URL, e.g. from ``lab.cdn.url("picture.png", acao="*")``."""
    parts = urlsplit(url)
    name = unquote(parts.path[len(ASSET_PREFIX) :]) if parts.path.startswith(ASSET_PREFIX) else None
    if name is None or not name or "/" in name:
        raise UsageError(f"{url!r} is not a lab image URL ({ASSET_PREFIX}<name>?knobs); build one with lab.cdn.url(...).")
    knobs = parse_knobs(parts.query)
    return name, _python_knobs(knobs)


def _python_knobs(k: Knobs) -> dict[str, object]:
    out: dict[str, object] = {}
    if k.acao:
        out["acao"] = list(k.acao) if len(k.acao) > 1 else k.acao[0]
    if k.vary:
        out["vary"] = list(k.vary) if len(k.vary) > 1 else k.vary[0]
    for name in ("acac", "cache", "status", "to", "ctype", "truncate", "nonce"):
        if getattr(k, name) is not None:
            out[name] = getattr(k, name)
    if k.delay:
        out["delay"] = k.delay
    for name in ("apache", "nosniff"):
        if getattr(k, name):
            out[name] = True
    return out


def _parse(name: str | None, url: str | None, knobs: dict[str, object]) -> tuple[str | None, Knobs, str]:
    if url is not None:
        if knobs or name is not None:
            raise UsageError("Give either url=... or name= and knobs, not both.")
        name, knobs = knobs_from_url(url)
    if name is not None and (not isinstance(name, str) or not name or any(c in name for c in '/\\"\x00\r\n ')):
        raise UsageError(f"name is an image file name such as 'picture.png'; got {name!r}.")
    if "user" in knobs or "samesite" in knobs:
        raise UsageError("Server snippets cover image URLs; the /login knobs (user, samesite) have none.")
    pairs = encode_knobs(knobs)
    return name, parse_knobs(pairs), query_string(pairs)


def _quote(value: str) -> str:
    """A double-quoted config string (Apache and nginx both take backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _notes(k: Knobs) -> list[str]:
    """Comments for what the lab does that no stock directive does."""
    notes = []
    if k.delay:
        notes.append(f"# delay={k.delay:g}: the lab waits {k.delay:g} s before answering (a slow backend); no directive does that.")
    if k.truncate is not None:
        notes.append(f"# truncate={k.truncate}: the lab sends only the first {k.truncate} bytes of the file; no directive does that.")
    return notes


def apache_config(*, name: str | None = None, url: str | None = None, **knobs: object) -> str:
    """An Apache (``mod_headers``, ``mod_alias``, ``mod_setenvif``) snippet doing what the knobs do.

    ``name`` scopes it to ``/img/<name>`` (a ``<Location>``); without it the lines suit a
    ``.htaccess`` or ``<Directory>`` of the images. ``url=`` takes a lab URL instead of knobs.
    Headers use ``Header always`` so that they reach redirects and error responses too, as in the lab.
    """
    name, k, query = _parse(name, url, knobs)
    status = k.final_status
    headers: list[str] = []
    for i, value in enumerate(k.acao):
        headers.append(f"Header always {'set' if i == 0 else 'add'} Access-Control-Allow-Origin {_quote(value)}")
    if k.acac is not None:
        headers.append(f"Header always set Access-Control-Allow-Credentials {_quote(k.acac)}")
    for i, value in enumerate(k.vary):
        headers.append(f"Header always {'set' if i == 0 else 'add'} Vary {_quote(value)}")
    if k.cache is not None:
        headers.append(f"Header always set Cache-Control {_quote(k.cache)}")
    if k.nosniff:
        headers.append('Header always set X-Content-Type-Options "nosniff"')
    body = ["<IfModule mod_headers.c>"] + [f"  {line}" for line in headers] + ["</IfModule>"] if headers else []
    if k.ctype:
        body.append(f"ForceType {_quote(k.ctype)}")
    elif k.ctype == "":
        body.append("# ctype='': no Content-Type. Apache sends none only when it cannot tell the type (RemoveType).")
    if k.to is not None:
        if name is not None:
            body.append(f"Redirect {status} {_quote(k.to)}")
        else:
            body.append(f'RedirectMatch {status} "^" {_quote(k.to)}')
    elif k.status is not None and k.status != 200:
        if 400 <= status <= 599:
            body.append("# The body becomes Apache's error page; the lab still sends the image.")
            body.append("RewriteEngine On")
            body.append(f'RewriteRule "^" "-" [R={status},L]')
        else:
            body.append(f"# status={status}: no stock directive sends it; a script (CGI, PHP) would set it.")
    body += _notes(k)

    out = [f"# Apache: what the lab does for ?{query}" if query else "# Apache: the lab with no knobs sends no extra headers."]
    if body and name is not None:
        out += [f'<Location "{ASSET_PREFIX}{name}">'] + [f"  {line}" for line in body] + ["</Location>"]
    else:
        out += body
    if k.apache:
        if name is not None and not _H5BP_IMAGE.search(name):
            out.append(f"# The guide's rule below never matches {name!r}: it is not one of its image extensions.")
        if k.acao:
            out.append(
                "# Apache keeps 'always' and plain 'Header set' apart: a 2xx answer would carry the line(s) above"
                " *and* the rule's; the lab sends only the rule's when it fires."
            )
        out.append(_H5BP_APACHE)
    return "\n".join(out)


def nginx_config(*, name: str | None = None, url: str | None = None, **knobs: object) -> str:
    """An nginx snippet (``add_header ... always;``, ``return``, a ``map`` for the h5bp rule).

    ``name`` scopes it to ``location = /img/<name>``; without it, ``location /img/`` (or the guide's
    extension regex when ``apache=True``). ``url=`` takes a lab URL instead of knobs.
    """
    name, k, query = _parse(name, url, knobs)
    status = k.final_status
    body: list[str] = []
    for value in k.acao:
        if value == "":
            body.append("# acao='': nginx sends no header for an empty value, so this one cannot be reproduced.")
        else:
            body.append(f"add_header Access-Control-Allow-Origin {_quote(value)} always;")
    if k.acac is not None:
        body.append(f"add_header Access-Control-Allow-Credentials {_quote(k.acac)} always;")
    for value in k.vary:
        body.append(f"add_header Vary {_quote(value)} always;")
    if k.cache is not None:
        body.append(f"add_header Cache-Control {_quote(k.cache)} always;")
    if k.nosniff:
        body.append('add_header X-Content-Type-Options "nosniff" always;')
    if k.apache and name is not None and not _H5BP_IMAGE.search(name):
        body.append(f"# The guide's rule never matches {name!r}: it is not one of its image extensions.")
    elif k.apache:
        body.append(f"add_header Access-Control-Allow-Origin {_NGINX_MAP_VARIABLE};  # 2xx/3xx only; empty: not sent")
        if k.acao:
            body.append("# nginx sends both ACAO lines on a 2xx answer; the lab sends only the rule's when it fires.")
    if k.ctype is not None:
        note = "  # an empty type sends no Content-Type" if k.ctype == "" else ""
        body.append(f"types {{ }} default_type {_quote(k.ctype)};{note}")
    if k.to is not None:
        body.append(f"return {status} {_quote(k.to)};")
    elif k.status is not None and k.status != 200:
        body.append(f"return {status};  # nginx answers with its own (or an empty) body; the lab still sends the image")
    if any("$" in v for v in (*k.acao, *k.vary, k.acac or "", k.cache or "", k.ctype or "", k.to or "")):
        body.append("# Careful: nginx reads $name inside strings as a variable.")
    body += _notes(k)

    out = [f"# nginx: what the lab does for ?{query}" if query else "# nginx: the lab with no knobs sends no extra headers."]
    if k.apache:
        out.append(_H5BP_NGINX_MAP)
        out.append("# In the server {} block:")
    if name is not None:
        location = f"location = {ASSET_PREFIX}{name}"
    elif k.apache:
        location = f"location ~ {H5BP_IMAGE_PATTERN}"
    else:
        location = f"location {ASSET_PREFIX}"
    if body:
        out += [location + " {"] + [f"    {line}" for line in body] + ["}"]
    return "\n".join(out)

