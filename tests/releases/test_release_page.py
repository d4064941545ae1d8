"""The releases page shows what sentry-cli recorded: commits, authors, deploys per environment,
escaped; and only to members of the organisation."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LiveVedette
from tests.releases.test_sentry_cli_pipeline import git_repo, sentry_cli
from tests.ui.conftest import make_account, signed_in


def test_release_page_lists_commits_authors_and_deploys(
    live_vedette: LiveVedette, tmp_path: Path
) -> None:
    server = live_vedette
    ours, theirs = make_account(server, "rel"), make_account(server, "other")
    repo = tmp_path / "repo"
    git_repo(repo, [("Ada & Co", "ada@example.com"), ("Grace", "grace@example.com")])
    cli = lambda *args: sentry_cli(server, ours.project, *args, cwd=repo)  # noqa: E731
    cli("releases", "new", "5.0.0")
    cli("releases", "set-commits", "5.0.0", "--local")
    cli("releases", "deploys", "5.0.0", "new", "--env", "staging", "--name", "first")
    cli("releases", "deploys", "5.0.0", "new", "--env", "staging", "--name", "second")
    cli("releases", "deploys", "5.0.0", "new", "--env", "production", "--name", "live")

    visitor = signed_in(server, ours)
    try:
        html = visitor.get(f"{ours.base}/releases/").text
    finally:
        visitor.close()
    assert "5.0.0" in html and "2 commits" in html
    assert "Ada &amp; Co" in html and "Ada & Co" not in html
    assert "Grace" in html and "Change 1" in html
    assert "production" in html and "live" in html
    assert "second" in html and "first" not in html  # the latest deploy of each environment

    other = signed_in(server, theirs)
    try:
        assert other.get(f"{ours.base}/releases/").status_code == 404
        assert "5.0.0" not in other.get(f"{theirs.base}/releases/").text
    finally:
        other.close()
