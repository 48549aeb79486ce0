"""Fixtures for the cors_lab.servers tests: a running lab, a clean log per test, and `ask`.

`ask` hands a request to the origin's own ``LabOrigin.exchange`` (what its server calls for every
request it reads), so answer and log tests need no socket; tests/servers/test_plumbing.py proves the
sockets send exactly those answers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from cors_lab.servers import Lab, Request

KERNEL_UA = "cors-lab-kernel/0.1"


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        yield lab


@pytest.fixture(autouse=True)
def _clean_log(request):
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").clear_log()


@pytest.fixture()
def ask(lab):
    """``ask(url, headers=None, method="GET")`` -> (status, [(name, value), ...], body), with no socket."""

    def ask(url: str, headers: dict[str, str] | None = None, method: str = "GET"):
        parts = urlsplit(url)
        (origin,) = [o for o in lab.origins if o.port == parts.port]
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {"User-Agent": KERNEL_UA, **(headers or {})}
        answer = origin.exchange(Request(method, target, headers=tuple(sent.items())))
        return answer.status, list(answer.headers), answer.body

    return ask
