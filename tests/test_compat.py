"""cors_lab/compat.json, the browser-compatibility table, stays what the model profiles predict.

The table is written from real runs of the three engines (`python -m cors_lab compat --write`). Here,
with no browser: every recorded engine value is what that engine's model profile predicts over the
lab's real servers, and every "standard" value is the spec profile's. A profile changed without the
table regenerated (or a table edited by hand) fails.
"""

import pytest

from cors_lab import compat, conformance, sequences
from cors_lab.servers import Lab
from cors_lab.spec.profiles import MEASURED

SHIPPED = compat.load()


@pytest.fixture(scope="module")
def predicted():
    """{profile: {behaviour id: the value the model predicts}}, over the lab's real servers."""
    out = {}
    with Lab() as lab:
        for profile in (*compat.ENGINES, "spec"):
            rows = conformance.run(compat.scenarios(), lab=lab, profile=profile)
            seqs = {n: (sequences.model(n, profile=profile),) * 2 for n in sequences.SEQUENCES}
            out[profile] = compat.rows_for(rows, seqs, side="model")
            if profile == "spec":
                out["standard"] = compat.rows_for(rows, seqs, side="spec")
    return out


def test_the_table_has_every_behaviour_once_with_the_measured_versions():
    assert [r["id"] for r in SHIPPED["rows"]] == [b.id for b in compat.BEHAVIOURS]
    for name in compat.ENGINES:
        assert MEASURED[name].endswith(SHIPPED["engines"][name]["version"]), name
    assert SHIPPED["command"] == "python -m cors_lab compat --write"


@pytest.mark.parametrize("engine", compat.ENGINES)
def test_each_engine_column_is_what_its_profile_predicts(predicted, engine):
    wrong = {r["id"]: (r[engine], predicted[engine].get(r["id"])) for r in SHIPPED["rows"]
             if r[engine] != predicted[engine].get(r["id"])}
    assert not wrong, f"regenerate with `python -m cors_lab compat --write`, or fix the {engine} profile: {wrong}"


def test_the_standard_column_is_the_spec_profile(predicted):
    for r in SHIPPED["rows"]:
        assert r["standard"] == predicted["standard"][r["id"]] == predicted["spec"][r["id"]], r["id"]


def test_the_table_teaches_where_engines_part_ways():
    """The groundwork's differences are in it, marked against the standard."""
    rows = {r["id"]: r for r in SHIPPED["rows"]}
    width = rows["sequence/width-reset-cleans"]
    assert (width["chromium"], width["firefox"], width["webkit"]) == ("ok", "SecurityError", "SecurityError")
    assert compat.departs(width, "firefox") and not compat.departs(width, "chromium")
    origin = rows["cookies/co='anonymous'/site#request 1 origin"]
    assert (origin["standard"], origin["firefox"], origin["chromium"]) == ("absent", "absent", "the page's origin")
    message = rows["op=getImageData/tainted#message"]
    assert message["firefox"] == "SecurityError: The operation is insecure." and not compat.departs(message, "chromium")


def test_the_table_renders_offline():
    t = compat.table("cache")
    assert t.rows and all("cache" in r["topic"] for r in t.rows)
    html = compat.table()._repr_html_()
    assert "firefox 153" in html and "differs from the standard" in html and "compat --write" in html
    assert "* differs from the standard" in str(compat.table("readback"))
