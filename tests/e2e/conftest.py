"""Fixtures of the e2e tests: the learner's venv and a one-origin JupyterHub (skipped, with the install
command, where jupyterhub, configurable-http-proxy or root are missing; Chromium comes from tests/conftest.py),
and the Jupyter servers the session shares (``jupyter``: one per app, address and extension setting)."""

from __future__ import annotations

import pytest

from .hub import Hub, hub_version, unavailable_reason
from .jupyter import JupyterPool
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


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory):
    """``jupyter(app, ip=None, extension=False)``: a started Jupyter server shared by the session (`JupyterPool`)."""
    pool = JupyterPool(tmp_path_factory)
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="module", autouse=True)
def _kernels_end_with_their_module(jupyter):
    """The shared servers' kernels (and the labs they started) end with the module that opened them."""
    yield
    jupyter.shutdown_kernels()
