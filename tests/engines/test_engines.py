"""cors_lab.engines: Chromium, Firefox ESR and WebKitGTK run trial.js over the lab's real servers.

Every browser test runs once per engine (the ``engine`` fixture) and is skipped with the reason and
the install command where that engine is missing. The lab's request log is the witness for what
reached the network.
"""

import pytest

from cors_lab.engines import ENGINE_NAMES, EngineError, engine_class, unavailable_reason
from cors_lab.engines.base import BrowserUnavailable, EngineSettings, EngineUnavailable
from cors_lab.errors import UsageError
from cors_lab.trial import TRIAL_OPERATIONS, Trial as Scenario

pytestmark = pytest.mark.browser


def page(lab, tag):
    return lab.site.url("picture.png", nonce=f"page-{tag}")


def requests_for(lab, tag):
    return [e for e in lab.log() if tag in e.path and e.path.startswith("/img/")]


# --- No browser needed ------------------------------------------------------------------------------


def test_unknown_engine_name_is_a_usage_error():
    with pytest.raises(UsageError, match="firefox, webkit"):
        engine_class("safari")


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_missing_browser_is_reported_with_the_install_command(name, monkeypatch, tmp_path):
    env = {"chromium": "CORS_LAB_CHROMIUM", "firefox": "CORS_LAB_FIREFOX", "webkit": "CORS_LAB_WEBKIT_DRIVER"}[name]
    monkeypatch.setenv(env, str(tmp_path / "missing"))
    reason = unavailable_reason(name)
    assert reason and env in reason and "apt-get install" in reason
    with pytest.raises(EngineUnavailable, match="apt-get install") as caught:
        engine_class(name)().start()
    assert isinstance(caught.value, BrowserUnavailable)  # one except clause for every browser tier


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_an_engine_that_is_not_started_says_how_to_start_it(name):
    with pytest.raises(UsageError, match="not started"):
        with engine_class(name)().context():
            pass


def test_timeout_out_of_range_is_refused():
    with pytest.raises(UsageError, match="timeout_ms"):
        engine_class("firefox")(timeout_ms=5)


# --- Life cycle ----------------------------------------------------------------------------------------


def test_engine_reports_version_and_settings(engine):
    assert engine.version and engine.version[0].isdigit()
    settings = engine.settings
    assert isinstance(settings, EngineSettings) and settings.engine == engine.name
    for field in ("profile", "third_party_cookies", "storage_partitioning", "isolation", "display"):
        assert getattr(settings, field), field
    assert settings.as_dict()["version"] == engine.version


def test_a_second_engine_starts_and_stops_cleanly(engine, lab):
    other = type(engine)()
    with other:
        out = other.run_one(lab.site.url("picture.png", nonce="startstop"), page_url=page(lab, "startstop"))
        assert out.verdict == ("load", "ok", None)
    with pytest.raises(UsageError, match="not started"):
        other.run_one(lab.site.url("picture.png"), page_url=page(lab, "startstop"))


# --- One trial each: readable, tainted, load error ---------------------------------------------------


def test_cors_approved_image_is_readable(engine, lab):
    out = engine.run_one(lab.cdn.url("picture.png", acao="*", nonce="readable"), page_url=page(lab, "r"),
                         crossorigin="anonymous")
    assert out.verdict == ("load", "ok", None), out.steps
    assert out.engine == engine.name and out.page == lab.site.origin
    assert out.pixel is not None and out.origin_clean is True
    assert out.extra["engine_version"] == engine.version
    [request] = requests_for(lab, "readable")
    assert request.origin == lab.site.origin and request.mode == "cors"


@pytest.mark.parametrize("operation", [op for op in TRIAL_OPERATIONS if op != "drawImage"])
def test_cross_origin_image_without_cors_taints(engine, lab, operation):
    out = engine.run_one(lab.cdn.url("picture.png", nonce=f"tainted-{operation}"), page_url=page(lab, "t"),
                         operation=operation)
    assert out.verdict == ("load", "SecurityError", "SecurityError"), out.steps
    assert out.message and out.pixel is None


def test_webgl_is_available_so_texImage2D_is_measured(engine, lab):
    out = engine.run_one(lab.site.url("picture.png", nonce="webgl"), page_url=page(lab, "gl"), operation="texImage2D")
    assert out.exception != "NoWebGL", engine.settings.display
    assert out.verdict == ("load", "ok", None) and out.pixel is not None


def test_cors_failure_fires_error_and_never_reads(engine, lab):
    out = engine.run_one(lab.cdn.url("picture.png", nonce="loaderror"), page_url=page(lab, "e"),
                         crossorigin="anonymous")
    assert out.load == "error" and out.readback is None and out.pixel is None
    if engine.has_console:
        assert "Access-Control-Allow-Origin" in out.console


