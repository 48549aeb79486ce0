"""Server configuration equivalent to a lab URL's knobs, as Apache and nginx snippets.

Owns the translation knobs -> config text, so a learner can carry a working lab scenario to a real
server. Pure functions returning strings: no I/O, no servers. Knobs are validated by the same
``cors_lab.servers.parse_knobs`` the lab servers use.

Each printed config makes Debian's apache2 2.4 / nginx 1.22 answer with the lab's status, headers
and kind of body (the picture, an error page, or nothing) for every request: with or without
``Origin``, repeated, conditional (both servers and the lab send ETag and Last-Modified with a 200
picture and answer a matching revalidation with 304; ``validators=0`` prints the lines that stop
that). ``tests/test_realservers.py`` proves it on the real servers for the whole knob matrix
(``tools/compare_servers.py`` prints the table). Where no stock directive does what the lab does
(a delay, a truncated body, ``nginx`` and an empty header value, ...) the function raises
``ConfigRefused`` naming the knob and the reason: never a comment the learner may miss. The Apache
text names the modules it needs with their ``a2enmod`` command (stock Debian/Ubuntu has no
``mod_headers``), and uses no ``<IfModule>`` around its own lines, so a missing module stops
Apache with an error instead of silently sending no header.

    >>> print(apache_config(name="picture.png", acao="*", vary="Origin"))      # doctest: +SKIP
    >>> print(nginx_config(url=lab.cdn.url("picture.png", apache=True)))       # doctest: +SKIP
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from .errors import UsageError
from .servers import ASSET_PREFIX, H5BP_IMAGE_PATTERN, Knobs, encode_knobs, parse_knobs, query_string
from .spec.headers import control_character

__all__ = ["GUIDE_APACHE_LINES", "GUIDE_APACHE_RULE", "PICTURE_TYPES", "ConfigRefused", "apache_config", "knobs_from_url", "nginx_config"]

_NGINX_MAP_VARIABLE = "$cors_lab_image_acao"
FILE_AGE_COMMAND = 'touch -d "{age} seconds ago" {path}'  # GNU touch: date the picture's file
_H5BP_IMAGE = re.compile(H5BP_IMAGE_PATTERN)

# The guide's block, verbatim (reference/mdn-cors-enabled-image.md). Its <IfModule> lines are the
# guide's: without mod_headers it does nothing, silently (stock Debian: measured, notebook 05).
GUIDE_APACHE_RULE = f"""\
<IfModule mod_setenvif.c>
  <IfModule mod_headers.c>
    <FilesMatch "{H5BP_IMAGE_PATTERN}">
      SetEnvIf Origin ":" IS_CORS
      Header set Access-Control-Allow-Origin "*" env=IS_CORS
    </FilesMatch>
  </IfModule>
</IfModule>"""
# What apache_config prints for it: the same lines without the <IfModule> wrappers, so a server
# without mod_headers or mod_setenvif stops with an error instead of starting and sending nothing.
GUIDE_APACHE_LINES = f"""\
# The guide's rule, without its <IfModule> lines: a missing module is then an error, not silence.
<FilesMatch "{H5BP_IMAGE_PATTERN}">
  SetEnvIf Origin ":" IS_CORS
  Header set Access-Control-Allow-Origin "*" env=IS_CORS
