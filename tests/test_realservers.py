"""The kit's Apache and nginx configs on Debian's real apache2 and nginx, compared with the lab.

Each server runs as this test's own process (tests/realservers.py) with serverconf's config for one
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
import realservers

from cors_lab import serverconf
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
        "acao+apache", "delay", "truncate", "status 203", "status 304",
        # Without name= the error document cannot name its picture.
        "status 404 [dir]", "status 404+acao [dir]", "status 404+apache [dir]", "status 410+acao [dir]",
        "status 500+acao [dir]", "status 503 [dir]", "status 204 [dir]", "ctype empty+status 404 [dir]",
        "type picture.bmp+status 404 [dir]", "type picture.ico+status 404 [dir]",
    },
    "nginx": {
        "acao+apache", "delay", "truncate", "acao empty", "acao $http_origin", "redirect with $1 in it",
        "status 204 [dir]",
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


@servers_test
@pytest.mark.browser
@pytest.mark.skipif(browser_unavailable_reason() is not None, reason=browser_unavailable_reason() or "")
def test_the_guides_cache_sequence_in_chromium_on_real_apache():
    from cors_lab.harness import ChromiumHarness
    from cors_lab.servers import Lab

    with Lab() as lab, ChromiumHarness() as harness:
        page = lab.site.url("picture.png")
        runs = {label: compare.cache_sequence(harness, page, label, **kwargs)
                for label, kwargs in compare.CACHE_RUNS if "timing" not in label}
    stale, no_cache, kit = runs.values()
    # A month-old file and no Cache-Control: Chromium reuses the plain answer (heuristic freshness,
    # 10% of its age) without asking Apache, and that answer has no ACAO: the CORS load fails.
    assert (stale.plain.load, stale.anonymous.load) == ("load", "error"), stale
    assert [(e.status, e.origin) for e in stale.log] == [(200, None)], stale
    # no-cache: Chromium revalidates with Origin; Apache's 304 carries the rule's ACAO, the load works.
    assert (no_cache.plain.load, no_cache.anonymous.verdict) == ("load", ("load", "ok", None)), no_cache
    assert [(e.status, e.acao) for e in no_cache.log] == [(200, None), (304, "*")], no_cache
    assert no_cache.log[1].if_none_match and no_cache.log[1].if_modified_since and no_cache.log[1].origin == page.rsplit("/img/", 1)[0]
    # serverconf's config sends no validators, as the lab: nothing to reuse, both loads reach Apache.
    assert kit.anonymous.verdict == ("load", "ok", None), kit
    assert [(e.status, e.mode, e.acao) for e in kit.log] == [(200, "no-cors", None), (200, "cors", "*")], kit
