"""The renderers: every channel x every kind of message has its service's documented shape,
names everything a person needs, and keeps hostile event text inert and bounded."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest

from vedette.alerts.channels import (
    HTTP_RENDERERS,
    NOTIFICATION_ID_HEADER,
    ChannelKind,
    Endpoints,
    HttpRequest,
    Target,
    parse_target,
    render_email,
    render_http,
)
from vedette.alerts.message import Action, EventSummary, Message, MessageKind

URL = "https://vedette.example/organizations/acme/issues/12/"
FIRST_SEEN = 1_764_800_000.0  # 2025-12-03 22:13:20 UTC
LAST_SEEN = FIRST_SEEN + 3600


def issue(**changes: Any) -> Message:
    message = Message(
        id="ntf-0001",
        kind=MessageKind.ISSUE,
        action=Action.TRIGGER,
        organization="acme",
        project="shop",
        project_id=1,
        project_name="Shop",
        rule_name="Page on new issues",
        rule_id=7,
        title="KeyError: three_d_secure",
        reason="New issue",
        url=URL,
        level="error",
        culprit="checkout.pay in charge",
        issue_id=12,
        short_id="SHOP-12",
        event_count=1234,
        user_count=56,
        first_seen=FIRST_SEEN,
        last_seen=LAST_SEEN,
        environment="production",
        release="shop@1.2.3",
        event=EventSummary(
            event_id="a" * 32,
            title="KeyError: three_d_secure",
            environment="production",
            release="shop@1.2.3",
            tags=[("browser", "Firefox 140"), ("user", "id:42")],
            user="id:42",
        ),
    )
    return dataclasses.replace(message, **changes)


MESSAGES: dict[str, Message] = {
    "issue": issue(),
    "issue-resolved": issue(action=Action.RESOLVE, reason="Resolved"),
    "metric": issue(
        kind=MessageKind.METRIC,
        title="More than 100 errors in 1h",
        reason="312 events in 1h",
        level="fatal",
        issue_id=None,
        short_id=None,
        culprit="",
        event=None,
        url="https://vedette.example/organizations/acme/alerts/rules/7/",
    ),
    "metric-resolved": issue(
        kind=MessageKind.METRIC,
        action=Action.RESOLVE,
        title="More than 100 errors in 1h",
        reason="12 events in 1h",
        issue_id=None,
        short_id=None,
        event=None,
    ),
    "digest": issue(
        kind=MessageKind.DIGEST,
        reason="12 alerts in 5 minutes",
        issue_id=None,
        short_id=None,
        items=[
            issue(id=f"ntf-{n}", issue_id=n, short_id=f"SHOP-{n}", url=f"{URL}?n={n}")
            for n in range(12)
        ],
    ),
    "suppressed": issue(
        kind=MessageKind.SUPPRESSED,
        reason="Hourly limit reached",
        suppressed=37,
        issue_id=None,
        short_id=None,
        event=None,
        url="https://vedette.example/organizations/acme/projects/shop/",
    ),
    "test": issue(kind=MessageKind.TEST, reason="Sent from the rule editor"),
}

HOSTILE_TEXT = (
    "<script>alert(1)</script> @everyone @channel <!channel> <@123> *bold* _it_ "
    "[click](https://evil.example) ~~x~~ `code` &amp; # heading | pipe \n"
)
HOSTILE = issue(
    title=HOSTILE_TEXT * 1000,  # ~100 kB
    culprit=HOSTILE_TEXT,
    release=HOSTILE_TEXT,
    event=EventSummary(
        event_id="b" * 32,
        title=HOSTILE_TEXT * 1000,
        tags=[(HOSTILE_TEXT, HOSTILE_TEXT * 100)] * 500,
    ),
)

TARGETS = {
    ChannelKind.WEBHOOK: "webhook:https://hooks.example/vedette",
    ChannelKind.SLACK: "slack:https://hooks.slack.com/services/T0/B0/XYZ",
    ChannelKind.DISCORD: "discord:https://discord.com/api/webhooks/1/abc",
    ChannelKind.TEAMS: "teams:https://prod.workflows.example/workflows/1/triggers/manual/run",
    ChannelKind.MATTERMOST: "mattermost:https://chat.example/hooks/xyz",
    ChannelKind.NTFY: "ntfy:https://ntfy.example/alerts",
    ChannelKind.TELEGRAM: "telegram:123456:ABC-def_ghi@-1001234567",
    ChannelKind.PAGERDUTY: "pagerduty:R0UT1NGKEY0123456789abcdefABCDEF",
}
ENDPOINTS = Endpoints(
    telegram_api_url="https://telegram.test", pagerduty_events_url="https://pd.test/v2/enqueue"
)


def render(kind: ChannelKind, message: Message) -> tuple[HttpRequest, dict[str, Any]]:
    request = render_http(parse_target(TARGETS[kind]), message, ENDPOINTS)
    return request, json.loads(request.body)


def strings(value: Any) -> list[str]:
    """Every string in a JSON document, keys excepted."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


