"""The real browser engines: Chromium (Playwright), Firefox ESR (Marionette), WebKitGTK (WebKitWebDriver).

Owns the registry of engines by name. Each engine module loads its driver only when started, so
importing this package costs no browser library. The interface is `base.Engine`; every engine runs
the same in-page trial.js through the same page.js.
"""

from __future__ import annotations

from .base import Engine, EngineContext, EngineError, EngineSettings, EngineUnavailable

ENGINE_NAMES = ("chromium", "firefox", "webkit")


def engine_class(name: str) -> type[Engine]:
    """The Engine class for ``"chromium"``, ``"firefox"`` or ``"webkit"``."""
    if name == "chromium":
        from .chromium import ChromiumEngine

        return ChromiumEngine
    if name == "firefox":
        from .firefox import FirefoxEngine

        return FirefoxEngine
    if name == "webkit":
        from .webkit import WebKitEngine

        return WebKitEngine
    from ..errors import UsageError

    raise UsageError(f"Unknown engine {name!r}; use one of {', '.join(ENGINE_NAMES)}.")


def unavailable_reason(name: str) -> str | None:
    """Why engine ``name`` cannot run here, with the install command; None when it can."""
    cls = engine_class(name)
    reason = cls.unavailable_reason()
    return f"{name}: {reason} Install: {cls.install}" if reason else None


__all__ = ["ENGINE_NAMES", "Engine", "EngineContext", "EngineError", "EngineSettings", "EngineUnavailable",
           "engine_class", "unavailable_reason"]
