"""Fixtures shared by test modules: a Playwright-driven Debian Chromium for the browser tier, and
Debian's apache2 and nginx as a test's own processes (``real_servers``, from realservers.py)."""

import pytest
from realservers import real_servers  # noqa: F401  (a fixture: importing it here registers it)

from cors_lab.harness import LAUNCH_ARGS, browser_unavailable_reason, find_chromium

pytest_plugins = ["live_page"]  # the simulated live page's fixtures: lab, probe


@pytest.fixture(scope="module")
def chromium():
    """A launched Chromium (Playwright Browser); skips with the reason where none is installed."""
    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=list(LAUNCH_ARGS))
        try:
            yield browser
        finally:
            browser.close()
