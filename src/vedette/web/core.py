"""The web UI's core: sessions, CSRF, forms and templates (the route table is in ui.py).

Views are thin: they parse the request, read through the storage modules (the same ones the
JSON API uses) and render a template. Errors carry their HTTP status and become one error page
(``WebError``).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from vedette.api.serialize import iso
from vedette.domain.roles import Role, at_least
from vedette.storage import (
    accounts,
    audit,
    identities,
    second_factor,
    sign_in_throttle,
    threaded,
    users,
)
from vedette.storage.accounts import Project
from vedette.storage.database import Database
from vedette.web import format as fmt
from vedette.web.oidc_config import OidcConfig
from vedette.web.security import Signer, local_path

if TYPE_CHECKING:
    from vedette.web.oidc import OidcClient

T = TypeVar("T")

HERE = Path(__file__).parent
SESSION_COOKIE = "vedette_session"
LOGIN_CSRF_COOKIE = "vedette_login_csrf"
SECOND_STEP_COOKIE = "vedette_login_step"
SECOND_STEP_SECONDS = 300  # to type the code after the password
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 500


class WebError(Exception):
    """Turned into the error page with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Form:
    fields: list[tuple[str, str]]

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.fields:
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]


@dataclass(frozen=True, slots=True)
class Page:
    """One signed-in request."""

    request: Request
    session: users.Session
    form: Form

    @property
    def user(self) -> users.User:
        return self.session.user

    @property
    def actor(self) -> audit.Actor:
        """Who the audit log says made a change."""
        return audit.Actor(self.user.email, self.user.id)


PageHandler = Callable[[Page], Awaitable[Response]]
ProjectHandler = Callable[[Page, Project], Awaitable[Response]]
PublicHandler = Callable[[Request, Form], Awaitable[Response]]


MAX_LABEL = 200


def form_label(page: Page, default: str) -> str:
    """The form's ``label`` field (of a key or a token), trimmed and bounded; ``default`` when
    left empty."""
    return page.form.get("label").strip()[:MAX_LABEL] or default


@dataclass(frozen=True)
class UIConfig:
    base_url: str
    on_key_change: Callable[[str], None]
    trust_forwarded_for: bool = False
    oidc: OidcConfig | None = None  # single sign-on (web/sso.py), when configured


