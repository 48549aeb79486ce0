"""Tests for cors_lab.storage: localStorage for the kernel, kept in a SQLite file."""

from __future__ import annotations

import functools
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cors_lab import storage as storage_module
from cors_lab.errors import QuotaExceededError, SecurityError, UsageError
from cors_lab.storage import DEFAULT_QUOTA, LocalStorage, default_path, to_dom_string


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "localstorage.sqlite3"


@pytest.fixture
def store(db) -> LocalStorage:
    return LocalStorage("https://a.test", path=db)


# --- the Storage interface --------------------------------------------------------------------


def test_set_item_get_item_round_trip(store):
    store.set_item("saved-image-example", "data:image/png;base64,iVBORw0KGgo=")
    assert store.get_item("saved-image-example") == "data:image/png;base64,iVBORw0KGgo="
    assert store.get_item("missing") is None


def test_camelCase_aliases_read_like_the_mdn_guide(store):
    store.setItem("saved-image-example", "data:,x")
    assert store.getItem("saved-image-example") == "data:,x"
    store.removeItem("saved-image-example")
    assert store.getItem("saved-image-example") is None


def test_set_item_overwrites(store):
    store.set_item("k", "one")
    store.set_item("k", "two")
    assert store.get_item("k") == "two"
    assert store.length == 1


def test_remove_item_missing_key_is_a_no_op(store):
    store.remove_item("never-set")
    assert store.length == 0


def test_clear(store, db):
    other = LocalStorage("https://b.test", path=db)
    other.set_item("keep", "me")
    for i in range(5):
        store.set_item(f"k{i}", i)
    store.clear()
    assert store.length == 0 and store.keys() == []
    assert other.get_item("keep") == "me"
    store.clear()  # clearing an empty storage is fine


def test_key_index_is_insertion_order(store):
    for name in ["zebra", "apple", "mango"]:
        store.set_item(name, "x")
    assert [store.key(i) for i in range(3)] == ["zebra", "apple", "mango"]
    assert store.key(3) is None
    assert store.key(-1) is None  # unsigned long: -1 is 4294967295
    # Overwriting keeps a key's place; removing and re-adding moves it to the end.
    store.set_item("zebra", "y")
    assert store.keys() == ["zebra", "apple", "mango"]
    store.remove_item("zebra")
    store.set_item("zebra", "z")
    assert store.keys() == ["apple", "mango", "zebra"]


def test_key_needs_an_int(store):
    with pytest.raises(UsageError):
        store.key("0")  # type: ignore[arg-type]


def test_length(store):
    assert store.length == 0
    store.set_item("a", "1")
    store.set_item("b", "2")
    assert store.length == 2 == len(store)


# --- the dict-like face -----------------------------------------------------------------------


def test_dict_face(store):
    store["a"] = "1"
    store["b"] = 2
    assert store["a"] == "1" and store["b"] == "2"
    assert "a" in store and "zzz" not in store
    assert list(store) == ["a", "b"] == store.keys()
    assert dict(store) == {"a": "1", "b": "2"}
    del store["a"]
    assert "a" not in store and len(store) == 1
    with pytest.raises(KeyError):
        store["a"]
    with pytest.raises(KeyError):
        del store["a"]


# --- persistence, isolation, files ------------------------------------------------------------


def test_items_survive_a_new_instance(db):
    LocalStorage("https://a.test", path=db).set_item("k", "v")
    # A new object on the same file, as after a kernel restart.
    assert LocalStorage("https://a.test", path=db).get_item("k") == "v"


def test_origins_are_isolated(db):
    a = LocalStorage("https://a.test", path=db)
    b = LocalStorage("https://b.test", path=db)
    a_port = LocalStorage("https://a.test:8443", path=db)
    a_http = LocalStorage("http://a.test", path=db)
    a.set_item("k", "from a")
    for other in (b, a_port, a_http):
        assert other.get_item("k") is None and other.length == 0
    b.set_item("k", "from b")
    assert a.get_item("k") == "from a"


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://a.test/page.html?x=1#y", "https://a.test"),
        ("HTTPS://A.TEST:443/", "https://a.test"),
        ("http://127.0.0.1:8000/notebooks/x.ipynb", "http://127.0.0.1:8000"),
        ("https://a.test", "https://a.test"),
    ],
)
def test_origin_is_normalised(db, given, origin):
    store = LocalStorage(given, path=db)
    assert store.origin == origin
    store.set_item("k", given)
    assert LocalStorage(origin, path=db).get_item("k") == given


@pytest.mark.parametrize("origin", ["null", "data:text/html,<p>hi", "about:blank"])
def test_opaque_origin_is_refused(db, origin):
    with pytest.raises(SecurityError) as info:
        LocalStorage(origin, path=db)
    assert info.value.name == "SecurityError"
    assert str(info.value).startswith(
        "Failed to read the 'localStorage' property from 'Window': Access is denied for this document."
    )


