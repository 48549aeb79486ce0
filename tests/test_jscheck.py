"""cors_lab.jscheck: the JavaScript exercise's page, run in a real Chromium (headless here; the learner's
own through the live probe), and the grading of what it records.

Grading tests feed records shaped as jscheck.js writes them; the browser tests run learners' bodies,
right and wrong, and require the verdict and the hint each one earns.
"""

from __future__ import annotations

import json
import re

import pytest
from live_page import attach, page_says

from cors_lab import jscheck
from cors_lab.errors import UsageError
from cors_lab.exercises import JS_SOLUTION, JS_STARTER, Later, check

RIGHT = JS_SOLUTION.split('"""')[1]
STARTER = JS_STARTER.split('"""')[1]
NO_ONERROR = RIGHT.replace('img.onerror = () => report("load error");\n', "")
NO_CATCH = RIGHT.replace("try { report(ctx.getImageData(0, 0, 1, 1).data); } catch (e) { report(e.name); }",
                         "report(ctx.getImageData(0, 0, 1, 1).data);")
LATE = RIGHT.replace('img.crossOrigin = "anonymous";\n', "").replace("img.src = url;", 'img.src = url;\nimg.crossOrigin = "anonymous";')
EARLY_READ = RIGHT.replace("img.src = url;", "img.src = url;\nreport(canvas.getContext(\"2d\").getImageData(0, 0, 1, 1).data);")
# What a right answer must do, said in the words of the answer: no hint may contain them.
ANSWER_WORDS = re.compile(r"crossOrigin\s*=|\"anonymous\"|onerror|\btry\b|catch\s*\(|\.onload\b")
needs_chromium = pytest.mark.skipif(jscheck.chromium_reason() is not None, reason=jscheck.chromium_reason() or "")


def record(name, *, value=None, reported=None, uncaught=(), images=None, calls=None):
    reported = value is not None if reported is None else reported
    return {"name": name, "reported": reported, "value": value, "calls": calls if calls is not None else int(reported),
            "uncaught": list(uncaught), "tainted": name == "tainted" or None, "ms": 12,
            "images": images if images is not None else [{"src": "u", "crossOriginAtSrc": "anonymous", "crossOriginLater": False}]}


def result(**by_case):
    cases = {"allowed": record("allowed", value=list(jscheck.PICTURE_PIXEL)), "refused": record("refused", value="load error"),
             "tainted": record("tainted", value="SecurityError")}
    cases.update(by_case)
    return {"defined": True, "syntax": None, "cases": list(cases.values())}


def test_the_picture_pixel_is_the_lab_picture_s():
    from cors_lab.assets import decode_image, get_asset

    decoded = decode_image(get_asset(jscheck.PICTURE).body, content_type="image/png")
    assert (decoded.width, decoded.height) == jscheck.SIZE and decoded.pixel(0, 0) == jscheck.PICTURE_PIXEL


def test_the_page_escapes_the_learner_s_code_and_gives_each_case_a_fresh_url():
    asked = []

    def urls(knobs):
        asked.append(knobs)
        return f"http://127.0.0.1:1/img/picture.png?n={len(asked)}&x=</script>"

    srcdoc = jscheck.page("const s = '</script><!--';", urls=urls)
    assert "const s = '<\\/script><\\!--';" in srcdoc
    last = srcdoc.rsplit("corsLabJsCheck.start(", 1)[1]
    spec = json.loads(last.split(");</script>")[0])
    assert [c["name"] for c in spec["cases"]] == [c.name for c in jscheck.CASES]
    assert len(asked) == len(jscheck.CASES) + 1 and len({c["url"] for c in spec["cases"]}) == len(jscheck.CASES)
    assert spec["cases"][2]["taint"] and not spec["cases"][0]["taint"] and last.count("</script") == 1
    with pytest.raises(UsageError, match="as a string"):
        jscheck.page(None, urls=urls)


def test_a_right_record_passes():
    ok, text = jscheck.grade(result())
    assert ok and text.startswith("Right") and text.count("✔") == 3


