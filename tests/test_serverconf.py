"""cors_lab.serverconf: knobs -> Apache and nginx snippets, compared with expected text.

These pin the text; tests/test_realservers.py proves on Debian's apache2 and nginx that the text
does what the lab does.
"""

from __future__ import annotations

import re

import pytest

from cors_lab.assets import ASSET_NAMES, get_asset
from cors_lab.errors import UsageError
from cors_lab.serverconf import (
    GUIDE_APACHE_LINES,
    GUIDE_APACHE_RULE,
    PICTURE_TYPES,
    ConfigRefused,
    apache_config,
    knobs_from_url,
    nginx_config,
)
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
# In the http {} block: "*" on a 2xx or 304 answer to a request whose Origin contains ":" (the
# guide's SetEnvIf Origin ":" IS_CORS, and Header set without "always", which skips other statuses).
map "$status:$http_origin" $cors_lab_image_acao {
    default "";
    "~^(2[0-9][0-9]|304):.*:" "*";
}"""

APACHE_NO_VALIDATORS = """\
  # validators=0: no ETag or Last-Modified; conditional requests get the whole answer.
  FileETag None
  Header unset Last-Modified
  RequestHeader unset If-None-Match
  RequestHeader unset If-Modified-Since"""

NGINX_NO_VALIDATORS = """\
    # validators=0: no ETag or Last-Modified; conditional requests get the whole answer.
    etag off;
    if_modified_since off;
    add_header Last-Modified "" always;"""

APACHE_HEAD = """\
# Enable the modules it needs (stock Debian/Ubuntu has no mod_headers), then restart Apache:
#   sudo a2enmod {modules} && sudo systemctl restart apache2
# In the site's <VirtualHost> (or the main server config):"""


def head(modules: str) -> str:
    return APACHE_HEAD.format(modules=modules)


def test_apache_headers():
    assert apache_config(name="picture.png", acao="*", vary="Origin", cache="max-age=3600") == f"""\
# Apache 2.4: what the lab does for ?acao=*&vary=Origin&cache=max-age%3D3600
{head("headers")}
<Location "/img/picture.png">
  # The lab's headers on every status ("always"); "unset" drops a line the site already sends.
  Header unset Access-Control-Allow-Origin
  Header always set Access-Control-Allow-Origin "*"
  Header unset Cache-Control
  Header always set Cache-Control "max-age=3600"
  Header always merge Vary "Origin"
  # No mod_expires lines on top of the lab's Cache-Control:
  <IfModule mod_expires.c>
    ExpiresActive Off
  </IfModule>
</Location>"""


def test_nginx_headers():
    assert nginx_config(name="picture.png", acao="*", vary="Origin", cache="max-age=3600") == """\
# nginx: what the lab does for ?acao=*&vary=Origin&cache=max-age%3D3600
# In the server {} block:
location = /img/picture.png {
    # The lab's headers on every status ("always"). Here nginx drops the server's own add_header lines.
    add_header Access-Control-Allow-Origin "*" always;
    add_header Vary "Origin" always;
    add_header Cache-Control "max-age=3600" always;
    expires off;  # no Expires or second Cache-Control from an 'expires' of the server
}"""


def test_the_guides_block_is_verbatim_and_printed_without_its_ifmodule_lines():
    assert GUIDE_APACHE_RULE == GUIDE_APACHE
    # Without the wrappers, a server lacking mod_headers refuses the config instead of silently
    # sending no ACAO (tests/test_realservers.py starts stock Debian Apache with both).
    unwrapped = [line.strip() for line in GUIDE_APACHE.splitlines() if "IfModule" not in line]
    assert [line.strip() for line in GUIDE_APACHE_LINES.splitlines()[1:]] == unwrapped
    text = apache_config(apache=True)
    assert text.endswith("\n" + GUIDE_APACHE_LINES)
    assert "sudo a2enmod headers setenvif mime &&" in text


