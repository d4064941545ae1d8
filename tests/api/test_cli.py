"""The command line: DSNs it prints, `migrate --check`, and a clean shutdown of `serve`."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest
from tests.conftest import LiveVedette
from tests.e2e.crash_stream import worker_pids
from tests.waiting import wait_for

from vedette.cli import demo_project_dsn, main
from vedette.settings import Settings


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VEDETTE_DATABASE_URL", database_url)
    monkeypatch.delenv("VEDETTE_BASE_URL", raising=False)
    return database_url


def test_a_dsn_on_the_default_base_url_comes_with_a_hint(
    configured: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["project", "create", "shop", "--org", "acme"])
    printed = capsys.readouterr()
    assert printed.out.splitlines()[-1].endswith("@127.0.0.1:8000/1")
    assert "VEDETTE_BASE_URL is unset" in printed.err
    assert "public URL" in printed.err


def test_a_configured_base_url_needs_no_hint(
    configured: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VEDETTE_BASE_URL", "https://errors.example.com")
    main(["project", "create", "shop", "--org", "acme"])
    printed = capsys.readouterr()
    assert printed.out.splitlines()[-1].startswith("https://")
    assert printed.out.splitlines()[-1].endswith("@errors.example.com/1")
    assert printed.err == ""


def test_the_demo_project_is_created_once(configured: str) -> None:
    settings = Settings()
    assert demo_project_dsn(settings) == demo_project_dsn(settings)


def test_migrate_check_reports_without_migrating(
    configured: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["migrate", "--check"])
    assert stopped.value.code == 1
    assert "run `vedette migrate`" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # still not migrated: --check changed nothing
        main(["migrate", "--check"])
    capsys.readouterr()
    main(["migrate"])
    main(["migrate", "--check"])
    assert "at the current schema" in capsys.readouterr().out.splitlines()[-1]


def wait_for_process_group_exit(pgid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {pgid} still run after {timeout} s")


def process_group(pgid: int) -> list[int]:
    """The processes now in group ``pgid`` (field 5 of /proc/PID/stat, after the name)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):  # ended meanwhile
            if int(stat.read_text().rpartition(")")[2].split()[2]) == pgid:
                members.append(int(stat.parent.name))
    return members


def test_serve_is_two_processes_holding_no_named_semaphore(own_server: LiveVedette) -> None:
    """The server and its worker, and nothing else: no resource tracker, and no named
    semaphore (a file in /dev/shm, which a kill -9 would leave behind for good)."""
    own_server.start()
    assert own_server.process is not None
    pgid = own_server.process.pid  # started in a session of its own
    workers = wait_for(lambda: worker_pids(own_server))
    assert sorted(process_group(pgid)) == sorted([pgid, *workers])
    for pid in [pgid, *workers]:
        assert "/dev/shm/sem." not in Path(f"/proc/{pid}/maps").read_text()
    own_server.stop()
    wait_for_process_group_exit(pgid)
