"""Commits and issues on a real git history with the real sentry-cli: suspect commits (the
release's commits that touched a file of the event's in-app frames) and ``Fixes WEB-1``
resolving an issue in the release whose commits say so."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from tests.conftest import LiveVedette, ProjectHandle
from tests.releases.test_sentry_cli_pipeline import git, sentry_cli
from tests.ui.conftest import make_account, signed_in

from vedette.domain.events import IssueStatus
from vedette.domain.regressions import IssueState, regresses
from vedette.domain.suspects import (
    fixed_short_ids,
    in_app_paths,
    match_score,
    parse_short_id,
    path_segments,
    suspects,
)

pytestmark = pytest.mark.e2e

PAYMENTS = "def charge(order):\n    raise KeyError('charge')\n"
CART = "def total(lines):\n    return sum(lines) / len(lines)\n"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Fixes SHOP-12", ["SHOP-12"]),
        ("fix: guard totals\n\nfixes shop-1a, closes WEB-3", ["SHOP-1A", "WEB-3"]),
        ("Resolved: MY_APP-2 and resolves MY_APP-2 again", ["MY_APP-2"]),
        ("Suffixes SHOP-12 is not a keyword; neither is fixesSHOP-1", []),
        ("Fixes #12 (a GitHub issue, not ours)", []),
    ],
)
def test_fixed_short_ids(message: str, expected: list[str]) -> None:
    assert fixed_short_ids(message) == expected


@pytest.mark.parametrize(
    ("short_id", "expected"),
    [("SHOP-12", ("SHOP", 38)), ("MY-APP-Z", ("MY-APP", 35)), ("SHOP-", None), ("-1", None)],
)
def test_parse_short_id(short_id: str, expected: tuple[str, int] | None) -> None:
    assert parse_short_id(short_id) == expected


@pytest.mark.parametrize(
    ("frame", "file", "score"),
    [
        ("/srv/app/src/shop/payments.py", "src/shop/payments.py", 3),
        ("shop/payments.py", "src/shop/payments.py", 2),
        ("app:///src/cart.ts", "src/cart.ts", 2),
        ("webpack://shop/./src/cart.ts", "src/cart.ts", 2),
        ("C:\\app\\src\\cart.ts", "src/cart.ts", 2),
        ("/srv/app/src/shop/payments.py", "src/billing/payments.py", 0),
        ("/srv/app/src/shop/payments.py", "payments.py.orig", 0),
    ],
)
def test_paths_match_by_their_trailing_segments(frame: str, file: str, score: int) -> None:
    assert match_score(path_segments(frame), path_segments(file)) == score


def test_suspects_best_match_first_then_newest() -> None:
    frames = [path_segments("/srv/app/src/shop/payments.py"), path_segments("cart.py")]
    commits = [["README.md"], ["src/cart.py"], ["src/shop/payments.py", "src/shop/cart.py"]]
    found = suspects(frames, commits)
    assert [(s.position, s.files, s.score) for s in found] == [
        (2, ("src/shop/payments.py", "src/shop/cart.py"), 3),  # a bare file name matches too
        (1, ("src/cart.py",), 1),
    ]


def test_only_in_app_frames_count() -> None:
    event = {
        "exception": {
            "values": [
                {"stacktrace": {"frames": [
                    {"filename": "site-packages/fastapi/routing.py", "in_app": False},
                    {"filename": "shop/payments.py", "abs_path": "/srv/shop/payments.py",
                     "in_app": True},
                ]}}
            ]
        }
    }  # fmt: skip
    assert in_app_paths(event) == {("shop", "payments.py"), ("srv", "shop", "payments.py")}


@pytest.mark.parametrize(
    ("release", "timestamp", "reopens"),
    [
        ("web@1.1.0", 200.0, True),  # the release that was to fix it
        ("web@1.2.0", 200.0, True),  # a newer one
        ("web@1.0.0", 200.0, False),  # an older release still running
        (None, 200.0, True),  # no release: by time
        ("web@1.1.0", 50.0, False),  # happened before the resolution
    ],
)
def test_resolved_in_release(release: str | None, timestamp: float, reopens: bool) -> None:
    state = IssueState(IssueStatus.RESOLVED, 100.0, "web@1.1.0")
    assert regresses(state, timestamp, release, {}) is reopens


# -- against a live server, with sentry-cli and a real git history ---------------------------


def commit(repo: Path, author: str, message: str, files: dict[str, str]) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", ".")
    git(repo, "-c", f"user.name={author}", "-c", f"user.email={author.lower()}@example.com",
        "commit", "-q", "-m", message)  # fmt: skip
    return git(repo, "rev-parse", "HEAD")


def shop_repo(path: Path) -> tuple[Path, list[str]]:
    """Two commits by two authors, each touching one module; the shas, oldest first."""
    path.mkdir()
    git(path, "init", "-q")
    git(path, "remote", "add", "origin", "https://git.example.com/acme/web.git")
    first = commit(path, "Ada", "Take payments", {"src/shop/payments.py": PAYMENTS})
    second = commit(path, "Grace", "Cart totals", {"src/shop/cart.py": CART})
    return path, [first, second]


def load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"shop_{uuid.uuid4().hex}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def capture(project: ProjectHandle, repo: Path, release: str, fail: Callable[[], object]) -> str:
    """The real SDK, in-process: ``fail()`` raises from the repository's code; the event id."""
    client = sentry_sdk.Client(
        dsn=project.dsn, default_integrations=False, release=release, project_root=str(repo)
    )
    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            try:
                fail()
            except Exception as error:
                event_id = sentry_sdk.capture_exception(error)
        assert event_id is not None
        return event_id
    finally:
        client.close(timeout=10)


