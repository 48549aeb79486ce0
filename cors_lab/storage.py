"""``localStorage`` for the kernel: the Web Storage API for one origin, kept in a SQLite file.

Owns the storage area of each origin (items survive a kernel restart), its quota, and JavaScript's
conversion of keys and values to strings. The file is the user's alone (directory 0700, file 0600:
saved pictures may be private), and a file that is not the kit's own database is refused untouched.
It must not decide whether a page may read an image: it only keeps what a page saved, e.g. the MDN
guide's ``canvas.toDataURL()``.

    >>> storage = LocalStorage("https://a.test")          # doctest: +SKIP
    >>> storage.setItem("saved-image-example", "data:image/png;base64,iVBOR...")  # doctest: +SKIP

Spec: https://html.spec.whatwg.org/multipage/webstorage.html#the-localstorage-attribute
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import stat
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .errors import QuotaExceededError, SecurityError, UsageError
from .spec.origins import parse_origin

ENV_VAR = "CORS_LAB_STORAGE"

# Chromium's per-origin quota: 10 MiB, counting every character of keys and values as 2 bytes
# (UTF-16), i.e. 5 Mi characters. Firefox's default is also 5 Mi characters (5 MiB of "chars").
# https://source.chromium.org/chromium/chromium/src/+/main:components/services/storage/dom_storage/dom_storage_constants.cc
#   kPerStorageAreaQuota = 10 * 1024 * 1024
# https://source.chromium.org/chromium/chromium/src/+/main:third_party/blink/renderer/modules/storage/storage_area_map.cc
#   "For quota purposes we count each character as 2 bytes."
# https://developer.mozilla.org/en-US/docs/Web/API/Storage_API/Storage_quotas_and_eviction_criteria#web_storage
# The spec: "A mostly arbitrary limit of five mebibytes per origin is suggested."
# https://html.spec.whatwg.org/multipage/webstorage.html#disk-space-2
DEFAULT_QUOTA = 10 * 1024 * 1024  # bytes of UTF-16

_BUSY_TIMEOUT = 30.0  # seconds another kernel may hold the write lock before we give up

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order, for key(index)
    origin     TEXT NOT NULL,                       -- serialised origin, e.g. "https://a.test"
    item_key   BLOB NOT NULL,                       -- UTF-16LE, as a browser holds a DOMString
    item_value BLOB NOT NULL,
    UNIQUE (origin, item_key)
)
"""

# PRAGMA application_id of the kit's files ("CORS"): https://www.sqlite.org/pragma.html#pragma_application_id
APPLICATION_ID = int.from_bytes(b"CORS", "big")
_SQLITE_MAGIC = b"SQLite format 3\x00"  # https://www.sqlite.org/fileformat.html#the_database_header
_KIT_TABLES = {"items", "sqlite_sequence"}
_KIT_COLUMNS = {"id", "origin", "item_key", "item_value"}

_DENIED = "Failed to read the 'localStorage' property from 'Window': Access is denied for this document."


