"""Shared fixtures: real databases (SQLite and PostgreSQL) and a live `vedette serve` process.

Every database-backed test runs on both engines. PostgreSQL is not optional: when it cannot be
reached the tests fail (set VEDETTE_TEST_DATABASES=sqlite to run SQLite alone, knowingly).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from vedette.api.serialize import dsn
from vedette.app import open_storage
from vedette.settings import Settings
from vedette.storage import accounts
from vedette.storage.database import Database
from vedette.storage.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "VEDETTE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [
    b for b in os.environ.get("VEDETTE_TEST_DATABASES", "sqlite,postgresql").split(",") if b
]
FIXTURES = Path(__file__).parent / "fixtures"


def postgres_admin() -> psycopg.Connection[Any]:
    url = make_url(POSTGRES_URL)
    return psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, dbname=url.database,
        autocommit=True,
    )  # fmt: skip


def fresh_database_url(backend: str, tmp: Path) -> Iterator[str]:
    """A new, empty database of the given engine; dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'vedette.sqlite3'}"
        return
    name = f"vedette_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(request.param, tmp_path)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ProjectHandle:
    org: str
    slug: str
    id: int
    dsn: str
    public_key: str


class LiveVedette:
    """A real `vedette serve` process on 127.0.0.1, driven over HTTP."""

    def __init__(self, database_url: str, data_dir: Path, backend: str) -> None:
        self.backend = backend
        self.database_url = database_url
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"
        self.db = Database(database_url)
        upgrade(self.db)
        with self.db.write() as conn:
            self.token = accounts.create_token(conn, "tests")
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "VEDETTE_DATABASE_URL": self.database_url,
            "VEDETTE_BASE_URL": self.base_url,
            "VEDETTE_DATA_DIR": str(self.data_dir),
            **(extra or {}),
        }

    def start(self, **settings: str) -> None:
        """Start the server; keyword arguments become VEDETTE_* settings (worker_enabled=...)."""
        extra = {f"VEDETTE_{name.upper()}": value for name, value in settings.items()}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vedette", "serve", "--port", str(self.port),
                 "--log-level", "warning"],
                env=self.env(extra), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()[-4000:]}")
            try:
                if self.http.get("/_health/").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("server did not become healthy within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL to the server and its worker: the crash the durability promise is about."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def spool_depth(self) -> int:
        storage = open_storage(Settings(database_url=self.database_url, data_dir=self.data_dir))
        try:
            return storage.spool.stats().depth
        finally:
            storage.dispose()

    def create_project(self, slug: str | None = None, org: str = "acme") -> ProjectHandle:
        slug = slug or f"p-{uuid.uuid4().hex[:10]}"
        with self.db.write() as conn:
            project = accounts.create_project(conn, org, slug)
            key = accounts.keys_of_project(conn, project.id)[0].public_key
        return ProjectHandle(org, slug, project.id, dsn(self.base_url, key, project.id), key)

    def _check(self, response: httpx.Response) -> Any:
        if not response.is_success:
            raise AssertionError(
                f"{response.request.method} {response.request.url} -> "
                f"{response.status_code}: {response.text[:2000]}"
            )
        return response.json()

    def api_get(self, path: str, **params: Any) -> Any:
        return self._check(
            self.http.get(path, params=params, headers={"Authorization": f"Bearer {self.token}"})
        )

    def api_put(self, path: str, json: dict[str, Any]) -> Any:
        return self._check(
            self.http.put(path, json=json, headers={"Authorization": f"Bearer {self.token}"})
        )

    def wait_processed(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api_get("/api/0/internal/spool/")["depth"] == 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"spool not drained within {timeout} s")

    def issues(self, project: ProjectHandle, query: str = "") -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api_get(
            f"/api/0/projects/{project.org}/{project.slug}/issues/", query=query, limit=100
        )
        return result

    def close(self) -> None:
        self.stop()
        self.http.close()
        self.db.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def live_vedette(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveVedette]:
    data_dir = tmp_path_factory.mktemp(f"live-{request.param}")
    for url in fresh_database_url(request.param, data_dir):
        server = LiveVedette(url, data_dir, request.param)
        server.start()
        try:
            yield server
        finally:
            server.close()


@pytest.fixture(params=BACKENDS)
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveVedette]:
    """A server of this test's own (not started), for tests that kill or reconfigure it."""
    for url in fresh_database_url(request.param, tmp_path):
        server = LiveVedette(url, tmp_path, request.param)
        try:
            yield server
        finally:
            server.close()
