"""A learner's Apache or nginx lines, run: which headers they put on the answer to one request.

Owns reading a snippet (Apache 2.4's header directives for the images' ``<Directory>`` or
``.htaccess``, or nginx's ``add_header`` lines and ``location`` blocks for a ``server {}``), errors
that name the line and the fix, evaluating the snippet for a request (its path and headers) in the
order the real server applies it, the lab knobs that send the same headers, and a transport that
makes the lab answer every request as the snippet says (so the kernel browser runs it on the lab).
It is the reverse of ``cors_lab.serverconf`` (knobs -> config text); tests run one into the other,
and on Debian's real apache2 and nginx. Must not: serve, or decide a CORS rule.

Apache, as measured on 2.4 and documented (https://httpd.apache.org/docs/2.4/mod/mod_headers.html):
``SetEnvIf`` runs before any ``Header``; ``Header`` lines run in merge order (the directory's own
lines, then each matching ``<Files>``/``<FilesMatch>``), each in file order; ``Header always``
writes a second table, sent before the first, so ``set`` in both sends the header twice.
nginx (https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header): one ``location``
answers; its ``add_header`` lines, or, if it has none, the server level's, are added (without
``always`` only to 200, 201, 204, 206, 301, 302, 303, 304, 307, 308).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .errors import UsageError
from .servers import ASSET_PREFIX, encode_knobs, query_string

__all__ = ["ConfigError", "LabTransport", "Sent", "ServerLines", "knobs_for", "read", "served_by"]

# The modules of the exercise's Apache: Debian's defaults (cors_lab.realservers.DEBIAN_DEFAULT_MODULES)
# plus mod_headers, which `a2enmod headers` adds.
APACHE_MODULES = frozenset((
    "mpm_event", "authz_core", "authn_core", "authz_host", "auth_basic", "access_compat", "authn_file",
    "authz_user", "alias", "dir", "autoindex", "env", "mime", "negotiation", "setenvif", "filter",
    "deflate", "status", "reqtimeout", "headers"))
HEADER_ACTIONS = ("set", "append", "merge", "add", "unset", "setifempty")
# Directives that change nothing this check sees (caching, types, validators, access): read, then left out.
APACHE_QUIET = ("FileETag", "ExpiresActive", "ExpiresByType", "ExpiresDefault", "AddType", "ForceType",
                "RequestHeader", "Options", "AllowOverride", "Require", "AddDefaultCharset", "DirectoryIndex")
APACHE_REFUSED = {
    "Redirect": "it answers with a redirect instead of the picture",
    "RedirectMatch": "it answers with a redirect instead of the picture",
    "RewriteEngine": "mod_rewrite is not enabled on this server (and rules that send headers are Header's job)",
    "RewriteRule": "mod_rewrite is not enabled on this server (and rules that send headers are Header's job)",
    "RewriteCond": "mod_rewrite is not enabled on this server",
    "ErrorDocument": "it changes error answers, and the picture is served with 200",
    "<If": "this check runs no <If> expressions; use SetEnvIf and Header's env= condition",
    "<ElseIf": "this check runs no <If> expressions; use SetEnvIf and Header's env= condition",
    "<Else": "this check runs no <If> expressions; use SetEnvIf and Header's env= condition",
}
_CANONICAL = {n.lower(): n for n in (*APACHE_QUIET, *APACHE_REFUSED, "SetEnvIf", "SetEnvIfNoCase", "BrowserMatch",
                                       "SetEnv", "UnsetEnv", "Header")}
NGINX_QUIET = ("expires", "etag", "if_modified_since", "types", "default_type", "root", "try_files", "gzip",
               "index", "autoindex", "charset", "sendfile", "access_log", "log_not_found")
_NGINX_WORDS = frozenset(("add_header", "location", "map", "if", "return", "rewrite", "error_page", *NGINX_QUIET))
NGINX_DEFAULT_STATUSES = (200, 201, 204, 206, 301, 302, 303, 304, 307, 308)
# Response headers the lab's knobs can send, and the knob for each (cors_lab.servers.KNOBS).
KNOB_OF = {"access-control-allow-origin": "acao", "access-control-allow-credentials": "acac", "vary": "vary",
           "cache-control": "cache", "content-type": "ctype"}


class ConfigError(UsageError):
    """The snippet cannot be read or run; the message names the line and the fix."""


def _error(line_no: int, line: str, problem: str) -> ConfigError:
    return ConfigError(f"line {line_no} ({line.strip()!r}): {problem}")


@dataclass
class Sent:
    """What a snippet did for one request: headers added (in the order sent), names unset, and why."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)  # of the server's own headers (Content-Type, ETag, ...)
    notes: list[str] = field(default_factory=list)

    def get_all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]