# --- shapes, per service --------------------------------------------------------------------------


def check_webhook(payload: dict[str, Any], message: Message) -> None:
    for key in ("id", "project", "project_name", "project_slug", "level", "culprit", "message",
                "url", "triggering_rules", "event", "notification_id", "action", "reason",
                "times_seen", "user_count", "first_seen", "last_seen"):  # fmt: skip
        assert key in payload, key
    assert payload["notification_id"] == message.id
    assert payload["triggering_rules"] == [message.rule_name]
    assert payload["action"] == message.action
    if message.issue_id is not None:
        assert payload["id"] == str(message.issue_id)
    if message.event is not None:
        assert {"event_id", "title", "environment", "release", "tags"} <= payload["event"].keys()
        assert all(isinstance(tag, list) and len(tag) == 2 for tag in payload["event"]["tags"])
    assert len(payload["items"]) == len(message.items)


def check_slack(payload: dict[str, Any], message: Message) -> None:
    assert payload["text"]
    blocks = payload["blocks"]
    header = blocks[0]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert 0 < len(header["text"]["text"]) <= 150
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10
            assert all(len(field["text"]) <= 2000 for field in fields)
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [button["url"] for button in buttons] == [message.url]
    assert any(block["type"] == "context" for block in blocks)


def check_discord(payload: dict[str, Any], message: Message) -> None:
    assert payload["allowed_mentions"] == {"parse": []}
    assert 0 < len(payload["content"]) <= 2000
    (embed,) = payload["embeds"]
    assert 0 < len(embed["title"]) <= 256
    assert len(embed["description"]) <= 4096
    assert len(embed["fields"]) <= 25
    for field in embed["fields"]:
        assert 0 < len(field["name"]) <= 256 and 0 < len(field["value"]) <= 1024
    total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= 6000
    assert embed["url"] == message.url
    assert isinstance(embed["color"], int)
    assert embed["timestamp"].endswith("Z")


def check_teams(payload: dict[str, Any], message: Message) -> None:
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    kinds = [element["type"] for element in card["body"]]
    assert kinds[0] == "TextBlock" and "FactSet" in kinds
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in Vedette", "url": message.url}
    ]
    assert len(json.dumps(payload).encode()) < 28_000


def check_mattermost(payload: dict[str, Any], message: Message) -> None:
    assert payload["text"]
    (attachment,) = payload["attachments"]
    assert {"fallback", "color", "title", "title_link", "fields"} <= attachment.keys()
    assert attachment["title_link"] == message.url
    assert attachment["color"].startswith("#") and len(attachment["color"]) == 7
    assert all({"title", "value", "short"} <= field.keys() for field in attachment["fields"])
    assert len(payload["text"]) + len(attachment.get("text", "")) < 16_000


def check_ntfy(payload: dict[str, Any], message: Message) -> None:
    assert payload["topic"] == "alerts"
    assert payload["title"] and payload["message"]
    assert len(payload["message"].encode()) <= 4096
    assert payload["priority"] in {1, 2, 3, 4, 5}
    assert payload["tags"] and payload["click"] == message.url


def check_telegram(payload: dict[str, Any], message: Message) -> None:
    assert payload["chat_id"] == "-1001234567"
    assert payload["parse_mode"] == "HTML" and payload["disable_web_page_preview"] is True
    assert 0 < len(payload["text"]) <= 4096
    assert html_tags(payload["text"]) <= {"b", "a"}
    assert f'href="{message.url}"' in payload["text"]


