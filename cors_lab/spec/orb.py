"""Opaque Response Blocking (ORB): the no-cors cross-origin responses a browser refuses to hand over.

Owns the opaque-response-safelist check as an <img> meets it (whatwg/fetch PR #1755, "ORB"), its
MIME type sets, and what Chromium 156 does instead (its "ORB v0.1", measured here). Pure: stdlib
only; the response's headers (and, when known, its first bytes) in, allowed or blocked out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .headers import HeaderList
from .images import AVIF_BRANDS, ftyp_brands, image_type_pattern, is_xml_mime_type, mime_type_essence
from .profiles import DEFAULT_PROFILE, Profile, get_profile

ORB_PR = "https://github.com/whatwg/fetch/pull/1755"
# The revision quoted: the PR's head, whatwg/fetch 00ef4cf812e2fec947e799f54e6eae29a0a13484 (2024-08-08).
ORB_ANCHOR = "https://whatpr.org/fetch/1755.html#orb-algorithm"
ORB_WPT = "https://github.com/web-platform-tests/wpt/tree/master/fetch/orb/tentative"

# "An opaque-response-safelisted MIME type is a JavaScript MIME type or a MIME type whose essence
#  is "text/css" or "image/svg+xml"."
JAVASCRIPT_MIME_TYPES = frozenset({
    "application/ecmascript", "application/javascript", "application/x-ecmascript", "application/x-javascript",
    "text/ecmascript", "text/javascript", "text/javascript1.0", "text/javascript1.1", "text/javascript1.2",
    "text/javascript1.3", "text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
    "text/x-ecmascript", "text/x-javascript",
})  # fmt: skip
SAFELISTED = JAVASCRIPT_MIME_TYPES | {"text/css", "image/svg+xml"}

# "An opaque-response-blocklisted-never-sniffed MIME type is a MIME type whose essence is one of:"
NEVER_SNIFFED = frozenset({
    "application/dash+xml", "application/gzip", "application/msexcel", "application/mspowerpoint",
    "application/msword", "application/msword-template", "application/pdf", "application/vnd.apple.mpegurl",
    "application/vnd.ces-quickpoint", "application/vnd.ces-quicksheet", "application/vnd.ces-quickword",
    "application/vnd.ms-excel", "application/vnd.ms-excel.sheet.macroenabled.12", "application/vnd.ms-powerpoint",
    "application/vnd.ms-powerpoint.presentation.macroenabled.12", "application/vnd.ms-word",
    "application/vnd.ms-word.document.12", "application/vnd.ms-word.document.macroenabled.12",
    "application/vnd.msword",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.template",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    "application/vnd.presentation-openxml", "application/vnd.presentation-openxmlm",
    "application/vnd.spreadsheet-openxml", "application/vnd.wordprocessing-openxml", "application/x-gzip",
    "application/x-protobuf", "application/x-protobuffer", "application/zip", "audio/aac", "audio/aacp",
    "audio/mpegurl", "audio/mpeg", "multipart/byteranges", "multipart/signed", "multipart/x-mixed-replace",
    "text/event-stream", "text/csv", "text/vtt",
})  # fmt: skip
# Deviation: Chromium 156 lets these of the list through to an <img> (measured: a PNG served with
# each of them, no-cors and cross-origin, loads; a PNG served as application/pdf, zip, gzip,
# x-gzip, csv, msword, vnd.ms-excel, an OOXML type, x-protobuf(fer), multipart/byteranges or
# multipart/signed, or text/event-stream fires error): the media types, and the MJPEG stream type.
CHROMIUM_NOT_BLOCKED = frozenset({
    "application/dash+xml", "application/vnd.apple.mpegurl", "audio/aac", "audio/aacp", "audio/mpegurl",
    "audio/mpeg", "multipart/x-mixed-replace", "text/vtt",
})  # fmt: skip
CHROMIUM_NEVER_SNIFFED = NEVER_SNIFFED - CHROMIUM_NOT_BLOCKED
# Deviation "orb-media-types-not-blocked": Firefox ESR 153 lets the same media types through, but not
# multipart/x-mixed-replace (measured as above: tools/measure_orb.py).
MEDIA_NOT_BLOCKED = CHROMIUM_NOT_BLOCKED - {"multipart/x-mixed-replace"}


def is_html_mime_type(essence: str) -> bool:
    """Spec: https://mimesniff.spec.whatwg.org/#html-mime-type ("whose essence is "text/html"")"""
    return essence == "text/html"