</FilesMatch>"""

# The guide's rule for nginx. "Header set" (not "always") reaches 2xx answers and 304s only, as in
# the lab; nginx's add_header without "always" would also reach 3xx, so the status is in the key.
_H5BP_NGINX_MAP = f"""\
# In the http {{}} block: "*" on a 2xx or 304 answer to a request whose Origin contains ":" (the
# guide's SetEnvIf Origin ":" IS_CORS, and Header set without "always", which skips other statuses).
map "$status:$http_origin" {_NGINX_MAP_VARIABLE} {{
    default "";
    "~^(2[0-9][0-9]|304):.*:" "*";
}}"""

# The lab's Content-Type for each picture extension (cors_lab.assets; tests/test_serverconf.py
# keeps them equal). Debian's stock tables differ for two: /etc/mime.types (Apache) says
# image/vnd.microsoft.icon for .ico, /etc/nginx/mime.types says image/x-ms-bmp for .bmp.
PICTURE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "bmp": "image/bmp",
    "ico": "image/x-icon",
    "svg": "image/svg+xml",
}
_APACHE_TYPE_DIFFERS = ("ico",)
_NGINX_TYPE_DIFFERS = ("bmp",)

_APACHE, _NGINX = "Apache", "nginx"
_NO_VALIDATORS = "# validators=0: no ETag or Last-Modified; conditional requests get the whole answer."
_NOT_200_VALIDATORS = "# The lab sends ETag and Last-Modified with a 200 only:"


class ConfigRefused(UsageError):
    """No stock directive of ``server`` does what the lab does for ``knob``; ``reason`` says why."""

    def __init__(self, server: str, knob: str, reason: str) -> None:
        self.server = server
        self.knob = knob
        self.reason = reason
        super().__init__(f"No {server} config does what the lab does for {knob}: {reason}")


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
    for name in ("apache", "nosniff", "errorpage"):
        if getattr(k, name):
            out[name] = True
    if not k.validators:
        out["validators"] = False
    if k.age is not None:
        out["age"] = k.age
    return out


def _parse(name: str | None, url: str | None, knobs: dict[str, object]) -> tuple[str | None, Knobs, str]:
    if url is not None:
        if knobs or name is not None:
            raise UsageError("Give either url=... or name= and knobs, not both.")
        name, knobs = knobs_from_url(url)
    if name is not None and (not isinstance(name, str) or not name or any(c in name for c in '/\\" ')
                             or control_character(name)):
        raise UsageError(f"name is an image file name such as 'picture.png'; got {name!r}.")
    if "user" in knobs or "samesite" in knobs:
        raise UsageError("Server snippets cover image URLs; the /login knobs (user, samesite) have none.")
    pairs = encode_knobs(knobs)
    return name, parse_knobs(pairs), query_string(pairs)


def _quote(value: str) -> str:
    """A double-quoted config string (Apache and nginx both take backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _extension(name: str | None) -> str | None:
    return name.rsplit(".", 1)[1].lower() if name and "." in name else None


def _refuse_what_no_server_does(server: str, k: Knobs) -> None:
    if k.delay:
        raise ConfigRefused(server, f"delay={k.delay:g}", "no stock directive waits before answering.")
    if k.truncate is not None:
        raise ConfigRefused(server, f"truncate={k.truncate}", "no stock directive sends only the first bytes of a file.")


def _serves_the_file(k: Knobs) -> bool:
    """Whether the answer carries the picture's file (so a server would add validators to it)."""
    return k.to is None and not k.errorpage and k.final_status not in (204, 304)


def _file_age_lines(k: Knobs, name: str | None) -> list[str]:
    """The command that dates the picture's file as the ``age`` knob dates the lab's (no directive can)."""
    if k.age is None or not _serves_the_file(k):
        return []
    path = f"/path/to{ASSET_PREFIX}{name or '*'}"
    return [f"# The picture's file is {k.age} s old in the lab (its Last-Modified): date yours the same way:",
            "#   " + FILE_AGE_COMMAND.format(age=k.age, path=path)]


# --- Apache ---------------------------------------------------------------------------------------

_APACHE_NO_VALIDATORS = (_NO_VALIDATORS, "FileETag None", "Header unset Last-Modified",
                         "RequestHeader unset If-None-Match", "RequestHeader unset If-Modified-Since")


def _apache_value(value: str) -> str:
    """A ``Header`` value: quoted, with ``%`` doubled (mod_headers reads ``%{...}`` as a format)."""
    return _quote(value.replace("%", "%%"))


def _apache_headers(k: Knobs) -> list[str]:
    """The lab's header lines, on every status ("always"); "unset" first drops a line the site already sends.

    With the guide's rule no "unset" for Access-Control-Allow-Origin: a <Location>'s "Header unset"
    runs after the rule's <FilesMatch> and would drop its "*" (measured); the lab sends both lines.
    """
    sets = [
        ("Access-Control-Allow-Origin", k.acao),
        ("Access-Control-Allow-Credentials", () if k.acac is None else (k.acac,)),
        ("Cache-Control", () if k.cache is None else (k.cache,)),
        ("X-Content-Type-Options", ("nosniff",) if k.nosniff else ()),
    ]
    lines = []
    for header, values in sets:
        if values:
            if not (k.apache and header == "Access-Control-Allow-Origin"):
                lines.append(f"Header unset {header}")
            lines += [f"Header always {'add' if i else 'set'} {header} {_apache_value(v)}" for i, v in enumerate(values)]
    # Merge: a Vary the site sends (Accept-Encoding from compression) still matters to the cache.
    lines += [f"Header always merge Vary {_apache_value(v)}" for v in k.vary]
    if lines:
        lines.insert(0, "# The lab's headers on every status (\"always\"); \"unset\" drops a line the site already sends.")
    if k.cache is not None:
        lines += ["# No mod_expires lines on top of the lab's Cache-Control:", "<IfModule mod_expires.c>", "  ExpiresActive Off", "</IfModule>"]
    return lines


def _apache_type(k: Knobs, name: str | None, status: int) -> list[str]:
    if k.to is not None:
        return []
    if k.ctype:
        return [f"ForceType {_quote(k.ctype)}",
                "# The lab never compresses (mod_deflate would add Vary: Accept-Encoding to a text type):",
                "SetEnv no-gzip 1"]
    if k.ctype == "":
        return ["Header unset Content-Type"]
    ext = _extension(name)
    if status == 204:
        return [f"Header always set Content-Type {_apache_value(PICTURE_TYPES[ext])}"] if ext in PICTURE_TYPES else []
    if name is None:
        return [f"AddType {_quote(PICTURE_TYPES[e])} .{e}" for e in _APACHE_TYPE_DIFFERS]
    if ext in _APACHE_TYPE_DIFFERS:
        return [f"ForceType {_quote(PICTURE_TYPES[ext])}"]
    return []


def _apache_status(k: Knobs, name: str | None) -> list[str]:
    status = k.final_status
    if k.to is not None:
        to = _quote(k.to.replace("$", "\\$"))  # mod_alias reads $0-$9 in a target as regex groups
        line = f"Redirect {status} {to}" if name is not None else f'RedirectMatch {status} "^" {to}'
        return [
            line,
            "# An empty body and no Content-Type, as the lab sends (Apache's own is a small HTML page):",
            f'ErrorDocument {status} "%{{reqenv:CORS_LAB_NO_BODY}}"',
            "Header always unset Content-Type",
        ]
    if status == 200:
        return []
    if k.errorpage:
        return [f"# Status {status} with Apache's own error page (text/html), as the lab's errorpage=1 sends:",
                f"Redirect {status}"]
    if name is None and (status == 204 or 400 <= status <= 599):
        raise ConfigRefused(_APACHE, f"status={status} without name=", "the answer names its picture (ErrorDocument, Content-Type); give name=.")
    if status == 204:
        return ["Redirect 204"]
    if 400 <= status <= 599:
        path = f"{ASSET_PREFIX}{name}"
        lines = [
            f"# Status {status} with the picture as its body, as the lab sends (Apache's own is an HTML page):",
            "<If \"-z reqenv('REDIRECT_STATUS')\">",
            f"  Redirect {status}",
            "</If>",
            f"ErrorDocument {status} {_quote(path)}",
            _NOT_200_VALIDATORS,
            "Header unset ETag",
            "Header unset Last-Modified",
        ]
        if k.apache:
            lines += ["# The guide's rule would fire on that error document; the lab sends its ACAO on 2xx only.",
                      "Header unset Access-Control-Allow-Origin"]
        return lines
    if status == 304:
        raise ConfigRefused(_APACHE, "status=304", "Apache answers 304 only to a conditional request whose validator matches.")
    if 300 <= status <= 399:
        raise ConfigRefused(_APACHE, f"status={status}", "Apache sends a 3xx status only as a redirect with a Location (to=).")
    raise ConfigRefused(_APACHE, f"status={status}", "Apache sends a file with status 200 only (a script, CGI or PHP, could set another).")


def _apache_modules(lines: list[str], k: Knobs) -> list[str]:
    text = "\n".join(lines)
    modules = ["headers"]
    if k.apache:
        modules.append("setenvif")
    if "Redirect" in text:
        modules.append("alias")
    if "SetEnv " in text:
        modules.append("env")
    if "AddType" in text:
        modules.append("mime")
    return modules


def apache_config(*, name: str | None = None, url: str | None = None, **knobs: object) -> str:
    """An Apache 2.4 snippet doing what the knobs do, starting with the ``a2enmod`` line it needs.

    ``name`` scopes it to ``/img/<name>`` (a ``<Location>`` for the site's ``<VirtualHost>``);
    without it the lines suit the images' ``<Directory>`` or ``.htaccess``. ``url=`` takes a lab URL
    instead of knobs. Raises ``ConfigRefused`` where Apache cannot do what the lab does.
    """
    name, k, query = _parse(name, url, knobs)
    _refuse_what_no_server_does(_APACHE, k)
    status_lines = _apache_status(k, name)
    body = list(_APACHE_NO_VALIDATORS) if _serves_the_file(k) and not k.validators else []
    body += _apache_headers(k) + _apache_type(k, name, k.final_status) + status_lines
    modules = _apache_modules(body, k)
    out = [
        f"# Apache 2.4: what the lab does for ?{query}" if query else "# Apache 2.4: what the lab does with no knobs",
        "# Enable the modules it needs (stock Debian/Ubuntu has no mod_headers), then restart Apache:",
        f"#   sudo a2enmod {' '.join(modules)} && sudo systemctl restart apache2",
        *_file_age_lines(k, name),
    ]
    if name is not None:
        out += ["# In the site's <VirtualHost> (or the main server config):", f'<Location "{ASSET_PREFIX}{name}">']
        out += [f"  {line}" for line in body] + ["</Location>"]
    else:
        out += ["# In the images' <Directory>, or their .htaccess (AllowOverride FileInfo):"] + body
    if k.apache:
        if name is not None and not _H5BP_IMAGE.search(name):
            out.append(f"# The guide's rule below never matches {name!r}: it is not one of its image extensions.")
        out.append(GUIDE_APACHE_LINES)
    return "\n".join(out)


# --- nginx ----------------------------------------------------------------------------------------

_NGINX_NO_VALIDATORS = (_NO_VALIDATORS, "etag off;", "if_modified_since off;", 'add_header Last-Modified "" always;')
# nginx drops Last-Modified by itself on a status other than 200, 206 and 304, but keeps the ETag.
_NGINX_NOT_200_VALIDATORS = (_NOT_200_VALIDATORS + " nginx drops Last-Modified itself, not the ETag.", "etag off;")


def _nginx_refusals(k: Knobs) -> None:
    values = [("acao", v) for v in k.acao] + [("vary", v) for v in k.vary]
    values += [(knob, getattr(k, knob)) for knob in ("acac", "cache", "ctype", "to") if getattr(k, knob) is not None]
    for knob, value in values:
        if "$" in value:
            raise ConfigRefused(_NGINX, f"{knob}={value!r}", "nginx reads $name inside a string as a variable and has no escape for '$'.")
        if value == "" and knob != "ctype":
            raise ConfigRefused(_NGINX, f"{knob}=''", "nginx's add_header sends no line at all for an empty value.")


def _nginx_headers(k: Knobs, name: str | None, status: int) -> list[str]:
    sets = [("Access-Control-Allow-Origin", v) for v in k.acao]
    sets += [("Access-Control-Allow-Credentials", k.acac)] if k.acac is not None else []
    sets += [("Vary", v) for v in k.vary]
    sets += [("Cache-Control", k.cache)] if k.cache is not None else []
    sets += [("X-Content-Type-Options", "nosniff")] if k.nosniff else []
    ext = _extension(name)
    if status == 204 and k.to is None and k.ctype != "":
        sets.append(("Content-Type", k.ctype or PICTURE_TYPES.get(ext or "", "")))
    lines = [f"add_header {header} {_quote(value)} always;" for header, value in sets]
    if lines:
        lines.insert(0, "# The lab's headers on every status (\"always\"). Here nginx drops the server's own add_header lines.")
    if k.apache and name is not None and not _H5BP_IMAGE.search(name):
        lines.append(f"# The guide's rule never matches {name!r}: it is not one of its image extensions.")
    elif k.apache:
        lines.append(f"add_header Access-Control-Allow-Origin {_NGINX_MAP_VARIABLE} always;  # the guide's rule (the map); empty: not sent")
    if k.cache is not None:
        lines.append("expires off;  # no Expires or second Cache-Control from an 'expires' of the server")
    return lines


def _nginx_type(k: Knobs, name: str | None) -> list[str]:
    if k.ctype == "":
        return ['types { } default_type "";  # no Content-Type at all']
    if k.ctype:
        return [f"types {{ }} default_type {_quote(k.ctype)};", "gzip off;  # the lab never compresses"]
    ext = _extension(name)
    if name is None:
        return (["# The lab's picture types (Debian's nginx says image/x-ms-bmp for .bmp). A location's",
                 "# types replace the server's: add any other type this directory serves.", "types {"]
                + [f"    {t} {e};" for e, t in PICTURE_TYPES.items()] + ["}"])
    if ext in _NGINX_TYPE_DIFFERS:
        return [f"types {{ {PICTURE_TYPES[ext]} {ext}; }}"]
    return []


def _nginx_named(name: str | None, role: str) -> str:
    return "@cors_lab_" + (re.sub(r"[^A-Za-z0-9]", "_", name) if name else "img") + role


def nginx_config(*, name: str | None = None, url: str | None = None, **knobs: object) -> str:
    """An nginx snippet (``add_header ... always;``, a ``map`` for the guide's rule, error pages).

    ``name`` scopes it to ``location = /img/<name>``; without it, ``location /img/`` (or the guide's
    extension regex when ``apache=True``). ``url=`` takes a lab URL instead of knobs. Raises
    ``ConfigRefused`` where nginx cannot do what the lab does.
    """
    name, k, query = _parse(name, url, knobs)
    _refuse_what_no_server_does(_NGINX, k)
    _nginx_refusals(k)
    status = k.final_status
    headers = _nginx_headers(k, name, status)
    picture = []
    if _serves_the_file(k) and not k.validators:
        picture += _NGINX_NO_VALIDATORS
    elif _serves_the_file(k) and status != 200:
        picture += _NGINX_NOT_200_VALIDATORS
    picture += headers + _nginx_type(k, name)
    named: list[str] = []  # a second location: the body of a redirect or an error status
    if k.errorpage:
        main = headers + [f"return {status};  # nginx's own error page (text/html), as the lab's errorpage=1 sends"]
    elif k.to is not None:
        target = _nginx_named(name, "_no_body")
        main = [f"error_page {status} {target};  # an empty body, as the lab sends (nginx's own is an HTML page)",
                f"return {status} {_quote(k.to)};"]
        named = headers + ['types { } default_type "";', 'return 200 "";  # the status stays ' + str(status)]
    elif status == 200:
        main = picture
    elif status == 204 and name is None:
        raise ConfigRefused(_NGINX, "status=204 without name=", "the answer names its picture's Content-Type; give name=.")
    elif status in (204, 304):
        main = picture + [f"return {status};"]
    else:
        target = _nginx_named(name, "_body")
        trigger = status if status >= 300 else 404
        rewrite = "" if trigger == status else f"={status} "
        main = [f"error_page {trigger} {rewrite}{target};  # status {status} with the picture as its body, as the lab sends",
                f"return {trigger};"]
        named = picture

    out = [f"# nginx: what the lab does for ?{query}" if query else "# nginx: what the lab does with no knobs"]
    out += _file_age_lines(k, name)
    if k.apache:
        out.append(_H5BP_NGINX_MAP)
    out.append("# In the server {} block:")
    if name is not None:
        location = f"location = {ASSET_PREFIX}{name}"
    elif k.apache:
        location = f"location ~ {H5BP_IMAGE_PATTERN}"
    else:
        location = f"location {ASSET_PREFIX}"
    out += [location + " {"] + [f"    {line}" for line in main] + ["}"]
    if named:
        out += [f"location {_nginx_named(name, '_body' if k.to is None else '_no_body')} {{"] + [f"    {line}" for line in named] + ["}"]
    return "\n".join(out)
