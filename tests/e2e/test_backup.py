"""`vedette backup` while the server runs, then a server started on the copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import BACKENDS, LiveVedette, fresh_database_url
from tests.e2e.crash_stream import send_errors, stored_counts


def vedette(server: LiveVedette, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vedette", *args],
        env=server.env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_online_backup_restores(tmp_path: Path) -> None:
    (tmp_path / "live").mkdir()
    for url in fresh_database_url("sqlite", tmp_path / "live", migrated=True):
        server = LiveVedette(url, tmp_path / "live", "sqlite")
        try:
            server.start()
            project = server.create_project()
            accepted = send_errors(server, project, 30)
            server.wait_processed()
            result = vedette(server, "backup", str(tmp_path / "copy"))
            assert result.returncode == 0, result.stderr
            assert result.stdout.splitlines()[-1] == str((tmp_path / "copy").resolve())
        finally:
            server.close()

    restored = LiveVedette(f"sqlite:///{tmp_path / 'copy' / 'vedette.sqlite3'}",
                           tmp_path / "copy", "sqlite")  # fmt: skip
    try:
        restored.start()
        assert stored_counts(restored, project) == dict.fromkeys(accepted, 1)
        [issue] = restored.issues(project)
        assert issue["count"] == "30"
    finally:
        restored.close()


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL not under test")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_backup_points_postgresql_users_to_pg_dump(database_url: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vedette", "backup", str(tmp_path / "x")],
        env={**os.environ, "VEDETTE_DATABASE_URL": database_url},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "pg_dump" in result.stderr
