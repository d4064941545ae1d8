"""The API tokens page: a user's own tokens, with the scopes they chose within their role
(docs/workflow.md, "API tokens"); organisation tokens for its managers and owners; operator
tokens for superusers."""

from __future__ import annotations

import time

from sqlalchemy import Connection
from starlette.responses import RedirectResponse, Response

from vedette.domain.roles import Role, at_least
from vedette.domain.scopes import Scope, user_token_scopes
from vedette.storage import audit, tokens, users
from vedette.storage.audit import AuditEvent
from vedette.storage.tokens import TokenRow
from vedette.web.core import Page, WebCore, WebError, form_label


def may_manage(user: users.User, token: TokenRow) -> bool:
    """Who sees and revokes a token: its user; for an organisation's own tokens, the
    organisation's managers and owners; superusers every token."""
    if user.is_superuser:
        return True
    if token.user_id is not None:
        return token.user_id == user.id
    if token.organization_id is None:
        return False
    return at_least(user.role_in(token.organization_id), Role.MANAGER)


def _visible_tokens(conn: Connection, user: users.User) -> list[TokenRow]:
    return [t for t in tokens.list_tokens(conn) if may_manage(user, t)]


async def _token_page(
    ui: WebCore, page: Page, new_token: str | None, status: int = 200, error: str | None = None
) -> Response:
    def load(conn: Connection) -> tuple[list[TokenRow], list[users.Organization]]:
        return _visible_tokens(conn, page.user), users.visible_organizations(conn, page.user)

    rows, organizations = await ui.read(load)
    return ui.page(
        page,
        "tokens.html",
        http_status=status,
        section="tokens",
        tokens=rows,
        organizations=organizations,
        new_token=new_token,
        scopes=list(Scope),
        error=error,
    )


async def tokens_page(ui: WebCore, page: Page) -> Response:
    return await _token_page(ui, page, None)


async def create_token(ui: WebCore, page: Page) -> Response:
    label = form_label(page, "web")
    org = page.form.get("organization")
    if org == "" and page.user.is_superuser:
        # An operator token, as `vedette token create` makes: every organisation.
        org_id: int | None = None
        scopes = None
    elif org.isdigit() and page.user.may_read(int(org)):
        org_id = int(org)
        try:
            scopes = user_token_scopes(page.form.getlist("scope"), page.user.role_in(org_id))
        except ValueError as error:
            return await _token_page(ui, page, None, 400, str(error))
    else:
        raise WebError(403, "You may only create tokens for your own organisations.")

    def apply(conn: Connection) -> str:
        if org_id is None:
            return tokens.create_token(conn, label)
        token = tokens.create_token(conn, label, org_id, user_id=page.user.id, scopes=scopes)
        data = {"scopes": sorted(scopes or ())}
        audit.record(conn, org_id, page.actor, AuditEvent.TOKEN_ADD, label, time.time(), data)
        return token

    token = await ui.write(apply)
    # Rendered, not redirected: the token is shown this once and never stored in clear.
    return await _token_page(ui, page, token, 201)


async def revoke_token(ui: WebCore, page: Page) -> Response:
    token_id = int(page.request.path_params["token_id"])

    def apply(conn: Connection) -> bool:
        found = next((t for t in _visible_tokens(conn, page.user) if t.id == token_id), None)
        if found is None:
            return False
        tokens.revoke_token(conn, token_id)
        if found.organization_id is not None:
            audit.record(conn, found.organization_id, page.actor, AuditEvent.TOKEN_REMOVE,
                         found.label, time.time())  # fmt: skip
        return True

    if not await ui.write(apply):
        raise WebError(404, "There is no such token, or it is not yours to revoke.")
    return RedirectResponse("/settings/tokens/", 303)
