"""`init_monitoring`: the one call, before the app is built; flushing at shutdown.

Call it first thing in the app factory (or at import, before ``FastAPI()``), never in the
lifespan: by then the routes and the middleware stack exist and the SDK's patches miss them
(a raised ``HTTPException(503)`` then gives no event, and POST bodies are never attached).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import sentry_sdk
from sentry_sdk.integrations import Integration
from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
from sentry_sdk.integrations.starlette import StarletteIntegration

from vedette.kit import active
from vedette.kit.active import active_scrubber, active_settings
from vedette.kit.errors import claim_event, never_reported
from vedette.kit.sampling import PathSampler
from vedette.kit.scrub import Scrubber
from vedette.kit.settings import MonitoringSettings

if TYPE_CHECKING:
    from sentry_sdk._types import Event, Hint, Log

log = logging.getLogger("vedette.kit")
# The kit's own complaints must never turn into events (or loop through before_send).
ignore_logger("vedette.kit")

# Headers that carry client addresses: personal data, kept out unless PII is allowed.
_ADDRESS_HEADER_TERMS = ["forwarded", "-ip", "remote-", "via", "-user"]


def _level(name: str) -> int:
    return int(getattr(logging, name))


def _integrations(settings: MonitoringSettings) -> list[Integration]:
    codes = set(settings.sentry_failed_status_codes)
    has_fastapi = importlib.util.find_spec("fastapi") is not None
    # Both integrations, same status codes: the auto-enabled Starlette one otherwise decides which
    # raised statuses are reported (with FastApiIntegration alone a configured 403 is ignored).
    # Endpoint names come from the FastAPI integration. In "endpoint" style the Starlette one
    # also renames the transaction after every middleware class on the way in (6 to 7 times a
    # request, about 20 us); in "url" style it leaves the name alone until routing.
    found: list[Integration] = [
        StarletteIntegration(
            transaction_style="url" if has_fastapi else "endpoint",
            failed_request_status_codes=codes,
        ),
        LoggingIntegration(
            level=_level(settings.sentry_breadcrumb_level),
            event_level=_level(settings.sentry_event_level),
            sentry_logs_level=_level(settings.sentry_logs_level),
        ),
    ]
    if has_fastapi:
        from sentry_sdk.integrations.fastapi import FastApiIntegration

        found.append(
            FastApiIntegration(transaction_style="endpoint", failed_request_status_codes=codes)
        )
    # Listed explicitly, an integration whose library is missing stops init with DidNotEnable.
    if importlib.util.find_spec("sqlalchemy") is not None:
        from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration

        found.append(SqlalchemyIntegration())
    return found


def _data_collection(settings: MonitoringSettings) -> dict[str, Any]:
    """What the integrations collect (the non-deprecated form of ``send_default_pii``).

    Passing ``send_default_pii`` at all, even False, warns on 2.75 and is gone in 3.0. The SDK's
    own denylist still applies; the kit's terms are left to the scrubber in ``before_send``:
    given here too, the SDK lower-cases every term for every header and query key of every
    request (about 200 ``str.lower`` calls per request in the shop), for nothing.
    """
    address_terms = [] if settings.sentry_send_user_pii else _ADDRESS_HEADER_TERMS
    return {
        "user_info": settings.sentry_send_user_pii,
        "cookies": {"mode": "off"},
        "http_headers": {"request": {"mode": "denylist", "terms": address_terms}},
        "http_bodies": [] if settings.sentry_max_request_body_size == "never" else
        ["incoming_request"],
        "url_query_params": {"mode": "denylist"},
        "stack_frame_variables": settings.sentry_include_local_variables,
        "database_query_data": False,
        "queues": False,
        "graphql": {"document": False, "variables": False},
        "gen_ai": {"inputs": False, "outputs": False},
    }  # fmt: skip


def _before_send(event: Event, hint: Hint) -> Event | None:
    try:
        exc_info = hint.get("exc_info")
        if exc_info is not None and exc_info[0] is not None:
            error = exc_info[1]
            if never_reported(exc_info[0], error):
                return None
            if error is not None and not claim_event(error, event):  # type: ignore[arg-type]
                return None
        scrubber = active_scrubber()
        if scrubber is None:
            return None
        scrubber(event)  # type: ignore[arg-type]
        return event
    except Exception:
        # An unscrubbed event must not leave; the kit must not raise into the SDK either.
        log.exception("vedette.kit: dropped an event that could not be scrubbed")
        return None


def _before_send_transaction(event: Event, hint: Hint) -> Event | None:
    try:
        scrubber = active_scrubber()
        if scrubber is None:
            return None
        scrubber(event)  # type: ignore[arg-type]
        return event
    except Exception:
        log.exception("vedette.kit: dropped a transaction that could not be scrubbed")
        return None


def _before_send_log(record: Log, hint: Hint) -> Log | None:
    """A structured log goes out scrubbed like an event: its body by value, its attributes by
    key and value (a ``password=`` parameter is filtered). Without SENTRY_ENABLE_LOGS nothing
    goes: sentry-sdk 2.x sends ``sentry_sdk.logger`` records whatever ``enable_logs`` says."""
    try:
        settings, scrubber = active_settings(), active_scrubber()
        if settings is None or scrubber is None or not settings.sentry_enable_logs:
            return None
        record["body"] = scrubber.text(record["body"])
        scrubber.value(record["attributes"])
        return record
    except Exception:
        log.exception("vedette.kit: dropped a log that could not be scrubbed")
        return None


def sdk_options(settings: MonitoringSettings) -> dict[str, Any]:
    """The ``sentry_sdk.init`` keyword arguments the settings stand for."""
    options: dict[str, Any] = {
        "dsn": settings.sentry_dsn,
        "environment": settings.environment,
        "release": settings.app_version,
        "traces_sampler": PathSampler(
            settings.sentry_traces_sample_rate,
            settings.sentry_traces_sample_rules,
            settings.sentry_untraced_paths,
        ),
        "integrations": _integrations(settings),
        "before_send": _before_send,
        "before_send_transaction": _before_send_transaction,
        "max_request_body_size": settings.sentry_max_request_body_size,
        "data_collection": _data_collection(settings),
        "shutdown_timeout": settings.sentry_shutdown_timeout,
        "enable_logs": settings.sentry_enable_logs,
        "before_send_log": _before_send_log,
    }
    if settings.sentry_profiles_sample_rate > 0:
        # Continuous profiling: transaction profiling (profiles_sample_rate) warns on 2.75.
        options["profile_session_sample_rate"] = settings.sentry_profiles_sample_rate
        options["profile_lifecycle"] = "trace"
    return options


def init_monitoring(settings: MonitoringSettings | None = None, **overrides: Any) -> bool:
    """Start monitoring as the settings say; returns whether it is on.

    Idempotent: a second call with the same settings changes nothing. ``overrides`` are passed
    to ``sentry_sdk.init`` last (a test's ``transport=``, extra ``integrations=``...).
    Without a DSN nothing starts and every kit helper is a no-op.
    """
    settings = settings if settings is not None else MonitoringSettings()
    running = active.current()
    if (
        running is not None
        and running.settings == settings
        and running.sdk_options == overrides
        and sentry_sdk.get_client() is running.client
    ):
        return bool(running.client.is_active())
    shutdown_monitoring()
    if not settings.enabled:
        return False
    if settings.log_level is not None:
        logging.getLogger().setLevel(_level(settings.log_level))
    scrubber = Scrubber(
        settings.sentry_sensitive_keys, allow_user_pii=settings.sentry_send_user_pii
    )
    sentry_sdk.init(**{**sdk_options(settings), **overrides})
    client = sentry_sdk.get_client()
    global_scope = sentry_sdk.get_global_scope()
    for key, value in settings.sentry_tags.items():
        # The global scope, not the current one: an import-time set_tag only reached events
        # through context-variable inheritance.
        global_scope.set_tag(key, value)
    active.replace(
        active.Active(settings, dict(overrides), client, scrubber, list(settings.sentry_tags))
    )
    return bool(client.is_active())


def shutdown_monitoring(timeout: float | None = None) -> None:
    """Flush and close the client `init_monitoring` made; the SDK is then inactive."""
    state = active.replace(None)
    if state is None:
        return
    global_scope = sentry_sdk.get_global_scope()
    for key in state.global_tags:
        global_scope.remove_tag(key)
    if sentry_sdk.get_client() is state.client:
        try:
            state.client.close(timeout=timeout)
        finally:
            global_scope.set_client(None)


async def flush_monitoring(timeout: float | None = None) -> None:
    """Send what is queued, in a thread: ``sentry_sdk.flush`` blocks and returns None (the
    ``await sentry_sdk.flush()`` raises TypeError) and ``flush_async`` is a no-op with the
    default transport."""
    client = sentry_sdk.get_client()
    if not client.is_active():
        return
    settings = active_settings()
    if timeout is None:
        timeout = settings.sentry_shutdown_timeout if settings is not None else 2.0
    try:
        await asyncio.to_thread(client.flush, timeout)
    except Exception:
        log.exception("vedette.kit: flush failed")


Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


def monitoring_lifespan(inner: Lifespan | None = None, *, timeout: float | None = None) -> Lifespan:
    """A lifespan that runs ``inner`` (if any) and flushes the SDK's queue when the app stops.

    ``FastAPI(lifespan=monitoring_lifespan(my_lifespan))``.
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        try:
            if inner is None:
                yield None
            else:
                async with inner(app) as state:
                    yield state
        finally:
            await flush_monitoring(timeout)

    return lifespan


def is_monitoring() -> bool:
    return active_settings() is not None and bool(sentry_sdk.get_client().is_active())
