"""Single sign-on pages: ``/auth/oidc/login/`` sends the browser to the provider and
``/auth/oidc/callback/`` takes it back (docs/sso.md).

The state travels twice: in a signed cookie on this browser (so that nobody can finish a
sign-in someone else started: login CSRF) and as a row on the server, deleted by the callback
(so that a callback URL works once, within ten minutes). The nonce and the PKCE verifier stay
on the server. Refusals show the sign-in page with a message; the reason goes to the log.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vedette.storage import identities, users
from vedette.web.core import WebCore
from vedette.web.oidc_config import ProviderError, TokenRefused, VerifiedIdentity
from vedette.web.security import local_path

if TYPE_CHECKING:
    from vedette.web.oidc import OidcClient

log = logging.getLogger(__name__)

PATH = "/auth/oidc/"
LOGIN_PATH = PATH + "login/"
CALLBACK_PATH = PATH + "callback/"
STATE_COOKIE = "vedette_oidc_state"
MAX_PARAM_CHARS = 4096

EXPIRED = "This sign-in expired or was already used. Please sign in again."
UNREACHABLE = "The identity provider could not be reached. Please try again later."
UNVERIFIED_TOKEN = "The identity provider's answer could not be verified."
NOT_LINKED = (
    "A user with your email address exists here, and the identity provider does not say the"
    " address is verified. Ask an administrator."
)


def _client(core: WebCore) -> OidcClient:
    assert core.oidc is not None, "the SSO routes exist only when OIDC is configured"
    return core.oidc


async def start(core: WebCore, request: Request) -> Response:
    """Remember a new sign-in and send the browser to the provider's authorization page."""
    client = _client(core)
    target = local_path(request.query_params.get("next"))
    try:
        authorization = await client.authorization()
    except ProviderError as exc:
        log.warning("single sign-on: discovery failed: %s", exc)
        return await core.refused_sign_in(request, UNREACHABLE, 502)
    attempt = identities.LoginAttempt(authorization.nonce, authorization.code_verifier, target)
    await core.write(lambda c: identities.start_login(c, authorization.state, attempt, time.time()))
    response = RedirectResponse(authorization.url, 303)
    response.set_cookie(
        STATE_COOKIE,
        (await core.signer()).sign(authorization.state),
        max_age=int(identities.LOGIN_ATTEMPT_SECONDS),
        path=PATH,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to us
        secure=core.secure_cookies,
    )
    return response


async def callback(core: WebCore, request: Request) -> Response:
    """Check the state, exchange the code, verify the ID token, sign the user in."""
    client = _client(core)
    params = request.query_params
    state = params.get("state", "")[:MAX_PARAM_CHARS]
    ours = (await core.signer()).unsign(request.cookies.get(STATE_COOKIE))
    if not state or ours is None or not hmac.compare_digest(state.encode(), ours.encode()):
        log.warning("single sign-on: the callback's state is not this browser's")
        return await core.refused_sign_in(request, EXPIRED, 400)
    attempt = await core.write(lambda c: identities.take_login(c, state, time.time()))
    if attempt is None:
        log.warning("single sign-on: unknown, used or expired state")
        return await core.refused_sign_in(request, EXPIRED, 400)
    if params.get("error"):
        error = params["error"][:100]
        log.warning("single sign-on: the provider answered error=%s", error)
        return await core.refused_sign_in(
            request, f"The identity provider did not sign you in ({error}).", 401
        )
    # RFC 9207: a provider that names itself must be ours (no mix-up with another provider).
    if "iss" in params and params["iss"] != client.config.issuer:
        log.warning("single sign-on: the callback came from issuer %r", params["iss"][:200])
        return await core.refused_sign_in(request, UNVERIFIED_TOKEN, 400)
    code = params.get("code", "")[:MAX_PARAM_CHARS]
    if not code:
        return await core.refused_sign_in(request, EXPIRED, 400)
    try:
        identity = await client.sign_in(code, attempt.code_verifier, attempt.nonce)
    except ProviderError as exc:
        log.warning("single sign-on: %s", exc)
        return await core.refused_sign_in(request, UNREACHABLE, 502)
    except TokenRefused as exc:
        log.warning("single sign-on: ID token refused: %s", exc)
        return await core.refused_sign_in(request, UNVERIFIED_TOKEN, 401)
    return await _sign_in(core, request, identity, attempt.next_path)


async def _sign_in(
    core: WebCore, request: Request, identity: VerifiedIdentity, target: str
) -> Response:
    if identity.email is None:
        return await core.refused_sign_in(
            request, "The identity provider did not tell your email address.", 403
        )
    if identity.email_verified is False:
        return await core.refused_sign_in(
            request, "Your email address is not verified at the identity provider.", 403
        )
    config = _client(core).config
    claims = identities.Claims(
        config.issuer, identity.subject, identity.email, identity.email_verified is True
    )
    provisioning = identities.Provisioning(config.organization, config.role)

    def sign_in(conn: Connection) -> str:
        now = time.time()
        user_id = identities.sign_in(conn, claims, provisioning, now)
        return users.start_session(conn, user_id, now)

    try:
        session_id = await core.write(sign_in)
    except users.UserError as exc:
        log.warning("single sign-on: %s", exc)
        return await core.refused_sign_in(request, NOT_LINKED, 409)
    response = await core.session_started(session_id, target)
    response.delete_cookie(STATE_COOKIE, path=PATH, secure=core.secure_cookies, httponly=True)
    return response
