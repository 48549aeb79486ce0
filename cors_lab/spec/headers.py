"""Header lists: Fetch's ordered, duplicate-keeping list of (name, value) pairs.

Owns header-list semantics (case-insensitive names, "get" joining values with ", ", value
normalisation) and the check that a value can be sent at all. Pure: stdlib only, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..errors import UsageError

# https://fetch.spec.whatwg.org/#http-whitespace-byte : 0x0A (LF), 0x0D (CR), 0x09 (HT), 0x20 (SP).
HTTP_WHITESPACE = "\n\r\t "
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# RFC 9110's field-value holds VCHAR, obs-text, SP and HTAB only: every other control character
# (0x00-0x08, 0x0A-0x1F, 0x7F) is invalid. https://www.rfc-editor.org/rfc/rfc9110#name-field-values
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def normalize(value: str) -> str:
    """Remove leading and trailing HTTP whitespace bytes.

    Spec: https://fetch.spec.whatwg.org/#concept-header-value-normalize
    """
    return value.strip(HTTP_WHITESPACE)


def is_valid_name(name: str) -> bool:
    """A header name is a token. Spec: https://fetch.spec.whatwg.org/#header-name"""
    return bool(_TOKEN.match(name))


def is_valid_value(value: str) -> bool:
    """A header value has no leading/trailing HTTP tab or space and no 0x00, 0x0A or 0x0D.

    Spec: https://fetch.spec.whatwg.org/#header-value
    """
    return not any(ch in value for ch in "\x00\n\r") and value == value.strip("\t ")


def control_character(text: str) -> str | None:
    """The first control character in ``text`` other than HTAB, as "U+000B", or None.

    Spec: https://www.rfc-editor.org/rfc/rfc9110#name-field-values
    """
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def check_header(name: str, value: str) -> None:
    """Refuse a header that could not be sent as one HTTP header line (the fix is in the message):
    a name that is no token, a value with a control character other than HTAB, or beyond Latin-1.

    Every header the kit sends passes here: the lab servers' knobs, the Jupyter extension's (the
    same knobs) and the Apache/nginx snippets (cors_lab.serverconf, the same knobs again).
    Spec: https://www.rfc-editor.org/rfc/rfc9110#name-field-values
    """
    if not isinstance(name, str) or not is_valid_name(name):
        raise UsageError(
            f"{name!r} is not a valid header name. Use letters, digits and -, e.g. 'Access-Control-Allow-Origin'."
        )
    if not isinstance(value, str):
        raise UsageError(f"The value of {name} must be a string, not {type(value).__name__}.")
    if any(ch in value for ch in "\x00\n\r"):
        raise UsageError(
            f"The value of {name} contains a line break or NUL ({value!r}); a header value is one line. "
            "Remove the CR/LF: to send two values, send the header twice."
        )
    # RFC 9110 5.5: "Field values containing other CTL characters are also invalid"; some servers
    # pass them on raw, and a receiver may take one (a vertical tab, say) for the end of the line.
    control = control_character(value)
    if control:
        raise UsageError(
            f"The value of {name} contains the control character {control} ({value!r}); a header "
            "value may hold tabs but no other control character. Remove it."
        )
    if any(not ch.isascii() for ch in value) and not all(ord(ch) < 256 for ch in value):
        raise UsageError(f"The value of {name} has characters outside Latin-1 ({value!r}); HTTP cannot carry them.")


class HeaderList:
    """Fetch's header list: ordered (name, value) pairs, duplicates kept, names compared case-insensitively.

    Spec: https://fetch.spec.whatwg.org/#concept-header-list
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] | "HeaderList" | dict | None = None) -> None:
        if items is None:
            pairs: list[tuple[str, str]] = []
        elif isinstance(items, HeaderList):
            pairs = list(items._items)
        elif isinstance(items, dict):
            pairs = list(items.items())
        else:
            pairs = []
            for item in items:
                if not (isinstance(item, (tuple, list)) and len(item) == 2):
                    raise UsageError(
                        f"Headers must be (name, value) pairs, e.g. [('Access-Control-Allow-Origin', '*')]; got {item!r}."
                    )
                pairs.append((item[0], item[1]))
        for name, value in pairs:
            if not isinstance(name, str) or not isinstance(value, str):
                raise UsageError(f"Header names and values must be strings; got {(name, value)!r}.")
        self._items = pairs

    def contains(self, name: str) -> bool:
        """Spec: https://fetch.spec.whatwg.org/#header-list-contains"""
        lname = name.lower()
        return any(n.lower() == lname for n, _ in self._items)

    def get(self, name: str) -> str | None:
        """Get: null if absent, else every value for name (normalised) joined with ", ".

        Spec: https://fetch.spec.whatwg.org/#concept-header-list-get
        """
        # 1. If list does not contain name, then return null.
        values = self.get_all(name)
        if not values:
            return None
        # 2. Return the values of all headers in list whose name is a byte-case-insensitive match for
        #    name, separated from each other by 0x2C 0x20, in order.
        return ", ".join(values)

    def get_all(self, name: str) -> list[str]:
        """Each value for name, in order, normalised as a received header value would be."""
        lname = name.lower()
        return [normalize(v) for n, v in self._items if n.lower() == lname]

    def get_decode_split(self, name: str) -> list[str] | None:
        """Spec: https://fetch.spec.whatwg.org/#concept-header-list-get-decode-split"""
        value = self.get(name)
        if value is None:
            return None
        out, current, quoted = [], "", False
        for ch in value:
            if ch == '"':
                quoted = not quoted
            if ch == "," and not quoted:
                out.append(current.strip("\t "))
                current = ""
            else:
                current += ch
        out.append(current.strip("\t "))
        return out

    def append(self, name: str, value: str) -> None:
        """Spec: https://fetch.spec.whatwg.org/#concept-header-list-append"""
        self._items.append((name, value))

    def set(self, name: str, value: str) -> None:
        """Replace every header named name by one. Spec: https://fetch.spec.whatwg.org/#concept-header-list-set"""
        lname = name.lower()
        for i, (n, _) in enumerate(self._items):
            if n.lower() == lname:
                self._items[i] = (n, value)
                self._items = [p for j, p in enumerate(self._items) if j <= i or p[0].lower() != lname]
                return
        self._items.append((name, value))

    def delete(self, name: str) -> None:
        """Spec: https://fetch.spec.whatwg.org/#concept-header-list-delete"""
        lname = name.lower()
        self._items = [(n, v) for n, v in self._items if n.lower() != lname]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HeaderList) and self._items == other._items

    def __repr__(self) -> str:
        return f"HeaderList({self._items!r})"
