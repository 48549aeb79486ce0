"""The kit's Apache and nginx configs on Debian's real apache2 and nginx, compared with the lab.

Each server runs as this test's own process (cors_lab/realservers.py) with serverconf's config for one
knob set pasted into a stock Debian config; tools/compare_servers.py sends every request class to it
and to a lab server and compares status, the CORS and caching headers and the body's class.
Skipped, with the install command, where apache2 or nginx is missing.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import pathlib
import sys

import pytest

from cors_lab import realservers, serverconf
from cors_lab.assets import get_asset
from cors_lab.harness import browser_unavailable_reason
from cors_lab.servers import KNOBS

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("compare_servers", ROOT / "tools" / "compare_servers.py")
compare = sys.modules["compare_servers"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)

MISSING = realservers.unavailable_reason("apache") or realservers.unavailable_reason("nginx")
needs_servers = [pytest.mark.realservers, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

# Where serverconf refuses, by server (each label also in its directory form, "[dir]"): everything
# else must match the lab on every request class.
REFUSED = {
    "apache": {
        "delay", "truncate", "status 203", "status 304",
        # Without name= the error document cannot name its picture.
        "status 404 [dir]", "status 404+acao [dir]", "status 404+apache [dir]", "status 410+acao [dir]",
        "status 500+acao [dir]", "status 503 [dir]", "status 204 [dir]", "ctype empty+status 404 [dir]",
        "type picture.bmp+status 404 [dir]", "type picture.ico+status 404 [dir]", "status 404+validators off [dir]",
    },
    "nginx": {
        "delay", "truncate", "acao empty", "acao $http_origin", "redirect with $1 in it", "status 204 [dir]",
    },
}


def with_dir(labels: set[str]) -> set[str]:
    """The labels and their directory forms."""
    return labels | {f"{label} [dir]" for label in labels if not label.endswith("[dir]")}


def servers_test(fn):
    for mark in needs_servers:
        fn = mark(fn)
    return fn


def get(server: realservers.RealServer, path: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


# --- The fixture ----------------------------------------------------------------------------------


def test_a_missing_server_skips_with_the_install_command(monkeypatch):
    monkeypatch.setattr(realservers, "binary", lambda kind: None)
    for kind in ("apache", "nginx"):
        reason = realservers.unavailable_reason(kind)
        assert reason.startswith(f"No {realservers.BINARIES[kind]} found") and reason.endswith("apt-get install -y apache2 nginx")


def test_an_environment_variable_names_another_binary_or_none(monkeypatch, tmp_path):
    monkeypatch.setenv("CORS_LAB_APACHE2", str(tmp_path / "no-apache2"))
    assert realservers.binary("apache") is None
    assert realservers.unavailable_reason("apache").startswith("$CORS_LAB_APACHE2=")


def test_without_apache_the_lab_stands_in(monkeypatch):
    from cors_lab.servers import Lab

    monkeypatch.setattr(realservers, "binary", lambda kind: None)
    with Lab() as lab, realservers.apache_or_lab(realservers.CACHE_LESSON["no-cache"], lab=lab) as served:
        assert served.kind == "lab" and served.name == "the lab (no apache2 here)"
        assert served.url("picture.png").startswith(lab.cdn.url("picture.png", apache=True, cache="no-cache") + "&nonce=")


@servers_test
@pytest.mark.parametrize("kind", ["apache", "nginx"])
def test_each_server_is_the_tests_own_process(real_servers, kind):
    server = real_servers(kind)
    status, _, body = get(server, "/img/picture.png")
    assert status == 200 and body == get_asset("picture.png").body
    members = realservers.group_members(server.process.pid)
    assert members, "the server's process group is empty while it answers"
    for pid in members:
        status_text = pathlib.Path(f"/proc/{pid}/status").read_text()
        uid = int(next(line for line in status_text.splitlines() if line.startswith("Uid:")).split()[1])
        assert uid != 0 or os.geteuid() != 0, f"{kind} process {pid} runs as root"
    assert str(server.root) in server.config and "127.0.0.1:" in server.config
    assert (server.root / "run" / ("apache2.pid" if kind == "apache" else "nginx.pid")).exists()
    assert [(e.method, e.target, e.status) for e in server.access_log()] == [("GET", "/img/picture.png", 200)]
    server.stop()
    assert realservers.group_members(server.process.pid) == [] and not server.root.exists()


@servers_test
def test_a_config_the_server_rejects_is_reported_with_its_error(real_servers):
    with pytest.raises(realservers.ServerStartError, match="Invalid command 'NoSuchDirective'"):
        real_servers("apache", server_snippet="NoSuchDirective on")
    with pytest.raises(realservers.ServerStartError, match='unknown directive "no_such_directive"'):
        real_servers("nginx", server_snippet="no_such_directive on;")


# --- The lab, Apache and nginx on the whole knob matrix -------------------------------------------


def test_the_matrix_covers_every_knob_serverconf_supports():
    used = {name for ks in compare.knob_sets("http://127.0.0.1:9/img/picture.png") for name in ks.knobs}
    assert used == set(KNOBS) - {"user", "samesite"}
    assert {r.conditional for r in compare.REQUESTS} == {None, "etag", "date"}
    assert {r.origin for r in compare.REQUESTS} == {None, "null", compare.FOREIGN_ORIGIN}


@servers_test
def test_every_knob_set_matches_the_lab_or_is_refused_with_the_reason():
    rows = compare.run_matrix()
    problems = compare.mismatches([r for r in rows if any(r.verdict(k, i) in ("mismatch", "failed")
                                                          for k in compare.KINDS for i in range(len(compare.REQUESTS)))])
    assert not problems, problems
    for kind in compare.KINDS:
        refused = {r.ks.label for r in rows if r.real[kind].refused}
        assert refused == with_dir(REFUSED[kind]), kind
        assert all(r.real[kind].refused.startswith(f"No {'Apache' if kind == 'apache' else 'nginx'} config does what")
                   for r in rows if r.real[kind].refused)
        counts = compare.tally(rows, kind)
        assert counts["match"] + counts["refused"] == len(rows) * len(compare.REQUESTS)
        assert compare.tally_sets(rows, kind)["refused"] == len(refused)


@servers_test
def test_stock_debian_apache_fails_loudly_without_mod_headers_where_the_guides_block_is_silent():
    stock = realservers.DEBIAN_DEFAULT_MODULES
    rule = compare.KnobSet("apache", {"apache": True})
    served = compare.serve_and_ask("apache", rule, modules=stock, config=compare.GUIDE_ONLY)
    assert served.answers and served.answers[1].lines("Access-Control-Allow-Origin") == []  # silently nothing
    served = compare.serve_and_ask("apache", rule, modules=stock)
    assert "Invalid command 'Header'" in served.failed
    served = compare.serve_and_ask("apache", rule, modules=stock + compare.modules_named(serverconf.apache_config(name="picture.png", apache=True)))
    assert served.answers[1].lines("Access-Control-Allow-Origin") == ["*"]


# --- The cache lesson: the same verdicts from real Apache and the lab, in Chromium and the kernel ----

# What Chromium 156 does with each of the lesson's servers: (plain <img>, then <img crossorigin>).
LESSON_VERDICTS = {
    # No mod_headers: the guide's <IfModule> block is silently skipped: no ACAO at all.
    "stock Debian": (("load", "SecurityError", "SecurityError"), ("error", None, "InvalidStateError")),
    # No Cache-Control: the month-old... here 2025-dated picture is fresh for 10% of its age, so the
    # CORS load reuses the plain answer (no ACAO) without asking the server.
    "mod_headers on": (("load", "SecurityError", "SecurityError"), ("error", None, "InvalidStateError")),
    # no-cache: revalidated with Origin; the 304 carries the rule's ACAO and updates the stored answer.
    "no-cache": (("load", "SecurityError", "SecurityError"), ("load", "ok", None)),
    "Vary: Origin": (("load", "SecurityError", "SecurityError"), ("load", "ok", None)),
    "max-age=3600": (("load", "SecurityError", "SecurityError"), ("error", None, "InvalidStateError")),
}
# The requests each server received, (status, Origin sent?, ACAO): the same from Apache and the lab.
LESSON_REQUESTS = {
    "stock Debian": [(200, False, None)],
    "mod_headers on": [(200, False, None)],
    "no-cache": [(200, False, None), (304, True, "*")],
    # The stored answer does not match (Vary: Origin): Chromium revalidates with If-None-Match alone.
    "Vary: Origin": [(200, False, None), (304, True, "*")],
    "max-age=3600": [(200, False, None)],
}


def test_the_lesson_table_is_tested_whole():
    assert set(LESSON_VERDICTS) == set(LESSON_REQUESTS) == set(realservers.CACHE_LESSON)


def _requests(served):
    return [(status, origin is not None, acao) for status, origin, acao in served.requests()]


@servers_test
@pytest.mark.parametrize("label", list(realservers.CACHE_LESSON))
def test_the_cache_lesson_in_the_kernel_on_apache_and_on_the_lab(label):
    from cors_lab.browser import Browser
    from cors_lab.servers import Lab

    lesson = realservers.CACHE_LESSON[label]
    with Lab() as lab:
        for served in (realservers.apache_or_lab(lesson, lab=lab),
                       realservers.LessonServer(kind="lab", config=lesson.apache, knobs=lesson.knobs, lab=lab)):
            with served:
                browser = Browser(lab.site)
                url = served.url("picture.png")
                verdicts = (browser.run(url), browser.run(url, "anonymous"))
                assert tuple(o.verdict for o in verdicts) == LESSON_VERDICTS[label], (served.kind, verdicts)
                assert _requests(served) == LESSON_REQUESTS[label], served.kind


@servers_test
@pytest.mark.browser
@pytest.mark.skipif(browser_unavailable_reason() is not None, reason=browser_unavailable_reason() or "")
def test_the_cache_lesson_in_chromium_on_apache_and_on_the_lab():
    from cors_lab.harness import ChromiumHarness
    from cors_lab.servers import Lab

    with Lab() as lab, ChromiumHarness() as harness:
        runs = compare.cache_lesson(harness, lab)
    for run in runs:
        assert not run.failed, run
        assert run.verdicts == LESSON_VERDICTS[run.label], run
        assert [(s, o is not None, a) for s, o, a in run.requests] == LESSON_REQUESTS[run.label], run
    # Chromium revalidated with both of Apache's validators and the page's Origin.
    (no_cache,) = [r for r in runs if r.label == "no-cache" and r.kind == "apache"]
    revalidation = no_cache.log[1]
    assert revalidation.if_none_match and revalidation.if_modified_since == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert revalidation.mode == "cors" and revalidation.status == 304 and revalidation.acao == "*"


@pytest.mark.browser
@pytest.mark.skipif(browser_unavailable_reason() is not None, reason=browser_unavailable_reason() or "")
def test_chromium_keeps_a_picture_fresh_for_a_fraction_of_its_age():
    """RFC 9111 4.2.2's heuristic as Chromium applies it: fresh for 10% of Date - Last-Modified.

    age=40 gives a lifetime of 4 s. A CORS load right after the plain one reuses the stored answer
    (no ACAO: error); one that waits 5 s first (a picture the lab delays) finds it stale, revalidates,
    and the 304 carries the rule's ACAO. age=0: stale at once. The kernel browser does the same.
    """
    from cors_lab.browser import Browser
    from cors_lab.harness import ChromiumHarness, Scenario
    from cors_lab.servers import Lab

    with Lab() as lab, ChromiumHarness() as harness:
        page = lab.site.url("picture.png")
        wait = Scenario(lab.site.url("picture.png", delay=5, nonce=True), timeout_ms=15000)
        cases = {"at once": (40, []), "5 s later": (40, [wait]), "a new file": (0, [])}
        for label, (age, between) in cases.items():
            url = lab.cdn.url("picture.png", apache=True, age=age, nonce=True)
            runs = harness.run_sequence([Scenario(url), *between, Scenario(url, "anonymous")], page_url=page)
            statuses = [e.status for e in lab.cdn.log if e.path.endswith(url.rsplit("&", 1)[1])]
            kernel, own = Browser(lab.site), lab.cdn.url("picture.png", apache=True, age=age, nonce=True)
            kernel.load_image(own)
            kernel_second = kernel.load_image(own, crossorigin="anonymous")
            if label == "at once":
                assert (runs[-1].load, statuses) == ("error", [200]), label
                assert kernel_second.event == "error" and kernel_second.hops[0].from_cache
            else:
                assert (runs[-1].verdict, statuses) == (("load", "ok", None), [200, 304]), label
                if label == "a new file":  # the kernel cannot wait 5 s here without a sleep; age=0 it can
                    assert kernel_second.event == "load" and kernel_second.hops[0].validated
