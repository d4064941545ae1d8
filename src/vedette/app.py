"""The composition root: builds the database, spool, worker and routes for one process."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.routes import Api
from vedette.ingest.auth import KeyInfo, KeyRegistry
from vedette.ingest.routes import IngestConfig, IngestEndpoints
from vedette.settings import Settings
from vedette.spool.worker import Worker, WorkerConfig
from vedette.spool.writer import SpoolWriter
from vedette.storage import accounts
from vedette.storage.database import Database
from vedette.storage.migrate import upgrade


def _key_loader(db: Database) -> KeyRegistry:
    def load(public_key: str) -> KeyInfo | None:
        with db.read() as conn:
            key = accounts.key_info(conn, public_key)
        return None if key is None else KeyInfo(key.project_id, key.is_active)

    return KeyRegistry(load)


def create_app(settings: Settings) -> Starlette:
    db = Database(settings.resolved_database_url())
    committed = threading.Event()
    spool = SpoolWriter(db, committed)
    worker = Worker(
        db,
        WorkerConfig(
            batch_size=settings.worker_batch_size,
            lease_seconds=settings.spool_lease_seconds,
            max_failures=settings.spool_max_attempts,
        ),
        wakeup=committed,
    )
    keys = _key_loader(db)
    ingest = IngestEndpoints(
        IngestConfig(
            max_body_bytes=settings.max_body_bytes,
            max_envelope_bytes=settings.max_envelope_bytes,
            max_event_bytes=settings.max_event_bytes,
            max_attachment_bytes=settings.max_attachment_bytes,
            trust_forwarded_for=settings.trust_forwarded_for,
        ),
        keys,
        spool,
    )
    api = Api(db, settings.base_url, keys.forget)

    async def health(_request: Request) -> Response:
        def check() -> None:
            with db.read() as conn:
                conn.exec_driver_sql("SELECT 1")

        await run_in_threadpool(check)
        return Response(orjson.dumps({"ok": True}), media_type="application/json")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade, db)
        spool.start()
        if settings.worker_enabled:
            worker.start()
        try:
            yield
        finally:
            spool.stop()
            worker.stop()
            db.dispose()

    routes = [
        Route("/_health/", health),
        *ingest.routes(),
        *api.routes(),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
