"""cors_lab.serverconf: knobs -> Apache and nginx snippets, compared with expected text."""

from __future__ import annotations

import pytest

from cors_lab.errors import UsageError
from cors_lab.serverconf import apache_config, knobs_from_url, nginx_config
from cors_lab.servers import KNOBS

# The guide's block (reference/mdn-cors-enabled-image.md), character for character.
GUIDE_APACHE = """\
<IfModule mod_setenvif.c>
  <IfModule mod_headers.c>
    <FilesMatch "\\.(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp)$">
      SetEnvIf Origin ":" IS_CORS
      Header set Access-Control-Allow-Origin "*" env=IS_CORS
    </FilesMatch>
  </IfModule>
</IfModule>"""

NGINX_MAP = """\
# In the http {} block: "*" when the request's Origin contains ":" (SetEnvIf Origin ":" IS_CORS).
map $http_origin $cors_lab_image_acao {
    default "";
    "~:"    "*";
}"""


def test_apache_headers():
    assert apache_config(acao="*", vary="Origin", cache="max-age=3600") == """\
# Apache: what the lab does for ?acao=*&vary=Origin&cache=max-age%3D3600
<IfModule mod_headers.c>
  Header always set Access-Control-Allow-Origin "*"
  Header always set Vary "Origin"
  Header always set Cache-Control "max-age=3600"
</IfModule>"""


def test_nginx_headers():
    assert nginx_config(acao="*", vary="Origin", cache="max-age=3600") == """\
# nginx: what the lab does for ?acao=*&vary=Origin&cache=max-age%3D3600
location /img/ {
    add_header Access-Control-Allow-Origin "*" always;
    add_header Vary "Origin" always;
    add_header Cache-Control "max-age=3600" always;
}"""


def test_apache_h5bp_rule_is_the_guides_block():
    assert apache_config(apache=True) == "# Apache: what the lab does for ?apache=1\n" + GUIDE_APACHE


def test_nginx_h5bp_rule_is_a_map_on_origin():
    assert nginx_config(apache=True) == f"""\
# nginx: what the lab does for ?apache=1
{NGINX_MAP}
# In the server {{}} block:
location ~ \\.(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp)$ {{
    add_header Access-Control-Allow-Origin $cors_lab_image_acao;  # 2xx/3xx only; empty: not sent
}}"""


def test_h5bp_rule_with_a_cache_header_for_one_file():
    assert apache_config(name="picture.png", apache=True, cache="max-age=3600") == f"""\
# Apache: what the lab does for ?cache=max-age%3D3600&apache=1
<Location "/img/picture.png">
  <IfModule mod_headers.c>
    Header always set Cache-Control "max-age=3600"
  </IfModule>
</Location>
{GUIDE_APACHE}"""
    assert nginx_config(name="picture.png", apache=True, cache="max-age=3600") == f"""\
# nginx: what the lab does for ?cache=max-age%3D3600&apache=1
{NGINX_MAP}
# In the server {{}} block:
location = /img/picture.png {{
    add_header Cache-Control "max-age=3600" always;
    add_header Access-Control-Allow-Origin $cors_lab_image_acao;  # 2xx/3xx only; empty: not sent
}}"""


def test_h5bp_rule_plus_acao_warns_about_two_lines():
    assert "*and* the rule's" in apache_config(apache=True, acao="http://a.test")
    assert "sends both ACAO lines" in nginx_config(apache=True, acao="http://a.test")


def test_h5bp_rule_never_matches_other_extensions():
    assert "never matches 'notes.txt'" in apache_config(name="notes.txt", apache=True)
    text = nginx_config(name="notes.txt", apache=True)
    assert "never matches 'notes.txt'" in text and "add_header Access-Control-Allow-Origin $" not in text


def test_redirect_for_one_file():
    to = "http://localhost:41235/img/picture.png?acao=*"
    assert apache_config(name="picture.png", to=to, status=307, acao="*") == f"""\
# Apache: what the lab does for ?acao=*&status=307&to=http://localhost:41235/img/picture.png%3Facao%3D*
<Location "/img/picture.png">
  <IfModule mod_headers.c>
    Header always set Access-Control-Allow-Origin "*"
  </IfModule>
  Redirect 307 "{to}"
</Location>"""
    assert nginx_config(name="picture.png", to=to, status=307, acao="*") == f"""\
# nginx: what the lab does for ?acao=*&status=307&to=http://localhost:41235/img/picture.png%3Facao%3D*
location = /img/picture.png {{
    add_header Access-Control-Allow-Origin "*" always;
    return 307 "{to}";
}}"""


def test_redirect_defaults_to_302():
    to = "http://127.0.0.1:9/img/picture.png"
    assert apache_config(to=to).splitlines()[-1] == f'RedirectMatch 302 "^" "{to}"'
    assert nginx_config(to=to).splitlines()[-2] == f'    return 302 "{to}";'


