"""Canvas sequences in each real engine and in that engine's model profile: rules that one image and
one operation never show (cors_lab/sequences.py and sequences.js hold both sides).

Browser tier: each engine is skipped with the reason and the install command where it is missing.
"""

import re

import pytest

from cors_lab import sequences
from cors_lab.engines import ENGINE_NAMES, engine_class, unavailable_reason
from cors_lab.servers import Lab


def test_the_page_and_the_model_name_the_same_sequences():
    source = sequences.sequences_source()
    in_page = re.findall(r'^    "([a-zA-Z0-9-]+)": async', source, re.M)
    assert in_page == list(sequences.SEQUENCES)


@pytest.fixture(scope="module", params=ENGINE_NAMES)
def measured(request):
    """{sequence: result} from one real engine, all sequences in one page."""
    reason = unavailable_reason(request.param)
    if reason:
        pytest.skip(reason)
    with Lab() as lab, engine_class(request.param)() as engine:
        yield request.param, sequences.run_in_engine(engine, lab)


@pytest.mark.browser
@pytest.mark.parametrize("name", list(sequences.SEQUENCES))
def test_each_engine_does_what_its_model_profile_predicts(measured, name):
    engine, results = measured
    predicted = sequences.model(name, profile=engine)
    assert results[name] == predicted, f"{name}: {engine} did {results[name]!r}, its profile predicts {predicted!r}"
