"""The one result type every engine produces: the model, the kernel browser and the real browser.

Owns `Outcome` and the comparison that flags a disagreement between engines. Pure: stdlib only.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import Any

from . import render
from .spec.fetch import HopRequest

LOADS = ("load", "error")
READBACKS = ("ok", "SecurityError", None)
# The fields two engines must agree on for the same experiment.
VERDICT_FIELDS = ("load", "readback", "exception")


@dataclass(frozen=True)
class Outcome:
    """What happened when a page loaded an image and ran one canvas operation.

    ``load`` is "load" or "error" (the ``<img>`` event); ``readback`` is "ok" or "SecurityError"
    (None when the image did not load); ``exception`` is the DOMException name the operation itself
    raised (None if none); ``requests`` lists, per hop, what the browser sent; ``why`` names the
    deciding rule with its spec anchor.
    """

    load: str
    readback: str | None
    exception: str | None
    requests: tuple[HopRequest, ...] = ()
    why: str = ""
    engine: str = "model"  # "model" | "kernel" | "browser"
    page: str = ""
    url: str = ""
    crossorigin: str | None = None
    operation: str = "getImageData"
    message: str | None = None  # the browser-style exception message
    response_tainting: str | None = None
    origin_clean: bool | None = None
    console: str = ""  # Chromium-style console line (CORS block explanation)
    steps: tuple[str, ...] = ()  # the rules applied, in order
    step: str = ""  # the spec step id that decided
    pixel: tuple[int, int, int, int] | None = None  # a sample pixel when readback worked
    elapsed_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.load not in LOADS:
            raise ValueError(f"load must be one of {LOADS}, not {self.load!r}")
        if self.readback not in READBACKS:
            raise ValueError(f"readback must be one of {READBACKS}, not {self.readback!r}")

    @property
    def verdict(self) -> tuple[str, str | None, str | None]:
        """(load, readback, exception): what two engines must agree on."""
        return (self.load, self.readback, self.exception)

    def differences(self, other: "Outcome") -> list[str]:
        """Plain sentences, one per field on which the two outcomes disagree (empty = agree)."""
        out = []
        for name in VERDICT_FIELDS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                out.append(f"{name}: {self.engine} says {mine!r}, {other.engine} says {theirs!r}")
        return out

    def agrees_with(self, other: "Outcome") -> bool:
        return not self.differences(other)

    def with_engine(self, engine: str, **changes: Any) -> "Outcome":
        return replace(self, engine=engine, **changes)

    def summary(self) -> str:
        """One line: what a learner sees first."""
        if self.load == "error":
            head = "image failed to load (error event)"
        elif self.exception:
            head = f"image loaded; {self.operation} threw {self.exception}"
        elif self.readback == "SecurityError":
            head = f"image loaded; {self.operation} worked but the canvas is tainted"
        else:
            head = f"image loaded; {self.operation} worked"
        return f"[{self.engine}] {head}"

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.why:
            lines.append(f"  why: {self.why}")
        if self.message:
            lines.append(f"  {self.exception}: {self.message}")
        for i, hop in enumerate(self.requests, 1):
            origin = "(absent)" if hop.origin is None else hop.origin
            cookies = "sent" if hop.cookies else "not sent"
            lines.append(
                f"  request {i}: {hop.url}  Origin: {origin}  cookies: {cookies}  Sec-Fetch-Mode: {hop.sec_fetch_mode}"
            )
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self) if not cycle else "Outcome(...)")

    def _repr_html_(self) -> str:
        rows = [render.plain_row([str(i), f"<code>{html.escape(h.url)}</code>", render.origin_code(h.origin),
                                  "sent" if h.cookies else "not sent", html.escape(str(h.sec_fetch_mode))])
                for i, h in enumerate(self.requests, 1)]
        table = render.plain_table(("#", "URL", "Origin", "cookies", "Sec-Fetch-Mode"), rows) if rows else ""
        message = (
            f"<div><code>{html.escape(self.exception or '')}: {html.escape(self.message)}</code></div>"
            if self.message else ""
        )
        body = f"<b>{html.escape(self.summary())}</b><div>{html.escape(self.why)}</div>{message}{table}"
        return render.card(body, colour=render.COLOURS[self.readback], cls="cors-lab-outcome")