class ServerLines:
    """A read snippet: ``kind`` ("Apache" or "nginx"), and ``answer(path, request_headers)`` -> `Sent`."""

    kind = ""
    ignored: list[str]

    def answer(self, *, path: str, request_headers: list[tuple[str, str]], status: int = 200) -> Sent:
        raise NotImplementedError


def _request_header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for n, v in headers if n.lower() == name.lower()), None)


# --- Apache ----------------------------------------------------------------------------------------


def _apache_words(text: str, line_no: int, line: str) -> list[str]:
    """Apache's ap_getword_conf: words split on spaces; "..." or '...' is one word (\\" inside)."""
    words, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        if text[i] in "\"'":
            quote, i, word = text[i], i + 1, []
            while i < len(text) and text[i] != quote:
                if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
                    i += 1
                word.append(text[i])
                i += 1
            if i >= len(text):
                raise _error(line_no, line, f"a {quote} opens a value that never closes. Fix: close it with {quote}.")
            words.append("".join(word))
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace():
                j += 1
            words.append(text[i:j])
            i = j
    return words


@dataclass
class _ApacheLine:
    line_no: int
    text: str
    words: list[str]
    section: str  # "directory" or "files"
    matches: tuple  # (kind, argument) of each enclosing <Files>/<FilesMatch>
    modules: tuple  # each enclosing <IfModule> (name, negated)


