"""Shared fixtures: real databases (SQLite and PostgreSQL) and a live `vedette serve` process.

Every database-backed test runs on both engines. PostgreSQL is not optional: when it cannot be
reached the tests fail (set VEDETTE_TEST_DATABASES=sqlite to run SQLite alone, knowingly).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from vedette.api.serialize import dsn
from vedette.settings import Settings
from vedette.storage import accounts, tokens, users
from vedette.storage.database import Database
from vedette.storage.migrate import upgrade
from vedette.stores import open_storage

POSTGRES_URL = os.environ.get(
    "VEDETTE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [
    b for b in os.environ.get("VEDETTE_TEST_DATABASES", "sqlite,postgresql").split(",") if b
]
FIXTURES = Path(__file__).parent / "fixtures"
T = TypeVar("T")


# The suite's PostgreSQL sessions commit without waiting for the WAL flush. Only a crash of
# PostgreSQL itself could lose such a commit, and no test crashes it: the durability tests kill
# our server and worker, whose commits PostgreSQL has by then, so they test what they did.
# A flushed commit costs 2 to 5 ms on these disks, and the suite makes thousands.
ASYNC_COMMIT = "-c synchronous_commit=off"


def postgres_admin() -> psycopg.Connection[Any]:
    url = make_url(POSTGRES_URL)
    return psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, dbname=url.database,
        autocommit=True, options=ASYNC_COMMIT,
    )  # fmt: skip


def postgres_url(name: str) -> str:
    url = make_url(POSTGRES_URL).set(database=name)
    if "options" not in url.query:
        url = url.update_query_dict({"options": ASYNC_COMMIT})
    return url.render_as_string(hide_password=False)


class _MigratedDatabases:
    """Migrated databases without migrating each: one migrated template per engine and session
    (a worker's session under xdist), copied for SQLite. PostgreSQL's databases are made from
    the template (``CREATE DATABASE ... TEMPLATE``) and, once a test is done, emptied row by row
    and reused: creating a database costs about a second there, emptying one a few ms. One
    whose schema a test changed (another revision, other tables) is dropped instead."""

    def __init__(self) -> None:
        self._sqlite: Path | None = None
        self._postgres: str | None = None
        self._postgres_shape: tuple[str, frozenset[str]] | None = None
        self._idle: list[str] = []
        self._all: set[str] = set()

    def sqlite_copy(self, target: Path) -> None:
        if self._sqlite is None:
            path = Path(tempfile.mkdtemp(prefix="vedette-template-")) / "template.sqlite3"
            self._migrate(f"sqlite:///{path}")
            self._sqlite = path
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal"):
            if Path(f"{self._sqlite}{suffix}").exists():
                shutil.copyfile(f"{self._sqlite}{suffix}", f"{target}{suffix}")

    def postgres_acquire(self) -> str:
        if self._idle:
            return self._idle.pop()
        if self._postgres is None:
            name = f"vedette_template_{uuid.uuid4().hex[:12]}"
            with postgres_admin() as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            self._postgres = name
            self._migrate(postgres_url(name))
            with psycopg.connect(self._dsn(name)) as conn:
                self._postgres_shape = self._shape(conn)
        name = f"vedette_test_{uuid.uuid4().hex[:12]}"
        with postgres_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._postgres}"')
        self._all.add(name)
        return name

    def postgres_release(self, name: str) -> None:
        with postgres_admin() as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        try:
            with psycopg.connect(self._dsn(name), autocommit=True) as conn:
                if self._shape(conn) != self._postgres_shape:
                    raise LookupError("the schema changed")
                tables = [r[0] for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'alembic_version'"
                )]  # fmt: skip
                sequences = [r[0] for r in conn.execute(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
                )]  # fmt: skip
                with conn.transaction():
                    conn.execute("SET LOCAL session_replication_role = replica")  # no FK order
                    for table in tables:
                        conn.execute(f'DELETE FROM "{table}"')
                    for sequence in sequences:
                        conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')
        except (psycopg.Error, LookupError):
            self._drop(name)
        else:
            self._idle.append(name)

    @staticmethod
    def _dsn(name: str) -> str:
        url = make_url(POSTGRES_URL)
        return (
            f"host={url.host} port={url.port or 5432} user={url.username} dbname={name}"
            f" options='{ASYNC_COMMIT}'"
        )

    @staticmethod
    def _shape(conn: psycopg.Connection[Any]) -> tuple[str, frozenset[str]]:
        revisions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
        tables = frozenset(
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        return ",".join(sorted(revisions)), tables

    @staticmethod
    def _migrate(url: str) -> None:
        database = Database(url)
        try:
            upgrade(database)
        finally:
            database.dispose()

    def _drop(self, name: str) -> None:
        with postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._all.discard(name)

    def drop_all(self) -> None:
        for name in [*self._all, *([self._postgres] if self._postgres else [])]:
            self._drop(name)
        if self._sqlite is not None:
            shutil.rmtree(self._sqlite.parent, ignore_errors=True)
        self.__init__()  # type: ignore[misc]


MIGRATED = _MigratedDatabases()


def pytest_sessionfinish(session: pytest.Session) -> None:
    MIGRATED.drop_all()


# Under xdist (``-n``), tests that share an expensive session fixture stay on one worker:
# the web UI's seeded world and browser, the SDK corpus runs. Everything else is dealt out
# test by test. (A scheduler of our own: xdist's loadgroup renames node ids, which pytest 9.2
# no longer lets it do.)
XDIST_GROUPS = ("tests/ui", "tests/e2e/test_sdk_corpus.py")
REPO = Path(__file__).parents[1]


def xdist_group(nodeid: str) -> str | None:
    for prefix in XDIST_GROUPS:
        if nodeid.startswith((f"{prefix}/", f"{prefix}::")):
            return prefix
    return None


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid) or nodeid

    return GroupScheduling(config, log)


class _GroupsFirst:
    """After pytest's own ordering: the groups, the longest jobs, are dealt out first, which
    keeps both workers busy to the end; the order within each part stays pytest's."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items.sort(key=lambda item: xdist_group(item.nodeid) is None)


def keep_bytecode(cache: Path) -> None:
    """Let this process and every process it starts keep compiled bytecode, under ``cache``.

    Some machines set PYTHONDONTWRITEBYTECODE (this one's container does): every Python process
    then compiles each module it imports from source, about 3 s of CPU for a `vedette serve`
    or its worker, and the suite starts hundreds of processes (xdist workers, servers and their
    workers, SDK scripts). The cache is a tree of its own (PYTHONPYCACHEPREFIX) in pytest's
    cache directory, so the source tree and the virtualenv stay as clean as that setting
    keeps them; Python checks each entry against its source's size and mtime, as usual."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(cache)


# argon2id at its cheapest allowed cost for the suite's passwords: real hashes, about 1 ms each
# instead of 100 ms. The suite hashes and verifies some hundreds of them (every server's first
# admin, seeded users, each sign-in); tests/workflow/test_password_hashing.py checks the default.
CHEAP_HASH_MEMORY_KIB, CHEAP_HASH_ITERATIONS = 1024, 1


def files_in_memory() -> None:
    """Put the suite's temporary files (SQLite databases, spools, servers' data directories)
    in /dev/shm, a tmpfs, unless TMPDIR says where they go or it has less than 2 GiB free
    (containers often give it 64 MiB).

    A durable SQLite commit (``synchronous=FULL``) waits 3 to 5 ms for the disk on these
    machines and 0.1 to 0.4 ms on tmpfs, and the suite commits many thousands of times. What the
    durability tests check is unchanged: they kill our processes, not the machine, and the
    kernel keeps what a killed process wrote on either kind of file system."""
    shm = Path("/dev/shm")
    if "TMPDIR" in os.environ or not shm.is_dir() or not os.access(shm, os.W_OK | os.X_OK):
        return
    free = os.statvfs(shm)
    if free.f_bavail * free.f_frsize >= 2 << 30:
        os.environ["TMPDIR"] = str(shm)
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again


def pytest_configure(config: pytest.Config) -> None:
    # Before xdist starts its workers, which inherit the environment.
    keep_bytecode(config.rootpath / ".pytest_cache" / "pycache")
    files_in_memory()
    os.environ["VEDETTE_PASSWORD_HASH_MEMORY_KIB"] = str(CHEAP_HASH_MEMORY_KIB)  # for servers
    os.environ["VEDETTE_PASSWORD_HASH_ITERATIONS"] = str(CHEAP_HASH_ITERATIONS)  # and CLIs
    users.use_password_hashing(CHEAP_HASH_MEMORY_KIB, CHEAP_HASH_ITERATIONS)  # in-process
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_GroupsFirst(), "vedette-groups-first")


def fresh_database_url(backend: str, tmp: Path, migrated: bool = False) -> Iterator[str]:
    """A database of the given engine for one test: new and empty, or (``migrated``) at the
    schema's head with no rows; gone or emptied afterwards."""
    if backend == "sqlite":
        path = tmp / "vedette.sqlite3"
        if migrated:
            MIGRATED.sqlite_copy(path)
        yield f"sqlite:///{path}"
        return
    if migrated:
        name = MIGRATED.postgres_acquire()
        try:
            yield postgres_url(name)
        finally:
            MIGRATED.postgres_release(name)
        return
    name = f"vedette_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        with postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database; already migrated (a template's copy) when the test uses ``db``."""
    yield from fresh_database_url(request.param, tmp_path, migrated="db" in request.fixturenames)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database)  # at the head already: a check
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
        self.clock_file = data_dir / "clock-shift"
        self.clock_shift = 0.0
        self.db = Database(database_url)
        upgrade(self.db)
        with self.db.write() as conn:
            self.token = tokens.create_token(conn, "tests")
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "VEDETTE_DATABASE_URL": self.database_url,
            "VEDETTE_BASE_URL": self.base_url,
            "VEDETTE_DATA_DIR": str(self.data_dir),
            "VEDETTE_TEST_CLOCK_FILE": str(self.clock_file),
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
        try:
            self._wait_healthy()
        except BaseException:
            if self.process.poll() is None:  # never leave a half-started server behind
                self.kill()
            raise

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()[-4000:]}")
            try:
                if self.http.get("/_health/").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.01)  # a start takes about 0.7 s; each poll is one local request
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

    def shift_clock(self, seconds: float) -> None:
        """Move the clock of the server's rate-limit windows and spool leases ``seconds``
        ahead (src/vedette/spool/clock_shift.py), instead of waiting for them to pass."""
        self.clock_shift += seconds
        written = self.clock_file.with_name(f"{self.clock_file.name}.new")
        written.write_text(repr(self.clock_shift))
        written.replace(self.clock_file)  # whole: the server never reads half a number

    def start_of_a_window(self, window: float = 60.0) -> None:
        """Move the server's quota clock to just past the start of a rate-limit window, so the
        window cannot end mid-test (the rest of the window is ``window`` - 0.5 seconds)."""
        self.shift_clock(window - (time.time() + self.clock_shift) % window + 0.5)

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
            time.sleep(0.02)  # most waits are for one batch of tens of milliseconds
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