def check_pagerduty(payload: dict[str, Any], message: Message) -> None:
    assert payload["routing_key"] == "R0UT1NGKEY0123456789abcdefABCDEF"
    assert payload["event_action"] == str(message.action)
    assert 0 < len(payload["dedup_key"]) <= 255
    if message.action is Action.RESOLVE:
        assert payload.keys() == {"routing_key", "event_action", "dedup_key"}
        return
    event = payload["payload"]
    assert {"summary", "source", "severity", "timestamp", "component", "group", "class",
            "custom_details"} <= event.keys()  # fmt: skip
    assert 0 < len(event["summary"]) <= 1024
    assert event["severity"] in {"critical", "error", "warning", "info"}
    assert event["component"] == message.project
    assert payload["client"] == "Vedette" and payload["client_url"] == message.url
    assert payload["links"] == [{"href": message.url, "text": "Open in Vedette"}]


CHECKS: dict[ChannelKind, Callable[[dict[str, Any], Message], None]] = {
    ChannelKind.WEBHOOK: check_webhook,
    ChannelKind.SLACK: check_slack,
    ChannelKind.DISCORD: check_discord,
    ChannelKind.TEAMS: check_teams,
    ChannelKind.MATTERMOST: check_mattermost,
    ChannelKind.NTFY: check_ntfy,
    ChannelKind.TELEGRAM: check_telegram,
    ChannelKind.PAGERDUTY: check_pagerduty,
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)


def html_tags(text: str) -> set[str]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


def test_every_http_channel_has_a_renderer_and_a_check() -> None:
    assert set(HTTP_RENDERERS) == set(ChannelKind) - {ChannelKind.EMAIL} == set(CHECKS)


@pytest.mark.parametrize("name", MESSAGES)
@pytest.mark.parametrize("kind", CHECKS)
def test_each_channel_renders_each_kind_of_message_in_its_documented_shape(
    kind: ChannelKind, name: str
) -> None:
    message = MESSAGES[name]
    request, payload = render(kind, message)
    assert request.method == "POST"
    assert request.headers[NOTIFICATION_ID_HEADER] == message.id
    assert request.headers["Content-Type"] == "application/json"
    CHECKS[kind](payload, message)


@pytest.mark.parametrize("kind", CHECKS)
def test_an_issue_alert_names_everything_a_person_needs(kind: ChannelKind) -> None:
    message = MESSAGES["issue"]
    _, payload = render(kind, message)
    text = "\n".join(strings(payload))
    expected = ["Shop", "SHOP-12", "KeyError", "checkout.pay in charge", "error", "1,234", "56",
                "production", "shop@1.2.3", "Page on new issues", URL,
                "2025-12-03 22:13:20", "2025-12-03 23:13:20"]  # fmt: skip
    if kind is ChannelKind.WEBHOOK:  # machine-readable: numbers and ISO 8601
        expected[5:7] = []
        expected[-2:] = ["2025-12-03T22:13:20Z", "2025-12-03T23:13:20Z"]
        assert (payload["times_seen"], payload["user_count"]) == (1234, 56)
    for value in expected:
        assert value in text, f"{kind} does not say {value!r}"


@pytest.mark.parametrize("kind", CHECKS)
def test_a_digest_lists_its_alerts_and_counts_the_rest(kind: ChannelKind) -> None:
    _, payload = render(kind, MESSAGES["digest"])
    text = "\n".join(strings(payload))
    assert "SHOP-0" in text and "SHOP-9" in text
    if kind is not ChannelKind.WEBHOOK:  # the webhook sends all twelve
        assert "SHOP-11" not in text and "2 more" in text


@pytest.mark.parametrize("kind", CHECKS)
def test_a_suppression_notice_says_how_many_were_not_sent(kind: ChannelKind) -> None:
    _, payload = render(kind, MESSAGES["suppressed"])
    assert "37" in "\n".join(strings(payload)) or payload.get("suppressed") == 37