class ApacheLines(ServerLines):
    """Header-related Apache 2.4 directives for the images' ``<Directory>`` (or ``.htaccess``)."""

    kind = "Apache"

    def __init__(self, text: str) -> None:
        self.lines: list[_ApacheLine] = []
        self.ignored: list[str] = []
        self._read(text)

    def _read(self, text: str) -> None:
        stack: list[tuple[str, str, int, str, str]] = []  # (container, argument, line_no, line, kind)
        physical = text.split("\n")
        i = 0
        while i < len(physical):
            line_no, line = i + 1, physical[i]
            while line.rstrip().endswith("\\") and i + 1 < len(physical):  # a continued line
                i += 1
                line = line.rstrip()[:-1] + " " + physical[i].strip()
            i += 1
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("</"):
                name = stripped[2:].rstrip(">").strip()
                if not stack or stack[-1][0].lower() != name.lower():
                    opened = f"<{stack[-1][0]}> from line {stack[-1][2]}" if stack else "nothing"
                    raise _error(line_no, line, f"</{name}> closes {opened}. Fix: close sections in the order they open.")
                stack.pop()
                continue
            if stripped.startswith("<"):
                self._open(stripped, line_no, line, stack)
                continue
            words = _apache_words(stripped, line_no, line)
            self._check_directive(words, line_no, line)
            files = tuple((s[4], s[1]) for s in stack if s[4] in ("files", "filesmatch"))
            modules = tuple((s[1].lstrip("!"), s[1].startswith("!")) for s in stack if s[4] == "ifmodule")
            self.lines.append(_ApacheLine(line_no, stripped, words, "files" if files else "directory", files, modules))
        if stack:
            name, _, opened_at, opened, _ = stack[-1]
            raise _error(opened_at, opened, f"<{name}> is never closed. Fix: end it with </{name}>.")

    def _open(self, stripped: str, line_no: int, line: str, stack: list) -> None:
        if not stripped.endswith(">"):
            raise _error(line_no, line, "a section line must end with '>'.")
        words = _apache_words(stripped[1:-1], line_no, line)
        name = words[0] if words else ""
        lower = name.lower()
        if "<" + name in APACHE_REFUSED:
            raise _error(line_no, line, APACHE_REFUSED["<" + name] + ".")
        if lower in ("location", "locationmatch", "directory", "directorymatch", "virtualhost"):
            raise _error(line_no, line, f"<{name}> is not allowed inside the images' <Directory> or a .htaccess, where "
                                        "these lines go (Apache stops with \"not allowed here\"). Fix: leave it out: "
                                        "the lines apply to every file of the directory, or use <Files>/<FilesMatch>.")
        if lower not in ("ifmodule", "files", "filesmatch"):
            raise _error(line_no, line, f"<{name}> is not a section this check knows. It runs <IfModule>, <Files> "
                                        "and <FilesMatch>.")
        if len(words) != 2 and not (lower == "files" and len(words) == 3 and words[1] == "~"):
            raise _error(line_no, line, f"<{name}> takes one argument, e.g. <{name} \"...\">.")
        if lower in ("files", "filesmatch") and any(s[4] in ("files", "filesmatch") for s in stack):
            raise _error(line_no, line, f"<{name}> cannot be inside another <Files> or <FilesMatch> (Apache refuses it).")
        argument = words[-1]
        kind = lower
        if lower == "filesmatch" or (lower == "files" and len(words) == 3):
            try:
                re.compile(argument)
            except re.error as err:
                raise _error(line_no, line, f"the pattern {argument!r} is not a regular expression ({err}).") from None
            kind = "filesmatch"  # <Files ~ "regex"> is <FilesMatch "regex">
        stack.append((name, argument, line_no, line, kind))

    def _check_directive(self, words: list[str], line_no: int, line: str) -> None:
        # Apache's directive names are case-insensitive: use each one's documented spelling.
        words[0] = _CANONICAL.get(words[0].lower(), words[0])
        name = words[0]
        if re.fullmatch(r"[A-Za-z-]+:", name):
            raise _error(line_no, line, f"this is a header as the browser receives it ({name} ...), not an Apache "
                                        "directive. Fix: Apache adds a response header with a Header directive.")
        if name.endswith(";") or name in ("add_header", "location", "server", "map"):
            raise _error(line_no, line, "this is nginx syntax, read as Apache because no line ends in ';'. Fix: for "
                                        "nginx, end every directive with ';'; for Apache, write Apache's directives.")
        if name in APACHE_REFUSED:
            raise _error(line_no, line, f"this check does not run {name}: {APACHE_REFUSED[name]}.")
        if name in APACHE_QUIET:
            self.ignored.append(f"line {line_no}: {name} (it does not change these headers)")
            return
        if name in ("SetEnvIf", "SetEnvIfNoCase", "BrowserMatch"):
            if name == "BrowserMatch":
                words[:] = ["SetEnvIf", "User-Agent", *words[1:]]
            if len(words) < 4:
                raise _error(line_no, line, f"{name} takes an attribute, a pattern and at least one variable, "
                                            f"e.g. {name} Origin \"pattern\" VARIABLE.")
            try:
                re.compile(words[2])
            except re.error as err:
                raise _error(line_no, line, f"the pattern {words[2]!r} is not a regular expression ({err}).") from None
            return
        if name in ("SetEnv", "UnsetEnv"):
            if len(words) < 2 or (name == "SetEnv" and len(words) > 3):
                raise _error(line_no, line, f"{name} takes a variable" + (" and an optional value." if name == "SetEnv" else "."))
            return
        if name == "Header":
            self._check_header(words, line_no, line)
            return
        raise _error(line_no, line, f"unknown directive {name!r} (or one this check does not run). It runs Header, "
                                    "SetEnvIf, SetEnvIfNoCase, SetEnv and the sections <IfModule>, <Files>, "
                                    "<FilesMatch>: check the spelling.")

    def _check_header(self, words: list[str], line_no: int, line: str) -> None:
        args = words[1:]
        if args and args[0].lower() in ("always", "onsuccess"):
            args = args[1:]
        if not args:
            raise _error(line_no, line, "Header needs an action and a header name, e.g. Header set Name \"value\".")
        action = args[0].lower()
        if action in ("edit", "edit*", "echo", "note"):
            raise _error(line_no, line, f"this check does not run Header {action}; use set, append, merge, add, "
                                        "setifempty or unset.")
        if action not in HEADER_ACTIONS:
            raise _error(line_no, line, f"{args[0]!r} is not an action of Header (set, append, merge, add, setifempty, "
                                        "unset, ...). Fix: Header [always] set Name \"value\".")
        wanted = 2 if action == "unset" else 3
        if len(args) < wanted:
            raise _error(line_no, line, f"Header {action} needs a header name" + ("" if action == "unset" else
                                        " and a value") + f", e.g. Header {action} Name" + ("" if action == "unset" else ' "value"') + ".")
        if len(args) > wanted + 1:
            raise _error(line_no, line, "too many words: Apache stops with \"Header has too many arguments\". A value "
                                        "with spaces needs quotes, and Apache has no comment at the end of a line "
                                        "(put it on a line of its own).")
        if len(args) == wanted + 1:
            cond = args[-1]
            if cond.startswith("expr="):
                raise _error(line_no, line, "this check runs no expr= conditions. Fix: set a variable with SetEnvIf "
                                            "and use env=VARIABLE.")
            if not (cond == "early" or re.fullmatch(r"env=!?[^\s]+", cond)):
                raise _error(line_no, line, f"{cond!r} is not a condition (env=VARIABLE, env=!VARIABLE or early). "
                                            "A value with spaces needs quotes.")
        if action != "unset":
            _format_value(args[2], env={}, request_headers=[], line_no=line_no, line=line)  # a bad %-format is an error now

    def _applies(self, item: _ApacheLine, file_name: str, notes: list[str]) -> bool:
        for module, negated in item.modules:
            known = _module_name(module)
            if (known in APACHE_MODULES) == negated:
                notes.append(f"line {item.line_no} skipped: <IfModule {'!' if negated else ''}{module}> "
                             f"({'enabled' if known in APACHE_MODULES else 'no such module here'}).")
                return False
        for kind, argument in item.matches:
            hit = (re.search(argument, file_name) is not None) if kind == "filesmatch" else fnmatch.fnmatchcase(file_name, argument)
            if not hit:
                notes.append(f"line {item.line_no} skipped: <{'FilesMatch' if kind == 'filesmatch' else 'Files'} "
                             f"{argument!r}> does not match {file_name!r}.")
                return False
        return True

    def answer(self, *, path: str, request_headers: list[tuple[str, str]], status: int = 200) -> Sent:
        sent = Sent()
        file_name = path.rsplit("/", 1)[-1]
        # Merge order: the directory's own lines, then the <Files>/<FilesMatch> sections'; file order within.
        ordered = [x for x in self.lines if x.section == "directory"] + [x for x in self.lines if x.section == "files"]
        active = [x for x in ordered if self._applies(x, file_name, sent.notes)]
        env: dict[str, str] = {}
        request = {"request_uri": path, "request_method": "GET", "remote_addr": "127.0.0.1"}
        for item in active:  # SetEnvIf runs before any Header (header parser phase)
            if item.words[0] in ("SetEnvIf", "SetEnvIfNoCase"):
                _set_env_if(item, request=request, request_headers=request_headers, env=env)
        for item in active:  # then mod_env's SetEnv (fixups, before mod_headers)
            if item.words[0] == "SetEnv":
                env[item.words[1]] = item.words[2] if len(item.words) > 2 else ""
            elif item.words[0] == "UnsetEnv":
                env.pop(item.words[1], None)
        tables: dict[str, list[tuple[str, str]]] = {"always": [], "onsuccess": []}
        for item in active:
            if item.words[0] == "Header":
                _apache_header(item, env=env, request_headers=request_headers, tables=tables, sent=sent, status=status)
        # The "always" table (err_headers_out) goes out first, then the other (httpd's header filter).
        sent.headers = tables["always"] + (tables["onsuccess"] if 200 <= status < 300 or status == 304 else [])
        return sent