@pytest.mark.parametrize("case, rec, says", [
    ("allowed", record("allowed", uncaught=["SecurityError: tainted"]), "tainted"),
    ("allowed", record("allowed", value="SecurityError"), "tainted"),
    ("allowed", record("allowed", value=[0, 0, 0, 0]), "before the picture was drawn"),
    ("allowed", record("allowed"), "never called"),
    ("allowed", record("allowed", value="done"), "instead of the first pixel"),
    ("refused", record("refused"), "Which event does an image fire"),
    ("refused", record("refused", uncaught=["SecurityError: x"]), "arrived without CORS"),
    ("tainted", record("tainted", uncaught=["SecurityError: x"]), "handle an exception"),
    ("tainted", record("tainted", value=[1, 2, 3, 4]), "resizing it wipes"),
])
def test_each_wrong_record_fails_with_a_hint_that_is_not_the_answer(case, rec, says):
    ok, text = jscheck.grade(result(**{case: rec}))
    assert not ok and says in text and text.count("✘") == 1
    assert not ANSWER_WORDS.search(text), text


def test_no_hint_holds_the_answer():
    for hint in [*jscheck.HINTS.values(), jscheck.NOTHING_HAPPENED, jscheck.HOW_TO_CHECK, jscheck.LATE]:
        assert not ANSWER_WORDS.search(hint), hint


def test_src_before_crossorigin_passes_with_a_note():
    late = record("allowed", value=list(jscheck.PICTURE_PIXEL),
                  images=[{"src": "u", "crossOriginAtSrc": None, "crossOriginLater": True}])
    ok, text = jscheck.grade(result(allowed=late))
    assert ok and jscheck.LATE in text


@pytest.mark.parametrize("page_said, says", [
    ({"error": "no answer from the page after 14000 ms"}, "loop forever"),
    ({"defined": False, "syntax": "SyntaxError: Unexpected token ';'", "cases": []}, "does not run: SyntaxError"),
    ({"defined": False, "syntax": None, "cases": []}, "was not defined"),
    (result(allowed=record("allowed", images=[]), refused=record("refused", images=[]), tainted=record("tainted", images=[])),
     "not a whole function"),
])
def test_pages_that_ran_nothing_say_why(page_said, says):
    ok, text = jscheck.grade(page_said)
    assert not ok and says in text


@pytest.fixture(scope="module")
def lab():
    from cors_lab.servers import Lab

    with Lab() as lab:
        yield lab


BODIES = {  # name -> (body, what each case records)
    "right": (RIGHT, {"allowed": "ok", "refused": "ok", "tainted": "ok"}),
    "starter": (STARTER, {"allowed": "tainted", "refused": "uncaught", "tainted": "uncaught"}),
    "no-onerror": (NO_ONERROR, {"allowed": "ok", "refused": "silent", "tainted": "ok"}),
    "no-catch": (NO_CATCH, {"allowed": "ok", "refused": "ok", "tainted": "uncaught"}),
    "src-first": (LATE, {"allowed": "ok", "refused": "ok", "tainted": "ok"}),
    "early-read": (EARLY_READ, {"allowed": "blank", "refused": "pixel", "tainted": "ok"}),
}


@pytest.fixture(scope="module")
def ran(lab):
    """Every body of BODIES, run in one headless Chromium (one start-up for all)."""
    names = sorted(BODIES)
    pages = [jscheck.page(BODIES[n][0], urls=jscheck.lab_urls(lab)) for n in names]
    return dict(zip(names, jscheck.run_pages_in_chromium(pages, timeout=len(pages) * jscheck.CHILD_TIMEOUT)))


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("name", sorted(BODIES))
def test_learners_bodies_in_chromium(ran, name):
    body, happened = BODIES[name]
    said = ran[name]
    records = {r["name"]: r for r in said["cases"]}
    assert {c.name: jscheck.what_happened(c, records[c.name]) for c in jscheck.CASES} == happened, said
    ok, text = jscheck.grade(said)
    assert ok is all(h == "ok" for h in happened.values())
    assert not ANSWER_WORDS.search(text.replace(jscheck.LATE, ""))
    if body is LATE:  # measured: src first, then crossOrigin in one task: one request, in cors mode
        assert records["allowed"]["images"][0]["crossOriginAtSrc"] is None and jscheck.LATE in text


@pytest.mark.browser
@needs_chromium
def test_an_endless_loop_is_stopped_and_said(lab):
    said = jscheck.run_in_chromium(jscheck.page("while (true) {}", urls=jscheck.lab_urls(lab)), timeout=5,
                                   page_wait_ms=30_000)
    assert "did not finish within 5 s" in said["error"]
    assert not jscheck.grade(said)[0]


