"""The real sentry-sdk, sending to a live server from the test process without touching the
SDK's global state: a client of its own, bound to a fresh scope for each capture."""

from __future__ import annotations

from typing import Any

import sentry_sdk


def capture_error(
    dsn: str,
    error: BaseException,
    *,
    tags: dict[str, str] | None = None,
    user: dict[str, Any] | None = None,
    **options: Any,
) -> str:
    """Capture ``error`` (raised, so it has a traceback) and flush; the event id."""
    client = sentry_sdk.Client(dsn=dsn, default_integrations=False, **options)
    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            for key, value in (tags or {}).items():
                scope.set_tag(key, value)
            if user:
                scope.set_user(user)
            try:
                raise error
            except BaseException as raised:
                event_id = sentry_sdk.capture_exception(raised)
        assert event_id is not None
        return event_id
    finally:
        client.close(timeout=10)