def test_the_lab_probe_page_works_as_the_page(engine, lab):
    """/probe loads trial.js itself under a strict CSP (no eval): the engine uses the page's own copy."""
    out = engine.run_one(lab.cdn.url("picture.png", acao="*", nonce="probe-page"), page_url=lab.site.probe_url(),
                         crossorigin="anonymous")
    assert out.verdict == ("load", "ok", None) and out.page == lab.site.origin


# --- Opaque origin -----------------------------------------------------------------------------------


def test_opaque_origin_page_sends_origin_null(engine, lab):
    readable, blocked = engine.run(
        [Scenario(lab.cdn.url("picture.png", acao="*", nonce="opaque-star"), "anonymous"),
         Scenario(lab.cdn.url("picture.png", acao=lab.site.origin, nonce="opaque-exact"), "anonymous")],
        page_url="null")
    assert readable.page == "null" and readable.verdict == ("load", "ok", None)
    assert blocked.load == "error"
    assert [r.origin for r in requests_for(lab, "opaque-")] == ["null", "null"]


# --- Isolation ---------------------------------------------------------------------------------------

STORE = "([key, value]) => { if (value !== null) localStorage.setItem(key, value); return localStorage.getItem(key); }"


def _visit(ctx, lab, *, login, image, key, value):
    """Log in (or not), load the cacheable image, and write or read a localStorage item."""
    if login:
        ctx.open(lab.site.login_url("alice"))
    ctx.open(page(lab, "iso"))
    out = ctx.trial(Scenario(image))
    return out, ctx.evaluate(STORE, [key, value])


def test_contexts_share_no_cache_cookie_or_storage(engine, lab):
    image = lab.site.url("picture.png", cache="max-age=3600", nonce="isolation")
    with engine.context() as first:
        out, stored = _visit(first, lab, login=True, image=image, key="cors-lab-iso", value="kept")
        assert out.verdict == ("load", "ok", None) and stored == "kept"
    with engine.context() as second:
        out, stored = _visit(second, lab, login=False, image=image, key="cors-lab-iso", value=None)
        assert out.verdict == ("load", "ok", None)
    assert stored is None, "localStorage leaked into the next context"
    first_request, second_request = requests_for(lab, "isolation")  # a leaked cache would give one
    assert first_request.cookies == {"cors_lab_user": "alice"}
    assert second_request.cookies == {}, "the login cookie leaked into the next context"


def test_one_context_does_share_cache_cookie_and_storage(engine, lab):
    """The control for the isolation test: the same checks see sharing inside one context."""
    image = lab.site.url("picture.png", cache="max-age=3600", nonce="shared")
    with engine.context() as ctx:
        _visit(ctx, lab, login=True, image=image, key="cors-lab-shared", value="kept")
        out, stored = _visit(ctx, lab, login=False, image=image, key="cors-lab-shared", value=None)
    assert out.verdict == ("load", "ok", None) and stored == "kept"
    [only_request] = requests_for(lab, "shared")
    assert only_request.cookies == {"cors_lab_user": "alice"}


def test_run_sequence_shares_the_cache_and_run_does_not(engine, lab):
    url = lab.cdn.url("picture.png", acao="*", cache="max-age=3600", nonce="seq")
    engine.run_sequence([Scenario(url, "anonymous"), Scenario(url, "anonymous")], page_url=page(lab, "s"))
    assert len(requests_for(lab, "seq")) == 1
    engine.run([Scenario(url, "anonymous"), Scenario(url, "anonymous")], page_url=page(lab, "s"))
    assert len(requests_for(lab, "seq")) == 3


def test_runner_reuses_one_context_and_deletes_cookies_between_scenarios(engine, lab):
    """runner(): a login cookie is not sent in the next scenario, though the context is reused; and a
    deletion never reaches into the scenario after it (logged in and out in turn, as the matrix does)."""
    with engine.runner() as runner:
        for i in range(6):
            login = i % 2 == 0
            page_url = lab.site.login_url("alice", nonce=f"run-cookie-page{i}") if login else page(lab, f"rc{i}")
            runner.run([Scenario(lab.site.url("picture.png", nonce=f"run-cookie-{i}x"))], page_url=page_url,
                       navigate=login)
        assert runner.fresh_contexts == 1, "the cheap isolation made a new context"
    for i in range(6):
        [request] = requests_for(lab, f"run-cookie-{i}x")
        expected = {"cors_lab_user": "alice"} if i % 2 == 0 else {}
        assert request.cookies == expected, f"scenario {i}: {'the login did not hold' if expected else 'a cookie leaked'}"


