"""The web UI's route table: every page, signed in or not, wrapped in ``SecurityHeaders``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from vedette.web import (
    admin,
    alerts,
    api_tokens,
    feedback,
    issue_workflow,
    issues,
    logs,
    members,
    performance,
    privacy_page,
    profiles,
    sso,
    trackers,
    two_factor,
    uptime,
)
from vedette.web.core import HERE, MAX_FORM_BYTES, WebCore
from vedette.web.roles import ACTION_ROLES
from vedette.web.security import SecurityHeaders

ROUTE_PREFIX = "web:"


class WebUI(WebCore):
    """The web UI: the plumbing of `WebCore` and the route of every page."""

    def _alert_routes(self, route: Callable[..., Route]) -> list[Route]:
        """Alert rules and the issue page's ignore options."""
        p = "/p/{org}/{project}"
        rule = f"{p}/alerts/{{rule_id:int}}"
        proj = self.in_project
        pages = [
            (f"{p}/alerts/", alerts.rule_list, "alerts", False),
            (f"{p}/alerts/create/", alerts.create_rule, "alert-create", True),
            (f"{rule}/", alerts.rule_detail, "alert", False),
            (f"{rule}/update/", alerts.update_rule, "alert-update", True),
            (f"{rule}/delete/", alerts.delete_rule, "alert-delete", True),
            (f"{rule}/test/", alerts.test_rule, "alert-test", True),
            (f"{p}/issues/{{issue_id:int}}/snooze/", alerts.snooze, "issue-snooze", True),
        ]
        return [
            route(path, proj(functools.partial(handler, self)), name, post=post)
            for path, handler, name, post in pages
        ]

    def _tracker_routes(self, route: Callable[..., Route]) -> list[Route]:
        """The project's issue tracker settings and the tracker links of an issue."""
        p = "/p/{org}/{project}"
        issue = f"{p}/issues/{{issue_id:int}}"
        pages = [
            (f"{p}/settings/trackers/", trackers.settings_page, "trackers", False),
            (f"{p}/settings/trackers/", trackers.save_settings, "trackers-save", True),
            (f"{issue}/links/", trackers.link_issue, "issue-link", True),
            (f"{issue}/links/{{link_id:int}}/delete/", trackers.unlink_issue, "issue-unlink", True),
        ]
        return [
            route(path, self.in_project(functools.partial(handler, self)), name, post=post)
            for path, handler, name, post in pages
        ]

    def _member_routes(self, route: Callable[..., Route]) -> list[Route]:
        """Members and invitations of an organisation, one's password, and the one-time links
        of account emails (public: the link's token is the secret)."""
        org = "/o/{org}"
        signed = [
            (f"{org}/members/", members.member_list, "members", False),
            (f"{org}/audit/", members.audit_log, "audit", False),
            (f"{org}/members/invite/", members.invite, "member-invite", True),
            (f"{org}/invitations/{{invitation_id:int}}/revoke/", members.revoke,
             "invitation-revoke", True),
            (f"{org}/members/{{user_id:int}}/remove/", members.remove, "member-remove", True),
            (f"{org}/members/{{user_id:int}}/role/", members.change_role, "member-role", True),
            (f"{org}/teams/{{team_id:int}}/projects/", members.set_team_projects, "team-projects",
             True),
            (f"{org}/open-membership/", members.set_open_membership, "open-membership", True),
            ("/settings/password/", members.change_password, "password", False),
            ("/settings/password/", members.change_password, "password-change", True),
        ]  # fmt: skip
        signed += [
            ("/settings/2fa/", two_factor.settings, "two-factor", False),
            ("/settings/2fa/setup/", two_factor.setup, "two-factor-setup", True),
            ("/settings/2fa/confirm/", two_factor.confirm, "two-factor-confirm", True),
            ("/settings/2fa/disable/", two_factor.disable, "two-factor-disable", True),
        ]
        public = [
            ("/login/code/", two_factor.code, "login-code"),
            ("/invite/{token}/", members.accept, "invite"),
            ("/password/reset/", members.reset_request, "password-reset-request"),
            ("/password/reset/{token}/", members.reset, "password-reset"),
        ]
        return [
            *(
                route(path, self.signed_in(functools.partial(handler, self)), name, post=post)
                for path, handler, name, post in signed
            ),
            *(
                route(path, self.public(functools.partial(handler, self)), f"{name}{suffix}",
                      post=post)
                for path, handler, name in public
                for suffix, post in (("", False), ("-post", True))
            ),
        ]  # fmt: skip

    def _uptime_routes(self, route: Callable[..., Route]) -> list[Route]:
        """Uptime monitors, and the organisation's public status page (no login)."""
        p = "/p/{org}/{project}/uptime"
        monitor = f"{p}/{{monitor_id:int}}"
        pages = [
            (f"{p}/", uptime.monitor_list, "uptime", False),
            (f"{p}/create/", uptime.create_monitor, "uptime-create", True),
            (f"{p}/status-page/", uptime.set_status_page, "status-page-settings", True),
            (f"{monitor}/", uptime.monitor_detail, "uptime-monitor", False),
            (f"{monitor}/update/", uptime.update_monitor, "uptime-update", True),
            (f"{monitor}/delete/", uptime.delete_monitor, "uptime-delete", True),
        ]
        return [
            *(
                route(path, self.in_project(functools.partial(handler, self)), name, post=post)
                for path, handler, name, post in pages
            ),
            route("/status/{org}/", functools.partial(uptime.public_status, self), "status-page"),
        ]

    def _sso_routes(self, route: Callable[..., Route]) -> list[Route]:
        """Single sign-on with OpenID Connect, when configured (docs/sso.md)."""
        if self.oidc is None:
            return []
        return [
            route(sso.LOGIN_PATH, functools.partial(sso.start, self), "sso-login"),
            route(sso.CALLBACK_PATH, functools.partial(sso.callback, self), "sso-callback"),
        ]

    def routes(self) -> list[BaseRoute]:
        headers = [Middleware(SecurityHeaders)]

        def route(
            path: str, endpoint: Callable[[Request], Awaitable[Response]], name: str,
            post: bool = False,
        ) -> Route:  # fmt: skip
            if post and "{org}" in path:
                # A change of an organisation's data: its role, or no start (web/roles.py).
                endpoint = self.with_role(endpoint, ACTION_ROLES[name])
            return Route(
                path,
                endpoint,
                methods=["POST"] if post else ["GET"],
                name=ROUTE_PREFIX + name,
                middleware=headers,
                max_body_size=MAX_FORM_BYTES,
            )

        p = "/p/{org}/{project}"
        proj = self.in_project
        return [
            Route(
                "/login/",
                self.login,
                methods=["GET", "POST"],
                name=ROUTE_PREFIX + "login",
                middleware=headers,
                max_body_size=MAX_FORM_BYTES,
            ),
            *self._sso_routes(route),
            route("/logout/", self.signed_in(self.logout), "logout", post=True),
            route("/", self.signed_in(lambda page: admin.projects(self, page)), "projects"),
            route(
                "/settings/tokens/",
                self.signed_in(lambda pg: api_tokens.tokens_page(self, pg)),
                "tokens",
            ),
            route(
                "/settings/tokens/create/",
                self.signed_in(lambda pg: api_tokens.create_token(self, pg)),
                "token-create",
                post=True,
            ),
            route(
                "/settings/tokens/{token_id:int}/revoke/",
                self.signed_in(lambda pg: api_tokens.revoke_token(self, pg)),
                "token-revoke",
                post=True,
            ),
            route(f"{p}/issues/", proj(lambda pg, pr: issues.issue_list(self, pg, pr)), "issues"),
            route(
                f"{p}/issues/bulk/",
                proj(lambda pg, pr: issues.bulk(self, pg, pr)),
                "issues-bulk",
                post=True,
            ),
            route(
                f"{p}/issues/{{issue_id:int}}/",
                proj(lambda pg, pr: issues.issue_detail(self, pg, pr)),
                "issue",
            ),
            route(
                f"{p}/issues/{{issue_id:int}}/status/",
                proj(lambda pg, pr: issues.set_status(self, pg, pr)),
                "issue-status",
                post=True,
            ),
            route(
                f"{p}/issues/{{issue_id:int}}/hashes/",
                proj(functools.partial(issue_workflow.hashes_page, self)),
                "issue-hashes",
            ),
            *(
                route(
                    f"{p}/issues/{{issue_id:int}}/{suffix}",
                    proj(functools.partial(handler, self)),
                    name,
                    post=True,
                )
                for suffix, handler, name in issue_workflow.PAGES
            ),
            route(
                f"{p}/events/{{event_id}}/json/",
                proj(lambda pg, pr: issues.raw_event(self, pg, pr)),
                "event-json",
            ),
            route(
                f"{p}/performance/",
                proj(lambda pg, pr: performance.transactions(self, pg, pr)),
                "transactions",
            ),
            route(
                f"{p}/performance/summary/",
                proj(lambda pg, pr: performance.summary(self, pg, pr)),
                "transaction-summary",
            ),
            route(
                f"{p}/performance/events/{{event_id}}/",
                proj(lambda pg, pr: performance.waterfall(self, pg, pr)),
                "transaction-event",
            ),
            route(
                f"{p}/traces/{{trace_id}}/",
                proj(lambda pg, pr: performance.trace(self, pg, pr)),
                "trace",
            ),
            route(
                f"{p}/queries/",
                proj(lambda pg, pr: performance.slow_queries(self, pg, pr)),
                "queries",
            ),
            route(
                f"{p}/releases/",
                proj(lambda pg, pr: performance.releases(self, pg, pr)),
                "releases",
            ),
            route(f"{p}/crons/", proj(lambda pg, pr: performance.crons(self, pg, pr)), "crons"),
            route(f"{p}/logs/", proj(lambda pg, pr: logs.log_list(self, pg, pr)), "logs"),
            route(
                f"{p}/profiles/{{profile_id}}/",
                proj(lambda pg, pr: profiles.profile_detail(self, pg, pr)),
                "profile",
            ),
            route(
                f"{p}/profiling/",
                proj(lambda pg, pr: profiles.merged_profiles(self, pg, pr)),
                "merged-profiles",
            ),
            route(f"{p}/logs/tail/", proj(lambda pg, pr: logs.log_tail(self, pg, pr)), "log-tail"),
            route(
                f"{p}/feedback/",
                proj(lambda pg, pr: feedback.feedback_list(self, pg, pr)),
                "feedback",
            ),
            *self._alert_routes(route),
            *self._tracker_routes(route),
            *self._member_routes(route),
            *self._uptime_routes(route),
            route(
                f"{p}/settings/",
                proj(lambda pg, pr: admin.project_settings(self, pg, pr)),
                "project-settings",
            ),
            route(
                f"{p}/settings/keys/create/",
                proj(lambda pg, pr: admin.create_key(self, pg, pr)),
                "key-create",
                post=True,
            ),
            route(
                f"{p}/settings/keys/{{key}}/active/",
                proj(lambda pg, pr: admin.set_key_active(self, pg, pr)),
                "key-active",
                post=True,
            ),
            route(
                f"{p}/settings/keys/{{key}}/rate-limit/",
                proj(lambda pg, pr: admin.set_key_rate_limit(self, pg, pr)),
                "key-rate-limit",
                post=True,
            ),
            route(
                f"{p}/settings/keys/{{key}}/delete/",
                proj(lambda pg, pr: admin.delete_key(self, pg, pr)),
                "key-delete",
                post=True,
            ),
            route(
                f"{p}/settings/apdex/",
                proj(lambda pg, pr: admin.set_apdex(self, pg, pr)),
                "apdex",
                post=True,
            ),
            route(
                f"{p}/settings/privacy/",
                proj(lambda pg, pr: privacy_page.save_privacy(self, pg, pr)),
                "privacy",
                post=True,
            ),
            route(
                f"{p}/settings/privacy/preview/",
                proj(lambda pg, pr: admin.preview_privacy(self, pg, pr)),
                "privacy-preview",
                post=True,
            ),
            Mount(
                "/static",
                StaticFiles(directory=HERE / "static"),
                name=ROUTE_PREFIX + "static",
                middleware=headers,
            ),
        ]