def _module_name(module: str) -> str:
    """"mod_headers.c", "headers_module" or "mod_headers" -> "headers"."""
    name = module.strip()
    for prefix, suffix in (("mod_", ".c"), ("", "_module"), ("mod_", "")):
        if name.startswith(prefix) and name.endswith(suffix):
            return name[len(prefix):len(name) - len(suffix) if suffix else None]
    return name


def _set_env_if(item: _ApacheLine, *, request: dict, request_headers: list, env: dict) -> None:
    attribute, pattern, *assignments = item.words[1:]
    value = request.get(attribute.lower())
    if value is None:
        value = _request_header(request_headers, attribute)
    if value is None:
        return
    flags = re.IGNORECASE if item.words[0] == "SetEnvIfNoCase" else 0
    found = re.search(pattern, value, flags)
    if not found:
        return
    for assignment in assignments:
        name, eq, setting = assignment.partition("=")
        if name.startswith("!"):
            env.pop(name[1:], None)
            continue
        env[name] = re.sub(r"\$(\d)", lambda m: _group(found, int(m.group(1))), setting) if eq else "1"


def _group(found: re.Match, n: int) -> str:
    """SetEnvIf's $n: the pattern's group n, or nothing."""
    return (found.group(n) or "") if n <= found.re.groups else ""


