"""cors_lab.servers.lab: start/stop, the three origins, URL builders, chains, the merged log."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests

from cors_lab.assets import get_asset
from cors_lab.errors import UsageError
from cors_lab.servers import Lab, RequestLog, start

KERNEL_UA = "cors-lab-kernel/0.1"
FOREIGN_COOKIES = "_xsrf=SECRETXSRF; username-127-0-0-1-8888=SECRETAUTH"


# -- start, origins ---------------------------------------------------------------------------------


def test_start_is_idempotent_and_stoppable():
    lab = start(host="127.0.0.1")
    try:
        assert start() is lab and start(host="127.0.0.1") is lab
        assert lab.running
        # The other name renames the running lab in place (issue 8: the fix the live probe prints,
        # lab = cors_lab.start(host="localhost"), must run as printed and keep every widget working).
        ports = [o.port for o in lab.origins]
        assert start(host="localhost") is lab and lab.host == "localhost" and lab.host_why == "given"
        assert [o.port for o in lab.origins] == ports and lab.site.origin == f"http://localhost:{ports[0]}"
        assert lab.other.origin == f"http://127.0.0.1:{ports[2]}"
    finally:
        lab.stop()
    assert not lab.running
    lab.stop()  # idempotent
    with start() as again:
        assert again is not lab and again.running
    assert not again.running


def test_start_without_a_host_follows_jupyter(monkeypatch):
    from cors_lab import hosting

    monkeypatch.setattr(hosting, "browser_host", lambda: ("localhost", "the name in Jupyter's own address"))
    with start() as lab:
        assert lab.host == "localhost" and lab.host_why == "the name in Jupyter's own address"


def test_use_host_keeps_urls_built_before_working_and_tells_watchers():
    events = []

    class Watcher:
        def seen(self, event):
            events.append(event)

    watcher = Watcher()
    with Lab(host="127.0.0.1") as lab:
        lab.watch(watcher.seen)
        old = lab.chain([lab.cdn, lab.site], "picture.png", acao="*")
        lab.use_host("localhost")
        assert events == ["host"] and lab.cdn.origin.startswith("http://localhost:")
        # A redirect built under the old name still stays within the lab (each port under either name).
        r = requests.get(old, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].startswith(f"http://127.0.0.1:{lab.site.port}/")
    assert events == ["host", "stop"]
    del watcher  # held weakly: a watcher that is gone is dropped, not called
    with Lab() as lab:
        lab.watch(Watcher().seen)
    assert events == ["host", "stop"]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "::1", "example.com", "", "LOCALHOST"])
def test_start_refuses_other_hosts(host):
    with pytest.raises(UsageError, match=r"'127\.0\.0\.1' or 'localhost'"):
        start(host=host)


@pytest.mark.parametrize("host, other", [("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")])
def test_three_origins_site_cdn_other(host, other):
    with Lab(host=host) as lab:
        assert [o.label for o in lab.origins] == ["site", "cdn", "other"]
        assert lab.site.origin == f"http://{host}:{lab.site.port}"
        assert lab.cdn.origin == f"http://{host}:{lab.cdn.port}"
        assert lab.other.origin == f"http://{other}:{lab.other.port}"
        assert len({o.port for o in lab.origins}) == 3
        assert lab["cdn"] is lab.cdn and str(lab.cdn) == lab.cdn.origin
        for o in lab.origins:
            assert requests.get(o.url("picture.png"), timeout=10).status_code == 200


# -- URL builder ------------------------------------------------------------------------------------


def test_url_builds_knobs_in_table_order(lab):
    url = lab.cdn.url("picture.png", cache="max-age=3600", vary="Origin", acac=True, acao="*")
    assert url == f"{lab.cdn.origin}/img/picture.png?acao=*&acac=true&vary=Origin&cache=max-age%3D3600"
    assert lab.cdn.url("picture.png") == f"{lab.cdn.origin}/img/picture.png"
    assert lab.site.url("picture.gif", acao=["*", "http://a.test"]).endswith("?acao=*&acao=http://a.test")
    assert lab.site.url("picture.png", acac="True").endswith("?acac=True")
    assert lab.site.url("picture.png", apache=True, nosniff=True).endswith("?apache=1&nosniff=1")
    assert lab.site.url("picture.png", apache=False, acao=None).endswith("/img/picture.png")
    assert lab.site.url("picture.png", acao="a&b=c+d#e").endswith("?acao=a%26b%3Dc%2Bd%23e")
    assert lab.site.url("picture.png", delay=0.5, truncate=10, status=404).endswith("?status=404&delay=0.5&truncate=10")


def test_url_nonce_true_is_fresh(lab):
    a, b = lab.site.url("picture.png", nonce=True), lab.site.url("picture.png", nonce=True)
    assert a != b and "nonce=" in a
    assert lab.site.url("picture.png", nonce=7).endswith("?nonce=7")


@pytest.mark.parametrize(
    "knobs, message",
    [
        ({"acoa": "*"}, "Unknown knob 'acoa'"),
        ({"acao": "*\r\nX-Evil: 1"}, "line break"),
        ({"acao": ["*", "a\nb"]}, "line break"),
        ({"acao": "\x00"}, "NUL"),
        ({"acao": 5}, "string or a list"),
        ({"acac": 1}, "True"),
        ({"vary": "Origin\r\n"}, "line break"),
        ({"status": 99}, "200-599"),
        ({"status": 100}, "interim"),
        ({"status": 600}, "200-599"),
        ({"status": "404"}, "int"),
        ({"status": True}, "int"),
        ({"status": 302}, "needs to="),
        ({"status": 200, "to": "SITE"}, "status must be one of"),
        ({"delay": 31}, "0 to 30"),
        ({"delay": -1}, "0 to 30"),
        ({"delay": float("nan")}, "0 to 30"),
        ({"delay": "1"}, "number"),
        ({"truncate": -1}, "byte count"),
        ({"apache": "yes"}, "flag"),
        ({"user": "alice"}, "only works on /login"),
    ],
)
def test_url_refuses_bad_knobs_before_any_request(lab, knobs, message):
    knobs = {k: (lab.site.origin + "/" if v == "SITE" else v) for k, v in knobs.items()}
    with pytest.raises(UsageError, match=re.escape(message)):
        lab.cdn.url("picture.png", **knobs)
    assert lab.log() == []


def test_url_refuses_unknown_asset(lab):
    with pytest.raises(UsageError, match="No asset 'nope.png'"):
        lab.cdn.url("nope.png")


@pytest.mark.parametrize(
    "to",
    [
        "http://evil.test/picture.png",
        "https://127.0.0.1/",
        "//evil.test/",
        "/img/picture.png",
        "javascript:alert(1)",
    ],
)
def test_url_refuses_redirect_off_the_lab(lab, to):
    with pytest.raises(UsageError, match="to"):
        lab.cdn.url("picture.png", to=to)


def test_url_refuses_lookalike_redirects(lab):
    for to in (f"{lab.site.origin}@evil.test/", f"{lab.site.origin}.evil.test/", f"{lab.site.origin}0/",
               f"{lab.site.origin}\\@evil.test/", f"{lab.site.origin}/ x"):
        with pytest.raises(UsageError):
            lab.cdn.url("picture.png", to=to)


# -- chains -----------------------------------------------------------------------------------------


def test_chain_across_origins(lab):
    url = lab.chain([lab.cdn, lab.other, lab.site], "picture.png", acao="*", hop_knobs={"acao": "*"})
    r = requests.get(url, timeout=10, headers={"User-Agent": KERNEL_UA})
    assert r.status_code == 200 and r.content == get_asset("picture.png").body
    assert [urlsplit(h.url).port for h in r.history] == [lab.cdn.port, lab.other.port]
    assert r.url == lab.site.url("picture.png", acao="*")
    hops = [(e.server, e.status, e.header("Access-Control-Allow-Origin")) for e in lab.log()]
    assert hops == [("cdn", 302, "*"), ("other", 302, "*"), ("site", 200, "*")]


def test_chain_per_hop_knobs_and_status(lab):
    url = lab.chain(
        ["site", "other", "cdn"], "picture.gif", status=307, hop_knobs=[{"acao": "*"}, {"status": 301}], acao="null"
    )
    r = requests.get(url, timeout=10)
    assert [h.status_code for h in r.history] == [307, 301]
    assert r.history[0].headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in r.history[1].headers
    assert r.headers["Access-Control-Allow-Origin"] == "null"
    assert lab.chain([lab.cdn], "picture.png", acao="*") == lab.cdn.url("picture.png", acao="*")


def test_chain_refuses_bad_shapes(lab):
    with Lab() as foreign:
        with pytest.raises(UsageError):
            lab.chain([lab.cdn, foreign.cdn], "picture.png")
    with pytest.raises(UsageError, match="one per hop"):
        lab.chain([lab.cdn, lab.site], "picture.png", hop_knobs=[{}, {}])
    with pytest.raises(UsageError, match="may not set 'to'"):
        lab.chain([lab.cdn, lab.site], "picture.png", hop_knobs={"to": lab.site.url("picture.png")})
    with pytest.raises(UsageError):
        lab.chain([], "picture.png")


# -- cookies and the merged log ---------------------------------------------------------------------


def test_secret_depends_on_the_user_cookie(lab, ask):
    with requests.Session() as s:
        anonymous = s.get(lab.cdn.url("secret.png"), timeout=10).content
        s.get(lab.cdn.login_url("alice"), timeout=10)
        assert s.cookies.get("cors_lab_user") == "alice"
        alice = s.get(lab.cdn.url("secret.png"), timeout=10).content
        s.get(lab.cdn.logout_url(), timeout=10)
        after = s.get(lab.cdn.url("secret.png"), timeout=10).content
    assert anonymous == get_asset("secret.png").body == after
    assert alice == get_asset("secret.png", user="alice").body
    assert alice != anonymous
    _, _, bob = ask(lab.cdn.url("secret.png"), {"Cookie": f"{FOREIGN_COOKIES}; cors_lab_user=bob"})
    assert bob == get_asset("secret.png", user="bob").body


def test_log_merged_by_time_and_cleared(lab, ask):
    ask(lab.site.url("picture.png"))
    ask(lab.cdn.url("picture.png"))
    ask(lab.other.url("picture.png"))
    ask(lab.site.url("picture.gif"))
    merged = lab.log()
    assert isinstance(merged, RequestLog)
    assert [e.server for e in merged] == ["site", "cdn", "other", "site"]
    assert [e.time for e in merged] == sorted(e.time for e in merged)
    assert len(lab.site.log) == 2
    lab.site.clear_log()
    assert lab.site.log == [] and len(lab.log()) == 2
    lab.clear_log()
    assert lab.log() == []
    assert "no requests yet" in lab.log().table() and "no requests yet" in lab.log()._repr_html_()


def test_reprs(lab):
    assert repr(lab) == f"<Lab site={lab.site.origin} cdn={lab.cdn.origin} other={lab.other.origin}>"
    assert repr(lab.cdn) == f"<LabOrigin cdn {lab.cdn.origin}>"



def test_a_lab_with_a_dead_server_is_not_running_and_start_replaces_it():
    lab = start()
    try:
        lab.cdn._server.stop()  # as if its accept loop had died on its own
        assert not lab.cdn.running and not lab.running and lab.site.running
        assert repr(lab).endswith(" broken>")
        fresh = start()
        assert fresh is not lab and fresh.running
        assert not lab.site.running  # the broken lab's other servers were stopped too
    finally:
        start().stop()


def test_running_tells_the_truth_when_the_accept_loop_fails(monkeypatch):
    with Lab() as lab:
        def broken():
            raise OSError("the selector broke")

        monkeypatch.setattr(lab.other._server, "_sweep", broken)
        lab.other._server._thread.join(5)
        assert not lab.other.running and not lab.running
