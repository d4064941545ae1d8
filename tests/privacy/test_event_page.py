"""The event page says what scrubbing did: a value it removed or replaced shows
"[Filtered] by <rule>", read from the stored event's ``_meta``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from tests.privacy.corpus import SECRETS

from vedette.processing.normalize import NormalizeContext, normalize_event
from vedette.processing.pii_config import parse_pii_config
from vedette.processing.scrub import ScrubConfig, scrub_event
from vedette.web import event_view as event_view_module
from vedette.web.event_view import event_view

TEMPLATES = Path(event_view_module.__file__).parent / "templates"
RULES = '{"applications": {"user.email": ["@email:mask"], "contexts.shop.tenant": ["@anything"]}}'


def stored_event() -> dict[str, Any]:
    payload = {
        "event_id": "e" * 32,
        "platform": "python",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"bad key {SECRETS['jwt']}",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "charge",
                                "vars": {"gateway": SECRETS["stripe-key"], "order": 7},
                            }
                        ]
                    },
                }
            ]
        },
        "extra": {"gateway": SECRETS["stripe-key"], "page": "2"},
        "user": {"id": "u1", "email": "ada@example.com", "ip_address": "203.0.113.9"},
        "contexts": {"shop": {"tenant": "acme-eu", "region": "eu"}},
        "request": {"headers": [["X-Forwarded-For", "203.0.113.9"], ["Accept", "*/*"]]},
    }
    config = ScrubConfig(scrub_ip_addresses=True, advanced=(parse_pii_config(RULES),))
    ctx = NormalizeContext(received=1_795_885_544.0, event_id="e" * 32)
    event = scrub_event(normalize_event(copy.deepcopy(payload), ctx), config)
    return orjson.loads(orjson.dumps(event))  # type: ignore[no-any-return]


def test_each_scrubbed_value_names_its_rule() -> None:
    view = event_view(stored_event())
    extra = {p.key: p for p in view.extra}
    assert extra["gateway"].filtered_by == "@stripe-key:filter"
    assert extra["page"].filtered_by is None
    assert view.exceptions[0].value_filtered_by == "@jwt:filter"
    user = {p.key: p for p in view.user}
    assert user["email"].filtered_by == "@email:mask"
    assert user["ip_address"].filtered_by == "@ip:remove"  # removed, still accounted for
    shop = next(c for c in view.contexts if c.name == "shop")
    assert {p.key: p.filtered_by for p in shop.fields} == {"tenant": "@anything", "region": None}
    assert view.request is not None
    headers = {p.key: p.filtered_by for p in view.request.headers}
    assert headers == {"X-Forwarded-For": "@ip:replace, @ip:remove", "Accept": None}


def test_the_page_shows_filtered_by_rule() -> None:
    templates = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
    )
    view = event_view(stored_event())
    html = templates.get_template("_kv.html").render(pairs=view.user)
    assert "[Filtered] by @email:mask" in html
    assert "[Filtered] by @ip:remove" in html
    assert "203.0.113.9" not in html


def test_frame_variables_name_their_rule() -> None:
    [exception] = event_view(stored_event()).exceptions
    assert exception.stacktrace is not None
    [frame] = exception.stacktrace.frames
    variables = {v.name: v.filtered_by for v in frame.variables}
    assert variables == {"gateway": "@stripe-key:filter", "order": None}