def test_runner_replaces_a_context_whose_storage_was_written(engine, lab):
    with engine.runner() as runner:
        runner.run([Scenario(lab.site.url("picture.png", nonce="run-store-1"))], page_url=page(lab, "run-store"))
        assert runner.context.evaluate(STORE, ["cors-lab-run", "kept"]) == "kept"
        runner.run([Scenario(lab.site.url("picture.png", nonce="run-store-2"))], page_url=page(lab, "run-store"))
        stored = runner.context.evaluate(STORE, ["cors-lab-run", None])
        assert runner.fresh_contexts == 2
    assert stored is None, "localStorage leaked into the next scenario"


def test_runner_keeps_the_cache_so_every_scenario_needs_its_own_urls(engine, lab):
    """The control for the runner's cache isolation: the same URL IS served from the cache across
    scenarios (so conformance gives every scenario its own URLs), unless a scenario asks for fresh."""
    url = lab.cdn.url("picture.png", acao="*", cache="max-age=3600", nonce="run-cache")
    with engine.runner() as runner:
        for _ in range(2):
            [out] = runner.run([Scenario(url, "anonymous")], page_url=page(lab, "rc"))
            assert out.verdict == ("load", "ok", None)
        assert len(requests_for(lab, "run-cache")) == 1
        runner.run([Scenario(url, "anonymous")], page_url=page(lab, "rc"), fresh=True)
    assert len(requests_for(lab, "run-cache")) == 2


def test_runner_renames_the_document_instead_of_loading_it(engine, lab):
    """navigate=False: the page's URL (the Referer's source) without a page load."""
    with engine.runner() as runner:
        for i in range(2):
            runner.run([Scenario(lab.site.url("picture.png", nonce=f"run-rename-{i}x"))],
                       page_url=page(lab, f"rn{i}"), navigate=False)
    pages = [e.path for e in lab.log() if "page-rn" in e.path]
    referers = [requests_for(lab, f"run-rename-{i}x")[0].referer for i in range(2)]
    assert pages == ["/img/picture.png?nonce=page-rn0"], "the second page was loaded, not renamed"
    assert referers == [page(lab, "rn0"), page(lab, "rn1")]


def test_a_document_renamed_past_the_rate_limit_is_loaded_afresh(engine, lab):
    """WebKit throws SecurityError after 100 history.replaceState calls in 10 s: past RENAMES_PER_DOCUMENT
    renames the page is loaded again, so a fast run of the whole matrix never hits the limit."""
    from cors_lab.engines.base import RENAMES_PER_DOCUMENT

    count = RENAMES_PER_DOCUMENT + 20
    with engine.context() as ctx:
        for i in range(count):
            ctx.open(page(lab, f"rl{i}x"), navigate=i == 0)
            assert ctx.evaluate("() => location.href") == page(lab, f"rl{i}x")
    loaded = [e.path for e in lab.log() if "page-rl" in e.path]
    assert loaded == [f"/img/picture.png?nonce=page-rl{i}x" for i in (0, RENAMES_PER_DOCUMENT + 1)]


def test_runner_opaque_page_inside_a_lab_page(engine, lab):
    """An opaque-origin scenario in a reused context: the sandboxed frame sits in a lab page."""
    with engine.runner() as runner:
        runner.run([Scenario(lab.site.url("picture.png", nonce="run-op-0"))], page_url=page(lab, "run-op"))
        [out] = runner.run([Scenario(lab.cdn.url("picture.png", acao="*", nonce="run-op-1"), "anonymous")],
                           page_url="null", top_url=page(lab, "run-op-top"))
    assert out.page == "null" and out.verdict == ("load", "ok", None)
    assert [r.origin for r in requests_for(lab, "run-op-1")] == ["null"]


# --- Nothing hangs -----------------------------------------------------------------------------------


def test_image_server_that_never_answers_times_out(engine, lab, silent):
    out = engine.run_one(f"{silent}/never.png", page_url=page(lab, "silent"), timeout_ms=300)
    assert out.load == "error" and out.message == "timeout" and out.extra["timed_out"] is True


def test_page_that_never_loads_is_an_engine_error(lab, silent, engine):
    quick = type(engine)(timeout_ms=200)
    with quick, quick.context() as ctx:
        with pytest.raises(EngineError, match="could not open"):
            ctx.open(f"{silent}/page")


def test_javascript_exception_in_evaluate_is_an_engine_error_naming_it(engine, lab):
    with engine.context() as ctx:
        ctx.open(page(lab, "evaluate"))
        assert ctx.evaluate("(x) => x * 2", 21) == 42
        with pytest.raises(EngineError, match="RangeError"):
            ctx.evaluate("() => { throw new RangeError('kaboom'); }")