def test_invalid_origin_is_a_usage_error(db):
    with pytest.raises(UsageError):
        LocalStorage("not a url", path=db)


def test_env_var_sets_the_file(tmp_path, monkeypatch):
    target = tmp_path / "from-env" / "ls.sqlite3"
    monkeypatch.setenv("CORS_LAB_STORAGE", str(target))
    assert default_path() == target
    LocalStorage("https://a.test").set_item("k", "v")
    assert target.exists()
    assert LocalStorage("https://a.test", path=target).get_item("k") == "v"


def test_default_path_is_in_the_users_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("CORS_LAB_STORAGE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert default_path() == tmp_path / "cors-lab" / "localstorage.sqlite3"
        monkeypatch.delenv("XDG_DATA_HOME")
        assert default_path() == Path.home() / ".local" / "share" / "cors-lab" / "localstorage.sqlite3"
    assert default_path().name == "localstorage.sqlite3"


def test_path_argument_beats_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("CORS_LAB_STORAGE", str(tmp_path / "env.sqlite3"))
    LocalStorage("https://a.test", path=tmp_path / "arg.sqlite3").set_item("k", "v")
    assert (tmp_path / "arg.sqlite3").exists() and not (tmp_path / "env.sqlite3").exists()


def test_a_file_that_is_not_a_database_is_a_usage_error(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello, this is not SQLite " * 100)
    with pytest.raises(UsageError, match="not a cors-lab storage file"):
        LocalStorage("https://a.test", path=bad)


# --- quota ------------------------------------------------------------------------------------


def test_default_quota_is_chromiums():
    # 10 MiB counted as 2 bytes per UTF-16 code unit: 5 Mi characters.
    assert DEFAULT_QUOTA == 10 * 1024 * 1024


def test_default_quota_fits_five_mebi_characters_and_no_more(db):
    store = LocalStorage("https://a.test", path=db)
    store.set_item("k", "x" * (5 * 1024 * 1024 - 1))  # key (1) + value = 5 Mi characters exactly
    with pytest.raises(QuotaExceededError):
        store.set_item("k2", "")  # two more bytes
    assert store.used == DEFAULT_QUOTA


def test_quota_exceeded_keeps_the_old_value(db):
    store = LocalStorage("https://a.test", path=db, quota=100)
    store.set_item("k", "old")
    store.set_item("other", "o")
    with pytest.raises(QuotaExceededError) as info:
        store.set_item("k", "x" * 100)
    assert str(info.value).startswith(
        "Failed to execute 'setItem' on 'Storage': Setting the value of 'k' exceeded the quota."
    )
    assert info.value.name == "QuotaExceededError"
    assert store.get_item("k") == "old"
    assert store.keys() == ["k", "other"]
    with pytest.raises(QuotaExceededError):
        store.set_item("new", "x" * 100)
    assert store.get_item("new") is None and store.length == 2


def test_quota_counts_utf16_code_units(db):
    store = LocalStorage("https://a.test", path=db, quota=12)
    store.set_item("k", "ab")  # 1 + 2 units = 6 bytes
    assert store.used == 6
    store.set_item("e", "\N{GRINNING FACE}")  # one emoji is 2 UTF-16 code units: 1 + 2 units
    assert store.used == 12
    with pytest.raises(QuotaExceededError):
        store.set_item("k", "abc")


def test_quota_allows_a_write_that_does_not_grow(db):
    store = LocalStorage("https://a.test", path=db, quota=100)
    store.set_item("k", "x" * 40)
    # A smaller quota on another object over the same items: shrinking is still allowed.
    tight = LocalStorage("https://a.test", path=db, quota=10)
    tight.set_item("k", "y" * 20)
    assert tight.get_item("k") == "y" * 20
    with pytest.raises(QuotaExceededError):
        tight.set_item("k", "y" * 21)


def test_quota_is_per_origin(db):
    a = LocalStorage("https://a.test", path=db, quota=20)
    b = LocalStorage("https://b.test", path=db, quota=20)
    a.set_item("k", "x" * 9)
    b.set_item("k", "x" * 9)
    assert a.used == b.used == 20


def test_set_item_same_value_is_a_no_op_even_when_full(db):
    store = LocalStorage("https://a.test", path=db, quota=10)
    store.set_item("k", "abcd")
    store.set_item("k", "abcd")
    assert store.get_item("k") == "abcd"


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True])
def test_quota_must_be_a_non_negative_int(db, bad):
    with pytest.raises(UsageError, match="quota"):
        LocalStorage("https://a.test", path=db, quota=bad)


