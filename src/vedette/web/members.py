"""Members of an organisation and account emails (docs/workflow.md, "Members"): invite by email
(a one-time link, 7 days), accept (a new account with a password, or an existing account
joining), remove a member; reset a forgotten password by email (a one-time link, an hour);
change one's password."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vedette.alerts import account_emails
from vedette.domain.roles import Role, at_least, may_grant, parse_role
from vedette.storage import account_tokens, accounts, audit, teams, users
from vedette.storage.account_tokens import TokenKind
from vedette.storage.audit import AuditEvent
from vedette.web.core import Form, Page, WebCore, WebError
from vedette.web.format import path_part

NOT_USABLE = "This link is not valid: it was used already, it expired, or it was withdrawn."


def _members_url(org: str) -> str:
    return f"/o/{path_part(org)}/members/"


async def _organization(ui: WebCore, page: Page) -> tuple[str, int]:
    """The organisation of the path, when the user may see it; else 404."""
    slug = page.request.path_params["org"]
    org_id = await ui.read(lambda c: accounts.organization_id(c, slug))
    if org_id is None or not page.user.may_read(org_id):
        raise WebError(404, "There is no such organisation, or it is not yours to see.")
    return slug, org_id


async def member_list(ui: WebCore, page: Page, notice: str = "", status: int = 200) -> Response:
    slug, org_id = await _organization(ui, page)
    now = time.time()

    def load(conn: Connection) -> tuple[Any, ...]:
        return (
            users.members_of(conn, org_id),
            account_tokens.pending_invitations(conn, org_id, now),
            teams.list_teams(conn, org_id),
            teams.team_project_ids(conn, org_id),
            accounts.list_projects(conn, [org_id]),
            teams.open_membership(conn, org_id),
        )

    members, invitations, team_rows, owned, org_projects, is_open = await ui.read(load)
    mine = page.user.role_in(org_id)
    return ui.page(
        page,
        "members.html",
        http_status=status,
        section="members",
        organization=slug,
        members=members,
        invitations=invitations,
        notice=notice,
        my_role=mine,
        grantable=[r for r in Role if may_grant(mine, r)],
        teams=team_rows,
        owned=owned,
        projects=org_projects,
        open_membership=is_open,
        may_admin=at_least(mine, Role.ADMIN),
        may_manage=at_least(mine, Role.MANAGER),
    )


async def invite(ui: WebCore, page: Page) -> Response:
    slug, org_id = await _organization(ui, page)
    role = _grantable(page, org_id, page.form.get("role") or Role.MEMBER.value)
    email = users.normalize_email(page.form.get("email"))
    local, at, domain = email.partition("@")
    if not (local and at and domain) or len(email) > 254 or any(c.isspace() for c in email):
        return await member_list(ui, page, f"Not an email address: {email[:100]}", 400)
    base = ui.config.base_url.rstrip("/")

    def apply(conn: Connection) -> None:
        now = time.time()
        token = account_tokens.create(
            conn, TokenKind.INVITE, email, now, org_id, page.user.id, role.value
        )
        audit.record(conn, org_id, page.actor, AuditEvent.MEMBER_INVITE, email, now,
                     {"role": role.value})  # fmt: skip
        account_emails.invitation(
            conn, email, slug, page.user.email, f"{base}/invite/{token}/", now
        )

    await ui.write(apply)
    return await member_list(ui, page, f"Invitation sent to {email}.")


def _grantable(page: Page, org_id: int, raw: str) -> Role:
    """The role asked for, when the user may give it (managers up to manager, owners all)."""
    try:
        role = parse_role(raw)
    except ValueError as problem:
        raise WebError(400, str(problem)) from problem
    if not may_grant(page.user.role_in(org_id), role):
        raise WebError(403, f"Your role may not give the {role} role.")
    return role


def _may_change(conn: Connection, page: Page, org_id: int, member: users.User) -> None:
    """Only owners change owners, and an organisation keeps at least one owner."""
    if member.role_in(org_id) != Role.OWNER or member.is_superuser:
        return
    if page.user.role_in(org_id) != Role.OWNER:
        raise WebError(403, "Only an owner changes an owner.")
    owners = [m for m in users.members_of(conn, org_id) if m[3] == Role.OWNER]
    if len(owners) <= 1:
        raise WebError(400, "An organisation keeps at least one owner.")


async def change_role(ui: WebCore, page: Page) -> Response:
    slug, org_id = await _organization(ui, page)
    user_id = int(page.request.path_params["user_id"])
    role = _grantable(page, org_id, page.form.get("role"))

    def apply(conn: Connection) -> bool:
        member = users.get_user_by_id(conn, user_id)
        if member is None or org_id not in member.organization_ids:
            return False
        _may_change(conn, page, org_id, member)
        users.set_role(conn, user_id, org_id, role)
        audit.record(conn, org_id, page.actor, AuditEvent.MEMBER_EDIT, member.email,
                     time.time(), {"role": role.value})  # fmt: skip
        return True

    if not await ui.write(apply):
        raise WebError(404, "There is no such member.")
    return RedirectResponse(_members_url(slug), 303)


async def revoke(ui: WebCore, page: Page) -> Response:
    slug, org_id = await _organization(ui, page)
    invitation_id = int(page.request.path_params["invitation_id"])

    def apply(conn: Connection) -> bool:
        done = account_tokens.revoke_invitation(conn, org_id, invitation_id)
        if done:
            audit.record(conn, org_id, page.actor, AuditEvent.INVITE_REVOKE,
                         f"invitation {invitation_id}", time.time())  # fmt: skip
        return done

    if not await ui.write(apply):
        raise WebError(404, "There is no such invitation.")
    return RedirectResponse(_members_url(slug), 303)


async def remove(ui: WebCore, page: Page) -> Response:
    slug, org_id = await _organization(ui, page)
    user_id = int(page.request.path_params["user_id"])

    def apply(conn: Connection) -> bool:
        member = users.get_user_by_id(conn, user_id)
        if member is not None:
            _may_change(conn, page, org_id, member)
        done = member is not None and users.remove_membership(conn, user_id, org_id)
        if member is not None and done:
            audit.record(conn, org_id, page.actor, AuditEvent.MEMBER_REMOVE, member.email,
                         time.time())  # fmt: skip
        return done

    if not await ui.write(apply):
        raise WebError(404, "There is no such member.")
    return RedirectResponse(_members_url(slug), 303)


# -- the links of account emails (public: the token is the secret) ---------------------------


def _new_password(form: Form) -> str:
    password = form.get("password")
    if password != form.get("password_again"):
        raise WebError(400, "The two passwords differ.")
    if len(password) < 8:
        raise WebError(400, "The password must have at least 8 characters.")
    return password


async def accept(ui: WebCore, request: Request, form: Form) -> Response:
    """An invitation's link: a new account (with a password) or an existing one joins."""
    token = request.path_params["token"]
    found = await ui.read(lambda c: account_tokens.peek(c, TokenKind.INVITE, token, time.time()))
    if found is None:
        raise WebError(404, NOT_USABLE)
    existing = await ui.read(lambda c: users.get_user(c, found.email))
    if request.method == "GET":
        return ui.render(request, "invite.html", {"invitation": found, "existing": existing})
    password = None if existing else _new_password(form)

    def apply(conn: Connection) -> str | None:
        now = time.time()
        taken = account_tokens.take(conn, TokenKind.INVITE, token, now)
        if taken is None or taken.organization_id is None:
            raise WebError(404, NOT_USABLE)
        org = accounts.organization_slug(conn, taken.organization_id)
        joined = audit.Actor(taken.email, existing.id if existing else None)
        audit.record(conn, taken.organization_id, joined, AuditEvent.MEMBER_JOIN, taken.email, now)
        role = Role(taken.role or Role.MEMBER.value)
        if existing is not None:
            users.add_membership(conn, existing.id, org, role)
            return None  # they sign in as usual
        user = users.create_user(conn, taken.email, password or "", [org], role=role)
        return users.start_session(conn, user.id, now)

    try:
        session_id = await ui.write(apply)
    except users.UserError as problem:
        raise WebError(400, str(problem)) from problem
    if session_id is None:
        return RedirectResponse("/login/", 303)
    return await ui.session_started(session_id, "/")


