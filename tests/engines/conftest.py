"""Fixtures for the engines tier: one started engine per module and name, skipped with the reason and
the install command where that engine is missing; a running lab (the never-answering `silent` port is in tests/conftest.py)."""

import pytest

from cors_lab.engines import ENGINE_NAMES, engine_class, unavailable_reason
from cors_lab.servers import Lab


@pytest.fixture(scope="module", params=ENGINE_NAMES)
def engine(request):
    """A started engine (Chromium, Firefox ESR, WebKitGTK); skips with the reason and install command when missing."""
    reason = unavailable_reason(request.param)
    if reason:
        pytest.skip(reason)
    with engine_class(request.param)(timeout_ms=5000) as started:
        yield started


@pytest.fixture(scope="module")
def lab(engine):
    """A running lab per engine, so one engine's requests never appear in another's log."""
    with Lab() as running:
        yield running
