"""`instrument_app`: the app-side half of the kit (the other half is `init_monitoring`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from starlette.applications import Starlette

from vedette.kit.errors import (
    ExpectedError,
    expect_errors,
    expected_error_handler,
    registered_expected_errors,
    unexpected_error_handler,
)
from vedette.kit.middleware import RequestContextMiddleware

App = TypeVar("App", bound=Starlette)


def instrument_app(
    app: App, *, expected_errors: Mapping[type[Exception], int] | None = None
) -> App:
    """Add the request-context middleware and the error handlers to ``app``.

    ``expected_errors`` maps exception types the app does not own (or does not want to
    subclass from `ExpectedError`) to their 4xx status; they are answered, never reported.
    Call it while building the app, after `init_monitoring`.
    """
    if expected_errors:
        expect_errors(expected_errors)
    app.add_middleware(RequestContextMiddleware)
    app.add_exception_handler(ExpectedError, expected_error_handler)
    for error_type in registered_expected_errors():
        app.add_exception_handler(error_type, expected_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
    return app
