"""Servers under benchmark, each started fresh on 127.0.0.1 and stopped afterwards.

A ``Running`` server gives the DSNs to load (one per process), how many events it has stored
so far (the digest measurement: "queryable" means a row in its events table), and, where the
server has one, the depth of its spool.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN = os.environ.get(
    "VEDETTE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


def with_port(dsn: str, port: int) -> str:
    parts = urlsplit(dsn)
    netloc = f"{parts.username}@{parts.hostname}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class Running:
    name: str
    dsns: list[str]
    stored: Callable[[], int] | None  # None: stores nothing (the null apps)
    spool_depth: Callable[[], int] | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    storage_bytes: Callable[[], dict[str, int]] | None = None

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for cleanup in reversed(self.cleanups):
            cleanup()


def _spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip


# -- the null ASGI ceiling -------------------------------------------------------------------


def start_null(app: str = "asgi") -> Running:
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="vedette-bench-null-")) / "server.log"
    process = _spawn(
        [sys.executable, str(ROOT / "bench" / "nullapp.py"), "--port", str(port), "--app", app],
        dict(os.environ),
        log,
    )
    running = Running(f"null-{app}", [f"http://{'0' * 32}@127.0.0.1:{port}/1"], None)
    running.processes.append(process)
    running.cleanups.append(lambda: shutil.rmtree(log.parent, ignore_errors=True))
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_health/")
    except Exception:
        running.close()
        raise
    return running


# -- Vedette -----------------------------------------------------------------------------------


def fresh_postgres() -> tuple[str, Callable[[], None]]:
    name = f"vedette_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}", drop


def _cli(args: list[str], env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-m", "vedette", *args], env=env, check=True, capture_output=True,
        text=True,
    ).stdout  # fmt: skip


def _psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://")


# Events that came in (performance issues found in transactions are events too: not counted).
STORED_EVENTS = "SELECT count(*) FROM events WHERE type != 'performance'"
STORED_LOGS = "SELECT count(*) FROM log_records"


def start_vedette(
    store: str = "sqlite",
    processes: int = 1,
    extra_env: dict[str, str] | None = None,
    stored_sql: str = STORED_EVENTS,
) -> Running:
    """``vedette serve`` on a fresh database; ``processes`` servers share it (PostgreSQL).
    ``stored_sql`` counts what is stored so far (events, or log records: ``STORED_LOGS``)."""
    if store == "sqlite" and processes != 1:
        raise ValueError("on SQLite one process owns the spool")
    data_dir = Path(tempfile.mkdtemp(prefix="vedette-bench-"))
    ports = [free_port() for _ in range(processes)]
    env = {
        **os.environ,
        **(extra_env or {}),
        "VEDETTE_DATA_DIR": str(data_dir),
        "VEDETTE_BASE_URL": f"http://127.0.0.1:{ports[0]}",
    }
    cleanups: list[Callable[[], None]] = [lambda: shutil.rmtree(data_dir, ignore_errors=True)]
    if store == "postgresql":
        url, drop = fresh_postgres()
        env["VEDETTE_DATABASE_URL"] = url
        cleanups.append(drop)
    dsn = _cli(["project", "create", "bench", "--org", "bench"], env).splitlines()[-1]
    token = _cli(["token", "create"], env).splitlines()[-1]
    name = f"vedette-{store}" + (f"-{processes}p" if store == "postgresql" else "")
    main_db = data_dir / "vedette.sqlite3"

    def stored() -> int:
        if store == "sqlite":
            with sqlite3.connect(f"file:{main_db}?mode=ro", uri=True) as conn:
                return int(conn.execute(stored_sql).fetchone()[0])
        with psycopg.connect(_psycopg_url(env["VEDETTE_DATABASE_URL"])) as conn:
            row = conn.execute(stored_sql).fetchone()
            return int(row[0]) if row else 0

    client = httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30)
    cleanups.append(client.close)

    def spool_depth() -> int:
        headers = {"Authorization": f"Bearer {token}"}
        response = client.get("/api/0/internal/spool/", headers=headers)
        return int(response.json()["depth"])

    def storage_bytes() -> dict[str, int]:
        if store == "sqlite":
            return {p.name: p.stat().st_size for p in data_dir.iterdir() if p.is_file()}
        with psycopg.connect(_psycopg_url(env["VEDETTE_DATABASE_URL"])) as conn:
            rows = conn.execute(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    running = Running(
        name,
        [with_port(dsn, port) for port in ports],
        stored,
        spool_depth,
        cleanups=cleanups,
        storage_bytes=storage_bytes,
    )
    try:
        for port in ports:
            running.processes.append(
                _spawn(
                    [
                        sys.executable,
                        "-m",
                        "vedette",
                        "serve",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                    ],
                    env,
                    data_dir / f"server-{port}.log",
                )
            )
            wait_until_up(f"http://127.0.0.1:{port}/_health/")
    except Exception:
        running.close()
        raise
    return running
