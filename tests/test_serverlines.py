"""cors_lab.serverlines: a learner's Apache or nginx lines, run for a request.

Three ways in: serverconf's printed configs read back give the lab's own headers (and the guide's
rule answers as the lab's apache=1 knob does, request by request); learner-style snippets give the
headers Debian's real apache2 and nginx send for them (real_servers skips where none is installed);
and broken lines are refused naming the line and the fix.
"""

from __future__ import annotations

import pytest
import requests

from cors_lab.serverconf import (
    GUIDE_APACHE_LINES,
    GUIDE_APACHE_RULE,
    apache_config,
    nginx_config,
)
from cors_lab.serverlines import (
    ConfigError,
    LabTransport,
    Sent,
    knobs_for,
    read,
    served_by,
)
from cors_lab.servers import Lab
from cors_lab.servers.log import Request

PATH = "/img/picture.png"
ORIGIN = "http://127.0.0.1:8001"
CORS = [("Origin", ORIGIN), ("Accept", "image/*")]
PLAIN = [("Accept", "image/*")]
HEADER_KNOBS = [
    {"acao": "*"},
    {"acao": ORIGIN, "acac": "true", "vary": "Origin"},
    {"acao": ["*", "*"]},
    {"acao": "*", "cache": "max-age=3600", "vary": ["Origin", "Accept"]},
    {"cache": "no-cache"},
]
LAB_HEADERS = ("access-control-allow-origin", "access-control-allow-credentials", "vary", "cache-control")


def combined(headers) -> dict[str, str]:
    """The CORS-relevant headers as Fetch reads them: each name's lines joined with ", " (so Apache's one
    merged Vary line equals the lab's two)."""
    out: dict[str, list[str]] = {}
    for n, v in headers:
        if n.lower() in LAB_HEADERS:
            out.setdefault(n.lower(), []).append(v)
    return {n: ", ".join(v) for n, v in out.items()}


def lab_headers(lab: Lab, query: str, request_headers: list) -> dict[str, str]:
    """What the lab itself answers (no socket)."""
    answer = lab.cdn.exchange(Request("GET", f"{PATH}?{query}" if query else PATH, headers=tuple(request_headers)))
    return combined(answer.headers)


def sent_headers(sent: Sent) -> dict[str, str]:
    return combined(sent.headers)


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        yield lab


@pytest.mark.parametrize("knobs", HEADER_KNOBS, ids=str)
@pytest.mark.parametrize("make", [apache_config, nginx_config], ids=["apache", "nginx"])
def test_serverconf_read_back_sends_what_the_lab_sends(lab, make, knobs):
    lines = read(make(**knobs))
    assert lines.kind == ("Apache" if make is apache_config else "nginx")
    from cors_lab.servers import encode_knobs, query_string

    query = query_string(encode_knobs(knobs))
    for request in (CORS, PLAIN):
        assert sent_headers(lines.answer(path=PATH, request_headers=request)) == lab_headers(lab, query, request)


@pytest.mark.parametrize("origin", [ORIGIN, "null", None])
@pytest.mark.parametrize("text", [GUIDE_APACHE_RULE, GUIDE_APACHE_LINES.split("\n", 1)[1]], ids=["verbatim", "no-ifmodule"])
def test_the_guides_rule_answers_as_the_labs_apache_knob(lab, text, origin):
    request = PLAIN + ([("Origin", origin)] if origin else [])
    got = sent_headers(read(text).answer(path=PATH, request_headers=request))
    assert got == lab_headers(lab, "apache=1", request)
    assert got == ({"access-control-allow-origin": "*"} if origin == ORIGIN else {})


def test_the_guides_rule_skips_other_files():
    sent = read(GUIDE_APACHE_RULE).answer(path="/img/data.json", request_headers=CORS)
    assert sent.headers == [] and any("does not match 'data.json'" in n for n in sent.notes)


@pytest.mark.parametrize("text, expected", [
    # Files sections merge after the directory's own lines, whatever the order in the file.
    (('<FilesMatch "\\.png$">\n Header set Access-Control-Allow-Origin "*"\n</FilesMatch>\n'
     "Header unset Access-Control-Allow-Origin"), ["*"]),
    # "always" is a second table, sent first: both sets go out.
    ('Header set Access-Control-Allow-Origin "*"\nHeader always set Access-Control-Allow-Origin "*"', ["*", "*"]),
    ('Header always unset Access-Control-Allow-Origin\nHeader set Access-Control-Allow-Origin "*"', ["*"]),
    ('SetEnvIf Origin "^(https?://.+)$" ORIGIN=$1\nHeader set Access-Control-Allow-Origin "%{ORIGIN}e" env=ORIGIN', [ORIGIN]),
    ('Header set Access-Control-Allow-Origin "%{Origin}i"', [ORIGIN]),
    ('Header set Access-Control-Allow-Origin "*" env=!IS_CORS\nSetEnvIf Origin ":" IS_CORS', []),
    ('<IfModule mod_rewrite.c>\nHeader set Access-Control-Allow-Origin "*"\n</IfModule>', []),
    ('<IfModule !mod_rewrite.c>\nheader SET Access-Control-Allow-Origin "*"\n</IfModule>', ["*"]),
    ('Header add Access-Control-Allow-Origin "*"\nHeader add Access-Control-Allow-Origin "*"', ["*", "*"]),
    ('Header setifempty Access-Control-Allow-Origin "a"\nHeader setifempty Access-Control-Allow-Origin "b"', ["a"]),
    ('<Files "*.png">\nHeader set Access-Control-Allow-Origin *\n</Files>', ["*"]),
    ('<Files ~ "\\.jpg$">\nHeader set Access-Control-Allow-Origin *\n</Files>', []),
])
def test_apache_order_tables_conditions_and_sections(text, expected):
    assert read(text).answer(path=PATH, request_headers=CORS).get_all("Access-Control-Allow-Origin") == expected


