"""Property tests: random header values and URLs never crash, and only what the spec allows passes."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cors_lab.errors import UsageError
from cors_lab.spec.fetch import cors_check, cors_settings_state, image_request
from cors_lab.spec.origins import origin_of, parse_origin, parse_url, same_origin

PAGE = "https://a.test"
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
acao_values = st.one_of(
    header_text,
    st.sampled_from(["*", " * ", "null", PAGE, PAGE + "/", "HTTPS://A.TEST", "https://a.test:443", ""]),
)
acac_values = st.one_of(st.none(), header_text, st.sampled_from(["true", "True", " true", "false"]))


def _request(page, crossorigin):
    r = image_request("https://b.test/i.png", page_origin=parse_origin(page), crossorigin=crossorigin)
    r.response_tainting = "cors"
    return r


@settings(max_examples=400, deadline=None)
@given(
    acao=st.lists(acao_values, max_size=3),
    acac=acac_values,
    crossorigin=st.sampled_from(["anonymous", "use-credentials"]),
    page=st.sampled_from([PAGE, "null"]),
)
def test_cors_check_passes_only_what_the_spec_allows(acao, acac, crossorigin, page):
    headers = [("Access-Control-Allow-Origin", v) for v in acao]
    if acac is not None:
        headers.append(("Access-Control-Allow-Credentials", acac))
    result = cors_check(_request(page, crossorigin), headers)
    ws = "\t\n\r "
    combined = ", ".join(v.strip(ws) for v in acao) if acao else None
    include = crossorigin == "use-credentials"
    serialized = "null" if page == "null" else PAGE
    expected = combined is not None and (
        (not include and combined == "*")
        or (combined == serialized and (not include or (acac is not None and acac.strip(ws) == "true")))
    )
    assert result.ok is expected
    assert isinstance(result.reason, str) and result.reason


urlish = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
        st.sampled_from(["http", "https", "HTTP", "ws", "ftp", "data", "blob", "file", "x-y"]),
        st.text(alphabet="abc.-[]:0123456789%@ÿé", max_size=20),
        st.one_of(st.just(""), st.integers(min_value=-5, max_value=70000).map(lambda p: f":{p}")),
        st.text(alphabet="/?#\\ab.", max_size=10),
    ),
)


@settings(max_examples=600, deadline=None)
@given(url=urlish)
def test_origin_parsing_never_crashes(url):
    try:
        origin = origin_of(url)
    except UsageError as err:
        assert "Invalid URL" in str(err) or "must be a string" in str(err)
        return
    text = origin.serialize()
    if origin.opaque:
        assert text == "null"
    else:
        # A tuple origin round-trips: parsing its serialisation gives the same origin.
        assert same_origin(origin_of(text), origin)
        assert origin.port is None or 0 <= origin.port <= 65535
        assert parse_url(url).scheme == origin.scheme


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.none(), st.text(max_size=20)))
def test_cors_settings_state_total(value):
    state = cors_settings_state(value)
    if value is None:
        assert state == "No CORS"
    elif value.lower() == "use-credentials" and value.isascii():
        assert state == "Use Credentials"
    else:
        assert state == "Anonymous"
