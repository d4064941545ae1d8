"""Expected and unexpected errors: one event per unexpected error, none for expected ones.

Capturing in a global handler *and* in controllers that re-raise gives two events per error in
sync endpoints or behind a ``BaseHTTPMiddleware``, or one event mislabelled ``handled: true``.
Here nothing in request code captures:

* an **unexpected** error propagates; ``unexpected_error_handler`` answers 500 with the id of the
  event that the SDK's ASGI middleware captures right after (``handled: false``), by promising
  that id on the exception and letting ``before_send`` stamp it;
* an **expected** error (a subclass of `ExpectedError`, or a type registered with
  `expect_errors`) is answered with its 4xx status and never reported, whatever path it takes;
* ``before_send`` lets one event through per exception object, so a stray
  ``capture_exception(e); raise`` cannot double-report either.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import sentry_sdk
from starlette.requests import Request
from starlette.responses import JSONResponse

from vedette.kit.active import active_settings

_REPORTED = "__vedette_kit_event_id__"
_PROMISED = "__vedette_kit_promised_event_id__"

INTERNAL_ERROR_DETAIL = "Internal server error"


class ExpectedError(Exception):
    """A domain error the app expects (not found, conflict, ...): a 4xx, never reported.

    Subclass it and set ``status_code``; the message is the response's ``detail``.
    """

    status_code: ClassVar[int] = 400
    default_detail: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.default_detail)
        self.detail = detail or self.default_detail


# Other exception types the app declared expected, with their status (see `expect_errors`).
_registered: dict[type[Exception], int] = {}


def expect_errors(errors: Mapping[type[Exception], int]) -> None:
    """Declare existing exception types (e.g. a library's) as expected, with their status."""
    for error_type, status in errors.items():
        if not 400 <= status <= 499:
            raise ValueError(f"expected errors answer 4xx, not {status} ({error_type.__name__})")
        _registered[error_type] = status


def registered_expected_errors() -> dict[type[Exception], int]:
    return dict(_registered)


def status_of_expected(error: BaseException) -> int | None:
    """The 4xx status of an expected error, or None if the error is unexpected."""
    if isinstance(error, ExpectedError):
        return error.status_code
    for cls in type(error).__mro__:
        if cls in _registered:
            return _registered[cls]
    return None


def never_reported(error_type: type[BaseException], error: BaseException | None) -> bool:
    """Cancellation (a client went away, shutdown) and expected errors are not incidents."""
    if issubclass(error_type, asyncio.CancelledError):
        return True
    return error is not None and status_of_expected(error) is not None


def claim_event(error: BaseException, event: dict[str, Any]) -> bool:
    """Let the first event of ``error`` through (with any promised id); refuse later ones."""
    reported = getattr(error, _REPORTED, None)
    if reported is not None:
        return bool(reported == event.get("event_id"))
    promised = getattr(error, _PROMISED, None)
    if isinstance(promised, str):
        event["event_id"] = promised
    # An exception type without __dict__ cannot be marked: no de-duplication for it.
    with contextlib.suppress(AttributeError, TypeError):
        setattr(error, _REPORTED, event.get("event_id"))
    return True


def promise_event_id(error: BaseException) -> str | None:
    """The id the event for ``error`` has (or will have once the SDK captures it); None unless
    the kit set monitoring up (only its ``before_send`` keeps the promise)."""
    if active_settings() is None or not sentry_sdk.get_client().is_active():
        return None
    reported = getattr(error, _REPORTED, None)
    if isinstance(reported, str):
        return reported
    promised = getattr(error, _PROMISED, None)
    if isinstance(promised, str):
        return promised
    event_id = uuid.uuid4().hex
    try:
        setattr(error, _PROMISED, event_id)
    except (AttributeError, TypeError):
        return None
    return event_id


async def expected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    status = status_of_expected(exc) or 400
    detail = exc.detail if isinstance(exc, ExpectedError) else str(exc)
    return JSONResponse({"detail": detail}, status_code=status)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette runs this in ``ServerErrorMiddleware`` and re-raises afterwards; the SDK's
    ASGI middleware (outside it) then captures the error once, unhandled, with request data
    already filtered. Capturing here as well would report every such error twice."""
    return JSONResponse(
        {"detail": INTERNAL_ERROR_DETAIL, "event_id": promise_event_id(exc)}, status_code=500
    )
