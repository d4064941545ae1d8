"""The real @sentry/browser in Chromium against a live server, on both engines: a page bundled by
esbuild (tests/e2e/sdk_scenarios/node/browser/app.mjs) and served from another loopback origin
sends logs, feedback, an uncaught error (its session becomes ``unhandled``) and a pageload
trace. Each is stored once, found through the API and shown on its page."""

from __future__ import annotations

import contextlib
import functools
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser
from tests.conftest import LiveVedette
from tests.ui.conftest import Account, make_account

pytestmark = pytest.mark.e2e

NODE_DIR = Path(__file__).parents[1] / "e2e" / "sdk_scenarios" / "node"
ESBUILD = NODE_DIR / "node_modules" / ".bin" / "esbuild"
PAGE = """<!doctype html><html><head><title>Shop</title></head>
<body><h1>Shop</h1><script src="app.js"></script></body></html>"""


def build_page(directory: Path) -> Path:
    if not ESBUILD.exists() or not (NODE_DIR / "node_modules" / "@sentry" / "browser").is_dir():
        pytest.skip("needs esbuild and @sentry/browser: `npm ci` in tests/e2e/sdk_scenarios/node")
    subprocess.run(
        [str(ESBUILD), "browser/app.mjs", "--bundle", "--minify", "--format=iife",
         f"--outfile={directory / 'app.js'}"],
        cwd=NODE_DIR, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    (directory / "index.html").write_text(PAGE)
    return directory


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """The page on its own loopback origin, so the SDK posts cross-origin as in production."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_shop(browser: Browser, origin: str, dsn: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{origin}/index.html?dsn={quote(dsn)}")
        page.wait_for_function("window.shop !== undefined")
        page.wait_for_function("!shop.tracing()")  # the pageload span has ended
        page.evaluate("shop.checkout(17)")
        page.evaluate("shop.feedback('The pay button does nothing')")
        # The error is thrown from a timer: the next timer runs after the SDK has seen it.
        page.evaluate("shop.crash('Cart total is NaN'); new Promise((done) => setTimeout(done, 0))")
        assert page.evaluate("shop.flush()") is True
    finally:
        context.close()


@pytest.fixture(scope="module")
def shop_account(
    browser: Browser, live_vedette: LiveVedette, tmp_path_factory: pytest.TempPathFactory
) -> Account:
    """One browser session of the shop per engine: what the tests below look at."""
    account = make_account(live_vedette, "browser")
    site = build_page(tmp_path_factory.mktemp("browser-shop"))
    with static_site(site) as origin:
        run_shop(browser, origin, account.project.dsn)
    live_vedette.wait_processed()
    return account


def project_get(server: LiveVedette, account: Account, path: str, **params: Any) -> Any:
    project = account.project
    return server.api_get(f"/api/0/projects/{project.org}/{project.slug}/{path}", **params)


def test_logs_are_stored_once(live_vedette: LiveVedette, shop_account: Account) -> None:
    rows = project_get(live_vedette, shop_account, "logs/")
    assert [(r["level"], r["message"]) for r in rows] == [
        ("warn", "Payment provider slow"),
        ("info", "Checkout started for order 17"),
    ]
    warn, info = rows
    assert info["template"] == "Checkout started for order %s"
    assert info["attributes"]["cart_size"] == 3
    assert warn["attributes"]["provider"] == "acme-pay"
    assert {r["release"] for r in rows} == {"browser-shop@1.4.0"}
    assert {r["sdk"].split()[0] for r in rows} == {"sentry.javascript.browser"}


def test_feedback_is_stored_once(live_vedette: LiveVedette, shop_account: Account) -> None:
    rows = project_get(live_vedette, shop_account, "user-feedback/")
    assert [(r["name"], r["email"], r["comments"]) for r in rows] == [
        ("Ada Shopper", "ada@example.com", "The pay button does nothing")
    ]


def test_uncaught_error_makes_an_unhandled_session(
    live_vedette: LiveVedette, shop_account: Account
) -> None:
    issues = live_vedette.issues(shop_account.project)
    assert [i["title"] for i in issues] == ["Error: Cart total is NaN"]
    event = live_vedette.api_get(f"/api/0/issues/{issues[0]['id']}/events/latest/")
    exception = event["entries"][0]["data"]["values"][-1]
    assert exception["mechanism"]["handled"] is False
    releases = project_get(live_vedette, shop_account, "releases/", statsPeriod="24h")
    health = next(r for r in releases if r["version"] == "browser-shop@1.4.0")["healthData"]
    # The page survived the error: errored, not crashed (the session used to be refused).
    assert (health["totalSessions"], health["sessionsErrored"], health["sessionsCrashed"]) == (
        1,
        1,
        0,
    )
    assert health["crashFreeSessions"] == 100.0


def test_pageload_is_listed_as_a_transaction(
    live_vedette: LiveVedette, shop_account: Account
) -> None:
    listed = project_get(live_vedette, shop_account, "events/", type="transaction")
    assert [e["transaction"] for e in listed] == ["/index.html"]
    event = project_get(live_vedette, shop_account, f"events/{listed[0]['eventID']}/")
    assert event["contexts"]["trace"]["op"] == "pageload"


def test_logs_and_feedback_pages_show_them(
    browser: Browser, live_vedette: LiveVedette, shop_account: Account
) -> None:
    context = browser.new_context(base_url=live_vedette.base_url)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=email]", shop_account.email)
        page.fill("input[name=password]", shop_account.password)
        page.click("form[action='/login/'] button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto(f"{shop_account.base}/logs/")
        assert page.get_by_text("Checkout started for order 17").count() == 1
        page.goto(f"{shop_account.base}/feedback/")
        assert page.get_by_text("The pay button does nothing").count() == 1
    finally:
        context.close()