@pytest.mark.browser
@needs_chromium
def test_the_live_probe_runs_the_same_page_and_the_verdict_arrives_later(lab, probe):
    attach(probe, lab)
    later = check_result(6, RIGHT, probe=probe)
    assert isinstance(later, Later) and later.verdict is None
    item = next(p for p in probe.frame.pending if "script" in p)
    assert 'crossOrigin = "anonymous"' in item["script"] and item["wait_ms"] == jscheck.wait_ms()
    said = jscheck.run_in_chromium(item["script"])  # the browser's part, as live.js runs it: one sandboxed frame
    page_says(probe, {"type": "report", "report": {"id": item["id"], "result": said, "round_trip_ms": 50.0, "view": 1}})
    assert later.verdict[0] is True and probe.scripts[item["id"]] == said
    assert not any("script" in p for p in probe.frame.pending)
    assert "✔ Right" in "".join(o.get("text", "") for o in later.output.outputs)


def check_result(number, answer, **options):
    from cors_lab.exercises import EXERCISES

    return next(e for e in EXERCISES if e.number == number).check(answer, **options)


def test_a_probe_that_is_not_attached_is_not_used(lab, probe, monkeypatch):
    monkeypatch.setattr(jscheck, "chromium_reason", lambda: "no Chromium in this test")
    ok, text = check_result(6, RIGHT, probe=probe)
    assert not ok and text.startswith(jscheck.HOW_TO_CHECK) and not probe.frame.pending


def test_a_probe_with_a_problem_is_not_used_and_its_problem_is_said(lab, probe, monkeypatch):
    monkeypatch.setattr(jscheck, "chromium_reason", lambda: "no Chromium in this test")
    attach(probe, lab, hub=True, origin="https://hub.example")
    ok, text = check_result(6, RIGHT, probe=probe)
    assert not ok and "The probe: Jupyter is open at https://hub.example" in text and not probe.frame.pending


def test_live_js_runs_scripts_in_a_sandboxed_frame_and_reports_them():
    source = (jscheck.Path(jscheck.__file__).with_name("live.js")).read_text()
    assert "else if (item.script) runScript(item);" in source
    assert 'sandbox: "allow-scripts"' in source and jscheck.RESULT_MESSAGE in source
    assert jscheck.RESULT_MESSAGE in jscheck.RUNNER.read_text()


def test_check_prints_the_later_verdict_box(lab, probe, capsys, monkeypatch):
    attach(probe, lab)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    check(6, RIGHT, probe=probe)
    assert isinstance(shown[0], Later) and capsys.readouterr().out == ""


# live.js in a page of its own, with a stand-in for anywidget's model: its script path, end to end.
RENDER_LIVE_JS = """async ([source, state]) => {
  const sent = [];
  const handlers = {};
  const model = { get: (k) => state[k], on: (e, f) => { handlers[e] = f; }, off: () => {}, send: (m) => sent.push(m) };
  const live = await import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  const el = document.createElement("div");
  document.body.appendChild(el);
  live.default.render({ model, el });
  const until = async (ok, ms) => {
    const t0 = performance.now();
    while (!ok()) {
      if (performance.now() - t0 > ms) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  };
  if (!(await until(() => el.dataset.corsLabState === "ready", 8000))) return { error: "the probe page never got ready" };
  state.pending = [{ id: "s1", script: state.script, wait_ms: state.wait_ms }];
  handlers["change:pending"]();
  await until(() => sent.some((m) => m.type === "report" && m.report.id === "s1"), state.wait_ms + 2000);
  const frames = el.querySelectorAll("iframe[sandbox='allow-scripts']").length;
  return { report: sent.find((m) => m.type === "report" && m.report.id === "s1"), frames };
}"""


@pytest.mark.browser
@needs_chromium
def test_live_js_runs_the_page_under_the_probe_and_reports_it_in_chromium(lab, chromium):
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(lab.site.origin + "/")  # a page on the lab's site origin, as the notebook's is same-site
        state = {"probe_id": "p", "probe_src": lab.site.probe_url(), "lab_host": lab.host, "mode": "site",
                 "trial_js": "", "server_url": "", "pending": [], "ready_timeout_ms": 8000,
                 "script": jscheck.page(RIGHT, urls=jscheck.lab_urls(lab)), "wait_ms": jscheck.wait_ms()}
        got = page.evaluate(RENDER_LIVE_JS, [jscheck.RUNNER.with_name("live.js").read_text(), state])
    finally:
        context.close()
    assert got.get("report"), got
    assert got["frames"] == 1 and got["report"]["report"]["view"] == 1
    ok, text = jscheck.grade(got["report"]["report"]["result"])
    assert ok, text