def test_several_lines_and_raw_values():
    assert apache_config(acao=["*", "http://a.test"], acac="True", vary=["Origin", "Cookie"], nosniff=True) == """\
# Apache: what the lab does for ?acao=*&acao=http://a.test&acac=True&vary=Origin&vary=Cookie&nosniff=1
<IfModule mod_headers.c>
  Header always set Access-Control-Allow-Origin "*"
  Header always add Access-Control-Allow-Origin "http://a.test"
  Header always set Access-Control-Allow-Credentials "True"
  Header always set Vary "Origin"
  Header always add Vary "Cookie"
  Header always set X-Content-Type-Options "nosniff"
</IfModule>"""
    assert nginx_config(acao=["*", "http://a.test"], acac=True, vary=["Origin", "Cookie"], nosniff=True) == """\
# nginx: what the lab does for ?acao=*&acao=http://a.test&acac=true&vary=Origin&vary=Cookie&nosniff=1
location /img/ {
    add_header Access-Control-Allow-Origin "*" always;
    add_header Access-Control-Allow-Origin "http://a.test" always;
    add_header Access-Control-Allow-Credentials "true" always;
    add_header Vary "Origin" always;
    add_header Vary "Cookie" always;
    add_header X-Content-Type-Options "nosniff" always;
}"""


def test_status_and_content_type():
    assert apache_config(status=404, ctype="text/html") == """\
# Apache: what the lab does for ?status=404&ctype=text/html
ForceType "text/html"
# The body becomes Apache's error page; the lab still sends the image.
RewriteEngine On
RewriteRule "^" "-" [R=404,L]"""
    assert nginx_config(status=404, ctype="text/html") == """\
# nginx: what the lab does for ?status=404&ctype=text/html
location /img/ {
    types { } default_type "text/html";
    return 404;  # nginx answers with its own (or an empty) body; the lab still sends the image
}"""
    assert "no stock directive" in apache_config(status=203)
    assert 'default_type "";  # an empty type sends no Content-Type' in nginx_config(ctype="")
    assert "# ctype='': no Content-Type" in apache_config(ctype="")


def test_what_no_directive_does_is_a_comment():
    for config in (apache_config, nginx_config):
        text = config(delay=2.5, truncate=100, nonce="x")
        assert "# delay=2.5: the lab waits 2.5 s" in text
        assert "# truncate=100: the lab sends only the first 100 bytes" in text


def test_nginx_cannot_send_an_empty_value_and_warns_about_dollars():
    text = nginx_config(acao="")
    assert "add_header" not in text and "nginx sends no header for an empty value" in text
    assert "reads $name inside strings" in nginx_config(acao="$http_origin")
    assert 'Header always set Access-Control-Allow-Origin ""' in apache_config(acao="")


def test_quotes_and_backslashes_are_escaped():
    assert 'Header always set Cache-Control "a\\"b\\\\c"' in apache_config(cache='a"b\\c')
    assert 'add_header Cache-Control "a\\"b\\\\c" always;' in nginx_config(cache='a"b\\c')


def test_no_knobs():
    assert apache_config() == "# Apache: the lab with no knobs sends no extra headers."
    assert nginx_config() == "# nginx: the lab with no knobs sends no extra headers."


def test_every_header_knob_reaches_both_configs():
    samples = {"acao": "*", "acac": True, "vary": "Origin", "cache": "no-store", "ctype": "text/plain",
               "to": "http://127.0.0.1:9/img/picture.png", "nosniff": True, "apache": True}
    words = {"Content-Type": ("ForceType", "default_type"), "Location": ("Redirect", "return 302")}
    for name, info in KNOBS.items():
        if info.header is None or name in ("user", "samesite"):
            continue
        apache, nginx = apache_config(**{name: samples[name]}), nginx_config(**{name: samples[name]})
        a_word, n_word = words.get(info.header, (info.header, info.header))
        assert a_word in apache, name
        assert n_word in nginx, name


def test_url_form_equals_knob_form():
    url = "http://127.0.0.1:41235/img/picture.png?acao=*&acac=true&vary=Origin&cache=max-age%3D3600&apache=1"
    name, knobs = knobs_from_url(url)
    assert name == "picture.png"
    assert knobs == {"acao": "*", "acac": "true", "vary": "Origin", "cache": "max-age=3600", "apache": True}
    assert apache_config(url=url) == apache_config(name="picture.png", **knobs)
    assert nginx_config(url=url) == nginx_config(name="picture.png", **knobs)
    _, knobs = knobs_from_url("http://h:1/img/picture.gif?acao=*&acao=null&delay=2&truncate=5&status=404")
    assert knobs == {"acao": ["*", "null"], "delay": 2.0, "truncate": 5, "status": 404}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"acoa": "*"}, "Unknown knob"),
        ({"acao": "*\r\nX-Evil: 1"}, "line break"),
        ({"status": 700}, "200-599"),
        ({"status": 302}, "needs to="),
        ({"delay": 99}, "0 to 30"),
        ({"to": "javascript:alert(1)"}, "http://"),
        ({"user": "alice"}, "/login"),
        ({"name": "../etc/passwd"}, "file name"),
        ({"url": "http://h:1/login?user=a"}, "not a lab image URL"),
        ({"url": "http://h:1/img/picture.png?acao=*", "acac": True}, "either url"),
        ({"url": "http://h:1/img/picture.png?bogus=1"}, "Unknown knob"),
    ],
)
def test_bad_knobs_are_refused(kwargs, message):
    for config in (apache_config, nginx_config):
        with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("*", r"\*")):
            config(**kwargs)