class WebCore:
    def __init__(self, db: Database, config: UIConfig) -> None:
        self.db = db
        self.config = config
        self._signer: Signer | None = None
        self._secure_cookies = config.base_url.startswith("https://")
        self.oidc: OidcClient | None = None
        if config.oidc is not None:
            from vedette.web.oidc import OidcClient  # its libraries only when SSO is configured

            self.oidc = OidcClient(config.oidc)
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(
            when=fmt.when,
            iso=iso,
            ago=fmt.ago,
            duration=fmt.duration,
            percent=fmt.percent,
            number=fmt.number,
            part=fmt.path_part,
        )
        self.templates.globals.update(query=fmt.query, term=fmt.search_term)

    # -- plumbing -----------------------------------------------------------------------------

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await threaded.read(self.db, fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        return await threaded.write(self.db, fn)

    async def signer(self) -> Signer:
        if self._signer is None:
            secret = await self.write(lambda c: users.instance_secret(c, "cookie_signing"))
            self._signer = Signer(secret)
        return self._signer

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        status: int = 200,
        session: users.Session | None = None,
    ) -> HTMLResponse:
        values: dict[str, Any] = {
            "request_path": request.url.path,
            "user": session.user if session is not None else None,
            "csrf_token": session.csrf_token if session is not None else "",
            "project": None,
            "base": "",
            "section": "",
        }
        body = self.templates.get_template(template).render({**values, **context})
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    def page(
        self, page: Page, template: str, http_status: int = 200, **context: Any
    ) -> HTMLResponse:
        return self.render(page.request, template, context, http_status, page.session)

    def client_ip(self, request: Request) -> str:
        """The address sign-ins are throttled by: the peer's, or behind a trusted proxy the
        last ``X-Forwarded-For`` entry, the one that proxy added (the earlier ones are
        whatever the client sent)."""
        if self.config.trust_forwarded_for:
            forwarded = request.headers.get("x-forwarded-for")
            if forwarded:
                return forwarded.split(",")[-1].strip()[:64]
        return request.client.host if request.client else ""

    async def _form(self, request: Request) -> Form:
        if request.method != "POST":
            return Form([])
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise WebError(415, "Forms are sent as application/x-www-form-urlencoded.")
        # The route's max_body_size caps what this reads (413 past MAX_FORM_BYTES).
        body = await request.body()
        try:
            fields = parse_qsl(
                body.decode(), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise WebError(400, "The form could not be read.") from exc
        return Form(fields)

    async def _session(self, request: Request) -> tuple[users.Session, str] | None:
        session_id = (await self.signer()).unsign(request.cookies.get(SESSION_COOKIE))
        if session_id is None:
            return None
        found = await self.read(lambda c: users.load_session(c, session_id, time.time()))
        return None if found is None else (found, session_id)

    def _error(
        self, request: Request, error: WebError, session: users.Session | None
    ) -> HTMLResponse:
        return self.render(
            request, "error.html", {"status": error.status, "message": error.message},
            error.status, session,
        )  # fmt: skip

    def public(self, handler: PublicHandler) -> Callable[[Request], Awaitable[Response]]:
        """A page anyone may open: the one-time links of account emails, whose forms carry the
        link's own secret (so no session CSRF token), and the password-reset request."""

        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request, await self._form(request))
            except WebError as error:
                return self._error(request, error, None)

        return endpoint

    def with_role(
        self, endpoint: Callable[[Request], Awaitable[Response]], needed: Role
    ) -> Callable[[Request], Awaitable[Response]]:
        """``endpoint`` for members of the path's organisation with at least ``needed``: a
        lesser role gets 403. Others fall through to the endpoint (sign in, or 404 to those
        who may not see the organisation)."""

        async def checked(request: Request) -> Response:
            found = await self._session(request)
            if found is not None:
                user, slug = found[0].user, request.path_params["org"]
                org_id = await self.read(lambda c: accounts.organization_id(c, slug))
                role = None if org_id is None else user.role_in(org_id)
                if role is not None and not at_least(role, needed):
                    message = f"This takes the {needed} role; yours is {role}."
                    return self._error(request, WebError(403, message), found[0])
            return await endpoint(request)

        return checked

    def signed_in(self, handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        """A page for signed-in users; POSTs must carry the session's CSRF token."""

        async def endpoint(request: Request) -> Response:
            session: users.Session | None = None
            try:
                found = await self._session(request)
                if found is None:
                    if request.method in ("GET", "HEAD"):
                        target = request.url.path + (
                            "?" + request.url.query if request.url.query else ""
                        )
                        return RedirectResponse(f"/login/?next={quote(target, safe='')}", 303)
                    raise WebError(403, "Your session has ended. Sign in again.")
                session = found[0]
                form = await self._form(request)
                if request.method == "POST" and not hmac.compare_digest(
                    form.get("csrf_token").encode(), session.csrf_token.encode()
                ):
                    raise WebError(
                        403, "The form's CSRF token is missing or wrong. Reload the page."
                    )
                return await handler(Page(request, session, form))
            except WebError as error:
                return self._error(request, error, session)

        return endpoint

    def in_project(self, handler: ProjectHandler) -> Callable[[Request], Awaitable[Response]]:
        """A project page: 404 unless the user may read the project's organisation."""

        async def with_project(page: Page) -> Response:
            org, slug = page.request.path_params["org"], page.request.path_params["project"]
            project = await self.read(lambda c: accounts.find_project(c, org, slug))
            if project is None or not page.user.may_see_project(
                project.organization_id, project.id
            ):
                raise WebError(404, "There is no such project, or it is not yours to see.")
            return await handler(page, project)

        return self.signed_in(with_project)

    # -- sign-in ------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        signer = await self.signer()
        nonce = signer.unsign(request.cookies.get(LOGIN_CSRF_COOKIE))
        target = local_path(request.query_params.get("next"))
        if request.method == "GET":
            if await self._session(request) is not None:
                return RedirectResponse(target, 303)
            return self._login_page(request, signer, nonce, target, "", "", 200)
        try:
            form = await self._form(request)
        except WebError as error:
            return self._error(request, error, None)
        email = form.get("email").strip()
        target = local_path(form.get("next"))
        if nonce is None or not hmac.compare_digest(
            form.get("csrf_token").encode(), nonce.encode()
        ):
            return self._login_page(
                request, signer, None, target, email,
                "The sign-in form expired. Please try again.", 403,
            )  # fmt: skip
        subject = sign_in_throttle.password_subject(email, self.client_ip(request))
        now = time.time()
        password = form.get("password")

        def attempt(conn: Connection) -> tuple[str | None, int] | None:
            """(the session started, or None while a second factor is due; the user)."""
            if sign_in_throttle.throttled(conn, subject, now):
                raise WebError(429, "Too many failed sign-ins. Wait 15 minutes and try again.")
            user = users.authenticate(conn, email, password)
            if user is None:
                sign_in_throttle.record_failure(conn, subject, now)
                return None
            sign_in_throttle.clear_failures(conn, subject)
            sso = self.config.oidc
            if sso and sso.sso_only and identities.password_refused(conn, user, sso.organization):
                raise WebError(403, f"Members of {sso.organization} sign in with single sign-on.")
            if second_factor.is_enabled(conn, user.id):
                return None, user.id
            return users.start_session(conn, user.id, now), user.id

        try:
            outcome = await self.write(attempt)
        except WebError as refused:
            return self._login_page(
                request, signer, nonce, target, email, refused.message, refused.status
            )
        if outcome is None:
            return self._login_page(
                request, signer, nonce, target, email, "Wrong email or password.", 401
            )
        session_id, user_id = outcome
        if session_id is None:
            return self.second_step_page(request, signer.sign(f"{user_id}|{now:.0f}|{target}"))
        response = await self.session_started(session_id, target)
        response.delete_cookie(
            LOGIN_CSRF_COOKIE, path="/login/", secure=self._secure_cookies, httponly=True
        )
        return response

    @property
    def secure_cookies(self) -> bool:
        return self._secure_cookies

    async def session_started(self, session_id: str, target: str) -> RedirectResponse:
        """The redirect to ``target`` that sets the cookie of a session just started."""
        signer = await self.signer()
        response = RedirectResponse(target, 303)
        response.set_cookie(
            SESSION_COOKIE,
            signer.sign(session_id),
            max_age=users.SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self._secure_cookies,
        )
        return response

    def second_step_page(
        self, request: Request, step: str | None, error: str = "", status: int = 200
    ) -> Response:
        """The one-time code form of a sign-in whose password was right. ``step`` (signed: the
        user, when the password was checked, where to go) rides in a cookie for the code's
        POST (``web.two_factor``); None keeps the cookie the browser has."""
        response = self.render(request, "login_code.html", {"error": error}, status)
        if step is not None:
            response.set_cookie(
                SECOND_STEP_COOKIE, step, max_age=SECOND_STEP_SECONDS, path="/login/",
                httponly=True, samesite="lax", secure=self._secure_cookies,
            )  # fmt: skip
        return response

    async def refused_sign_in(self, request: Request, error: str, status: int) -> Response:
        """The sign-in page with ``error`` (single sign-on's refusals)."""
        return self._login_page(request, await self.signer(), None, "/", "", error, status)

    def _login_page(
        self,
        request: Request,
        signer: Signer,
        nonce: str | None,
        target: str,
        email: str,
        error: str,
        status: int,
    ) -> Response:
        fresh = nonce is None
        nonce = nonce or secrets.token_urlsafe(24)
        response = self.render(
            request,
            "login.html",
            {
                "login_token": nonce,
                "next": target,
                "email": email,
                "error": error,
                "sso_label": self.config.oidc.button_label if self.config.oidc else "",
            },
            status,
        )
        if fresh:
            response.set_cookie(
                LOGIN_CSRF_COOKIE,
                signer.sign(nonce),
                path="/login/",
                httponly=True,
                samesite="lax",
                secure=self._secure_cookies,
            )
        return response

    async def logout(self, page: Page) -> Response:
        found = await self._session(page.request)
        if found is not None:
            await self.write(lambda c: users.end_session(c, found[1]))
        response = RedirectResponse("/login/", 303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=self._secure_cookies, httponly=True)
        return response
