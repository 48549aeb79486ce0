"""Fixtures of the e2e tests: the learner's venv and a one-origin JupyterHub (skipped, with the install
command, where jupyterhub, configurable-http-proxy or root are missing; Chromium comes from tests/conftest.py)."""

from __future__ import annotations

import pytest

from .hub import Hub, hub_version, unavailable_reason
from .notebook import QUIET_LAB, ROOT
from .venv import LearnerVenv


def pytest_configure(config):
    config.addinivalue_line("markers", "hub: runs a real one-origin JupyterHub (root, jupyterhub, configurable-http-proxy)")


@pytest.fixture(scope="session")
def learner_venv():
    """The hub users' venv (cached by requirements hash) with this checkout's kit installed, locked while in use."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with LearnerVenv(ROOT, hub_version=hub_version()) as venv:
        yield venv


@pytest.fixture(scope="module")
def one_origin_hub(learner_venv):
    """A started `Hub` (stopped, and its processes swept, after the module)."""
    hub = Hub(venv=learner_venv, notebooks=ROOT / "notebooks", lab_settings=QUIET_LAB).start()
    try:
        yield hub
    finally:
        hub.stop()
