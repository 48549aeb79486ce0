"""cors_lab.servers.log: what each request leaves in the log, and how the log renders, with no socket (`ask`)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from cors_lab.assets import get_asset
from cors_lab.servers import LOG_FIELD, LogEntry, Request
from cors_lab.servers.log import LogBook, log_entry

KERNEL_UA = "cors-lab-kernel/0.1"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
FOREIGN_COOKIES = "_xsrf=SECRETXSRF; username-127-0-0-1-8888=SECRETAUTH"


def test_log_entry_fields(lab, ask):
    url = lab.cdn.url("picture.png", acao="*")
    ask(
        url,
        {
            "User-Agent": BROWSER_UA,
            "Origin": lab.site.origin,
            "Referer": lab.site.origin + "/page.html",
            "Sec-Fetch-Mode": "cors",
            "Sec-Fetch-Dest": "image",
            "Sec-Fetch-Site": "same-site",
            "Accept": "image/avif,image/webp,*/*",
            "Cookie": f"{FOREIGN_COOKIES}; cors_lab_user=alice",
        },
    )
    (entry,) = lab.cdn.log
    assert isinstance(entry, LogEntry)
    assert entry.server == "cdn" and entry.client == "browser" and entry.method == "GET"
    assert entry.path == urlsplit(url).path + "?" + urlsplit(url).query
    assert entry.origin == lab.site.origin
    assert entry.referer == lab.site.origin + "/page.html"
    assert entry.sec_fetch == {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "image", "Sec-Fetch-Site": "same-site"}
    assert entry.mode == "cors"
    assert entry.accept == "image/avif,image/webp,*/*"
    assert entry.cookies == {"cors_lab_user": "alice"} and entry.other_cookies == 2
    assert entry.status == 200 and entry.error is None
    assert entry.header("Access-Control-Allow-Origin") == "*"
    assert entry.header("Content-Type") == get_asset("picture.png").content_type
    assert abs(entry.time - time.time()) < 10


@pytest.mark.parametrize("ua, client", [(KERNEL_UA, "kernel"), (BROWSER_UA, "browser"), ("curl/8.0", "other"), ("", "other")])
def test_log_client_kind(lab, ask, ua, client):
    ask(lab.site.url("picture.png"), {"User-Agent": ua})
    assert lab.site.log[-1].client == client


def test_log_keeps_absent_origin_distinct_from_null(lab, ask):
    ask(lab.cdn.url("picture.png"))
    ask(lab.cdn.url("picture.png"), {"Origin": "null"})
    absent, null = lab.cdn.log
    assert absent.origin is None and null.origin == "null"
    table = lab.cdn.log.table()
    assert "(absent)" in table and "null" in table


def test_log_redacts_query_of_foreign_referer(lab, ask):
    ask(lab.cdn.url("picture.png"), {"Referer": "http://127.0.0.1:8888/lab/tree/x.ipynb?token=SECRETTOKEN"})
    assert lab.cdn.log[-1].referer == "http://127.0.0.1:8888/lab/tree/x.ipynb?[query not logged]"
    assert "SECRETTOKEN" not in repr(lab.cdn.log)


def test_log_never_keeps_foreign_cookies(lab, ask):
    ask(lab.cdn.url("picture.png", acao="*"), {"Cookie": f"{FOREIGN_COOKIES}; cors_lab_user=alice"})
    ask(lab.cdn.url("picture.png"), {"Cookie": FOREIGN_COOKIES})
    ask(f"{lab.cdn.origin}/../x", {"Cookie": FOREIGN_COOKIES})  # 404s are logged too
    ask(f"{lab.cdn.origin}/img/picture.png?status=1", {"Cookie": FOREIGN_COOKIES})
    log = lab.log()
    assert [e.other_cookies for e in log] == [2, 2, 2, 2]
    renderings = [repr(log), str(log), log.table(), log._repr_html_(), *(repr(e) for e in log), repr(vars(log[0]))]
    for text in renderings:
        for secret in ("SECRETXSRF", "SECRETAUTH", "_xsrf", "username-127-0-0-1-8888"):
            assert secret not in text
    assert "cors_lab_user=alice" in log.table() and "+2 other" in log.table()


def test_log_tables_render_and_escape(lab, ask):
    ask(lab.cdn.url("picture.png", acao="<b>x</b>"), {"Origin": "<script>", "Cookie": "cors_lab_user=<i>"})
    log = lab.log()
    text = log.table()
    lines = text.splitlines()
    assert lines[0].split() == ["time", "server", "client", "method", "status", "path", "Origin", "mode", "ACAO", "cookies"]
    assert "<b>x</b>" in text
    page = log._repr_html_()
    assert page.startswith('<table class="cors-lab-log">')
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page

    class Printer:
        def __init__(self):
            self.out = []

        def text(self, s):
            self.out.append(s)

    p = Printer()
    log._repr_pretty_(p, False)
    assert p.out == [text]



@pytest.mark.parametrize("cookie, kept, others", [
    ("cors_lab_user=alice, _xsrf=SECRET", {"cors_lab_user": "alice"}, 1),  # a comma-joined Cookie header
    ("cors_lab_user=alice,_xsrf=SECRET;token=SECRET", {"cors_lab_user": "alice"}, 2),
    ("cors_lab_user=SECRET VALUE", {}, 1),  # not the lab's format: counted, never kept
    ("cors_lab_user=<script>", {}, 1),
    ("cors_lab_other=SECRET", {}, 1),  # a name the lab never sets
    ("cors_lab_user=alice; cors_lab_user=SECRET", {"cors_lab_user": "alice"}, 1),
    ("cors_lab_user=" + "a" * 33, {}, 1),
])
def test_log_keeps_a_lab_cookie_only_in_the_labs_own_format(lab, ask, cookie, kept, others):
    ask(lab.cdn.url("picture.png"), {"Cookie": cookie})
    entry = lab.cdn.log[-1]
    assert entry.cookies == kept and entry.other_cookies == others
    assert "SECRET" not in repr(entry) and "SECRET" not in lab.cdn.log.table()


def test_log_clips_long_values(lab, ask):
    target = "/img/picture.png?nonce=" + "n" * 60_000
    ask(lab.cdn.origin + target, {"Origin": "o" * 5000, "Accept": "a" * 5000})
    entry = lab.cdn.log[-1]
    assert entry.path == f"{target[:LOG_FIELD]}...[{len(target) - LOG_FIELD:,} more characters not logged]"
    assert len(entry.origin) < LOG_FIELD + 100 and len(entry.accept) < LOG_FIELD + 100
    assert entry.status == 200


def test_log_keeps_a_byte_budget_per_origin():
    book = LogBook(limit=1000, budget=50_000)
    request = Request("GET", "/img/picture.png?nonce=" + "n" * 60_000)
    for _ in range(200):
        book.append(log_entry(request, server="cdn", status=200, headers=[], error=None, lab_origins=()))
    assert book.size <= 50_000 and 0 < len(book) < 200
    assert len(book.snapshot()) == len(book)
    book.clear()
    assert book.size == 0 and len(book) == 0


def test_log_keeps_at_most_its_entry_limit():
    book = LogBook(limit=3)
    for i in range(5):
        book.append(log_entry(Request("GET", f"/{i}"), server="cdn", status=404, headers=[], error=None, lab_origins=()))
    assert [e.path for e in book.snapshot()] == ["/2", "/3", "/4"]
