"""The transport against real servers on 127.0.0.1: an HTTP receiver and an aiosmtpd server."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from tests.alerts.receivers import HttpReceiver, Reply, SmtpReceiver, free_port
from tests.alerts.test_channels import MESSAGES, TARGETS

from vedette.alerts.channels import (
    NOTIFICATION_ID_HEADER,
    ChannelKind,
    EmailContent,
    Endpoints,
    HttpRequest,
    Target,
    render_email,
    render_http,
)
from vedette.alerts.transport import (
    Delivery,
    parse_retry_after,
    refusal_reason,
    send_email,
    send_http,
)

BODY = b'{"hello": "world"}'


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as server:
        yield server


def post(url: str, *, timeout: float = 5.0, allow_private: bool = True, **options: int) -> Delivery:
    request = HttpRequest("POST", url, {"Content-Type": "application/json"}, BODY)
    return send_http(request, timeout=timeout, allow_private=allow_private, **options)


# --- HTTP ---------------------------------------------------------------------------------------


def test_a_2xx_answer_is_a_delivery(receiver: HttpReceiver) -> None:
    receiver.script(Reply(204, b""))
    delivery = post(f"{receiver.url}/hooks/1?x=2")
    assert (delivery.ok, delivery.status_code, delivery.error) == (True, 204, None)
    assert delivery.duration > 0
    (recorded,) = receiver.requests
    assert (recorded.method, recorded.path, recorded.body) == ("POST", "/hooks/1?x=2", BODY)
    assert recorded.headers["user-agent"].startswith("Vedette/")
    assert recorded.headers["content-type"] == "application/json"


@pytest.mark.parametrize("kind", TARGETS)
def test_every_channel_arrives_as_rendered(receiver: HttpReceiver, kind: ChannelKind) -> None:
    endpoints = Endpoints(
        telegram_api_url=f"{receiver.url}/telegram",
        pagerduty_events_url=f"{receiver.url}/pagerduty/v2/enqueue",
    )
    address = TARGETS[kind].partition(":")[2]
    if kind not in (ChannelKind.TELEGRAM, ChannelKind.PAGERDUTY):
        address = f"{receiver.url}/{kind}/alerts"
    target = Target(kind, address, secret="s3cret" if kind is ChannelKind.WEBHOOK else None)
    message = MESSAGES["issue"]
    request = render_http(target, message, endpoints)
    assert send_http(request, timeout=5, allow_private=True).ok
    (recorded,) = receiver.requests
    assert recorded.body == request.body and json.loads(recorded.body)
    assert recorded.headers[NOTIFICATION_ID_HEADER.lower()] == message.id
    assert recorded.headers["user-agent"].startswith("Vedette/")
    expected_path = {
        ChannelKind.TELEGRAM: "/telegram/bot123456:ABC-def_ghi/sendMessage",
        ChannelKind.PAGERDUTY: "/pagerduty/v2/enqueue",
        ChannelKind.NTFY: "/ntfy/",
    }.get(kind, f"/{kind}/alerts")
    assert recorded.path == expected_path
    if kind is ChannelKind.WEBHOOK:  # the receiver can verify what it got
        mac = hmac.new(b"s3cret", recorded.body, hashlib.sha256).hexdigest()
        assert recorded.headers["x-vedette-signature"] == f"sha256={mac}"


def test_503_is_retryable_until_the_receiver_recovers(receiver: HttpReceiver) -> None:
    receiver.script(Reply(503, b"down"), Reply(503, b"down"), Reply(200))
    deliveries = [post(receiver.url) for _ in range(3)]
    assert [(d.ok, d.retryable, d.status_code) for d in deliveries] == [
        (False, True, 503),
        (False, True, 503),
        (True, False, 200),
    ]
    assert deliveries[0].error == "HTTP 503: down"
    assert len(receiver.requests) == 3


def test_429_is_retryable_after_the_time_it_asks(receiver: HttpReceiver) -> None:
    receiver.script(Reply(429, headers={"Retry-After": "30"}))
    delivery = post(receiver.url)
    assert (delivery.ok, delivery.retryable, delivery.retry_after) == (False, True, 30.0)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    receiver.script(Reply(429, headers={"Retry-After": later}))
    retry_after = post(receiver.url).retry_after
    assert retry_after is not None and 110 <= retry_after <= 120


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("Fri, 04 Dec 2026 10:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Fri, 04 Dec 2026 09:00:00 GMT", now=now) == 0.0  # already past
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_4xx_are_final(receiver: HttpReceiver, status: int) -> None:
    receiver.script(Reply(status, b'{"error": "invalid_payload"}'))
    delivery = post(receiver.url)
    assert (delivery.ok, delivery.retryable, delivery.status_code) == (False, False, status)
    assert delivery.error == f'HTTP {status}: {{"error": "invalid_payload"}}'


def test_redirects_are_not_followed(receiver: HttpReceiver) -> None:
    receiver.script(Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data"}))
    delivery = post(receiver.url)
    assert (delivery.ok, delivery.retryable, delivery.status_code) == (False, False, 302)
    assert delivery.error is not None and "not followed" in delivery.error
    assert len(receiver.requests) == 1


def test_a_hanging_receiver_times_out_and_is_retryable(receiver: HttpReceiver) -> None:
    receiver.script(Reply(hang=10))
    delivery = post(receiver.url, timeout=0.3)
    assert (delivery.ok, delivery.retryable, delivery.status_code) == (False, True, None)
    assert delivery.error == "timed out after 0.3s"
    assert delivery.duration < 3


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline(
    receiver: HttpReceiver,
) -> None:
    """Each byte comes within the read timeout; the whole answer would take 5 s."""
    receiver.script(Reply(trickle=0.1))
    delivery = post(receiver.url, timeout=0.4)
    assert (delivery.ok, delivery.retryable, delivery.status_code) == (False, True, None)
    assert delivery.error == "no answer within 0.8s"
    assert delivery.duration < 3


def test_a_refused_connection_is_retryable() -> None:
    delivery = post(f"http://127.0.0.1:{free_port()}/")
    assert (delivery.ok, delivery.retryable, delivery.status_code) == (False, True, None)
    assert delivery.error is not None and delivery.error.startswith("connection failed")


def test_a_large_answer_is_read_only_up_to_the_cap(receiver: HttpReceiver) -> None:
    receiver.script(Reply(500, b"x" * 2_000_000))
    delivery = post(receiver.url, max_response_bytes=1024)
    assert (delivery.ok, delivery.retryable, delivery.status_code) == (False, True, 500)
    assert delivery.error is not None and len(delivery.error) < 400


def test_private_destinations_are_refused_unless_allowed(receiver: HttpReceiver) -> None:
    for url in (receiver.url, f"http://localhost:{receiver.port}/"):
        refused = post(url, allow_private=False)
        assert (refused.ok, refused.retryable, refused.status_code) == (False, False, None)
        assert refused.error is not None and "is loopback" in refused.error
    assert receiver.requests == []
    assert post(f"http://localhost:{receiver.port}/", allow_private=True).ok
    assert len(receiver.requests) == 1


def test_a_url_that_is_not_http_is_refused() -> None:
    delivery = post("file:///etc/passwd", allow_private=True)
    assert (delivery.ok, delivery.retryable) == (False, False)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),  # reserved, and ipaddress counts it private too
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("2002:a9fe:a9fe::", "link-local"),  # 6to4 around 169.254.169.254
        ("fec0::1", "private"),  # site-local
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),  # Teredo
        ("2002:5db8:d70e::1", None),  # 6to4 around a public address
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_the_ssrf_guard_classifies_addresses(address: str, reason: str | None) -> None:
    assert refusal_reason(address) == reason


# --- SMTP ---------------------------------------------------------------------------------------

CONTENT = EmailContent(subject="[Vedette] SHOP-12 boom", text="plain body", html="<p>html body</p>")
HEADERS = {NOTIFICATION_ID_HEADER: "ntf-0001"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests.alerts.receivers import self_signed_certificate

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test certificate")
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The test certificate is the only one the client trusts (OpenSSL reads SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return certificate


def mail(url: str, content: EmailContent = CONTENT) -> Delivery:
    recipients = ["ops@example.com", "dev@example.com"]
    return send_email(url, "vedette@example.com", recipients, content, timeout=5, headers=HEADERS)


def test_email_arrives_with_both_parts() -> None:
    content = render_email(MESSAGES["issue"])
    with SmtpReceiver() as server:
        delivery = mail(server.url(), content)
    assert (delivery.ok, delivery.error) == (True, None)
    (received,) = server.mails
    assert received.sender == "vedette@example.com"
    assert received.recipients == ["ops@example.com", "dev@example.com"]
    message = received.message
    assert message["Subject"] == content.subject
    assert message[NOTIFICATION_ID_HEADER] == "ntf-0001"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    # SMTP carries CRLF line ends
    assert plain.get_content().replace("\r\n", "\n") == content.text
    assert html.get_content().replace("\r\n", "\n") == content.html


def test_a_title_with_unicode_line_separators_is_still_mailed() -> None:
    """Python's email headers refuse every line break ``str.splitlines`` knows, U+2028 and
    U+2029 included: a title holding one made the alert unsendable, for good."""
    message = dataclasses.replace(MESSAGES["issue"], title="boom\u2028Bcc: x@evil\u2029end")
    content = render_email(message)
    with SmtpReceiver() as server:
        delivery = mail(server.url(), content)
    assert (delivery.ok, delivery.error) == (True, None)
    subject = server.mails[0].message["Subject"]
    assert "boom Bcc: x@evil end" in subject and server.mails[0].message["Bcc"] is None


def test_a_header_given_by_the_caller_replaces_the_default() -> None:
    with SmtpReceiver() as server:
        delivery = send_email(server.url(), "v@example.com", ["o@example.com"], CONTENT,
                              timeout=5, headers={"Message-ID": "<ntf-0001@vedette>"})  # fmt: skip
    assert delivery.ok
    assert server.mails[0].message.get_all("Message-ID") == ["<ntf-0001@vedette>"]


def test_starttls_then_login_when_the_server_offers_it(trusted: tuple[Path, Path]) -> None:
    with SmtpReceiver(certificate=trusted, credentials=("alerts", "p@ss")) as server:
        delivery = mail(server.url(userinfo="alerts:p%40ss"))
        wrong = mail(server.url(userinfo="alerts:nope"))
    assert (delivery.ok, delivery.error) == (True, None)
    assert len(server.mails) == 1
    assert (wrong.ok, wrong.retryable) == (False, False)
    assert wrong.error is not None and wrong.error.startswith("SMTP 535")


def test_implicit_tls(trusted: tuple[Path, Path]) -> None:
    with SmtpReceiver(certificate=trusted, implicit_tls=True) as server:
        delivery = mail(server.url("smtps"))
    assert (delivery.ok, delivery.error) == (True, None)
    assert len(server.mails) == 1


def test_an_untrusted_certificate_is_final(certificate: tuple[Path, Path]) -> None:
    with SmtpReceiver(certificate=certificate, implicit_tls=True) as server:
        delivery = mail(server.url("smtps"))
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert server.mails == []


def test_credentials_are_not_sent_without_tls() -> None:
    with SmtpReceiver() as server:
        delivery = mail(server.url(userinfo="alerts:secret"))
    assert (delivery.ok, delivery.retryable) == (False, False)
    assert delivery.error is not None and "STARTTLS" in delivery.error
    assert server.mails == []


@pytest.mark.parametrize(
    ("reply", "retryable"), [("450 4.2.1 mailbox busy", True), ("550 5.1.1 no such user", False)]
)
def test_smtp_4xx_is_retryable_and_5xx_final(reply: str, retryable: bool) -> None:
    with SmtpReceiver(rcpt_reply=reply) as server:
        delivery = mail(server.url())
    assert (delivery.ok, delivery.retryable) == (False, retryable)
    assert delivery.error is not None and delivery.error.startswith(f"SMTP {reply[:3]}")
    assert server.mails == []


def test_an_unreachable_smtp_server_is_retryable() -> None:
    delivery = mail(f"smtp://127.0.0.1:{free_port()}")
    assert (delivery.ok, delivery.retryable) == (False, True)


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://host:notaport"])
def test_a_bad_smtp_url_is_final(url: str) -> None:
    delivery = mail(url)
    assert (delivery.ok, delivery.retryable) == (False, False)


def test_delivery_is_a_value() -> None:
    delivery = Delivery(True, 200, None, False, None, 0.1)
    assert dataclasses.replace(delivery, ok=False) != delivery