@pytest.mark.parametrize("kind", CHECKS)
def test_hostile_event_text_is_bounded_and_inert(kind: ChannelKind) -> None:
    request, payload = render(kind, HOSTILE)
    CHECKS[kind](payload, HOSTILE)
    assert len(request.body) < 64 * 1024
    texts = strings(payload)
    raw = HOSTILE_TEXT.strip()
    match kind:
        case ChannelKind.SLACK:
            markup = [s for b in payload["blocks"] for s in strings(b) if "<!channel>" in s]
            assert markup == [payload["blocks"][0]["text"]["text"]]  # only the plain-text header
            assert "<script>" not in payload["text"]
        case ChannelKind.DISCORD:
            assert not any("[click](" in s or "*bold*" in s for s in texts)
            assert r"\*bold\*" in payload["embeds"][0]["title"]
        case ChannelKind.TEAMS:
            assert not any("[click](" in s or " *bold*" in s for s in texts)
        case ChannelKind.MATTERMOST:  # markdown everywhere but the attachment's plain title
            (attachment,) = payload["attachments"]
            markdown = [payload["text"], *strings(attachment["fields"])]
            assert not any("[click](" in s or " *bold*" in s for s in markdown)
        case ChannelKind.TELEGRAM:
            assert "<script>" not in payload["text"] and "&lt;script&gt;" in payload["text"]
        case ChannelKind.WEBHOOK | ChannelKind.NTFY | ChannelKind.PAGERDUTY:
            assert raw[:40] in "\n".join(texts)  # JSON or plain text: carried as it is
    if kind is ChannelKind.MATTERMOST:
        assert not any("@channel" in s or "@everyone" in s for s in texts)
        assert "@\u200beveryone" in payload["text"]


def test_webhook_signature_is_the_hmac_of_the_exact_body() -> None:
    target = dataclasses.replace(parse_target(TARGETS[ChannelKind.WEBHOOK]), secret="s3cret")
    request = render_http(target, MESSAGES["issue"], ENDPOINTS)
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Vedette-Signature"] == f"sha256={expected}"
    unsigned, _ = render(ChannelKind.WEBHOOK, MESSAGES["issue"])
    assert "X-Vedette-Signature" not in unsigned.headers


def test_ntfy_publishes_json_to_the_server_root_with_the_path_as_topic() -> None:
    request, payload = render(ChannelKind.NTFY, MESSAGES["issue"])
    assert request.url == "https://ntfy.example/"
    assert payload["topic"] == "alerts"
    nested = parse_target("ntfy:https://example.org/ntfy/ops-alerts?auth=tk")
    request = render_http(nested, MESSAGES["issue"])
    assert request.url == "https://example.org/ntfy/?auth=tk"
    assert json.loads(request.body)["topic"] == "ops-alerts"
    priorities = [render(ChannelKind.NTFY, issue(level=level))[1]["priority"]
                  for level in ("fatal", "error", "warning", "info", "debug")]  # fmt: skip
    assert priorities == sorted(priorities, reverse=True) and priorities[0] == 5


def test_telegram_posts_to_the_bot_api_of_its_token() -> None:
    request, _ = render(ChannelKind.TELEGRAM, MESSAGES["issue"])
    assert request.url == "https://telegram.test/bot123456:ABC-def_ghi/sendMessage"
    default = render_http(parse_target(TARGETS[ChannelKind.TELEGRAM]), MESSAGES["issue"])
    assert default.url.startswith("https://api.telegram.org/bot123456:ABC-def_ghi/")


@pytest.mark.parametrize(
    ("level", "severity"),
    [("fatal", "critical"), ("error", "error"), ("warning", "warning"), ("info", "info"),
     ("debug", "info")],
)  # fmt: skip
def test_pagerduty_severity_follows_the_level(level: str, severity: str) -> None:
    _, payload = render(ChannelKind.PAGERDUTY, issue(level=level))
    assert payload["payload"]["severity"] == severity


def test_pagerduty_dedup_key_is_stable_per_issue_and_per_metric_rule() -> None:
    keys = {name: render(ChannelKind.PAGERDUTY, m)[1]["dedup_key"] for name, m in MESSAGES.items()}
    assert keys["issue"] == keys["issue-resolved"] == "vedette-issue-12"
    assert keys["metric"] == keys["metric-resolved"] == "vedette-metric-7"
    retried = render(ChannelKind.PAGERDUTY, issue(id="another-notification"))[1]
    assert retried["dedup_key"] == "vedette-issue-12"
    request, _ = render(ChannelKind.PAGERDUTY, MESSAGES["issue"])
    assert request.url == "https://pd.test/v2/enqueue"


