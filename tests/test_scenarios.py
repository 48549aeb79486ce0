"""The scenario matrix: large enough, unique, and covering every knob class and operation."""

from cors_lab.predict import OPERATIONS
from cors_lab.scenarios import ACAO_VALUES, CROSSORIGIN_VALUES, matrix


def test_matrix_size_and_unique_ids():
    m = matrix()
    assert len(m) >= 300
    assert len({s.id for s in m}) == len(m)


def test_matrix_covers_every_knob_class():
    m = matrix()
    assert {s.operation for s in m} == set(OPERATIONS)
    assert {s.crossorigin for s in m} >= set(CROSSORIGIN_VALUES)
    assert all(any(f"acao={name}" in s.id for s in m) for name in ACAO_VALUES)
    assert {s.target for s in m} == {"site", "cdn", "other"}
    assert any(s.page == "null" for s in m) and any(s.before for s in m) and any(s.via for s in m)
    assert any(s.login for s in m) and {s.status for s in m if s.via} == {301, 302, 303, 307, 308}


def test_curated_cases_cite_their_source():
    curated = [s for s in matrix() if s.id.startswith("wpt/")]
    assert len(curated) >= 10
    assert all(s.source for s in curated)


def test_no_two_built_scenarios_share_a_url():
    """What lets one browser context run the whole matrix (cors_lab.engines.base.ScenarioRunner):
    a cache entry is keyed by URL, and no URL of one scenario is a URL of another."""
    from cors_lab.servers import Lab

    with Lab() as lab:
        owner = {}
        for i, s in enumerate(matrix()):
            built = s.build(lab, f"e1x{i:04d}i")
            for url in set(built.urls()):
                assert url not in owner, f"{s.id} and {owner[url]} both load {url}"
                owner[url] = s.id
