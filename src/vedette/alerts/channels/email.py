"""Email: a one-line subject, a plain-text part and an HTML part.

Both bodies come from Jinja2 templates in ``alerts/templates/`` with the message's text passed as
data; the HTML template is autoescaped, and every link in it is an http(s) URL (``safe_url``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from vedette.alerts.channels.base import EmailContent
from vedette.alerts.channels.content import Entry, describe, fit
from vedette.alerts.message import Message, MessageKind

TEMPLATES = Path(__file__).parents[1] / "templates"
SUBJECT_PREFIX = "[Vedette] "
SUBJECT_LIMIT = 200
HEADLINE_LIMIT = 1000
TEXT_LIMIT = 2000

if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def _templates() -> Environment:
    # Loaded with the first email: a worker that sends none (most) never imports Jinja2.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_email(message: Message) -> EmailContent:
    content = describe(message)
    context = {
        "headline": fit(content.headline, HEADLINE_LIMIT),
        "summary": fit(content.summary, TEXT_LIMIT),
        "facts": [(label, fit(value, TEXT_LIMIT)) for label, value in content.facts],
        "entries": [
            Entry(fit(entry.headline, HEADLINE_LIMIT), fit(entry.detail, TEXT_LIMIT), entry.url)
            for entry in content.entries
        ],
        "more_entries": content.more_entries,
        "url": content.url,
        "colour": f"#{content.colour:06x}",
        "rule_name": fit(message.rule_name, HEADLINE_LIMIT),
        "project": message.project_name,
        "account": message.kind is MessageKind.ACCOUNT,
    }
    environment = _templates()
    return EmailContent(
        subject=fit(SUBJECT_PREFIX + content.headline, SUBJECT_LIMIT),
        text=environment.get_template("email.txt").render(context),
        html=environment.get_template("email.html").render(context),
    )