def test_nginx_h5bp_rule_is_a_map_on_status_and_origin():
    text = nginx_config(apache=True)
    assert text.startswith(f"# nginx: what the lab does for ?apache=1\n{NGINX_MAP}\n# In the server {{}} block:\n")
    assert "location ~ \\.(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp)$ {" in text
    assert "add_header Access-Control-Allow-Origin $cors_lab_image_acao always;" in text


def test_h5bp_rule_with_a_cache_header_for_one_file():
    assert apache_config(name="picture.png", apache=True, cache="max-age=3600") == f"""\
# Apache 2.4: what the lab does for ?cache=max-age%3D3600&apache=1
{head("headers setenvif")}
<Location "/img/picture.png">
  # The lab's headers on every status ("always"); "unset" drops a line the site already sends.
  Header unset Cache-Control
  Header always set Cache-Control "max-age=3600"
  # No mod_expires lines on top of the lab's Cache-Control:
  <IfModule mod_expires.c>
    ExpiresActive Off
  </IfModule>
</Location>
{GUIDE_APACHE_LINES}"""
    assert nginx_config(name="picture.png", apache=True, cache="max-age=3600") == f"""\
# nginx: what the lab does for ?cache=max-age%3D3600&apache=1
{NGINX_MAP}
# In the server {{}} block:
location = /img/picture.png {{
    # The lab's headers on every status ("always"). Here nginx drops the server's own add_header lines.
    add_header Cache-Control "max-age=3600" always;
    add_header Access-Control-Allow-Origin $cors_lab_image_acao always;  # the guide's rule (the map); empty: not sent
    expires off;  # no Expires or second Cache-Control from an 'expires' of the server
}}"""


def test_h5bp_rule_never_matches_other_extensions():
    assert "never matches 'notes.txt'" in apache_config(name="notes.txt", apache=True)
    text = nginx_config(name="notes.txt", apache=True)
    assert "never matches 'notes.txt'" in text and "add_header Access-Control-Allow-Origin $" not in text


def test_redirect_for_one_file_has_an_empty_body_as_in_the_lab():
    to = "http://localhost:41235/img/picture.png?acao=*"
    assert apache_config(name="picture.png", to=to, status=307, acao="*") == f"""\
# Apache 2.4: what the lab does for ?acao=*&status=307&to=http://localhost:41235/img/picture.png%3Facao%3D*
{head("headers alias")}
<Location "/img/picture.png">
  # The lab's headers on every status ("always"); "unset" drops a line the site already sends.
  Header unset Access-Control-Allow-Origin
  Header always set Access-Control-Allow-Origin "*"
  Redirect 307 "{to}"
  # An empty body and no Content-Type, as the lab sends (Apache's own is a small HTML page):
  ErrorDocument 307 "%{{reqenv:CORS_LAB_NO_BODY}}"
  Header always unset Content-Type
</Location>"""
    assert nginx_config(name="picture.png", to=to, status=307, acao="*") == f"""\
# nginx: what the lab does for ?acao=*&status=307&to=http://localhost:41235/img/picture.png%3Facao%3D*
# In the server {{}} block:
location = /img/picture.png {{
    error_page 307 @cors_lab_picture_png_no_body;  # an empty body, as the lab sends (nginx's own is an HTML page)
    return 307 "{to}";
}}
location @cors_lab_picture_png_no_body {{
    # The lab's headers on every status ("always"). Here nginx drops the server's own add_header lines.
    add_header Access-Control-Allow-Origin "*" always;
    types {{ }} default_type "";
    return 200 "";  # the status stays 307
}}"""


def test_redirect_defaults_to_302_and_escapes_redirectmatch_groups():
    to = "http://127.0.0.1:9/img/picture.png?nonce=$1"
    assert 'RedirectMatch 302 "^" "http://127.0.0.1:9/img/picture.png?nonce=\\\\$1"' in apache_config(to=to).splitlines()
    assert '  Redirect 302 "http://127.0.0.1:9/img/picture.png?nonce=\\\\$1"' in apache_config(name="picture.png", to=to).splitlines()
    assert '    return 302 "http://127.0.0.1:9/img/picture.png";' in nginx_config(to=to[:-9]).splitlines()


