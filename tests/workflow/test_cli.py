"""``vedette team create`` (run in-process against a migrated database of each engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vedette import cli
from vedette.storage import accounts, teams, users
from vedette.storage.database import Database


def test_team_create(
    db: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VEDETTE_DATABASE_URL", database_url)
    monkeypatch.setenv("VEDETTE_DATA_DIR", str(tmp_path))
    with db.write() as conn:
        users.create_user(conn, "ann@example.com", "correct horse battery", ["acme"])
        users.create_user(conn, "zed@example.com", "correct horse battery", ["elsewhere"])

    cli.main(["team", "create", "acme", "backend", "--name", "Back end",
              "--member", "Ann@Example.com"])  # fmt: skip
    assert capsys.readouterr().out.strip() == "created team #backend of acme (1 members)"
    with db.read() as conn:
        org_id = accounts.organization_id(conn, "acme")
        assert org_id is not None
        [team] = teams.list_teams(conn, org_id)
    assert (team.slug, team.name, team.member_emails) == (
        "backend",
        "Back end",
        ("ann@example.com",),
    )

    for argv, error in [
        (["acme", "backend"], "a team 'backend' exists already"),
        (["acme", "ops", "--member", "zed@example.com"], "not users of this organization"),
        (["nowhere", "ops"], "no organisation nowhere"),
        (["acme", "Not A Slug"], "slug must be"),
    ]:
        with pytest.raises(SystemExit, match=error):
            cli.main(["team", "create", *argv])