# --- coercion ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (0, "0"),
        (42, "42"),
        (1.0, "1"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (1e21, "1e+21"),
        (123456789012345680000.0, "123456789012345680000"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        ([1, None, "a"], "1,,a"),
        ([], ""),
        ({"a": 1}, "[object Object]"),
        ("already text", "already text"),
    ],
)
def test_to_dom_string(value, text):
    assert to_dom_string(value) == text


def test_set_item_coerces_keys_and_values(store):
    store.set_item(True, None)
    store.set_item(1, 2.0)
    assert store.get_item("true") == "null"
    assert store.get_item("1") == "2"
    assert store.get_item(1) == "2"
    assert store.keys() == ["true", "1"]


def test_bytes_are_refused_with_a_hint(store):
    with pytest.raises(UsageError, match="data: URL"):
        store.set_item("img", b"\x89PNG")


def test_strings_a_browser_can_hold(store):
    # Lone surrogates are valid JavaScript strings; NUL and emoji too.
    for text in ["\ud800", "a\x00b", "\N{GRINNING FACE}", "", "  spaced  "]:
        store.set_item(text, text)
        assert store.get_item(text) == text
    assert store.get_item("\ud83d\ude00") == "\N{GRINNING FACE}"  # the same UTF-16 string


# --- repr -------------------------------------------------------------------------------------