def is_json_mime_type(essence: str) -> bool:
    """Spec: https://mimesniff.spec.whatwg.org/#json-mime-type"""
    # "A JSON MIME type is any MIME type whose subtype ends in "+json" or whose essence is
    #  "application/json" or "text/json"."
    return essence.endswith("+json") or essence in ("application/json", "text/json")


def is_blocklisted(essence: str) -> bool:
    """Spec (PR): "An opaque-response-blocklisted MIME type is an HTML MIME type, JSON MIME type, or XML MIME type." """
    return is_html_mime_type(essence) or is_json_mime_type(essence) or is_xml_mime_type(essence)


@dataclass(frozen=True)
class OrbCheck:
    """The opaque-response-safelist check's verdict: allowed (True) or blocked, and why."""

    ok: bool
    reason: str
    anchor: str = ORB_ANCHOR
    # Which rule blocked it (None when allowed): "never-sniffed", "206", "nosniff" (a type with
    # nosniff), "not-an-image-nosniff", "status", "media", "not-javascript" or "sniffed" (Chromium's
    # confirmation sniff), for the engine's console line (Profile.orb_console).
    rule: str | None = None


def _essence(headers: HeaderList) -> str | None:
    # 1. Let mimeType be the result of extracting a MIME type from response's header list.
    # Deviation: the essence of the last Content-Type value, not the full MIME type parser; None
    # stands for failure (no Content-Type, or one without a "/").
    value = headers.get("Content-Type")
    if value is None:
        return None
    essence = mime_type_essence(value.split(",")[-1])
    return essence if essence and "/" in essence else None


def _nosniff(headers: HeaderList) -> bool:
    # 2. Let nosniff be the result of determining nosniff given response's header list:
    #    "... If values[0] is an ASCII case-insensitive match for "nosniff", then return true."
    value = headers.get("X-Content-Type-Options")
    return value is not None and value.split(",")[0].strip().lower() == "nosniff"


