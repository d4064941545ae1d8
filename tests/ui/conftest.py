"""The web UI against a live server: two organisations, their users, data from real ingest.

Event data arrives only through ingest: the real sentry-sdk (``sdk_seed.py``) and raw
envelopes (the XSS corpus). Accounts (organisations, projects, users) are made the way an
operator makes them: projects through the accounts module, users with ``vedette user create``.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, sync_playwright
from playwright.sync_api import Page as PwPage
from tests.conftest import LiveVedette, ProjectHandle, SessionShelf
from tests.ui import pages, xss

from vedette import cli

SEED = Path(__file__).with_name("sdk_seed.py")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM = Path(os.environ.get("VEDETTE_CHROMIUM", str(DEBIAN_CHROMIUM)))
# As Playwright's own probe starts it here: no sandbox as root, no background traffic to a
# closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"


def vedette_cli(server: LiveVedette, *args: str) -> subprocess.CompletedProcess[str]:
    """``vedette ARGS`` against the server's database, run in this process (the command line's
    own ``main``, its settings from the environment; no interpreter start per command)."""
    settings = {
        "VEDETTE_DATABASE_URL": server.database_url,
        "VEDETTE_BASE_URL": server.base_url,
        "VEDETTE_DATA_DIR": str(server.data_dir),
    }
    saved = {name: os.environ.get(name) for name in settings}
    out, err = io.StringIO(), io.StringIO()
    returncode = 0
    os.environ.update(settings)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main(list(args))
    except SystemExit as stop:
        if isinstance(stop.code, str):
            err.write(f"{stop.code}\n")
            returncode = 1
        else:
            returncode = int(stop.code or 0)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return subprocess.CompletedProcess(
        ["vedette", *args], returncode, out.getvalue(), err.getvalue()
    )


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    project: ProjectHandle

    @property
    def base(self) -> str:
        return f"/p/{self.project.org}/{self.project.slug}"


@dataclass(frozen=True)
class World:
    server: LiveVedette
    ours: Account
    theirs: Account
    xss_error_id: str
    xss_transaction_id: str
    xss_trace_id: str

    def issues(self, query: str = "") -> list[dict[str, object]]:
        return self.server.issues(self.ours.project, query)

    def issue_titled(self, prefix: str) -> dict[str, object]:
        found = [i for i in self.issues() if str(i["title"]).startswith(prefix)]
        assert len(found) == 1, [i["title"] for i in self.issues()]
        return found[0]


def make_account(server: LiveVedette, label: str) -> Account:
    suffix = uuid.uuid4().hex[:8]
    project = server.create_project(slug=f"shop-{suffix}", org=f"{label}-{suffix}")
    email = f"{label}-{suffix}@example.com"
    result = vedette_cli(server, "user", "create", email, "--password", PASSWORD,
                         "--org", project.org)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return Account(email, PASSWORD, project)


def send_envelope(server: LiveVedette, project: ProjectHandle, body: bytes) -> None:
    response = server.http.post(
        f"/api/{project.id}/envelope/",
        content=body,
        headers={"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}"},
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="session")
def world(live_vedette: LiveVedette, shelf: SessionShelf) -> World:
    """Built once per engine and session (kept on the shelf)."""
    return shelf.keep(("world", live_vedette.backend), lambda: build_world(live_vedette))


def build_world(live_vedette: LiveVedette) -> World:
    ours, theirs = make_account(live_vedette, "ours"), make_account(live_vedette, "theirs")
    for account in (ours, theirs):
        run = subprocess.run(
            [sys.executable, str(SEED), account.project.dsn],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
    envelopes, error_id, transaction_id, trace_id = xss.corpus_envelopes()
    for body in envelopes:
        send_envelope(live_vedette, ours.project, body)
    live_vedette.wait_processed()
    return World(live_vedette, ours, theirs, error_id, transaction_id, trace_id)


class Visitor:
    """A browserless client of the UI (httpx, cookies kept, redirects not followed)."""

    def __init__(self, server: LiveVedette) -> None:
        self.http = httpx.Client(base_url=server.base_url, timeout=30)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params)

    def page(self, path: str, **params: str) -> pages.Page:
        response = self.get(path, **params)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return pages.parse(response.text)

    def post(self, path: str, data: dict[str, str | list[str]]) -> httpx.Response:
        return self.http.post(path, data=data)

    def login(self, email: str, password: str, next_path: str = "/") -> httpx.Response:
        token = self.page("/login/").form("/login/").inputs["csrf_token"]
        return self.post(
            "/login/",
            {"csrf_token": token, "email": email, "password": password, "next": next_path},
        )

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def visitor(live_vedette: LiveVedette) -> Iterator[Visitor]:
    v = Visitor(live_vedette)
    try:
        yield v
    finally:
        v.close()


def signed_in(server: LiveVedette, account: Account) -> Visitor:
    v = Visitor(server)
    response = v.login(account.email, account.password)
    assert response.status_code == 303, response.text[:500]
    return v


@dataclass
class Tab:
    """A browser page plus everything it must never show: dialogs and CSP violations."""

    page: PwPage
    dialogs: list[str]
    console: list[str]

    def sign_in(self, account: Account) -> None:
        self.page.goto("/login/")
        self.page.fill("input[name=email]", account.email)
        self.page.fill("input[name=password]", account.password)
        self.page.click("form[action='/login/'] button[type=submit]")
        self.page.wait_for_url(lambda url: "/login/" not in url)

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]


def find_chromium() -> Path | None:
    """VEDETTE_CHROMIUM if set; else Debian's /usr/bin/chromium; else Playwright's own build
    (``uv run playwright install chromium``)."""
    if os.environ.get("VEDETTE_CHROMIUM"):
        return CHROMIUM if CHROMIUM.exists() else None
    if DEBIAN_CHROMIUM.exists():
        return DEBIAN_CHROMIUM
    with sync_playwright() as playwright:
        installed = Path(playwright.chromium.executable_path)
    return installed if installed.exists() else None


NO_BROWSER = (
    "no Chromium for the browser tests: `apt-get install chromium` (Debian) or "
    "`uv run playwright install chromium` (under CI=true this is a failure)"
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Every browser test skipped for want of Chromium, reported at one place, so that ``-ra``
    folds them into one line."""
    report: pytest.TestReport = yield
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and NO_BROWSER in str(longrepr[2]):
        report.longrepr = (__file__, find_chromium.__code__.co_firstlineno, longrepr[2])
    return report


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The browser binary, looked for once. Missing: the browser tests are skipped with one
    line saying how to get it; under CI they fail instead."""
    found = find_chromium()
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(NO_BROWSER)
        pytest.skip(NO_BROWSER)
    return found


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    """One per module, a fresh context per test (``tab``). Module-scoped, not session-scoped:
    while Playwright's sync API runs it holds an event loop in this thread, which tests of
    other modules calling asyncio.run must not find (pytest tears a module's fixtures down
    before it moves on to another module's tests)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def tab(browser: Browser, live_vedette: LiveVedette) -> Iterator[Tab]:
    context = browser.new_context(
        base_url=live_vedette.base_url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    found = Tab(page, [], [])

    def on_dialog(dialog: Dialog) -> None:
        found.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: found.console.append(message.text))
    try:
        yield found
    finally:
        context.close()
