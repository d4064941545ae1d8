"""Who and what an event is about: the user, and one-off fingerprints, tags and contexts.

* An explicit ``set_user`` ignores ``send_default_pii``: passing it email and username sends
  them whatever the PII setting says. Here the id is sent, and email/username only when
  ``SENTRY_SEND_USER_PII`` is on.
* ``set_tag("error_type", ...)`` before a capture stays on the scope and tags every later
  event of the request. `report_exception` puts fingerprint, tags and contexts on that one
  event (a forked scope, ``new_scope``), and nothing leaks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import sentry_sdk
from fastapi import Depends, Request

from vedette.kit.active import active_settings

if TYPE_CHECKING:
    from sentry_sdk._types import LogLevelStr

T = TypeVar("T")


def _field(user: Any, *names: str) -> Any:
    for name in names:
        value = user.get(name) if isinstance(user, Mapping) else getattr(user, name, None)
        if value is not None:
            return value
    return None


def set_user_context(user: Any) -> None:
    """Set the request's user from an object or mapping with ``id`` (and ``email``,
    ``username``/``name``). ``None`` clears it. The user lives on the request's isolation
    scope, so concurrent requests never see each other's."""
    if user is None:
        sentry_sdk.set_user(None)
        return
    user_id = _field(user, "id", "user_id")
    if user_id is None:
        return
    data: dict[str, Any] = {"id": str(user_id)}
    settings = active_settings()
    if settings is not None and settings.sentry_send_user_pii:
        email = _field(user, "email")
        username = _field(user, "username", "name")
        if email is not None:
            data["email"] = str(email)
        if username is not None:
            data["username"] = str(username)
    sentry_sdk.set_user(data)


def monitored_user(dependency: Callable[..., T | Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Wrap the app's own "current user" dependency so that resolving it also sets the user
    context: ``user: User = Depends(monitored_user(get_current_user))``."""

    async def resolve(user: Any = Depends(dependency)) -> Any:  # noqa: B008 (FastAPI idiom)
        set_user_context(user)
        return user

    resolve.__name__ = f"monitored_{getattr(dependency, '__name__', 'user')}"
    return resolve


async def user_from_request_state(request: Request) -> None:
    """A FastAPI dependency: ``Depends(user_from_request_state)`` reads ``request.state.user``
    (set by the app's auth middleware) and sends its id (email and username only as above)."""
    user = getattr(request.state, "user", None)
    if user is not None:
        set_user_context(user)


def report_exception(
    error: BaseException,
    *,
    fingerprint: Sequence[str] | None = None,
    tags: Mapping[str, str | int | bool] | None = None,
    contexts: Mapping[str, Mapping[str, Any]] | None = None,
    level: LogLevelStr | None = None,
) -> str | None:
    """Report an error the code *handles* (and does not re-raise), with grouping and context
    for this event only. Returns the event id (None when monitoring is off or it was dropped).

    Do not use it for an error that is re-raised in request code: the integration reports
    those once, unhandled; reporting as well and re-raising gives two events.
    """
    with sentry_sdk.new_scope() as scope:
        _decorate(scope, fingerprint, tags, contexts, level)
        return scope.capture_exception(error)


def report_message(
    message: str,
    *,
    level: LogLevelStr = "info",
    fingerprint: Sequence[str] | None = None,
    tags: Mapping[str, str | int | bool] | None = None,
    contexts: Mapping[str, Mapping[str, Any]] | None = None,
) -> str | None:
    """``capture_message`` with per-event fingerprint, tags and contexts."""
    with sentry_sdk.new_scope() as scope:
        _decorate(scope, fingerprint, tags, contexts, None)
        return scope.capture_message(message, level=level)


def set_process_tags(**tags: str) -> None:
    """Tags on every event of this process (``service="shop"``), on the global scope."""
    scope = sentry_sdk.get_global_scope()
    for key, value in tags.items():
        scope.set_tag(key, value)


def _decorate(
    scope: sentry_sdk.Scope,
    fingerprint: Sequence[str] | None,
    tags: Mapping[str, str | int | bool] | None,
    contexts: Mapping[str, Mapping[str, Any]] | None,
    level: LogLevelStr | None,
) -> None:
    if fingerprint:
        scope.fingerprint = [str(part) for part in fingerprint]
    for key, value in (tags or {}).items():
        scope.set_tag(key, value)
    for name, context in (contexts or {}).items():
        scope.set_context(name, dict(context))
    if level is not None:
        scope.set_level(level)
