"""The UI's pure parts, table-driven; and the Secure cookie flag on an https deployment."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from tests.ui import pages

from vedette.domain.search import TagFilter, parse_search
from vedette.storage import users
from vedette.storage.database import Database
from vedette.web import charts
from vedette.web.core import UIConfig
from vedette.web.event_view import event_view
from vedette.web.format import query, search_term
from vedette.web.security import Signer, local_path
from vedette.web.ui import WebUI
from vedette.web.view_values import safe_link


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://shop.example/orders/7?x=1", True),
        ("http://127.0.0.1:8000/", True),
        ("HTTP://SHOP.EXAMPLE/", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("jav&#x09;ascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("//evil.example/", False),
        ("/relative/path", False),
        ("http://", False),
        ("https://x.example/\nSet-Cookie: a=b", False),
        ("http://[::1", False),
        (None, False),
        (42, False),
    ],
)
def test_only_http_urls_become_links(url: object, linked: bool) -> None:
    assert (safe_link(url) is not None) == linked


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/p/acme/shop/issues/", "/p/acme/shop/issues/"),
        ("/?a=1", "/?a=1"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=y", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_sign_in_only_returns_to_this_site(target: str | None, expected: str) -> None:
    assert local_path(target) == expected


def test_signed_values_survive_only_untouched() -> None:
    signer = Signer("secret one")
    signed = signer.sign("session-id")
    assert signer.unsign(signed) == "session-id"
    value, _, signature = signed.rpartition(".")
    assert signer.unsign(f"{value}x.{signature}") is None
    assert signer.unsign(f"{value}.{signature[:-1]}") is None
    assert signer.unsign(value) is None
    assert signer.unsign("") is None and signer.unsign(None) is None
    assert Signer("secret two").unsign(signed) is None


@pytest.mark.parametrize(
    ("offset", "duration", "total", "left", "width"),
    [
        (0, 100, 100, 0.0, 100.0),
        (25, 50, 100, 25.0, 50.0),
        (99.9, 0.0001, 100, 99.9, 0.1),  # a zero-length span stays visible, inside the row
        (150, 10, 100, 100.0, 0.2),  # clock skew: pinned to the edge, never outside
        (-5, 10, 100, 0.0, 10.0),
        (0, 10, 0, 0.0, 100.0),
    ],
)
def test_waterfall_segments(
    offset: float, duration: float, total: float, left: float, width: float
) -> None:
    segment = charts.segment(offset, duration, total)
    assert (segment.left, segment.width) == pytest.approx((left, width), abs=0.01)


def test_charts_scale_to_the_peak() -> None:
    assert charts.series({5: 2, 7: 1}, 5, 4) == [2, 0, 1, 0]
    assert charts.sparkline([0, 2, 1], width=100, height=10) == "0.0,9.0 50.0,1.0 100.0,5.0"
    assert charts.sparkline([]) == ""
    tall, empty, small = charts.bars([("a", 100), ("b", 0), ("c", 0.1)], width=30, height=50)
    assert (tall.y, tall.height) == (0.0, 50.0)
    assert empty.height == 0.0
    assert small.height == 1.0  # one event next to a spike is still a visible bar
    assert [b.x for b in (tall, empty, small)] == [0.0, 10.0, 20.0]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"query": "is:unresolved", "cursor": None}, "?query=is%3Aunresolved"),
        ({"a": "", "b": None}, ""),
        ({"q": "<script>&"}, "?q=%3Cscript%3E%26"),
    ],
)
def test_query_strings(params: dict[str, object], expected: str) -> None:
    assert query(params) == expected


@given(st.text(min_size=1).filter(lambda v: "\x00" not in v and v.strip() == v and v))
def test_tag_links_search_for_exactly_their_value(value: str) -> None:
    parsed = parse_search(search_term("tenant", value))
    assert parsed.tags == (TagFilter("tenant", value),)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)
FIELDS = [
    "exception", "threads", "breadcrumbs", "request", "user", "contexts", "sdk", "tags",
    "extra", "logentry", "message", "timestamp", "release", "fingerprint",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), JSON))
def test_any_event_shape_renders_without_error(event: dict[str, Any]) -> None:
    event_view(event)


def test_exceptions_keep_their_order_and_frames_their_context() -> None:
    view = event_view(
        {
            "exception": {
                "values": [
                    {"type": "KeyError", "value": "'x'", "stacktrace": {"frames": [
                        {"function": "lib", "in_app": False, "lineno": 3},
                        {"function": "load", "in_app": True, "lineno": 10,
                         "pre_context": ["a", "b"], "context_line": "c", "post_context": ["d"],
                         "vars": {"settings": {"k": 1}}},
                    ]}},
                    {"type": "RuntimeError", "value": "outer"},
                ]
            }
        }
    )  # fmt: skip
    assert [e.type for e in view.exceptions] == ["KeyError", "RuntimeError"]
    trace = view.exceptions[0].stacktrace
    assert trace is not None and trace.expanded_index == 1
    load = trace.frames[1]
    assert [(c.lineno, c.text, c.current) for c in load.context] == [
        (8, "a", False), (9, "b", False), (10, "c", True), (11, "d", False),
    ]  # fmt: skip
    assert [(v.name, re.sub(r"\s", "", v.value)) for v in load.variables] == [
        ("settings", '{"k":1}')
    ]


def test_https_deployments_get_secure_cookies(db: Database) -> None:
    with db.write() as conn:
        users.create_user(conn, "ops@example.com", "long enough password")
    web = WebUI(db, UIConfig("https://vedette.example", lambda _key: None))
    app = Starlette(routes=web.routes())

    async def sign_in() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://vedette.example"
        ) as client:
            page = await client.get("/login/")
            token = pages.parse(page.text).form("/login/").inputs["csrf_token"]
            response = await client.post(
                "/login/",
                data={
                    "csrf_token": token,
                    "email": "ops@example.com",
                    "password": "long enough password",
                },
            )
            assert response.status_code == 303
            return [*page.headers.get_list("set-cookie"), *response.headers.get_list("set-cookie")]

    cookies = asyncio.run(sign_in())
    assert cookies and all("; secure" in c.lower() for c in cookies)


@pytest.mark.parametrize(
    ("email", "password", "problem"),
    [
        ("not-an-email", "long enough", "not an email"),
        ("a b@example.com", "long enough", "not an email"),
        ("x@example.com", "short", "at least 8"),
    ],
)
def test_users_need_an_email_and_a_real_password(
    db: Database, email: str, password: str, problem: str
) -> None:
    with db.write() as conn, pytest.raises(users.UserError, match=problem):
        users.create_user(conn, email, password)


def test_emails_are_one_user_whatever_their_case(db: Database) -> None:
    with db.write() as conn:
        users.create_user(conn, "Jane@Example.com", "long enough", ["acme"])
        with pytest.raises(users.UserError, match="exists already"):
            users.create_user(conn, "jane@example.COM ", "long enough")
        assert users.authenticate(conn, "JANE@example.com", "long enough") is not None
        assert users.authenticate(conn, "jane@example.com", "wrong one") is None
        assert users.authenticate(conn, "nobody@example.com", "long enough") is None
        assert users.create_first_admin(conn) is None  # users exist: no admin is made


TEMPLATES = Path(__file__).parents[2] / "src" / "vedette" / "web" / "templates"


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_never_switch_escaping_off(template: Path) -> None:
    text = template.read_text()
    assert not re.search(r"\|\s*safe\b|autoescape\s+false|\bMarkup\b", text)
    assert not re.search(r"\sstyle=|<script(?![^>]*\ssrc=)", text)  # the CSP would refuse them
