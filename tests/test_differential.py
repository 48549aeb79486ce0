"""The random differential tester: the generator, the minimizer, the grouping, and a random budget.

The model-vs-kernel run works everywhere; the Chromium run is the browser tier. Each random run
prints its seed (``CORS_LAB_SEED=S`` repeats it): one fixed seed, so CI is reproducible, and one
fresh seed per run, so CI keeps exploring.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest

from cors_lab import conformance, differential
from cors_lab.differential import describe, minimize, random_scenarios, simplifications
from cors_lab.servers import Lab

FIXED_SEED = 20261130
# The CI budget per engine: a fixed-seed run and a fresh-seed run of this many scenarios each.
CI_SCENARIOS = 40


@pytest.fixture(scope="module")
def lab():
    with Lab() as running:
        yield running


def _seed() -> int:
    return differential.fresh_seed()


def test_the_same_seed_gives_the_same_scenarios():
    assert random_scenarios(50, seed=3) == random_scenarios(50, seed=3)
    assert random_scenarios(50, seed=3) != random_scenarios(50, seed=4)


def test_scenarios_cover_every_dimension():
    drawn = random_scenarios(800, seed=FIXED_SEED)
    assert {s.page for s in drawn} == {"site", "cdn", "other", "null"}
    assert {s.top for s in drawn if s.page == "null"} == {None, "site", "cdn", "other"}
    assert {len(s.via) for s in drawn} == {0, 1, 2, 3}
    assert {dict(h)["status"] for s in drawn for h in s.per_hop} == {301, 302, 303, 307, 308}
    assert {s.crossorigin for s in drawn} >= {None, "", "anonymous", "use-credentials", "Anonymous", "foo"}
    assert {s.samesite for s in drawn if s.login} == {"Lax", "Strict", "None"}
    knobs = {k for s in drawn for k, _ in s.knobs}
    assert knobs >= {"acao", "acac", "apache", "vary", "cache", "ctype", "nosniff", "truncate", "status"}
    assert any(s.before for s in drawn)


def test_every_drawn_scenario_builds_on_a_lab(lab):
    for i, s in enumerate(random_scenarios(300, seed=FIXED_SEED)):
        built = s.build(lab, f"b9x{i:04d}i")
        first = s.via[0] if s.via else s.target  # the URL the <img> asks for: the first hop's
        assert built.url.startswith(lab[first].origin + "/img/" + s.asset)


def test_simplifications_are_each_one_step_simpler():
    (s,) = [s for s in random_scenarios(400, seed=FIXED_SEED) if s.login and s.via and s.knobs and s.page == "null"][:1]
    steps = list(simplifications(s))
    assert replace(s, login=False, samesite="Lax") in steps
    assert all(step != s for step in steps)


def test_minimize_keeps_the_difference_and_drops_the_rest():
    s = next(s for s in random_scenarios(400, seed=FIXED_SEED) if s.crossorigin == "use-credentials" and s.via)
    smallest, tries = minimize(s, lambda c: c.crossorigin == "use-credentials")
    assert smallest.crossorigin == "use-credentials" and smallest.via == () and smallest.knobs == ()
    assert smallest.page == "site" and not smallest.login and tries > 0
    assert "crossorigin='use-credentials'" in describe(smallest)


class _Disagreeing:
    """An engine that agrees with the kernel browser, except that it never sends Referer."""

    name = "chromium"  # predicted with Chromium's profile, as the kernel browser here browses

    def __init__(self, lab):
        self.lab = lab

    @contextlib.contextmanager
    def runner(self):
        yield self

    def run(self, trials, *, page_url, top_url=None, fresh=False, navigate=True, login_url=None):
        from cors_lab.browser import Browser

        b = Browser(page_url, container=top_url)
        for visit in (login_url, page_url if navigate and "/login" in page_url else None):
            if visit:
                b.login(visit)
        return [b.load_image(t.url, crossorigin=t.crossorigin).outcome(t.operation) for t in trials]


def test_classify_groups_a_difference_and_minimizes_it(lab, monkeypatch):
    # The fake engine is the kernel browser, so only what conformance reads from the log differs:
    # strip the kernel's Referer from what the "engine" logs to make one class of difference.
    real = conformance._requests

    def requests(lab_, *, tag, client, built):
        rows = real(lab_, tag=tag, client="kernel", built=built)
        return [dict(r, referer=None) for r in rows] if tag.startswith("e") else rows

    monkeypatch.setattr(conformance, "_requests", requests)
    scenarios = [s for s in random_scenarios(60, seed=FIXED_SEED) if s.page != "null" and not s.before][:6]
    rows = conformance.run(scenarios, lab=lab, harness=_Disagreeing(lab))
    labels = differential.lab_labels(lab)
    keys = differential.count_keys(rows, labels)
    assert any(k[0] == "request" and k[2] == "referer" for k in keys), keys
    classes = differential.classify(rows, lab=lab, harness=_Disagreeing(lab), labels=labels, examples_per_key=1,
                                    budget=30)
    assert classes and all(c.example.minimized is not None for c in classes)
    # Minimized: nothing is left that the difference does not need.
    assert any(not c.example.minimized.via and not c.example.minimized.knobs for c in classes)


@pytest.mark.parametrize("which", ["fixed", "fresh"])
def test_random_scenarios_model_and_kernel_agree(lab, which):
    seed = FIXED_SEED if which == "fixed" else _seed()
    report = differential.run_random(200, seed=seed, lab=lab, examples_per_key=1, minimize_budget=40)
    assert not report.unexplained, f"seed {seed} (repeat: CORS_LAB_SEED={seed})\n" + report.text()


@pytest.mark.browser
@pytest.mark.parametrize("engine, which", [("chromium", "fixed"), ("chromium", "fresh"), ("firefox", "fixed"),
                                           ("webkit", "fixed")])
def test_random_scenarios_agree_with_each_engine(lab, engine, which):
    """The CI random budget: CI_SCENARIOS scenarios, model and kernel browser (each engine's profile) vs
    the engine, every engine on the fixed seed and Chromium on a fresh one per run too. Fresh seeds in
    Firefox and WebKit still find new classes now and then (two in the last full runs: a cut SVG in
    Firefox, an SVG pattern in WebKit), so they run from the command line (`--random N --engine E`)
    until those are modelled, not in CI."""
    from cors_lab.engines import engine_class, unavailable_reason
    from cors_lab.spec.profiles import ENGINE_LABELS

    reason = unavailable_reason(engine)
    if reason:
        pytest.skip(reason)
    seed = FIXED_SEED if which == "fixed" else _seed()
    with engine_class(engine)() as running:
        report = differential.run_random(CI_SCENARIOS, seed=seed, lab=lab, harness=running,
                                         engine=f"{ENGINE_LABELS[engine]} {running.version}", examples_per_key=1,
                                         minimize_budget=40)
    assert report.total == CI_SCENARIOS
    assert not report.unexplained, f"seed {seed} (repeat: CORS_LAB_SEED={seed} or --seed {seed} --engine {engine})\n" \
        + report.text()