def opaque_response_safelist_check(
    status: int,
    headers: HeaderList | list,
    *,
    body: bytes | None = None,
    profile: str | Profile = DEFAULT_PROFILE,
) -> OrbCheck:
    """Whether an <img>'s opaque response may be handed over (ok), or is blocked (a network error).

    ``body``: the response's first bytes; None when unknown (``predict`` has no bytes), taken as an
    image, which the image type pattern matches. The profile decides: "no-orb" (WebKitGTK 2.50) never
    blocks, "orb-v0.1" (Chromium 156) is Chromium's "ORB v0.1", the others the PR's algorithm with
    their own deviations (Firefox ESR 153), all measured (tools/measure_orb.py).
    Spec: https://whatpr.org/fetch/1755.html#orb-algorithm
    """
    headers = headers if isinstance(headers, HeaderList) else HeaderList(headers)
    mime = _essence(headers)
    nosniff = _nosniff(headers)
    engine = get_profile(profile)
    # Deviation "no-orb" (WebKitGTK 2.50): no Opaque Response Blocking (nor CORB) at all.
    if engine.has("no-orb"):
        return OrbCheck(True, "this engine has no Opaque Response Blocking")
    if engine.has("orb-v0.1"):
        return _chromium(mime, nosniff, None if body is None else body[:1024])
    # 3. If mimeType is not failure, then:
    if mime is not None:
        # 3.1 If mimeType is an opaque-response-safelisted MIME type, then return true.
        if mime in SAFELISTED:
            return OrbCheck(True, f"{mime} is an opaque-response-safelisted MIME type")
        # 3.2 If mimeType is an opaque-response-blocklisted-never-sniffed MIME type, then return false.
        # Deviation "orb-media-types-not-blocked" (Firefox ESR 153): not the media types of the list.
        if mime in NEVER_SNIFFED and not (mime in MEDIA_NOT_BLOCKED and engine.has("orb-media-types-not-blocked")):
            return OrbCheck(False, f"{mime} is a type that is never sniffed and never an image (ORB blocks it)",
                            rule="never-sniffed")
        # 3.3 If response's status is 206 and mimeType is an opaque-response-blocklisted MIME
        #     type, then return false.
        if status == 206 and is_blocklisted(mime):
            return OrbCheck(False, f"a partial (206) response typed {mime}", rule="206")
        # 3.4 If nosniff is true and mimeType's essence is "text/plain", then return false.
        # Deviation "orb-text-plain-nosniff-allowed" (Firefox ESR 153): it goes on to sniff.
        if nosniff and mime == "text/plain" and not engine.has("orb-text-plain-nosniff-allowed"):
            return OrbCheck(False, "text/plain with X-Content-Type-Options: nosniff", rule="nosniff")
        # Deviation "orb-nosniff-blocks-before-sniffing" (Firefox ESR 153): with nosniff, an
        # opaque-response-blocklisted type (HTML, JSON, XML) is blocked here, before step 10 would
        # find image bytes (measured: a PNG served as text/html, application/json, text/xml or
        # application/xml with nosniff fires error).
        if nosniff and is_blocklisted(mime) and engine.has("orb-nosniff-blocks-before-sniffing"):
            return OrbCheck(False, f"{mime} with X-Content-Type-Options: nosniff", rule="nosniff")
    # 4-5. (The no-cors media request state is "N/A" for an <img>; no 206 here.)
    # 6. Let bytes be the result of running obtain a copy of the first 1024 bytes of response.
    head = None if body is None else body[:1024]
    # 8. If the audio or video type pattern matching algorithm given bytes does not return
    #    undefined, then: 8.1 If request's no-cors media request state is not "initial", return false.
    #    Deviation: audio and video signatures are not recognised here (no lab body has one).
    # 10. If the image type pattern matching algorithm given bytes does not return undefined, then
    #     return true.
    # Deviation "orb-sniffs-avif" (Firefox ESR 153): AVIF counts as an image here too; the image type
    # pattern table has no AVIF row, so the PR's letter blocks an AVIF served as image/avif (step 14).
    avif = head is not None and engine.has("orb-sniffs-avif") and bool(ftyp_brands(head) & AVIF_BRANDS)
    if head is None or image_type_pattern(head) is not None or avif:
        return OrbCheck(True, "the body starts like an image (the image type pattern matches)")
    # 11. If nosniff is true, then return false.
    if nosniff:
        return OrbCheck(False, "not an image, and X-Content-Type-Options: nosniff", rule="not-an-image-nosniff")
    # 12. If response's status is not an ok status, then return false.
    if not 200 <= status <= 299:
        return OrbCheck(False, f"not an image, and the status {status} is not ok", rule="status")
    # 13. If mimeType is failure, then return true.
    if mime is None:
        return OrbCheck(True, "no Content-Type to go by")
    # 14. If mimeType's essence starts with "audio/", "image/", or "video/", then return false.
    if mime.startswith(("audio/", "image/", "video/")):
        return OrbCheck(False, f"typed {mime} but not a media file it can sniff", rule="media")
    # 15. Return determine if response is JavaScript and not JSON given response.
    # Deviation: no JavaScript parser here: a body that is not an image is taken as not JavaScript.
    return OrbCheck(False, "neither an image nor JavaScript", rule="not-javascript")