def test_apache_merge_and_append_build_one_line():
    sent = read('Header set Vary "Accept-Encoding"\nHeader merge Vary Origin\nHeader merge Vary Origin\n'
                "Header append Vary Accept").answer(path=PATH, request_headers=CORS)
    assert sent.get_all("Vary") == ["Accept-Encoding, Origin, Accept"]


@pytest.mark.parametrize("text, expected, note", [
    ('add_header Access-Control-Allow-Origin "*";', ["*"], "the server level"),
    ('add_header Access-Control-Allow-Origin "*";\nlocation /img/ {\n  add_header Vary Origin;\n}', [], "NOT added"),
    ('add_header Access-Control-Allow-Origin "*";\nlocation /img/ {\n  expires 1h;\n}', ["*"], "has no add_header"),
    ("location ~* \\.PNG$ {\n  add_header Access-Control-Allow-Origin $http_origin always;\n}", [ORIGIN], "~*"),
    (('location /img/ { add_header Access-Control-Allow-Origin "a"; }\n'
     'location ~ \\.png$ { add_header Access-Control-Allow-Origin "b"; }'), ["b"], "location ~"),
    (('location ^~ /img/ { add_header Access-Control-Allow-Origin "a"; }\n'
     'location ~ \\.png$ { add_header Access-Control-Allow-Origin "b"; }'), ["a"], "^~"),
    (('location = /img/picture.png { add_header Access-Control-Allow-Origin "a"; }\n'
     'location ~ \\.png$ { add_header Access-Control-Allow-Origin "b"; }'), ["a"], "location ="),
    ('add_header Access-Control-Allow-Origin "";', [], "empty value"),
    ('location /other/ { add_header Access-Control-Allow-Origin "*"; }', [], "no location of yours"),
])
def test_nginx_location_choice_and_inheritance(text, expected, note):
    sent = read(text).answer(path=PATH, request_headers=CORS)
    assert sent.get_all("Access-Control-Allow-Origin") == expected
    assert any(note in n for n in sent.notes), sent.notes


def test_nginx_without_always_skips_error_statuses():
    lines = read('add_header Access-Control-Allow-Origin "*";\nadd_header Vary Origin always;')
    assert lines.answer(path=PATH, request_headers=CORS, status=404).headers == [("Vary", "Origin")]


@pytest.mark.parametrize("text, says", [
    ("Access-Control-Allow-Origin: *", "a header as the browser receives it"),
    ("Header set Access-Control-Allow-Origin", "needs a header name and a value"),
    ('Header set Access-Control-Allow-Origin "*" # all', "no comment at the end of a line"),
    ("Header set Access-Control-Allow-Origin * env=A B", "too many words"),
    ("Header set Access-Control-Allow-Origin * *", "is not a condition"),
    ('Header set Access-Control-Allow-Origin "*', "never closes"),
    ('Header allow Access-Control-Allow-Origin "*"', "not an action of Header"),
    ('Header set Access-Control-Allow-Origin "*" "expr=%{REQUEST_URI} =~ /png/"', "no expr= conditions"),
    ('Header set X "%t"', "%{NAME}e"),
    ("Headers set X y", "unknown directive 'Headers'"),
    ('<FilesMatch "\\.png$">\nHeader set X y', "is never closed"),
    ("</FilesMatch>", "closes nothing"),
    ('<Location "/img/">\nHeader set X y\n</Location>', "not allowed inside the images' <Directory>"),
    ('<If "%{HTTP:Origin} != \'\'">\nHeader set X y\n</If>', "no <If> expressions"),
    ("RewriteEngine On", "mod_rewrite is not enabled"),
    ('<FilesMatch "(">\n</FilesMatch>', "not a regular expression"),
    ('add_header Access-Control-Allow-Origin "*"', "end every directive with ';'"),
    ('add_header Access-Control-Allow-Origin "*"\nexpires 1h;', "this line has no ';' at its end"),
    ('add_header Access-Control-Allow-Origin "*";\nlocation /img/ {', "never closed"),
    ("add_header Access-Control-Allow-Origin;", "takes a name, a value"),
    ('add_header Access-Control-Allow-Origin $scheme;', "$http_<header>"),
    ("map $http_origin $x { default \"\"; }", "belongs in http {}"),
    ('server {\nadd_header X "y";\n}', "inside server { } already"),
    ('Header set X "y";\nadd_header X "y";', "not nginx syntax"),
    ("return 200;", "does not run return"),
    ("   \n# only a comment\n", None),
    (42, "as a string"),
])
def test_broken_lines_name_the_line_and_the_fix(text, says):
    if says is None:  # nothing but a comment: read, and sends nothing
        assert read(text).answer(path=PATH, request_headers=CORS).headers == []
        return
    with pytest.raises(ConfigError) as err:
        read(text)
    assert says in str(err.value)
    if isinstance(text, str) and text.strip():
        assert str(err.value).startswith("line ")


