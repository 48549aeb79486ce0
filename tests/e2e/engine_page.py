"""A Firefox ESR or WebKitGTK tab (cors_lab.engines) standing in for the Playwright Page `NotebookPage` drives.

Owns the few Page calls the notebook helpers make — goto, evaluate, wait_for_function,
wait_for_timeout, inner_text, screenshot, on — over an engine context, and running page.js in each
new document (Marionette and WebDriver have no init script: it runs after the load event, which is
before JupyterLab has built its notebook). No console events (the engines' consoles are not the
page's errors); every wait polls with a timeout.
"""

from __future__ import annotations

import time
from typing import Any

from .notebook import PAGE_JS

POLL_S = 0.25


class Handle:
    """What ``wait_for_function`` returns: the truthy value, as Playwright's JSHandle.json_value() gives it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def json_value(self) -> Any:
        return self.value


class EnginePage:
    """``EnginePage(context)`` over a started engine's context (``engine.context()``)."""

    def __init__(self, context) -> None:
        self.context = context
        self.script = PAGE_JS.read_text()
        self.url = ""

    def on(self, event: str, handler) -> None:  # noqa: ARG002 - no page console from these drivers
        return None

    def goto(self, url: str, *, timeout: float | None = None) -> None:  # noqa: ARG002 - the engine's own timeout
        self.context.open(url)
        self.url = url
        self.context.evaluate("() => { if (!window.corsLabE2E) { " + self.script + " } return true; }")

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        return self.context.evaluate(expression, arg)

    def wait_for_function(self, expression: str, *, arg: Any = None, timeout: float = 30_000) -> Handle:
        deadline = time.monotonic() + timeout / 1000
        while True:
            value = self.evaluate(expression, arg)
            if value:
                return Handle(value)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression!r} stayed falsy for {timeout:g} ms in {self.context.engine.name}")
            time.sleep(POLL_S)

    def wait_for_timeout(self, ms: float) -> None:
        time.sleep(ms / 1000)

    def inner_text(self, selector: str) -> str:
        return self.evaluate("(s) => document.querySelector(s).innerText", selector)

    def screenshot(self, *, path: str) -> None:
        self.context.screenshot(path)
