"""Tests for cors_lab.predict: the public contract and the lessons' surprising cases, end to end."""

import pytest

from cors_lab import OPERATIONS, Outcome, UsageError, predict

A, B, C = "https://a.test", "https://b.test", "https://c.test"
STAR = [("Access-Control-Allow-Origin", "*")]


def one(url, headers, **kw):
    kw.setdefault("page", A)
    return predict(chain=[(url, 200, headers)], **kw)


@pytest.mark.parametrize(
    "kw, load, readback, exception",
    [
        pytest.param(dict(url=B + "/i.png", headers=[]), "load", "SecurityError", "SecurityError",
                     id="no-crossorigin-cross-origin-taints"),
        pytest.param(dict(url=B + "/i.png", headers=STAR), "load", "SecurityError", "SecurityError",
                     id="no-crossorigin-acao-star-still-taints"),
        pytest.param(dict(url=B + "/i.png", headers=[], crossorigin="anonymous"), "error", None, "InvalidStateError",
                     id="crossorigin-no-acao-is-load-error-not-taint"),
        pytest.param(dict(url=B + "/i.png", headers=STAR, crossorigin="anonymous"), "load", "ok", None,
                     id="anonymous-acao-star-readable"),
        pytest.param(dict(url=B + "/i.png", headers=STAR, crossorigin="foo"), "load", "ok", None,
                     id="invalid-crossorigin-is-anonymous"),
        pytest.param(dict(url=B + "/i.png", headers=STAR + [("Access-Control-Allow-Credentials", "true")],
                          crossorigin="use-credentials"), "error", None, "InvalidStateError",
                     id="use-credentials-star-fails-even-with-acac-true"),
        pytest.param(dict(url=B + "/i.png", headers=[("Access-Control-Allow-Origin", A), ("Access-Control-Allow-Credentials", "True")],
                          crossorigin="use-credentials"), "error", None, "InvalidStateError", id="acac-True-fails"),
        pytest.param(dict(url=B + "/i.png", headers=[("Access-Control-Allow-Origin", A), ("Access-Control-Allow-Credentials", "true")],
                          crossorigin="use-credentials"), "load", "ok", None, id="use-credentials-exact-acac-true-readable"),
        pytest.param(dict(url=B + "/i.png", headers=[("Access-Control-Allow-Origin", A + "/")], crossorigin="anonymous"),
                     "error", None, "InvalidStateError", id="trailing-slash-fails"),
        pytest.param(dict(url=B + "/i.png", headers=[("Access-Control-Allow-Origin", "HTTPS://A.TEST")], crossorigin="anonymous"),
                     "error", None, "InvalidStateError", id="different-case-fails"),
        pytest.param(dict(url=B + "/i.png", headers=STAR + STAR, crossorigin="anonymous"), "error", None, "InvalidStateError",
                     id="two-acao-headers-fail"),
        pytest.param(dict(url=B + "/i.png", headers=[("Access-Control-Allow-Origin", f"{A}, {C}")], crossorigin="anonymous"),
                     "error", None, "InvalidStateError", id="comma-list-fails"),
        pytest.param(dict(url=B + "/i.png", headers=[("Access-Control-Allow-Origin", " * ")], crossorigin="anonymous"),
                     "load", "ok", None, id="padded-star-passes"),
        pytest.param(dict(url="data:image/png;base64,iVBORw0KGgo=", headers=[]), "load", "ok", None,
                     id="data-url-never-taints"),
        pytest.param(dict(url="data:image/png;base64,iVBORw0KGgo=", headers=[], crossorigin="anonymous"), "load", "ok", None,
                     id="data-url-with-crossorigin-readable"),
        pytest.param(dict(url="https://a.test:8443/i.png", headers=[]), "load", "SecurityError", "SecurityError",
                     id="port-difference-is-cross-origin"),
        pytest.param(dict(url="http://a.test/i.png", headers=[]), "load", "SecurityError", "SecurityError",
                     id="scheme-difference-is-cross-origin"),
        pytest.param(dict(url="http://a.test:80/i.png", headers=[], page="http://a.test"), "load", "ok", None,
                     id="default-port-equals-no-port"),
        pytest.param(dict(url=A + "/i.png", headers=[], decodes=False), "error", None, "InvalidStateError",
                     id="broken-body-is-load-error"),
        pytest.param(dict(url=B + "/i.png", headers=[("Access-Control-Allow-Origin", "null")], crossorigin="anonymous",
                          page="null"), "load", "ok", None, id="opaque-page-acao-null-readable"),
        pytest.param(dict(url=B + "/i.png", headers=[("Access-Control-Allow-Origin", A)], crossorigin="anonymous",
                          page="null"), "error", None, "InvalidStateError", id="opaque-page-exact-origin-fails"),
    ],
)
def test_predict_verdicts(kw, load, readback, exception):
    url, headers = kw.pop("url"), kw.pop("headers")
    r = one(url, headers, **kw)
    assert r.verdict == (load, readback, exception)
    assert "https://" in r.why and r.engine == "model"


