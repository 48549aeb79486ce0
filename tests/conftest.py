"""Fixtures shared by test modules: a Playwright-driven Debian Chromium for the browser tier, and
Debian's apache2 and nginx as a test's own processes (``real_servers``, from cors_lab.realservers)."""

import socket

import pytest

from cors_lab import realservers
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


@pytest.fixture
def real_servers():
    """``start(kind, **kwargs)`` -> RealServer; every server started is stopped after the test,
    and the test fails if one left a process behind. Skips with the install command when missing."""
    started: list[realservers.RealServer] = []

    def start(kind: str, **kwargs: object) -> realservers.RealServer:
        reason = realservers.unavailable_reason(kind)
        if reason:
            pytest.skip(reason)
        server = (realservers.start_apache if kind == "apache" else realservers.start_nginx)(**kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def silent():
    """A port that accepts connections (the kernel completes the handshake) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