def _format_value(value: str, *, env: dict, request_headers: list, line_no: int, line: str) -> str:
    """mod_headers' value format: %% and %{NAME}e (environment) and %{NAME}i (request header)."""
    out, i = [], 0
    while i < len(value):
        if value[i] != "%":
            out.append(value[i])
            i += 1
            continue
        if value[i:i + 2] == "%%":
            out.append("%")
            i += 2
            continue
        m = re.match(r"%\{([^}]*)\}([ei])", value[i:])
        if not m:
            raise _error(line_no, line, f"{value[i:i + 4]!r}...: this check knows the formats %{{NAME}}e (a variable), "
                                        "%{NAME}i (a request header) and %% (a percent sign).")
        got = env.get(m.group(1)) if m.group(2) == "e" else _request_header(request_headers, m.group(1))
        out.append(got or "")
        i += len(m.group(0))
    return "".join(out)


def _apache_header(item: _ApacheLine, *, env: dict, request_headers: list, tables: dict, sent: Sent, status: int) -> None:
    args = item.words[1:]
    table = "onsuccess"
    if args[0].lower() in ("always", "onsuccess"):
        table, args = args[0].lower(), args[1:]
    action, name = args[0].lower(), args[1]
    wanted = 2 if action == "unset" else 3
    cond = args[wanted] if len(args) > wanted else None
    if cond == "early":  # measured on Debian's apache2 2.4: accepted in a <Directory>, and never applied there
        sent.notes.append(f"line {item.line_no} skipped: 'early' lines run before any <Directory> or .htaccess "
                          "applies, so here they never do (only in the server config).")
        return
    if cond and cond.startswith("env="):
        var = cond[4:]
        negated = var.startswith("!")
        present = var.lstrip("!") in env
        if present == negated:
            sent.notes.append(f"line {item.line_no} skipped: {cond}, and {var.lstrip('!')} is "
                              f"{'set' if present else 'not set'} for this request.")
            return
    rows = tables[table]
    same = [i for i, (n, _) in enumerate(rows) if n.lower() == name.lower()]
    if action == "unset":
        tables[table] = [r for r in rows if r[0].lower() != name.lower()]
        if not same and name.lower() not in KNOB_OF:
            sent.unset.append(name)
        return
    value = _format_value(args[2], env=env, request_headers=request_headers, line_no=item.line_no, line=item.text)
    if action == "set":
        tables[table] = [r for r in rows if r[0].lower() != name.lower()] + [(name, value)]
    elif action == "setifempty":
        if not same:
            rows.append((name, value))
    elif action == "add":
        rows.append((name, value))
    elif action in ("append", "merge"):
        if not same:
            rows.append((name, value))
        else:
            i = same[0]
            old = rows[i][1]
            tokens = [t.strip() for t in old.split(",")]
            if action == "append" or value not in tokens:
                rows[i] = (rows[i][0], f"{old}, {value}")