def test_several_lines_and_raw_values():
    text = apache_config(acao=["*", "http://a.test"], acac="True", vary=["Origin", "Cookie"], nosniff=True)
    assert """\
Header unset Access-Control-Allow-Origin
Header always set Access-Control-Allow-Origin "*"
Header always add Access-Control-Allow-Origin "http://a.test"
Header unset Access-Control-Allow-Credentials
Header always set Access-Control-Allow-Credentials "True"
Header unset X-Content-Type-Options
Header always set X-Content-Type-Options "nosniff"
Header always merge Vary "Origin"
Header always merge Vary "Cookie"
""" in text
    assert text.splitlines()[3] == "# In the images' <Directory>, or their .htaccess (AllowOverride FileInfo):"
    text = nginx_config(acao=["*", "http://a.test"], acac=True, vary=["Origin", "Cookie"], nosniff=True)
    assert """\
    add_header Access-Control-Allow-Origin "*" always;
    add_header Access-Control-Allow-Origin "http://a.test" always;
    add_header Access-Control-Allow-Credentials "true" always;
    add_header Vary "Origin" always;
    add_header Vary "Cookie" always;
    add_header X-Content-Type-Options "nosniff" always;
""" in text
    assert text.splitlines()[2] == "location /img/ {"


def test_error_status_sends_the_picture_as_its_body():
    assert apache_config(name="picture.png", status=404, ctype="text/html") == f"""\
# Apache 2.4: what the lab does for ?status=404&ctype=text/html
{head("headers alias env")}
<Location "/img/picture.png">
  ForceType "text/html"
  # The lab never compresses (mod_deflate would add Vary: Accept-Encoding to a text type):
  SetEnv no-gzip 1
  # Status 404 with the picture as its body, as the lab sends (Apache's own is an HTML page):
  <If "-z reqenv('REDIRECT_STATUS')">
    Redirect 404
  </If>
  ErrorDocument 404 "/img/picture.png"
  # The lab sends ETag and Last-Modified with a 200 only:
  Header unset ETag
  Header unset Last-Modified
</Location>"""
    assert nginx_config(name="picture.png", status=404, ctype="text/html") == """\
# nginx: what the lab does for ?status=404&ctype=text/html
# In the server {} block:
location = /img/picture.png {
    error_page 404 @cors_lab_picture_png_body;  # status 404 with the picture as its body, as the lab sends
    return 404;
}
location @cors_lab_picture_png_body {
    # The lab sends ETag and Last-Modified with a 200 only: nginx drops Last-Modified itself, not the ETag.
    etag off;
    types { } default_type "text/html";
    gzip off;  # the lab never compresses
}"""


def test_error_status_with_the_guides_rule_keeps_the_rule_to_2xx():
    assert "Header unset Access-Control-Allow-Origin" in apache_config(name="picture.png", status=500, apache=True)
    assert "error_page 404 =203 @cors_lab_picture_png_body;" in nginx_config(name="picture.png", status=203)


def test_no_content_and_not_modified_carry_no_validators():
    for status in (204, 304):
        assert "etag off;" not in nginx_config(name="picture.png", status=status)
    text = apache_config(name="picture.ico", status=204)
    assert "FileETag" not in text and 'Header always set Content-Type "image/x-icon"' in text and "Redirect 204" in text
    assert 'add_header Content-Type "image/png" always;' in nginx_config(name="picture.png", status=204)


def test_content_type_knob_and_the_labs_own_types():
    assert "Header unset Content-Type" in apache_config(name="picture.png", ctype="")
    assert 'types { } default_type "";  # no Content-Type at all' in nginx_config(ctype="")
    assert 'ForceType "image/x-icon"' in apache_config(name="picture.ico")
    assert "ForceType" not in apache_config(name="picture.png")
    assert 'AddType "image/x-icon" .ico' in apache_config()
    assert "types { image/bmp bmp; }" in nginx_config(name="picture.bmp")
    assert "types" not in nginx_config(name="picture.png")
    assert "        image/bmp bmp;" in nginx_config().splitlines()


def test_picture_types_are_the_labs():
    pictures = {name.rsplit(".", 1)[1]: get_asset(name).content_type for name in ASSET_NAMES}
    assert PICTURE_TYPES == pictures


