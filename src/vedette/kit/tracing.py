"""Custom instrumentation: `traced`, `span` and `background_transaction`.

Spans are named with ``name=`` (``description=`` is deprecated) and get no ``set_status("error")``
of their own: the span's exit sets its status from the exception anyway. ``start_transaction``
called *inside* a request would open a second transaction on a new trace, cut off from the
request: here a "transaction" inside a live one is a child span, and only detached work gets
its own.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

import sentry_sdk
from sentry_sdk.tracing import Span, TransactionSource

P = ParamSpec("P")
R = TypeVar("R")


def _recording_parent() -> bool:
    """A span is worth creating only under a sampled, unfinished span: elsewhere the SDK would
    drop it without a word, and creating it still costs."""
    parent = sentry_sdk.get_current_span()
    return parent is not None and bool(parent.sampled) and parent.timestamp is None


def _live_parent() -> bool:
    parent = sentry_sdk.get_current_span()
    return parent is not None and parent.timestamp is None


def traced(op: str, name: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function or method (sync or async) to run inside a span ``(op, name)``.

    ``name`` defaults to the function's qualified name (``PaymentService.charge``). A raised
    exception marks the span ``internal_error`` and propagates unchanged.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        span_name = name or func.__qualname__
        if inspect.iscoroutinefunction(func):
            coroutine = cast(Callable[P, Awaitable[Any]], func)

            @functools.wraps(func)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                if not _recording_parent():
                    return await coroutine(*args, **kwargs)
                with sentry_sdk.start_span(op=op, name=span_name):
                    return await coroutine(*args, **kwargs)

            return cast(Callable[P, R], run_async)

        @functools.wraps(func)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            if not _recording_parent():
                return func(*args, **kwargs)
            with sentry_sdk.start_span(op=op, name=span_name):
                return func(*args, **kwargs)

        return run

    return decorate


@contextmanager
def span(op: str, name: str, **data: Any) -> Iterator[Span]:
    """``with span("db.query", "Fetch users", limit=100) as s:`` -- a child span with data.

    A block that raises leaves the span with status ``internal_error``. Outside a sampled
    request the span is a throwaway the SDK never sends.
    """
    with sentry_sdk.start_span(op=op, name=name) as current:
        for key, value in data.items():
            current.set_data(key, value)
        yield current


@contextmanager
def background_transaction(op: str, name: str, **data: Any) -> Iterator[Span]:
    """A transaction for a job, a script or a consumer (a batch of items processed off-request).

    Inside a live transaction (a request that runs the batch itself, a BackgroundTask) it is a
    child span of that transaction instead, so the work stays on the request's trace. Elsewhere
    it is a new transaction, on a new trace, in a scope of its own, so the job's tags and user do
    not leak into whatever runs next in this thread or task.
    """
    if _live_parent():
        with span(op, name, **data) as child:
            yield child
        return
    with (
        sentry_sdk.isolation_scope(),
        sentry_sdk.start_transaction(op=op, name=name, source=TransactionSource.TASK) as root,
    ):
        for key, value in data.items():
            root.set_data(key, value)
        yield root