# --- nginx -----------------------------------------------------------------------------------------


def _nginx_tokens(text: str) -> list[tuple[str, int, str]]:
    """(token, line number, the line) for words, quoted strings and the characters ; { }."""
    lines = text.split("\n")
    tokens, i, line_no = [], 0, 1

    def line_of(n: int) -> str:
        return lines[n - 1] if n - 1 < len(lines) else ""

    while i < len(text):
        ch = text[i]
        if ch == "\n":
            line_no += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif ch == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif ch in ";{}":
            tokens.append((ch, line_no, line_of(line_no)))
            i += 1
        elif ch in "\"'":
            start, i, word = line_no, i + 1, []
            while i < len(text) and text[i] != ch:
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                if text[i] == "\n":
                    line_no += 1
                word.append(text[i])
                i += 1
            if i >= len(text):
                raise _error(start, line_of(start), f"a {ch} opens a value that never closes. Fix: close it with {ch}.")
            tokens.append(("\0" + "".join(word), start, line_of(start)))  # \0: was quoted
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in ";{}\"'":
                j += 1
            tokens.append((text[i:j], line_no, line_of(line_no)))
            i = j
    return tokens


@dataclass
class _Block:
    """A level of nginx configuration: its add_header lines, and its locations."""

    headers: list[tuple[str, str, bool, int, str]] = field(default_factory=list)  # name, value, always, line
    locations: list[tuple[str, str, _Block, int]] = field(default_factory=list)  # modifier, pattern, block, line