@pytest.mark.parametrize(
    "config, kwargs, server, knob",
    [
        (apache_config, {"delay": 2.5}, "Apache", "delay=2.5"),
        (nginx_config, {"truncate": 100}, "nginx", "truncate=100"),
        (nginx_config, {"acao": ""}, "nginx", "acao=''"),
        (nginx_config, {"cache": ""}, "nginx", "cache=''"),
        (nginx_config, {"acao": "$http_origin"}, "nginx", "acao='$http_origin'"),
        (nginx_config, {"to": "http://127.0.0.1:9/img/picture.png?nonce=$1"}, "nginx", "to="),
        (apache_config, {"name": "picture.png", "status": 203}, "Apache", "status=203"),
        (apache_config, {"name": "picture.png", "status": 304}, "Apache", "status=304"),
        (apache_config, {"name": "picture.png", "status": 300}, "Apache", "status=300"),
        (apache_config, {"status": 404}, "Apache", "status=404 without name="),
        (apache_config, {"status": 204}, "Apache", "status=204 without name="),
        (nginx_config, {"status": 204}, "nginx", "status=204 without name="),
    ],
)
def test_what_a_server_cannot_do_is_refused_with_the_reason(config, kwargs, server, knob):
    with pytest.raises(ConfigRefused) as caught:
        config(**kwargs)
    err = caught.value
    assert isinstance(err, UsageError) and err.server == server and err.knob.startswith(knob)
    assert str(err).startswith(f"No {server} config does what the lab does for {err.knob}: ") and len(err.reason) > 20


def test_what_apache_can_do_that_nginx_cannot_and_back():
    assert 'Header always set Access-Control-Allow-Origin ""' in apache_config(acao="")
    assert 'Header always set Access-Control-Allow-Origin "$http_origin"' in apache_config(acao="$http_origin")
    assert "return 304;" in nginx_config(name="picture.png", status=304)
    assert "return 404;" in nginx_config(status=404)


def test_quotes_backslashes_and_percent_are_escaped():
    assert 'Header always set Cache-Control "a\\"b\\\\c%%d"' in apache_config(cache='a"b\\c%d')
    assert 'add_header Cache-Control "a\\"b\\\\c%d" always;' in nginx_config(cache='a"b\\c%d')


def test_validators_are_the_servers_own_unless_turned_off():
    text = apache_config()
    assert text.startswith("# Apache 2.4: what the lab does with no knobs\n") and "FileETag" not in text
    text = nginx_config()
    assert text.startswith("# nginx: what the lab does with no knobs\n") and "etag" not in text
    assert APACHE_NO_VALIDATORS in apache_config(name="picture.png", validators=False)
    assert NGINX_NO_VALIDATORS in nginx_config(name="picture.png", validators=False)
    # Where no file is sent, there are no validators to turn off.
    assert "FileETag" not in apache_config(name="picture.png", validators=False, to="http://127.0.0.1:9/img/picture.png")


def test_the_guides_rule_beside_acao_lines_sends_both():
    # Apache and nginx both send the acao lines, then the rule's "*" (measured); so does the lab.
    text = apache_config(name="picture.png", acao="http://a.test", apache=True)
    assert 'Header always set Access-Control-Allow-Origin "http://a.test"' in text
    assert "Header unset Access-Control-Allow-Origin" not in text  # it would drop the rule's "*" (measured)
    text = nginx_config(name="picture.png", acao="http://a.test", apache=True)
    assert text.index('add_header Access-Control-Allow-Origin "http://a.test" always;') < text.index("$cors_lab_image_acao always;")


def test_errorpage_is_the_servers_own_page():
    assert apache_config(name="picture.png", status=404, errorpage=True, acao="*") == f"""\
# Apache 2.4: what the lab does for ?acao=*&status=404&errorpage=1
{head("headers alias")}
<Location "/img/picture.png">
  # The lab's headers on every status ("always"); "unset" drops a line the site already sends.
  Header unset Access-Control-Allow-Origin
  Header always set Access-Control-Allow-Origin "*"
  # Status 404 with Apache's own error page (text/html), as the lab's errorpage=1 sends:
  Redirect 404
</Location>"""
    assert nginx_config(name="picture.png", status=503, errorpage=True) == """\
# nginx: what the lab does for ?status=503&errorpage=1
# In the server {} block:
location = /img/picture.png {
    return 503;  # nginx's own error page (text/html), as the lab's errorpage=1 sends
}"""