def test_repr_shows_origin_count_and_bytes_never_values(store):
    store.set_item("token", "s3cr3t-value")
    text = repr(store)
    assert "https://a.test" in text and "1 item" in text
    assert f"{(5 + 12) * 2} of {DEFAULT_QUOTA:,} bytes" in text
    assert "s3cr3t" not in text and "token" not in text


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_writers_from_threads(db):
    errors: list[BaseException] = []

    def writer(n: int, shared: LocalStorage | None) -> None:
        store = shared or LocalStorage("https://a.test", path=db)
        try:
            for i in range(25):
                store.set_item(f"t{n}-{i}", f"{n}:{i}")
                store.set_item("counter-ish", f"{n}:{i}")
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    shared = LocalStorage("https://a.test", path=db)
    threads = [threading.Thread(target=writer, args=(n, shared if n % 2 else None)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    store = LocalStorage("https://a.test", path=db)
    assert store.length == 6 * 25 + 1
    for n in range(6):
        assert all(store.get_item(f"t{n}-{i}") == f"{n}:{i}" for i in range(25))


def test_concurrent_writers_never_exceed_the_quota(db):
    quota = 2 * (2 + 8) * 10  # room for exactly ten items "kN" + 8 characters
    stores = [LocalStorage("https://a.test", path=db, quota=quota) for _ in range(4)]
    refused = []

    def writer(n: int) -> None:
        for i in range(10):
            try:
                stores[n].set_item(f"{n}{i}", "x" * 8)
            except QuotaExceededError:
                refused.append((n, i))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert stores[0].length == 10 and stores[0].used == quota
    assert len(refused) == 30


def test_another_process_sees_the_same_items(db):
    # Another kernel: a separate Python process on the same file.
    LocalStorage("https://a.test", path=db).set_item("from-here", "1")
    code = (
        "import sys; from cors_lab.storage import LocalStorage;"
        "s = LocalStorage('https://a.test', path=sys.argv[1]);"
        "print(s.get_item('from-here')); s.set_item('from-there', '2')"
    )
    out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
    assert LocalStorage("https://a.test", path=db).get_item("from-there") == "2"


def test_a_failed_write_keeps_the_old_value_and_releases_the_lock(db):
    store = LocalStorage("https://a.test", path=db)
    store.set_item("k", "old")
    # Make the database itself refuse one value, as a full disk or an I/O error would.
    boom = "boom".encode("utf-16-le").hex()
    with sqlite3.connect(db) as con:
        con.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE ON items"
            f" WHEN NEW.item_value = X'{boom}' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
    con.close()
    with pytest.raises(sqlite3.DatabaseError, match="disk on fire"):
        store.set_item("k", "boom")
    assert LocalStorage("https://a.test", path=db).get_item("k") == "old"
    store.set_item("k", "new")  # the write lock was released
    assert store.get_item("k") == "new"


# --- the file: the user's alone, and never someone else's database ----------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_new_directories_are_0700_and_the_file_0600(tmp_path):
    db = tmp_path / "a" / "b" / "ls.sqlite3"
    LocalStorage("https://a.test", path=db).set_item("k", "v")
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700
    assert _mode(db) == 0o600
    for side in db.parent.glob("ls.sqlite3-*"):  # SQLite gives -wal and -shm the database's mode
        assert _mode(side) == 0o600


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_the_kits_default_directory_and_an_old_file_are_made_private(tmp_path, monkeypatch):
    monkeypatch.delenv("CORS_LAB_STORAGE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = tmp_path / "cors-lab"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    LocalStorage("https://a.test").set_item("k", "v")
    db = folder / "localstorage.sqlite3"
    db.chmod(0o644)  # as the kit made them before
    LocalStorage("https://a.test").set_item("k", "w")
    assert _mode(folder) == 0o700 and _mode(db) == 0o600


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_path_in_a_shared_directory_leaves_the_directory_alone(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    LocalStorage("https://a.test", path=shared / "ls.sqlite3").set_item("k", "v")
    assert _mode(shared) == 0o755 and _mode(shared / "ls.sqlite3") == 0o600


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_another_programs_database_is_refused_untouched(tmp_path, journal):
    other = tmp_path / "notes.sqlite3"
    con = sqlite3.connect(other)
    con.execute(f"PRAGMA journal_mode = {journal}")
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    con.execute("INSERT INTO notes (text) VALUES ('mine')")
    con.commit()
    con.close()
    before = _files(tmp_path)
    with pytest.raises(UsageError, match=r"not a cors-lab storage file: it holds other tables \(notes\)\. Nothing in it was changed"):
        LocalStorage("https://a.test", path=other)
    assert _files(tmp_path) == before  # no WAL switch, no table added, no -wal or -shm beside it


def test_a_database_with_an_items_table_of_its_own_is_refused(tmp_path):
    other = tmp_path / "shop.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE items (sku TEXT, price REAL)")
    con.commit()
    con.close()
    before = _files(tmp_path)
    with pytest.raises(UsageError, match="not a cors-lab storage file"):
        LocalStorage("https://a.test", path=other)
    assert _files(tmp_path) == before


def test_another_applications_id_is_refused(tmp_path):
    other = tmp_path / "app.sqlite3"
    con = sqlite3.connect(other)
    con.execute("PRAGMA application_id = 1234")
    con.execute("CREATE TABLE settings (x)")
    con.commit()
    con.close()
    with pytest.raises(UsageError, match=r"another program's SQLite database \(application_id 0x4d2\)"):
        LocalStorage("https://a.test", path=other)


def test_a_file_from_before_the_kit_stamped_its_id_is_still_the_kits(tmp_path):
    db = tmp_path / "old.sqlite3"
    con = sqlite3.connect(db)
    con.execute(storage_module._SCHEMA)
    con.execute("INSERT INTO items (origin, item_key, item_value) VALUES (?, ?, ?)",
                ("https://a.test", "k".encode("utf-16-le"), "old".encode("utf-16-le")))
    con.commit()
    con.close()
    store = LocalStorage("https://a.test", path=db)
    assert store.get_item("k") == "old"
    assert sqlite3.connect(db).execute("PRAGMA application_id").fetchone()[0] == storage_module.APPLICATION_ID


def test_an_empty_file_becomes_a_storage_file(tmp_path):
    db = tmp_path / "empty.sqlite3"
    db.touch()
    LocalStorage("https://a.test", path=db).set_item("k", "v")
    assert LocalStorage("https://a.test", path=db).get_item("k") == "v"


# --- String() coercion never raises a raw exception ---------------------------------------------


class _Fails:
    def __str__(self):
        raise ValueError("no text for you")


class _NotText:
    def __str__(self):
        return 42


class _Text:
    def __str__(self):
        return "my own text"


def test_to_dom_string_of_objects_matches_javascript():
    cyclic = [1, "a"]
    cyclic.append(cyclic)
    assert to_dom_string(cyclic) == "1,a,"  # V8: [1, "a", itself].join() is "1,a,"
    assert to_dom_string(object()) == "[object Object]"
    assert to_dom_string({1, 2}) == "[object Set]"
    assert to_dom_string(_Text()) == "my own text"  # a toString of its own
    assert to_dom_string(10**5000) == "1" + "0" * 5000  # BigInt's digits, past Python's 4,300
    assert to_dom_string(-(10**5000) + 1) == "-" + "9" * 5000


@pytest.mark.parametrize("value, match", [
    (_Fails(), "__str__ raised ValueError: no text for you"),
    (_NotText(), "__str__ raised TypeError"),
    (10**200_000, "about 200,001 decimal digits"),
    (functools.reduce(lambda inner, _: [inner], range(1000), []), "lists more than 256 deep"),
], ids=["failing-str", "str-not-a-string", "huge-int", "deep-list"])
def test_to_dom_string_refuses_with_a_usage_error(value, match):
    with pytest.raises(UsageError, match=match):
        to_dom_string(value)


def test_set_item_with_a_failing_value_changes_nothing(store):
    store.set_item("k", "v")
    with pytest.raises(UsageError):
        store.set_item("k", _Fails())
    assert store.get_item("k") == "v"
