"""`predict()`: the pure model behind a friendly signature. Stable public API; other tools call it.

Owns only the composition: Fetch over the given responses, then the canvas operation, then one
learner-facing sentence, for the engine profile asked for. The rules themselves (and every engine's
deviations from them) live in cors_lab.spec. No I/O.
"""

from __future__ import annotations

from collections.abc import Collection

from .errors import UsageError
from .outcome import Outcome
from .spec import canvas
from .spec.canvas import check_operation
from .spec.fetch import HTML, fetch_image, image_request
from .spec.origins import parse_origin
from .spec.profiles import DEFAULT_PROFILE, PROFILE_NAMES, Profile, get_profile

OPERATIONS = canvas.OPERATIONS
ENGINES = PROFILE_NAMES  # what predict(engine=...) accepts

_TAINT_ANCHOR = HTML + "canvas.html#security-with-canvas-elements"
_BROKEN_ANCHOR = HTML + "canvas.html#check-the-usability-of-the-image-argument"


def predict(
    *,
    page: str,
    chain: list,
    crossorigin: str | None = None,
    cookies: bool | Collection[str] = False,
    operation: str = "getImageData",
    decodes: bool = True,
    engine: str | None = None,
    browser: str | None = None,
    container: str | None = None,
    body: bytes | None = None,
    cookie_samesite: str = "Lax",
) -> Outcome:
    """Predict what a browser does when ``page`` loads the image behind ``chain`` and runs ``operation``.

    page: origin or URL of the page that draws; "null" for an opaque-origin (sandboxed) page.
    chain: one ``(url, status, headers)`` per HTTP response, in order; a 3xx needs a Location that
        leads to the next entry; headers are (name, value) pairs, duplicates and raw whitespace kept.
    crossorigin: None = attribute absent; else the attribute's string value ("anonymous", "foo", ...).
    cookies: the browser holds cookies for the image host(s) (changes only what is sent): True for
        every host, or the host names it holds cookies for (``{"127.0.0.1"}``: not for ``localhost``).
    operation: one of ``OPERATIONS``.
    decodes: the final response's body is a decodable image (False: a broken image).
    engine: the engine profile predicted for: "chromium" (the default), "firefox", "webkit" (each as
        measured: its deviations are cors_lab.spec.profiles.PROFILES[engine].deviations) or "spec"
        (the standards' letter). The outcome's messages are that engine's.
    browser: the older name of ``engine`` (still accepted; give one or the other).
    container: with page="null" (a sandboxed srcdoc frame), the URL (or origin) of the top-level page
        the frame sits in: it decides whether a request is cross-site for cookies
        (`Sec-Fetch-Storage-Access`, and then `Origin`), and Firefox and WebKit take the Referer from
        it. None: about:blank (an opaque top of its own).
    body: the final response's first bytes, when known: Opaque Response Blocking sniffs them (an
        HTML error page served as text/html is blocked); None: taken to be the image.
    cookie_samesite: the SameSite attribute of the cookies held ("Lax", "Strict", "None").

    Spec: https://html.spec.whatwg.org/multipage/images.html#update-the-image-data
    """
    check_operation(operation)
    profile = engine_profile(engine, browser)
    if not isinstance(chain, (list, tuple)):
        raise UsageError("chain must be a list of (url, status, headers) tuples, one per HTTP response.")
    if not chain:
        raise UsageError("chain is empty: give at least one (url, status, headers) response.")
    origin = parse_origin(page)
    page_url = page if isinstance(page, str) and "://" in page else None
    first_url = chain[0][0] if chain and isinstance(chain[0], (list, tuple)) and chain[0] else ""
    request = image_request(first_url, page_origin=origin, crossorigin=crossorigin, page_url=page_url,
                            container_url=container if origin.opaque else None, cookie_samesite=cookie_samesite)
    held = bool(cookies) if isinstance(cookies, bool) or cookies is None else frozenset(cookies)
    fetched = fetch_image(request, list(chain), cookies_held=held, profile=profile, body=body)

    return outcome_of(fetched, decodes=decodes, operation=operation, page=origin.serialize(),
                      url=first_url, crossorigin=crossorigin, engine="model", profile=profile)


def engine_profile(engine: str | None = None, browser: str | None = None) -> Profile:
    """The profile named by ``engine`` (or its older name ``browser``); the default is Chromium's."""
    if engine is not None and browser is not None and engine != browser:
        raise UsageError(f"engine={engine!r} and browser={browser!r} disagree: browser is the older name of "
                         "engine; give one of them.")
    return get_profile(engine or browser or DEFAULT_PROFILE)


def outcome_of(
    fetched,
    *,
    decodes: bool,
    operation: str,
    page: str,
    url: str,
    crossorigin: str | None,
    engine: str,
    reason_broken: str = "the response body does not decode as an image",
    pixel: tuple[int, int, int, int] | None = None,
    profile: str | Profile = DEFAULT_PROFILE,
) -> Outcome:
    """The Outcome of a finished fetch: the image's state, then `operation` run in the canvas model.

    Shared by `predict` (given responses) and the kernel browser (real responses), so both decide alike.
    Spec: https://html.spec.whatwg.org/multipage/images.html#update-the-image-data
    """
    # "update the image data": a network error, or a body that does not decode, makes the image
    # broken and fires "error"; otherwise it is completely available and fires "load".
    broken = not fetched.ok or not decodes
    profile = get_profile(profile)
    source = canvas.ImageSource(
        state="broken" if broken else "completely available",
        response_tainting=fetched.response_tainting if fetched.ok else "basic",
        broken_by=None if not broken else "network" if not fetched.ok else "decode",
    )
    result = canvas.run_operation(operation, source, profile=profile)
    # readback: could the page read pixels drawn from this image? The flag of the canvas the
    # operation read; when nothing was painted (texImage2D refused), the image's own origin-clean.
    clean = source.origin_clean if result.origin_clean is None else result.origin_clean
    readback = None if broken else ("ok" if clean else "SecurityError")
    return Outcome(
        load="error" if broken else "load",
        readback=readback,
        exception=result.exception,
        requests=tuple(h.request for h in fetched.hops),
        why=_why(fetched, broken=broken, readback=readback, result=result, operation=operation,
                 reason_broken=reason_broken),
        engine=engine,
        page=page,
        url=url,
        crossorigin=crossorigin,
        operation=operation,
        message=result.message,
        response_tainting=fetched.response_tainting if fetched.ok else None,
        origin_clean=result.origin_clean,
        console=fetched.console,
        steps=(f"{fetched.step}: {fetched.reason}", *result.steps),
        step=fetched.step if readback != "ok" else "origin-clean",
        pixel=pixel if readback == "ok" else None,
        extra={"profile": profile.name, "gl_error": result.gl_error},
    )


def _why(fetched, *, broken: bool, readback: str | None, result, operation: str, reason_broken: str) -> str:
    if not fetched.ok:
        return (
            f"The image fails to load (error event): {fetched.reason}. A network error is not a taint: "
            f"nothing is drawn. {fetched.anchor}"
        )
    if broken:
        return f"The image fails to load (error event): {reason_broken}. {_BROKEN_ANCHOR}"
    if readback == "SecurityError":
        return f"The canvas is tainted: {fetched.reason}. Reading it back throws SecurityError. {_TAINT_ANCHOR}"
    if result.exception:
        return f"{operation} threw {result.exception}: {result.message} {_BROKEN_ANCHOR}"
    return f"Readback works: {fetched.reason}. {fetched.anchor}"
