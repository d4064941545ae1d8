"""Two-factor sign-in (docs/workflow.md, "Two-factor sign-in"): the code step of a password
sign-in, and a user's own settings: set up an authenticator app (confirmed by its first code;
recovery codes shown once), turn it off with the password. Single sign-on skips it (the
identity provider has its own)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vedette.domain import second_factor as codes
from vedette.storage import second_factor, sign_in_throttle, users
from vedette.web.core import (
    SECOND_STEP_COOKIE,
    SECOND_STEP_SECONDS,
    Form,
    Page,
    WebCore,
)
from vedette.web.security import local_path

EXPIRED = "The sign-in expired. Enter your email and password again."


def _step(value: str | None, now: float) -> tuple[int, str] | None:
    """(user id, where to go) of a second step still in time, from its cookie (unsigned)."""
    if value is None:
        return None
    user_id, _, rest = value.partition("|")
    started, _, target = rest.partition("|")
    try:
        if now - float(started) > SECOND_STEP_SECONDS:
            return None
        return int(user_id), local_path(target)
    except ValueError:
        return None


async def code(ui: WebCore, request: Request, form: Form) -> Response:
    """The code of a sign-in whose password was right: a session, or the form again."""
    if request.method != "POST":
        return RedirectResponse("/login/", 303)
    signer = await ui.signer()
    now = time.time()
    step = _step(signer.unsign(request.cookies.get(SECOND_STEP_COOKIE)), now)
    if step is None:
        return await ui.refused_sign_in(request, EXPIRED, 403)
    user_id, target = step

    def attempt(conn: Connection) -> str | None:
        user = users.get_user_by_id(conn, user_id)
        if user is None:
            return None
        subject = sign_in_throttle.code_subject(user.email)
        if sign_in_throttle.throttled(conn, subject, now):
            return None
        if not second_factor.verify(conn, user_id, form.get("code"), now):
            sign_in_throttle.record_failure(conn, subject, now)
            return None
        sign_in_throttle.clear_failures(conn, subject)
        return users.start_session(conn, user_id, now)

    session_id = await ui.write(attempt)
    if session_id is None:
        return ui.second_step_page(request, None, "Wrong or used code (or too many tries).", 401)
    response = await ui.session_started(session_id, target)
    response.delete_cookie(SECOND_STEP_COOKIE, path="/login/", httponly=True,
                           secure=ui.secure_cookies)  # fmt: skip
    return response


async def settings(ui: WebCore, page: Page, **shown: Any) -> Response:
    user_id = page.user.id

    def load(conn: Connection) -> tuple[bool, int, str | None]:
        return (
            second_factor.is_enabled(conn, user_id),
            second_factor.recovery_codes_left(conn, user_id),
            second_factor.pending_secret(conn, user_id),
        )

    enabled, left, pending = await ui.read(load)
    status = 400 if shown.get("problem") else 200
    return ui.page(
        page, "two_factor.html", status, section="two-factor", enabled=enabled,
        recovery_left=left, secret=pending,
        uri=codes.provisioning_uri(pending, page.user.email) if pending else "",
        recovery=shown.get("recovery", []), problem=shown.get("problem", ""),
    )  # fmt: skip


async def setup(ui: WebCore, page: Page) -> Response:
    started = await ui.write(lambda c: second_factor.start_setup(c, page.user.id, time.time()))
    if started is None:
        return await settings(ui, page, problem="Turn the factor off first (with your password).")
    return await settings(ui, page)


async def confirm(ui: WebCore, page: Page) -> Response:
    found = await ui.write(
        lambda c: second_factor.confirm(c, page.user.id, page.form.get("code"), time.time())
    )
    if found is None:
        return await settings(ui, page, problem="That code is not the app's current one.")
    return await settings(ui, page, recovery=found)


async def disable(ui: WebCore, page: Page) -> Response:
    email, password = page.user.email, page.form.get("password")

    def apply(conn: Connection) -> bool:
        if users.authenticate(conn, email, password) is None:
            return False
        second_factor.disable(conn, page.user.id)
        return True

    if not await ui.write(apply):
        return await settings(ui, page, problem="The password is wrong.")
    return RedirectResponse("/settings/2fa/", 303)