@pytest.mark.parametrize(
    "operation, exception",
    [
        ("drawImage", None),
        ("getImageData", "SecurityError"),
        ("toDataURL", "SecurityError"),
        ("toBlob", "SecurityError"),
        ("captureStream", "SecurityError"),
        ("convertToBlob", "SecurityError"),
        ("texImage2D", "SecurityError"),
        ("createImageBitmap", "SecurityError"),
        ("pattern", "SecurityError"),
        ("canvas-to-canvas", "SecurityError"),
        ("transferToImageBitmap", "SecurityError"),
    ],
)
def test_every_operation_on_a_tainting_image(operation, exception):
    r = one(B + "/i.png", [], operation=operation)
    assert r.load == "load" and r.readback == "SecurityError" and r.exception == exception


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_on_a_broken_image(operation):
    r = one(B + "/i.png", [], crossorigin="anonymous", operation=operation)
    assert r.load == "error" and r.readback is None
    # texImage2D records a GL error (INVALID_VALUE) instead of throwing, as Chromium does.
    assert r.exception == (None if operation == "texImage2D" else "InvalidStateError")


def test_required_operations_present():
    for name in ("drawImage", "getImageData", "toDataURL", "toBlob", "captureStream", "convertToBlob",
                 "texImage2D", "createImageBitmap", "pattern", "canvas-to-canvas"):
        assert name in OPERATIONS


def test_redirect_back_to_page_needs_star_or_null():
    chain = [(B + "/r", 302, [("Location", A + "/i.png")] + STAR), (A + "/i.png", 200, [("Access-Control-Allow-Origin", A)])]
    r = predict(page=A, chain=chain, crossorigin="anonymous")
    assert r.load == "error" and [h.origin for h in r.requests] == [A, "null"]
    chain[1] = (A + "/i.png", 200, STAR)
    assert predict(page=A, chain=chain, crossorigin="anonymous").readback == "ok"


def test_requests_report_origin_and_cookies():
    r = predict(page="http://127.0.0.1:1", chain=[("http://127.0.0.1:2/i", 200, [])], cookies=True)
    (hop,) = r.requests
    assert hop.origin is None and hop.cookies and hop.sec_fetch_mode == "no-cors" and hop.sec_fetch_site == "same-site"
    r = predict(page="http://127.0.0.1:1", chain=[("http://127.0.0.1:2/i", 200, STAR)], crossorigin="anonymous", cookies=True)
    assert r.requests[0].origin == "http://127.0.0.1:1" and not r.requests[0].cookies


def test_why_names_the_rule_with_anchor():
    assert "#concept-cors-check" in one(B + "/i", [], crossorigin="anonymous").why
    assert "#security-with-canvas-elements" in one(B + "/i", []).why
    assert "opaque" in one(B + "/i", []).why


def test_message_is_chromiums():
    r = one(B + "/i", [])
    assert r.message == ("Failed to execute 'getImageData' on 'CanvasRenderingContext2D': "
                         "The canvas has been tainted by cross-origin data.")
    assert "No 'Access-Control-Allow-Origin' header" in one(B + "/i", [], crossorigin="anonymous").console


@pytest.mark.parametrize(
    "kw, match",
    [
        pytest.param(dict(operation="readPixels"), "Unknown operation", id="unknown-operation"),
        pytest.param(dict(browser="safari"), "Unknown engine profile", id="unknown-browser"),
        pytest.param(dict(engine="safari"), "Unknown engine profile", id="unknown-engine"),
        pytest.param(dict(engine="firefox", browser="chromium"), "disagree", id="engine-and-browser-disagree"),
        pytest.param(dict(page="not a url"), "Invalid URL", id="bad-page"),
        pytest.param(dict(crossorigin=1), "crossorigin must be None", id="bad-crossorigin"),
    ],
)
def test_predict_bad_input(kw, match):
    with pytest.raises(UsageError, match=match):
        one(B + "/i", [], **kw)


def test_predict_chain_must_be_list():
    with pytest.raises(UsageError, match="chain must be a list"):
        predict(page=A, chain="https://b.test/i")


def test_outcome_repr_and_compare():
    model = one(B + "/i", [])
    browser = model.with_engine("browser", readback="ok", exception=None)
    assert model.differences(browser) == [
        "readback: model says 'SecurityError', browser says 'ok'",
        "exception: model says 'SecurityError', browser says None",
    ]
    assert not model.agrees_with(browser) and model.agrees_with(model)
    assert "tainted" in str(model) or "threw" in str(model)
    assert "<table>" in model._repr_html_()
    with pytest.raises(ValueError):
        Outcome(load="maybe", readback=None, exception=None)