def default_path() -> Path:
    """Where items are kept: ``$CORS_LAB_STORAGE``, else ``cors-lab/localstorage.sqlite3`` in the
    user's data directory (``~/.local/share`` on Linux, ``$XDG_DATA_HOME`` when set)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "cors-lab" / "localstorage.sqlite3"


class LocalStorage:
    """The ``localStorage`` of one origin: ``setItem``/``getItem``/``removeItem``/``clear``/``key``/
    ``length``, plus a dict-like face (``storage["k"] = "v"``, ``"k" in storage``, ``len``, iteration).

    ``origin`` is an origin or any URL ("https://a.test/page.html" means "https://a.test"); an
    opaque origin ("null", a ``data:`` URL) is refused with ``SecurityError`` as in a sandboxed
    iframe. Items live in a SQLite file (``path``, else ``$CORS_LAB_STORAGE``, else the user's data
    directory), so they survive a kernel restart and two kernels see the same items. Every write is
    one transaction: it happens whole or not at all. ``quota`` counts bytes as Chromium does, two per
    UTF-16 code unit of keys and values (JavaScript's ``.length``).

    Spec: https://html.spec.whatwg.org/multipage/webstorage.html#the-storage-interface
    """

    def __init__(self, origin: Any, *, path: str | os.PathLike[str] | None = None, quota: int = DEFAULT_QUOTA) -> None:
        parsed = parse_origin(origin)
        if parsed.opaque:
            # Chromium's message when a document with an opaque origin touches localStorage.
            raise SecurityError(
                _DENIED,
                fix="This page has an opaque origin ('null': a sandboxed iframe without"
                " allow-same-origin, a data: URL...), and such a document has no storage of its own."
                " Give the page a real origin such as 'http://127.0.0.1:8000'.",
            )
        if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
            raise UsageError(f"quota must be a number of bytes (an int >= 0), not {quota!r}.")
        self.origin: str = parsed.serialize()
        self.quota: int = quota
        self.path: Path = Path(path).expanduser() if path is not None else default_path()
        self._create()

    # --- the Storage interface ------------------------------------------------------------------

    @property
    def length(self) -> int:
        """The number of items. Spec: https://html.spec.whatwg.org/multipage/webstorage.html#dom-storage-length"""
        with self._connect() as con:
            return con.execute("SELECT COUNT(*) FROM items WHERE origin = ?", (self.origin,)).fetchone()[0]

    def key(self, index: int) -> str | None:
        """The name of the ``index``-th key (in insertion order), or None past the end.

        Spec: https://html.spec.whatwg.org/multipage/webstorage.html#dom-storage-key
        """
        if isinstance(index, bool) or not isinstance(index, int):
            raise UsageError(f"key(index) needs an int index, not {index!r}.")
        # WebIDL "unsigned long": -1 becomes 4294967295, which is past the end.
        index %= 2**32
        with self._connect() as con:
            # 1. If index is greater than or equal to this's map's size, then return null.
            row = con.execute(
                "SELECT item_key FROM items WHERE origin = ? ORDER BY id LIMIT 1 OFFSET ?",
                (self.origin, index),
            ).fetchone()
        # 2-3. Let keys be the result of running get the keys on this's map; return keys[index].
        return _from_utf16(row[0]) if row else None

    def get_item(self, key: Any) -> str | None:
        """The value stored under ``key``, or None. Spec: https://html.spec.whatwg.org/multipage/webstorage.html#dom-storage-getitem"""
        with self._connect() as con:
            row = con.execute(
                "SELECT item_value FROM items WHERE origin = ? AND item_key = ?",
                (self.origin, _utf16(to_dom_string(key))),
            ).fetchone()
        # 1. If this's map[key] does not exist, then return null. 2. Return this's map[key].
        return _from_utf16(row[0]) if row else None

    def set_item(self, key: Any, value: Any) -> None:
        """Store ``value`` under ``key``, both converted to strings as JavaScript's ``String()`` does.

        Raises ``QuotaExceededError`` (and changes nothing) when the origin's items would exceed
        the quota. Spec: https://html.spec.whatwg.org/multipage/webstorage.html#dom-storage-setitem
        """
        key, value = to_dom_string(key), to_dom_string(value)
        key_bytes, value_bytes = _utf16(key), _utf16(value)
        with self._transaction() as con:
            # 3. If this's map[key] exists: set oldValue to it; if oldValue is value, return.
            row = con.execute(
                "SELECT item_value FROM items WHERE origin = ? AND item_key = ?", (self.origin, key_bytes)
            ).fetchone()
            old_value = row[0] if row else None
            if old_value == value_bytes:
                return
            # 4. If value cannot be stored, then throw a "QuotaExceededError" DOMException.
            used = self._used(con)
            old_size = len(key_bytes) + len(old_value) if old_value is not None else 0
            new_size = len(key_bytes) + len(value_bytes)
            # As Chromium: a write that does not grow the item is always allowed.
            if new_size > old_size and used - old_size + new_size > self.quota:
                raise self._quota_error(key, used)
            # 5. Set this's map[key] to value. (An existing key keeps its place: reorder is false.)
            con.execute(
                "INSERT INTO items (origin, item_key, item_value) VALUES (?, ?, ?)"
                " ON CONFLICT (origin, item_key) DO UPDATE SET item_value = excluded.item_value",
                (self.origin, key_bytes, value_bytes),
            )

    def remove_item(self, key: Any) -> None:
        """Remove ``key`` if present. Spec: https://html.spec.whatwg.org/multipage/webstorage.html#dom-storage-removeitem"""
        with self._transaction() as con:
            # 1. If this's map[key] does not exist, then return. 3. Remove this's map[key].
            con.execute(
                "DELETE FROM items WHERE origin = ? AND item_key = ?", (self.origin, _utf16(to_dom_string(key)))
            )

    def clear(self) -> None:
        """Remove every item of this origin. Spec: https://html.spec.whatwg.org/multipage/webstorage.html#dom-storage-clear"""
        with self._transaction() as con:
            con.execute("DELETE FROM items WHERE origin = ?", (self.origin,))

    # The names the MDN guide's JavaScript uses.
    setItem = set_item
    getItem = get_item
    removeItem = remove_item

    # --- the dict-like face ---------------------------------------------------------------------

    def keys(self) -> list[str]:
        """Every key of this origin, in ``key(index)`` order."""
        with self._connect() as con:
            rows = con.execute("SELECT item_key FROM items WHERE origin = ? ORDER BY id", (self.origin,)).fetchall()
        return [_from_utf16(row[0]) for row in rows]

    def __getitem__(self, key: Any) -> str:
        value = self.get_item(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        self.set_item(key, value)

    def __delitem__(self, key: Any) -> None:
        with self._transaction() as con:
            deleted = con.execute(
                "DELETE FROM items WHERE origin = ? AND item_key = ?", (self.origin, _utf16(to_dom_string(key)))
            ).rowcount
        if not deleted:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self.get_item(key) is not None

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    @property
    def used(self) -> int:
        """Bytes this origin's items take, counted as the quota counts them (2 per UTF-16 unit)."""
        with self._connect() as con:
            return self._used(con)

    def __repr__(self) -> str:
        # Counts only: values may be private (that is the point of the lesson).
        try:
            with self._connect() as con:
                count, used = con.execute(
                    "SELECT COUNT(*), COALESCE(SUM(length(item_key) + length(item_value)), 0)"
                    " FROM items WHERE origin = ?",
                    (self.origin,),
                ).fetchone()
        except (sqlite3.Error, OSError):
            return f"<LocalStorage {self.origin!r} (storage file unavailable)>"
        items = "item" if count == 1 else "items"
        return f"<LocalStorage {self.origin!r}: {count} {items}, {used:,} of {self.quota:,} bytes used>"

    # --- SQLite -------------------------------------------------------------------------------

    def _create(self) -> None:
        try:
            self._make_private_dirs()
            if self._claim_new_file():
                fresh = True
            else:
                self._check_is_ours()
                fresh = False
            with self._connect() as con:
                # WAL lets one kernel read while another writes; it sticks to the file once set.
                con.execute("PRAGMA journal_mode = WAL")
                con.execute(_SCHEMA)
                con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                columns = {row[1] for row in con.execute("PRAGMA table_info(items)")}
            if not fresh:
                self._make_private(self.path, 0o600)
        except sqlite3.DatabaseError as err:
            raise self._not_ours(str(err)) from None
        except OSError as err:
            raise UsageError(
                f"Cannot create the storage file {str(self.path)!r} ({err}). Pass path= or set {ENV_VAR}."
            ) from None
        if not _KIT_COLUMNS <= columns:  # pragma: no cover - _check_is_ours refuses such a file first
            raise self._not_ours("its 'items' table is not cors-lab's")

    def _make_private_dirs(self) -> None:
        """Create the missing directories 0700; the kit's own default directory is tightened to 0700."""
        missing = []
        parent = self.path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for directory in reversed(missing):
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                pass
        if self.path == default_path() and self.path.parent.name == "cors-lab":
            self._make_private(self.path.parent, 0o700)

    @staticmethod
    def _make_private(path: Path, mode: int) -> None:
        try:
            if stat.S_IMODE(path.stat().st_mode) & ~mode:
                path.chmod(mode)
        except OSError:  # another user's file on a shared disk: theirs to fix
            pass

    def _claim_new_file(self) -> bool:
        """Create the database file 0600 if there is none (or it is empty); True if it is new."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if self.path.stat().st_size:
                return False
            self._make_private(self.path, 0o600)  # an empty file: nothing in it to lose
            return True
        os.close(fd)
        return True

    def _check_is_ours(self) -> None:
        """Refuse, without changing a byte, any file that is not a cors-lab storage file."""
        with open(self.path, "rb") as f:
            head = f.read(100)
        if not head.startswith(_SQLITE_MAGIC):
            raise self._not_ours("it is not an SQLite database")
        application_id = int.from_bytes(head[68:72], "big")
        if application_id == APPLICATION_ID:
            return
        if application_id != 0:
            raise self._not_ours(f"it is another program's SQLite database (application_id {application_id:#x})")
        # Files from before the kit stamped its id: read-only and immutable, so SQLite writes nothing,
        # not even a -wal or -shm file beside it.
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro&immutable=1"
        con = sqlite3.connect(uri, uri=True)
        try:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            columns = {row[1] for row in con.execute("PRAGMA table_info(items)")}
        finally:
            con.close()
        if not tables <= _KIT_TABLES or (tables and columns != _KIT_COLUMNS):
            shown = ", ".join(sorted(tables)) or "none"
            raise self._not_ours(f"it holds other tables ({shown})")

    def _not_ours(self, why: str) -> UsageError:
        return UsageError(
            f"{str(self.path)!r} is not a cors-lab storage file: {why}. Nothing in it was changed. Pass path= or"
            f" set {ENV_VAR} to a new file name."
        )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short-lived connection per operation: safe from any thread, and nothing to close later.
        con = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT, isolation_level=None)
        try:
            # With WAL, NORMAL still never corrupts the file; only a power cut may lose the last write.
            con.execute("PRAGMA synchronous = NORMAL")
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: takes the file's write lock first, so a read-check-write is atomic."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _used(self, con: sqlite3.Connection) -> int:
        return con.execute(
            "SELECT COALESCE(SUM(length(item_key) + length(item_value)), 0) FROM items WHERE origin = ?",
            (self.origin,),
        ).fetchone()[0]

    def _quota_error(self, key: str, used: int) -> QuotaExceededError:
        # Deviation: Chromium quotes the key whole; a key longer than 100 characters is shortened.
        shown = key if len(key) <= 100 else key[:100] + "..."
        return QuotaExceededError(
            f"Failed to execute 'setItem' on 'Storage': Setting the value of '{shown}' exceeded the quota.",
            fix=f"{self.origin} already uses {used:,} of its {self.quota:,} bytes (each character of"
            " a key or value costs 2 bytes) and nothing was changed. Remove items you no longer need"
            " (removeItem, clear), or store less: canvas.toDataURL('image/jpeg', 0.8) is usually far"
            " smaller than a PNG data URL.",
        )


# --- JavaScript's String(value) ---------------------------------------------------------------


_MAX_NESTING = 256  # arrays inside arrays; deeper ones are refused (JavaScript engines throw RangeError)
_MAX_DIGITS = 100_000  # decimal digits of an int converted (Python's str() refuses past 4,300)


def to_dom_string(value: Any) -> str:
    """``value`` converted to a string as JavaScript's ``String(value)`` does for Web Storage.

    ``True`` -> "true", ``None`` -> "null", ``1.0`` -> "1", ``[1, None]`` -> "1,", ``{}`` and
    ``object()`` -> "[object Object]" (the classic reason to ``JSON.stringify`` first), a list that
    contains itself -> its repeat joined as "" (as V8 and SpiderMonkey do), ints of any size -> all
    their digits (like a BigInt). Never raises anything but ``UsageError``: bytes are refused (there
    is no bytes type in JavaScript; store a data: URL or base64 text instead), and so is a value
    whose own ``__str__`` fails (in JavaScript, ``String(x)`` throws what ``x.toString()`` throws).

    Spec: https://tc39.es/ecma262/#sec-tostring
    """
    try:
        return _to_string(value, set(), 0)
    except RecursionError:
        raise UsageError("This value is nested too deeply to convert to a string; store JSON text instead.") from None


def _to_string(value: Any, joining: set[int], depth: int) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _int_to_string(value)
    if isinstance(value, float):
        return _number_to_string(value)
    if isinstance(value, (list, tuple)):
        # Array.prototype.join: null and undefined elements become the empty string.
        # Deviation: the standard's join has no cycle check (it would recurse forever); engines
        # give an array already being joined as "", and so does this.
        if id(value) in joining:
            return ""
        if depth >= _MAX_NESTING:
            raise UsageError(f"This list holds lists more than {_MAX_NESTING} deep; store JSON text instead.")
        joining.add(id(value))
        try:
            parts = []
            for item in value:
                parts.append("" if item is None else _to_string(item, joining, depth + 1))
        finally:
            joining.discard(id(value))
        return ",".join(parts)
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, (set, frozenset)):
        return "[object Set]"
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise UsageError(
            "localStorage stores strings, not bytes. Store text, e.g. a data: URL from"
            " canvas.toDataURL() or base64.b64encode(data).decode()."
        )
    kind = type(value)
    if kind.__str__ is object.__str__ and kind.__repr__ is object.__repr__:
        return "[object Object]"  # a plain object, with no text of its own
    try:
        text = str(value)
    except Exception as err:  # noqa: BLE001 - any failure of the value's own __str__
        raise UsageError(
            f"String() of this {kind.__name__} failed: its __str__ raised {type(err).__name__}: {err}. In JavaScript"
            " String(x) throws what x.toString() throws; store text you made yourself instead."
        ) from None
    return text


def _int_to_string(n: int) -> str:
    """All the digits of ``n`` (BigInt's toString), past Python's 4,300-digit str() limit too."""
    digits = int(abs(n).bit_length() * 0.30103) + 1
    if digits > _MAX_DIGITS:
        raise UsageError(
            f"This int has about {digits:,} decimal digits; the kit converts at most {_MAX_DIGITS:,}. Store"
            " a shorter text (hex(value) is much quicker to write out)."
        )
    return ("-" if n < 0 else "") + _digits(abs(n))


def _digits(n: int) -> str:
    if n.bit_length() < 10_000:  # about 3,000 digits: str() takes it
        return str(n)
    half = int(n.bit_length() * 0.30103) // 2
    high, low = divmod(n, 10**half)
    return _digits(high) + _digits(low).zfill(half)


def _number_to_string(x: float) -> str:
    """Number::toString(x) with radix 10. Spec: https://tc39.es/ecma262/#sec-numeric-types-number-tostring"""
    # 1. If x is NaN, return "NaN". 2. If x is +0 or -0, return "0".
    if math.isnan(x):
        return "NaN"
    if x == 0:
        return "0"
    # 3. If x < 0, return the string-concatenation of "-" and Number::toString(-x).
    if x < 0:
        return "-" + _number_to_string(-x)
    # 4. If x is +Infinity, return "Infinity".
    if math.isinf(x):
        return "Infinity"
    # 5. Let n, k and s be integers such that k >= 1, 10^(k-1) <= s < 10^k, s * 10^(n-k) is x and
    #    k is as small as possible: the shortest round-trip digits, which repr() also gives.
    sign, digit_tuple, exponent = Decimal(repr(x)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = exponent + k
    # 6. If k <= n <= 21: the k digits of s followed by n - k zeros.
    if k <= n <= 21:
        return digits + "0" * (n - k)
    # 7. If 0 < n <= 21: the first n digits, ".", and the remaining k - n digits.
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    # 8. If -6 < n <= 0: "0.", -n zeros, and the k digits.
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    # 9-10. Otherwise exponential: d[.ddd]e+/-(n-1).
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if n - 1 > 0 else '-'}{abs(n - 1)}"


def _utf16(text: str) -> bytes:
    # surrogatepass: a lone surrogate is a valid JavaScript string and is kept as it is.
    return text.encode("utf-16-le", "surrogatepass")


def _from_utf16(data: bytes) -> str:
    return bytes(data).decode("utf-16-le", "surrogatepass")