class NginxLines(ServerLines):
    """nginx ``add_header`` lines and ``location`` blocks, as for the site's ``server {}`` block."""

    kind = "nginx"

    def __init__(self, text: str) -> None:
        self.ignored: list[str] = []
        tokens = _nginx_tokens(text)
        self.server, _ = self._block(tokens, 0, top=True)

    def _block(self, tokens: list, i: int, *, top: bool) -> tuple[_Block, int]:
        block = _Block()
        while i < len(tokens):
            word, line_no, line = tokens[i]
            if word == "}":
                if top:
                    raise _error(line_no, line, "a '}' closes nothing. Fix: remove it, or open the block it closes.")
                return block, i + 1
            args, j = [], i
            while j < len(tokens) and tokens[j][0] not in (";", "{", "}"):
                args.append(tokens[j][0].lstrip("\0"))
                j += 1
            if j >= len(tokens) or tokens[j][0] == "}":
                raise _error(line_no, line, f"{word.lstrip(chr(0))!r} has no ';' at its end. Fix: end every nginx "
                                            "directive with ';'.")
            name = args[0]
            spans = [t for t in tokens[i + 1:j] if t[1] > line_no and t[0].lstrip("\0") in _NGINX_WORDS]
            if spans:  # the next line starts a directive: this one lost its ';'
                raise _error(line_no, line, "this line has no ';' at its end. Fix: end every nginx directive with ';'.")
            if tokens[j][0] == "{":
                if name == "location":
                    modifier, pattern = self._location_args(args, line_no, line)
                    inner, i = self._block(tokens, j + 1, top=False)
                    if inner.locations:
                        raise _error(line_no, line, "this check runs no nested locations. Fix: one level of location blocks.")
                    block.locations.append((modifier, pattern, inner, line_no))
                    continue
                if name == "types":
                    self.ignored.append(f"line {line_no}: types {{ }} (it does not change these headers)")
                    _, i = self._block_skip(tokens, j + 1, line_no, line)
                    continue
                if name in ("server", "http"):
                    raise _error(line_no, line, f"these lines go inside server {{ }} already. Fix: leave out the "
                                                f"'{name} {{' line and its '}}'.")
                raise _error(line_no, line, f"this check runs no {name} blocks" + (
                    " (the map of the guide's nginx rule belongs in http {}; here, add_header with $http_origin or "
                    "a fixed value does)." if name == "map" else
                    ": nginx's if is a trap inside location (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#if); "
                    "use add_header alone." if name == "if" else "."))
            self._directive(block, args, line_no, line)
            i = j + 1
        if not top:
            word, line_no, line = tokens[-1] if tokens else ("", 1, "")
            raise _error(line_no, line, "a '{' is never closed. Fix: close every block with '}'.")
        return block, i

    def _block_skip(self, tokens: list, i: int, line_no: int, line: str) -> tuple[None, int]:
        depth = 1
        while i < len(tokens):
            if tokens[i][0] == "{":
                depth += 1
            elif tokens[i][0] == "}":
                depth -= 1
                if depth == 0:
                    return None, i + 1
            i += 1
        raise _error(line_no, line, "a '{' is never closed. Fix: close every block with '}'.")

    @staticmethod
    def _location_args(args: list[str], line_no: int, line: str) -> tuple[str, str]:
        if len(args) == 3 and args[1] in ("=", "~", "~*", "^~"):
            modifier, pattern = args[1], args[2]
        elif len(args) == 2:
            modifier, pattern = "", args[1]
        else:
            raise _error(line_no, line, "location takes [= | ~ | ~* | ^~] and a path or pattern, e.g. location /img/ {")
        if modifier in ("~", "~*"):
            try:
                re.compile(pattern)
            except re.error as err:
                raise _error(line_no, line, f"the pattern {pattern!r} is not a regular expression ({err}).") from None
        return modifier, pattern

    def _directive(self, block: _Block, args: list[str], line_no: int, line: str) -> None:
        name = args[0]
        if name == "add_header":
            if len(args) not in (3, 4) or (len(args) == 4 and args[3] != "always"):
                raise _error(line_no, line, "add_header takes a name, a value and optionally always, e.g. "
                                            "add_header Name \"value\" always;")
            for var in re.findall(r"\$(\w+)", args[2]):
                if not var.startswith("http_"):
                    raise _error(line_no, line, f"this check knows $http_<header> variables (e.g. $http_origin), not ${var}.")
            block.headers.append((args[1], args[2], len(args) == 4, line_no, line))
        elif name in NGINX_QUIET:
            self.ignored.append(f"line {line_no}: {name} (it does not change these headers)")
        elif name in ("Header", "SetEnvIf", "Access-Control-Allow-Origin:") or name.endswith(":"):
            raise _error(line_no, line, "this is not nginx syntax. Fix: write the whole answer for one server "
                                        "(Apache or nginx) and check it again.")
        elif name in ("return", "rewrite", "error_page", "proxy_pass"):
            raise _error(line_no, line, f"this check does not run {name}: the picture is served as a file.")
        else:
            raise _error(line_no, line, f"unknown directive {name!r} (or one this check does not run). It runs "
                                        "add_header and location blocks.")

    def _location(self, path: str, notes: list[str]) -> tuple[_Block, str]:
        """The location nginx picks for ``path`` (https://nginx.org/en/docs/http/ngx_http_core_module.html#location)."""
        locations = self.server.locations
        for modifier, pattern, block, line_no in locations:
            if modifier == "=" and path == pattern:
                return block, f"location = {pattern} (line {line_no})"
        prefixes = [(p, m, b, n) for m, p, b, n in locations if m in ("", "^~") and path.startswith(p)]
        best = max(prefixes, key=lambda x: len(x[0]), default=None)
        if best is not None and best[1] == "^~":
            return best[2], f"location ^~ {best[0]} (line {best[3]})"
        for modifier, pattern, block, line_no in locations:
            if modifier in ("~", "~*") and re.search(pattern, path, re.IGNORECASE if modifier == "~*" else 0):
                return block, f"location {modifier} {pattern} (line {line_no})"
        if best is not None:
            return best[2], f"location {best[0]} (line {best[3]})"
        if locations:
            notes.append(f"no location of yours matches {path!r}: the server level answers.")
        return self.server, "the server level"

    def answer(self, *, path: str, request_headers: list[tuple[str, str]], status: int = 200) -> Sent:
        sent = Sent()
        block, where = self._location(path, sent.notes)
        lines = block.headers
        if block is not self.server and not lines and self.server.headers:
            lines = self.server.headers
            where += ", which has no add_header, so the server level's are used"
        elif block is not self.server and self.server.headers:
            sent.notes.append(f"{where} has add_header lines of its own, so the server level's add_header lines "
                              "are NOT added (nginx inherits them only into a level that has none).")
        sent.notes.insert(0, f"nginx answers {path} from {where}.")
        for name, value, always, line_no, line in lines:
            if not always and status not in NGINX_DEFAULT_STATUSES:
                sent.notes.append(f"line {line_no} skipped: add_header without always, and the status is {status}.")
                continue
            value = re.sub(r"\$(http_\w+)", lambda m: _request_header(request_headers, m.group(1)[5:].replace("_", "-")) or "", value)
            if value == "":
                sent.notes.append(f"line {line_no} sent nothing: nginx's add_header sends no line for an empty value.")
                continue
            sent.headers.append((name, value))
        return sent


