"""The kit's errors, named after what a browser raises, each with the fix in plain words.

Owns the exception classes only; no behaviour (in IPython they show short, message and Fix first:
``cors_lab.tracebacks``; ``%tb`` shows the full traceback). The tree::

    CorsLabError
    ├── DOMException                  a DOMException in the browser; .name is its name
    │   ├── SecurityError             tainted canvas read back, storage access denied
    │   ├── InvalidStateError         broken image drawn, zero-size canvas, detached bitmap
    │   ├── IndexSizeError            getImageData with a zero width or height
    │   └── QuotaExceededError        localStorage full
    ├── NetworkError (TypeError)      fetch failed: the browser's "Failed to fetch"
    ├── DecodeError (ValueError)      the bytes are no image a browser can decode: <img> fires "error"
    └── UsageError (ValueError)       the kit was called wrongly; the message says how to call it
"""

from __future__ import annotations


class CorsLabError(Exception):
    """Base of every error the kit raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        """IPython's hook: the message and its Fix, the learner's own lines, no kit internals."""
        from .tracebacks import short_traceback

        return short_traceback(self)


class DOMException(CorsLabError):
    """An error a browser reports as a ``DOMException``; ``name`` is the DOMException name."""

    name = "DOMException"

    def __init__(self, message: str = "", *, fix: str = "") -> None:
        self.message = message
        self.fix = fix
        text = message if not fix else f"{message}\nFix: {fix}"
        super().__init__(text)


class SecurityError(DOMException):
    """Reading back pixels (or storage) the page may not see, as in the browser console."""

    name = "SecurityError"


class InvalidStateError(DOMException):
    """The object is in the wrong state, e.g. drawing an image that failed to load."""

    name = "InvalidStateError"


class IndexSizeError(DOMException):
    """An index or size argument is out of range, e.g. ``getImageData(0, 0, 0, 10)``."""

    name = "IndexSizeError"


class QuotaExceededError(DOMException):
    """A storage quota is full, e.g. ``localStorage.setItem`` past the origin's quota."""

    name = "QuotaExceededError"


class NetworkError(CorsLabError, TypeError):
    """A fetch ended in a network error (``TypeError: Failed to fetch`` in the browser)."""

    name = "TypeError"


class DecodeError(CorsLabError, ValueError):
    """The response body is not an image a browser could decode, so the ``<img>`` fires ``error``.

    The message names what the bytes look like instead (empty, an HTML page, a truncated PNG, a
    decompression bomb, an unsupported format) and the fix; ``kind`` is a short stable tag for tests
    and widgets: "empty", "not-an-image", "truncated", "damaged", "too-large", "too-slow" (the
    decoder ran past its deadline), "unsupported", "svg-content-type".
    """

    def __init__(self, message: str = "", *, kind: str = "") -> None:
        self.message = message
        self.kind = kind
        super().__init__(message)


class UsageError(CorsLabError, ValueError):
    """The kit was called with arguments it cannot use; the message names the fix."""