async def reset_request(ui: WebCore, request: Request, form: Form) -> Response:
    """Ask for a reset link. The answer is the same whether the address has an account or not;
    an address gets at most one link an hour."""
    if request.method == "GET":
        return ui.render(request, "password_reset_request.html", {"sent": False})
    email = users.normalize_email(form.get("email"))
    base = ui.config.base_url.rstrip("/")

    def apply(conn: Connection) -> None:
        now = time.time()
        user = users.get_user(conn, email)
        if user is None or account_tokens.recent_resets(conn, user.email, now) >= (
            account_tokens.RESETS_PER_HOUR
        ):
            return
        token = account_tokens.create(conn, TokenKind.RESET, user.email, now)
        account_emails.password_reset(conn, user.email, f"{base}/password/reset/{token}/", now)

    await ui.write(apply)
    return ui.render(request, "password_reset_request.html", {"sent": True})


async def reset(ui: WebCore, request: Request, form: Form) -> Response:
    """A reset link: a new password; every session of the account ends."""
    token = request.path_params["token"]
    found = await ui.read(lambda c: account_tokens.peek(c, TokenKind.RESET, token, time.time()))
    if found is None:
        raise WebError(404, NOT_USABLE)
    if request.method == "GET":
        return ui.render(request, "password_reset.html", {"email": found.email})
    password = _new_password(form)

    def apply(conn: Connection) -> None:
        taken = account_tokens.take(conn, TokenKind.RESET, token, time.time())
        user = None if taken is None else users.get_user(conn, taken.email)
        if user is None:
            raise WebError(404, NOT_USABLE)
        users.set_password(conn, user.email, password)
        account_tokens.end_sessions(conn, user.id)

    await ui.write(apply)
    return RedirectResponse("/login/", 303)