def test_suspect_commits_and_fixes(live_vedette: LiveVedette, tmp_path: Path) -> None:
    server, account = live_vedette, make_account(live_vedette, "commits")
    project = account.project
    repo, (payments_sha, cart_sha) = shop_repo(tmp_path / "repo")
    cli = lambda *args: sentry_cli(server, project, *args, cwd=repo)  # noqa: E731
    cli("releases", "new", "web@1.0.0")
    cli("releases", "set-commits", "web@1.0.0", "--local")
    cli("releases", "deploys", "web@1.0.0", "new", "--env", "production")

    payments = load(repo / "src" / "shop" / "payments.py")
    event_id = capture(project, repo, "web@1.0.0", lambda: payments.charge(17))
    server.wait_processed()
    base = f"/api/0/projects/{project.org}/{project.slug}"
    committers = server.api_get(f"{base}/events/{event_id}/committers/")["committers"]
    assert [c["author"]["email"] for c in committers] == ["ada@example.com"]  # not Grace
    [suspect] = committers[0]["commits"]
    assert (suspect["id"], suspect["files"]) == (payments_sha, ["src/shop/payments.py"])
    assert suspect["message"].strip() == "Take payments"

    [issue] = server.issues(project)
    visitor = signed_in(server, account)
    page = visitor.page(f"{account.base}/issues/{issue['id']}/").text
    visitor.close()
    assert "First seen in release web@1.0.0" in page
    assert "deployed to production" in page
    assert f"{payments_sha[:12]} Take payments" in page and "src/shop/payments.py" in page
    assert cart_sha[:12] not in page
    # (The fix leaves payments.py as it is on disk: the SDK reads its lines for the event.)
    fix = commit(repo, "Grace", f"Guard the charge\n\nFixes {issue['shortId']}",
                 {"src/shop/guards.py": "def checked(order):\n    return order\n"})  # fmt: skip
    cli("releases", "new", "web@1.1.0")
    cli("releases", "set-commits", "web@1.1.0", "--local")
    resolved = server.api_get(f"/api/0/issues/{issue['id']}/")
    assert (resolved["status"], resolved["statusDetails"]) == (
        "resolved",
        {"inRelease": "web@1.1.0"},
    )
    activity = server.api_get(f"/api/0/issues/{issue['id']}/activities/")["activity"]
    fixed = [a for a in activity if a["type"] == "set_resolved_in_release"]
    assert [a["data"] for a in fixed] == [{"version": "web@1.1.0", "commit": fix}]

    # The old release still running does not reopen it; the release that was to fix it does.
    capture(project, repo, "web@1.0.0", lambda: payments.charge(18))
    server.wait_processed()
    assert server.api_get(f"/api/0/issues/{issue['id']}/")["status"] == "resolved"
    capture(project, repo, "web@1.1.0", lambda: payments.charge(19))
    server.wait_processed()
    assert server.api_get(f"/api/0/issues/{issue['id']}/")["status"] == "unresolved"
    assert cart_sha not in {c["id"] for c in committers[0]["commits"]}
    assert len(server.issues(project)) == 1