def test_a_link_that_is_not_http_is_never_rendered() -> None:
    message = issue(url="javascript:alert(1)")
    for kind in CHECKS:
        request, _ = render(kind, message)
        if kind is not ChannelKind.WEBHOOK:  # the webhook reports the field as it is
            assert b"javascript:" not in request.body, kind
    assert "javascript:" not in render_email(message).html


# --- email ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MESSAGES)
def test_email_has_a_one_line_subject_and_both_parts(name: str) -> None:
    message = MESSAGES[name]
    email = render_email(message)
    assert email.subject.startswith("[Vedette] ")
    assert "\n" not in email.subject and len(email.subject) <= 200
    assert message.project_name in email.text and message.project_name in email.html
    assert f'href="{message.url}"' in email.html and message.url in email.text


def test_email_subject_names_the_issue() -> None:
    assert render_email(MESSAGES["issue"]).subject == "[Vedette] SHOP-12 KeyError: three_d_secure"
    resolved = render_email(MESSAGES["issue-resolved"]).subject
    assert resolved == "[Vedette] Resolved: SHOP-12 KeyError: three_d_secure"


def test_email_names_everything_and_escapes_hostile_text() -> None:
    email = render_email(MESSAGES["issue"])
    for value in ("Shop", "SHOP-12", "checkout.pay in charge", "1,234", "56", "production",
                  "shop@1.2.3", "Page on new issues", "2025-12-03 22:13:20 UTC"):  # fmt: skip
        assert value in email.text and value in email.html, value
    hostile = render_email(HOSTILE)
    assert "<script>" not in hostile.html and "&lt;script&gt;" in hostile.html
    assert "<script>" in hostile.text  # plain text is shown as typed, not interpreted
    assert len(hostile.html) < 64 * 1024 and len(hostile.subject) <= 200
    assert "\n" not in hostile.subject


# --- targets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [*TARGETS.values(), "email:ops@example.com", "email:root@localhost",
     "telegram:123:abc@@alerts_channel", "webhook:http://10.0.0.5:8080/hook?x=1"],
)  # fmt: skip
def test_a_valid_target_spec_round_trips(spec: str) -> None:
    target = parse_target(spec)
    assert target.spec() == spec
    assert target.secret is None


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("https://hooks.example/x", "unknown notification channel"),
        ("nochannel", "no KIND: prefix"),
        ("sms:+15550100", "unknown notification channel"),
        ("webhook:ftp://hooks.example/x", "http:// or https://"),
        ("slack:https://", "has no host"),
        ("discord:javascript:alert(1)", "http:// or https://"),
        ("teams:https://example.com:99999/", "not a valid URL"),
        ("mattermost:https://chat.example/ hooks", "is not a URL"),
        ("ntfy:https://ntfy.example/", "names no topic"),
        ("email:not-an-address", "not an address"),
        ("email:a@b.example\nBcc: x@y.example", "not an address"),
        ("telegram:123:abc", "TOKEN@CHAT_ID"),
        ("telegram:@123", "TOKEN@CHAT_ID"),
        ("telegram:notatoken@123", "bot token"),
        ("telegram:123:abc@chat/../x", "chat id"),
        ("pagerduty:", "routing key"),
        ("pagerduty:key with spaces", "routing key"),
    ],
)
def test_an_invalid_target_spec_is_refused_with_a_reason(spec: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_target(spec)


def test_secret_stays_out_of_the_spec_and_repr() -> None:
    target = Target(ChannelKind.WEBHOOK, "https://hooks.example/x", secret="s3cret")
    assert "s3cret" not in target.spec() and "s3cret" not in repr(target)


def test_email_targets_are_not_rendered_as_http() -> None:
    with pytest.raises(ValueError, match="not sent over HTTP"):
        render_http(parse_target("email:ops@example.com"), MESSAGES["issue"])