# --- reading, and running on the lab ----------------------------------------------------------------


def read(text: object) -> ServerLines:
    """Read an Apache or an nginx snippet (nginx when its lines end in ';' or open '{' blocks)."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("Answer with the server's lines as a string: answer = \"\"\"...\"\"\".")
    meaningful = [ln.strip() for ln in text.split("\n") if ln.strip() and not ln.strip().startswith("#")]
    nginx = any(ln.endswith((";", "{", "}")) and not ln.startswith("<") for ln in meaningful)
    return NginxLines(text) if nginx else ApacheLines(text)


def knobs_for(sent: Sent) -> tuple[dict[str, object], list[str]]:
    """The lab knobs that send ``sent``'s headers, and a note for each header no knob sends."""
    knobs: dict[str, list[str]] = {}
    notes = []
    for name, value in sent.headers:
        knob = KNOB_OF.get(name.lower())
        if name.lower() == "x-content-type-options" and value.strip().lower() == "nosniff":
            knobs["nosniff"] = [value]
        elif knob is None:
            notes.append(f"{name}: {value} (sent by your lines; it plays no part in an image's CORS check, and the "
                         "lab has no knob for it)")
        else:
            knobs.setdefault(knob, []).append(value)
    out: dict[str, object] = {}
    for knob, values in knobs.items():
        if knob in ("acao", "vary"):
            out[knob] = values if len(values) > 1 else values[0]
        elif knob == "nosniff":
            out[knob] = True
        else:
            out[knob] = ", ".join(values)  # several lines of one header are one value joined by ", "
    if any(name.lower() == "content-type" for name in sent.unset):
        out["ctype"] = ""
    return out, notes


def served_by(lines: ServerLines, url: str, *, request_headers: list[tuple[str, str]]) -> tuple[str, Sent]:
    """``url`` rewritten so the lab answers it as ``lines`` would (its knobs replaced), and what they sent.

    ``url`` is a lab picture URL; its own knobs but ``nonce`` are dropped: the snippet alone decides.
    """
    parts = urlsplit(url)
    if not parts.path.startswith(ASSET_PREFIX):
        raise UsageError(f"{url!r} is not a lab picture URL ({ASSET_PREFIX}<name>).")
    sent = lines.answer(path=parts.path, request_headers=request_headers)
    knobs, _ = knobs_for(sent)
    nonce = dict(parse_qsl(parts.query)).get("nonce")
    pairs = encode_knobs({**knobs, "nonce": nonce})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query_string(pairs), "")), sent


class LabTransport:
    """A kernel `Browser` transport: each request goes to the lab, answered as ``lines`` say for it.

    ``sent`` keeps what the snippet did for each request (URL as asked -> `Sent`), for the feedback.
    """

    def __init__(self, lines: ServerLines, inner: object | None = None) -> None:
        from .browser import RequestsTransport

        self.lines = lines
        self.inner = inner or RequestsTransport()
        self.sent: list[tuple[str, list[tuple[str, str]], Sent]] = []

    def __call__(self, url: str, headers: list, timeout: float):
        served, sent = served_by(self.lines, url, request_headers=list(headers))
        self.sent.append((url, list(headers), sent))
        return self.inner(served, headers, timeout)