async def change_password(ui: WebCore, page: Page) -> Response:
    """A signed-in user's own password: the current one, then the new one twice. Every session
    ends (sign in again)."""
    if page.request.method == "GET":
        return ui.page(page, "password_change.html", section="password", problem="")
    try:
        password = _new_password(page.form)
    except WebError as problem:
        return ui.page(page, "password_change.html", 400, section="password",
                       problem=problem.message)  # fmt: skip
    current, email = page.form.get("current"), page.user.email

    def apply(conn: Connection) -> bool:
        if users.authenticate(conn, email, current) is None:
            return False
        users.set_password(conn, email, password)
        account_tokens.end_sessions(conn, page.user.id)
        return True

    if not await ui.write(apply):
        return ui.page(page, "password_change.html", 400, section="password",
                       problem="The current password is wrong.")  # fmt: skip
    return RedirectResponse("/login/", 303)


async def audit_log(ui: WebCore, page: Page) -> Response:
    """Who changed the organisation's members, keys, tokens, rules and settings."""
    slug, org_id = await _organization(ui, page)
    rows = await ui.read(lambda c: audit.entries(c, org_id, 200))
    return ui.page(page, "audit.html", section="members", organization=slug, rows=rows)


async def set_team_projects(ui: WebCore, page: Page) -> Response:
    """The projects a team owns (what its members see without open membership)."""
    slug, org_id = await _organization(ui, page)
    team_id = int(page.request.path_params["team_id"])
    wanted = {int(p) for p in page.form.getlist("project") if p.isdigit()}

    def apply(conn: Connection) -> bool:
        if not teams.set_team_projects(conn, org_id, team_id, wanted):
            return False
        audit.record(conn, org_id, page.actor, AuditEvent.TEAM_EDIT, f"team {team_id}",
                     time.time(), {"projects": sorted(wanted)})  # fmt: skip
        return True

    if not await ui.write(apply):
        raise WebError(404, "There is no such team.")
    return RedirectResponse(_members_url(slug), 303)


async def set_open_membership(ui: WebCore, page: Page) -> Response:
    slug, org_id = await _organization(ui, page)
    value = page.form.get("open") == "1"

    def apply(conn: Connection) -> None:
        teams.set_open_membership(conn, org_id, value)
        audit.record(conn, org_id, page.actor, AuditEvent.ORG_EDIT, slug, time.time(),
                     {"openMembership": value})  # fmt: skip

    await ui.write(apply)
    return RedirectResponse(_members_url(slug), 303)