def test_file_age_is_a_command_not_a_directive():
    line = '#   touch -d "86400 seconds ago" /path/to/img/picture.png'
    assert line in apache_config(name="picture.png", age=86400).splitlines()
    assert line in nginx_config(name="picture.png", age=86400).splitlines()
    assert "touch" not in apache_config(name="picture.png", age=86400, status=404, errorpage=True)


@pytest.mark.parametrize(
    "kwargs, modules",
    [
        ({"name": "picture.png"}, "headers"),
        ({"name": "picture.png", "apache": True}, "headers setenvif"),
        ({"name": "picture.png", "status": 404}, "headers alias"),
        ({"name": "picture.png", "ctype": "text/plain"}, "headers env"),
        ({"apache": True, "to": "http://127.0.0.1:9/img/picture.png"}, "headers setenvif alias"),
    ],
)
def test_apache_names_its_modules_and_wraps_none_of_its_own_lines(kwargs, modules):
    text = apache_config(**kwargs)
    assert f"#   sudo a2enmod {modules} && sudo systemctl restart apache2" in text.splitlines()
    # <IfModule> only inside the guide's verbatim block (and around the optional mod_expires line):
    # a missing mod_headers stops Apache with "Invalid command 'Header'" instead of sending nothing.
    own = text.replace(GUIDE_APACHE, "")
    assert "<IfModule mod_headers.c>" not in own and "<IfModule mod_setenvif.c>" not in own


def test_every_header_knob_reaches_both_configs():
    samples = {"acao": "*", "acac": True, "vary": "Origin", "cache": "no-store", "ctype": "text/plain",
               "to": "http://127.0.0.1:9/img/picture.png", "nosniff": True, "apache": True, "validators": False,
               "age": 60}
    words = {"ctype": ("ForceType", "default_type"), "to": ("Redirect", "return 302"),
             "validators": ("FileETag None", "etag off;"), "age": ("touch -d", "touch -d")}
    for name, info in KNOBS.items():
        if info.header is None or name in ("user", "samesite"):
            continue
        apache, nginx = apache_config(**{name: samples[name]}), nginx_config(**{name: samples[name]})
        a_word, n_word = words.get(name, (info.header, info.header))
        assert a_word in apache, name
        assert n_word in nginx, name


def test_url_form_equals_knob_form():
    url = "http://127.0.0.1:41235/img/picture.png?acao=*&acac=true&vary=Origin&cache=max-age%3D3600"
    name, knobs = knobs_from_url(url)
    assert name == "picture.png"
    assert knobs == {"acao": "*", "acac": "true", "vary": "Origin", "cache": "max-age=3600"}
    assert apache_config(url=url) == apache_config(name="picture.png", **knobs)
    assert nginx_config(url=url) == nginx_config(name="picture.png", **knobs)
    _, knobs = knobs_from_url("http://h:1/img/picture.gif?acao=*&acao=null&delay=2&truncate=5&status=404")
    assert knobs == {"acao": ["*", "null"], "delay": 2.0, "truncate": 5, "status": 404}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"acoa": "*"}, "Unknown knob"),
        ({"acao": "*\r\nX-Evil: 1"}, "line break"),
        ({"acao": "a\x0bX-Injected: yes"}, "control character U+000B"),
        ({"vary": "Origin\x7f"}, "control character U+007F"),
        ({"url": "http://h:1/img/picture.png?ctype=a%1Fb"}, "control character U+001F"),
        ({"name": "pic\x0bture.png"}, "file name"),
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
        with pytest.raises(UsageError, match=re.escape(message)) as caught:
            config(**kwargs)
        assert not isinstance(caught.value, ConfigRefused)