# CORB's sniffers, which Chromium's "ORB v0.1" keeps: what an HTML, XML or JSON body starts with.
# https://chromium.googlesource.com/chromium/src/+/HEAD/services/network/public/cpp/corb/README.md
_HTML_STARTS = (b"<!doctype html", b"<script", b"<html", b"<head", b"<iframe", b"<h1", b"<div", b"<font",
                b"<table", b"<a", b"<style", b"<title", b"<b", b"<body", b"<br", b"<p")
_JSON_START = re.compile(rb'\{\s*"(?:[^"\\]|\\.)*"\s*:')


def _skip_space_and_comments(head: bytes) -> bytes:
    head = head.lstrip(b" \t\n\r\x0c")
    while head.startswith(b"<!--"):
        end = head.find(b"-->")
        if end < 0:
            return b""
        head = head[end + 3:].lstrip(b" \t\n\r\x0c")
    return head


def sniffs_as_blocked_type(mime: str | None, head: bytes) -> bool:
    """CORB's confirmation sniff: the body of an HTML, XML, JSON or text/plain response looks like
    what ORB protects (HTML for text/html, XML for an XML type, JSON for a JSON type; any of the
    three for text/plain). A body that does not (an image, most often) is let through."""
    start = _skip_space_and_comments(head)
    html = start.lower().startswith(_HTML_STARTS)
    xml = start.startswith(b"<?xml")
    json = _JSON_START.match(start) is not None
    if mime is None:
        return False
    if is_html_mime_type(mime):
        return html
    if is_xml_mime_type(mime) and mime != "image/svg+xml":
        return xml
    if is_json_mime_type(mime):
        return json
    return mime == "text/plain" and (html or xml or json)


def _chromium(mime: str | None, nosniff: bool, head: bytes | None) -> OrbCheck:
    """Chromium 156's ORB for an <img> (measured; Chromium ships "ORB v0.1", which keeps CORB's
    rules, sniffing to confirm an HTML/XML/JSON/text type, rather than sniffing images first as
    the PR does). ``head``: the body's first bytes; None: unknown, taken as an image."""
    if mime is None or mime in SAFELISTED:
        return OrbCheck(True, "no type ORB blocks")
    if mime in CHROMIUM_NEVER_SNIFFED:
        return OrbCheck(False, f"{mime} is a type that is never sniffed and never an image (ORB blocks it)",
                        rule="never-sniffed")
    # Deviation: with nosniff Chromium blocks an HTML, JSON or XML type (but
    # application/dash+xml) and text/plain even when the bytes are an image (measured: a PNG
    # served as text/html, text/xml, application/json or text/plain with nosniff fires error; the
    # PR's step 10 would let it through as an image).
    if nosniff and (mime == "text/plain" or (is_blocklisted(mime) and mime not in CHROMIUM_NOT_BLOCKED)):
        return OrbCheck(False, f"{mime} with X-Content-Type-Options: nosniff", rule="nosniff")
    # Deviation: without nosniff, CORB's confirmation sniff (measured: the lab's HTML 404 page,
    # text/html, no-cors from another origin fires error; a PNG served as text/html loads).
    if head is not None and sniffs_as_blocked_type(mime, head):
        return OrbCheck(False, f"{mime}, and the body sniffs as one (CORB's confirmation sniff)", rule="sniffed")
    return OrbCheck(True, f"{mime} is not a type ORB blocks")


__all__ = [
    "CHROMIUM_NEVER_SNIFFED",
    "CHROMIUM_NOT_BLOCKED",
    "MEDIA_NOT_BLOCKED",
    "NEVER_SNIFFED",
    "ORB_ANCHOR",
    "ORB_PR",
    "OrbCheck",
    "SAFELISTED",
    "is_blocklisted",
    "opaque_response_safelist_check",
    "sniffs_as_blocked_type",
]