def test_quiet_directives_are_read_and_left_out():
    lines = read(apache_config(acao="*", cache="max-age=60", validators=False))
    assert any("FileETag" in i for i in lines.ignored) and any("ExpiresActive" in i for i in lines.ignored)


def test_knobs_for_maps_each_header_and_names_the_others():
    knobs, notes = knobs_for(Sent(headers=[("Access-Control-Allow-Origin", "*"), ("Vary", "Origin"), ("Vary", "Accept"),
                                           ("Cache-Control", "no-cache"), ("Timing-Allow-Origin", "*")]))
    assert knobs == {"acao": "*", "vary": ["Origin", "Accept"], "cache": "no-cache"}
    assert len(notes) == 1 and notes[0].startswith("Timing-Allow-Origin: *")


def test_served_by_keeps_only_the_nonce_and_the_lab_answers_as_the_lines_say(lab):
    url = lab.cdn.url("picture.png", acao="nonsense", nonce=7)
    served, sent = served_by(read('Header set Access-Control-Allow-Origin "*"'), url, request_headers=CORS)
    assert served == lab.cdn.url("picture.png", acao="*", nonce=7) and sent.headers == [("Access-Control-Allow-Origin", "*")]
    transport = LabTransport(read(GUIDE_APACHE_RULE))
    for request in (CORS, PLAIN):
        raw = transport(lab.cdn.url("picture.png", nonce=True), request, 5.0)
        acao = [v for n, v in raw.headers if n.lower() == "access-control-allow-origin"]
        assert raw.status == 200 and acao == (["*"] if request is CORS else [])
    assert [e.origin for e in lab.cdn.log][-2:] == [ORIGIN, None]


# Learner-style snippets on Debian's real servers: the ACAO lines each one sends, with and without Origin.
APACHE_SNIPPETS = [
    GUIDE_APACHE_RULE,
    'Header set Access-Control-Allow-Origin "*"\nHeader always set Access-Control-Allow-Origin "*"',
    '<FilesMatch "\\.png$">\n Header set Access-Control-Allow-Origin "*"\n</FilesMatch>\nHeader unset Access-Control-Allow-Origin',
    ('SetEnvIf Origin "^(https?://.+)$" ORIGIN=$1\nHeader set Access-Control-Allow-Origin "%{ORIGIN}e" env=ORIGIN\n'
    "Header merge Vary Origin"),
    '<IfModule mod_rewrite.c>\nHeader set Access-Control-Allow-Origin "*"\n</IfModule>',
    'Header add Access-Control-Allow-Origin "*"\nHeader add Access-Control-Allow-Origin "*"',
    'Header set Access-Control-Allow-Origin "*" early\nHeader set Vary Origin',
]
NGINX_SNIPPETS = [
    'add_header Access-Control-Allow-Origin "*";',
    'add_header Access-Control-Allow-Origin "*";\nlocation /img/ {\n  add_header Vary Origin;\n}',
    "location ~* \\.png$ {\n  add_header Access-Control-Allow-Origin $http_origin always;\n  add_header Vary Origin;\n}",
    'location ^~ /img/ { add_header Access-Control-Allow-Origin "a"; }\nlocation ~ \\.png$ { add_header X-B "b"; }',
]


@pytest.mark.realservers
@pytest.mark.parametrize("kind, text", [("apache", t) for t in APACHE_SNIPPETS] + [("nginx", t) for t in NGINX_SNIPPETS])
def test_the_real_server_sends_what_the_lines_say(real_servers, kind, text):
    from cors_lab.realservers import DEBIAN_DEFAULT_MODULES

    server = (real_servers("apache", directory_snippet=text, modules=DEBIAN_DEFAULT_MODULES + ("headers",))
              if kind == "apache" else real_servers("nginx", server_snippet=text))
    lines = read(text)
    for request in (CORS, PLAIN):
        answer = requests.get(server.url(PATH), headers=dict(request), timeout=5)
        real = combined(answer.raw.headers.items())
        assert answer.status_code == 200
        assert real == sent_headers(lines.answer(path=PATH, request_headers=request)), (request, real)
