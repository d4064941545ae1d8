"""The composition root: monitoring first, then the app (``create_app`` is a uvicorn factory).

uvicorn --factory examples.shop.app:create_app
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from examples.shop.db import make_engine, prepare
from examples.shop.routes import build_router, catalogue
from examples.shop.services import FakePay, PaymentService
from examples.shop.settings import ShopSettings
from vedette.kit import (
    MonitoringSettings,
    init_monitoring,
    instrument_app,
    monitoring_lifespan,
)


def create_app(
    settings: ShopSettings | None = None,
    monitoring: MonitoringSettings | None = None,
    **sdk_overrides: Any,
) -> FastAPI:
    """``sdk_overrides`` go to ``sentry_sdk.init`` as they are (tests pass a ``transport``)."""
    settings = settings if settings is not None else ShopSettings()
    # 1. Monitoring before FastAPI() and the routes (audit row 4); a no-op without SENTRY_DSN.
    monitoring = monitoring if monitoring is not None else MonitoringSettings()
    # A process-wide tag (the global scope, removed again by shutdown_monitoring).
    tags = {"service": "shop", **monitoring.sentry_tags}
    init_monitoring(monitoring.model_copy(update={"sentry_tags": tags}), **sdk_overrides)
    # Breadcrumbs from the app's INFO logs: Python drops INFO records at the default WARNING
    # level before the SDK's handler sees them (audit row 20).
    logging.getLogger("shop").setLevel(logging.INFO)

    engine = make_engine(settings.database_path)
    sessions = prepare(engine)

    # 2. The app: the lifespan flushes the SDK's queue off the event loop at shutdown.
    app = FastAPI(title="shop", lifespan=monitoring_lifespan())
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.payments = PaymentService(FakePay(settings.gateway_latency_seconds))
    with sessions() as session:
        app.state.catalogue = catalogue(session)
    # 3. Request context (pure ASGI) and the error handlers: expected errors answered, never
    # reported; unexpected ones answered 500 with the event id, reported once.
    instrument_app(app)
    app.include_router(build_router())
    return app
