"""Which role each change of an organisation's pages takes (docs/workflow.md, "Roles"). Every
POST route under ``/p/{org}/...`` or ``/o/{org}/...`` must be named here: the UI refuses to
start otherwise, so a new route cannot escape; reading pages takes only membership (viewer)."""

from __future__ import annotations

from vedette.domain.roles import Role

ACTION_ROLES: dict[str, Role] = {
    # Working on issues, and alert rules (Sentry lets members manage alerts by default).
    **dict.fromkeys(
        [
            "issues-bulk", "issue-status", "issue-assign", "issue-comment", "issue-comment-edit",
            "issue-comment-delete", "issue-snooze", "issue-link", "issue-unlink", "issue-unmerge",
            "alert-create", "alert-update", "alert-delete", "alert-test",
        ],
        Role.MEMBER,
    ),
    # A preview changes nothing: anyone who may read the project.
    "privacy-preview": Role.VIEWER,
    # Changing a project.
    **dict.fromkeys(
        [
            "trackers-save", "uptime-create", "status-page-settings", "uptime-update",
            "uptime-delete", "key-create", "key-active", "key-rate-limit", "key-delete",
            "apdex", "privacy",
        ],
        Role.ADMIN,
    ),
    # Members of the organisation.
    # Which projects a team owns.
    "team-projects": Role.ADMIN,
    **dict.fromkeys(
        ["member-invite", "invitation-revoke", "member-remove", "member-role", "open-membership"],
        Role.MANAGER,
    ),
}  # fmt: skip
