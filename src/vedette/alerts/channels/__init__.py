"""Notification channels: pure renderers from a Message to what each service expects.

Nothing here does I/O: ``render_http`` gives the HTTP request for a target and
``render_email`` the email's content; ``vedette.alerts.transport`` sends them.
"""

from __future__ import annotations

from collections.abc import Callable

from vedette.alerts.channels import (
    discord,
    mattermost,
    ntfy,
    pagerduty,
    slack,
    teams,
    telegram,
    webhook,
)
from vedette.alerts.channels.base import (
    NOTIFICATION_ID_HEADER,
    ChannelKind,
    EmailContent,
    Endpoints,
    HttpRequest,
    Target,
    parse_target,
)
from vedette.alerts.channels.email import render_email
from vedette.alerts.message import Message

__all__ = [
    "HTTP_RENDERERS",
    "NOTIFICATION_ID_HEADER",
    "ChannelKind",
    "EmailContent",
    "Endpoints",
    "HttpRequest",
    "Target",
    "parse_target",
    "render_email",
    "render_http",
]

HttpRenderer = Callable[[Target, Message, Endpoints], HttpRequest]

HTTP_RENDERERS: dict[ChannelKind, HttpRenderer] = {
    ChannelKind.WEBHOOK: webhook.render,
    ChannelKind.SLACK: slack.render,
    ChannelKind.DISCORD: discord.render,
    ChannelKind.TEAMS: teams.render,
    ChannelKind.MATTERMOST: mattermost.render,
    ChannelKind.NTFY: ntfy.render,
    ChannelKind.TELEGRAM: telegram.render,
    ChannelKind.PAGERDUTY: pagerduty.render,
}


def render_http(
    target: Target, message: Message, endpoints: Endpoints | None = None
) -> HttpRequest:
    """The request that delivers ``message`` to ``target`` (any kind but email)."""
    try:
        renderer = HTTP_RENDERERS[target.kind]
    except KeyError:
        raise ValueError(f"{target.kind} targets are not sent over HTTP") from None
    return renderer(target, message, endpoints or Endpoints())