class SessionShelf:
    """What a session builds once per engine and keeps to its end: the live servers, the UI's
    seeded world, the SDK corpus runs. pytest tears a parametrized session fixture down each
    time it switches to the other parameter and builds it anew on the way back; fixtures that
    fetch from here come back to the same server and data instead."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._stack = contextlib.ExitStack()
        self._kept: dict[tuple[str, str], Any] = {}

    def keep(
        self, key: tuple[str, str], build: Callable[[], T], close: Callable[[T], None] | None = None
    ) -> T:
        """``build()`` once per key and session; ``close(it)`` when the session ends."""
        if key not in self._kept:
            self._kept[key] = built = build()
            if close is not None:
                self._stack.callback(close, built)
        return cast(T, self._kept[key])

    def server(self, backend: str) -> LiveVedette:
        return self.keep(("server", backend), lambda: self._start(backend))

    def _start(self, backend: str) -> LiveVedette:
        data_dir = self._tmp.mktemp(f"live-{backend}")
        url = self._stack.enter_context(
            contextlib.contextmanager(fresh_database_url)(backend, data_dir, migrated=True)
        )
        server = LiveVedette(url, data_dir, backend)
        self._stack.callback(server.close)
        # Alert receivers in tests listen on loopback, which a server refuses by default.
        server.start(alerts_allow_private_targets="true", notification_retry_seconds="0.2")
        return server

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def shelf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionShelf]:
    kept = SessionShelf(tmp_path_factory)
    try:
        yield kept
    finally:
        kept.close()


@pytest.fixture(scope="session", params=BACKENDS)
def live_vedette(request: pytest.FixtureRequest, shelf: SessionShelf) -> LiveVedette:
    """The session's server of this engine (started once, shared by the tests that only add
    projects of their own)."""
    return shelf.server(request.param)


@pytest.fixture(params=BACKENDS)
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveVedette]:
    """A server of this test's own (not started), for tests that kill or reconfigure it."""
    for url in fresh_database_url(request.param, tmp_path, migrated=True):
        server = LiveVedette(url, tmp_path, request.param)
        try:
            yield server
        finally:
            if server.process is not None and server.process.poll() is None:
                server.kill()  # the test is over: a graceful stop would only wait (0.25 s)
            server.close()
