"""Sending rendered notifications: HTTP with httpx, email with smtplib.

Each send returns a Delivery saying whether it worked and, if not, whether trying again later may
help (``retryable``, with the server's ``Retry-After`` when it gave one). Nothing raises for a
failure the dispatcher should record.

Outbound HTTP goes to addresses that users typed, so unless ``allow_private`` is set the host is
resolved first and refused if any of its addresses is not public (loopback, private, link-local,
...), and the connection is then made to the checked address itself, so a second DNS answer
cannot redirect it (DNS rebinding). Redirects are never followed, and proxy variables from the
environment are ignored, so the guard checks the real destination. The whole exchange has a
deadline (``Deadline``), not only each read.
"""

from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlsplit

from vedette.alerts.channels import EmailContent, HttpRequest

if TYPE_CHECKING:
    import httpx

ERROR_BODY_CHARS = 300


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    status_code: int | None
    error: str | None
    retryable: bool
    retry_after: float | None
    duration: float


def user_agent() -> str:
    try:
        return f"Vedette/{version('vedette')}"
    except PackageNotFoundError:
        return "Vedette"


# --- HTTP ---------------------------------------------------------------------------------------


class Refused(Exception):
    """The destination is not allowed (SSRF guard) or not usable: final, never retried."""


def send_http(
    request: HttpRequest,
    *,
    timeout: float,
    max_response_bytes: int = 64 * 1024,
    allow_private: bool,
) -> Delivery:
    import httpx  # on the first notification: a worker that sends none never loads it (6 MiB)

    started = time.monotonic()
    deadline = Deadline(2 * timeout)  # connecting, then answering
    try:
        url, headers, extensions = _destination(request, allow_private=allow_private)
        with (
            deadline,
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream(
                request.method,
                url,
                headers=headers,
                content=request.body,
                extensions={**extensions, "trace": deadline.trace},
            ) as response,
        ):
            body = read_capped(response, max_response_bytes, deadline)
    except Refused as refusal:
        return _failed(str(refusal), retryable=False, started=started)
    except socket.gaierror as error:  # DNS may be down for a while: like a connection error
        return _failed(f"cannot resolve host: {error}", retryable=True, started=started)
    except (httpx.InvalidURL, ValueError) as error:
        return _failed(f"invalid request: {error}", retryable=False, started=started)
    except httpx.TimeoutException:
        return _failed(f"timed out after {timeout:g}s", retryable=True, started=started)
    except httpx.TransportError as error:
        if deadline.expired:
            return _failed(f"no answer within {2 * timeout:g}s", retryable=True, started=started)
        return _failed(f"connection failed: {error}", retryable=True, started=started)
    except httpx.HTTPError as error:
        return _failed(f"request failed: {error}", retryable=False, started=started)
    return _classify(response, body, started)


def _destination(
    request: HttpRequest, *, allow_private: bool
) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL to connect to, the headers and httpx extensions: pinned to a checked address."""
    headers = {"User-Agent": user_agent(), **request.headers}
    parts = urlsplit(request.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"not an http(s) URL: {_redacted(request.url)}")
    if allow_private:
        return request.url, headers, {}
    host = parts.hostname
    address = _checked_address(host, parts.port or (443 if parts.scheme == "https" else 80))
    literal = f"[{address}]" if ":" in address else address
    userinfo, at, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}{at}{literal}" + (f":{parts.port}" if parts.port else "")
    pinned = parts._replace(netloc=netloc).geturl()
    headers.setdefault("Host", parts.netloc.rpartition("@")[2])
    # TLS still verifies the certificate against the original host name.
    return pinned, headers, {"sni_hostname": host} if parts.scheme == "https" else {}


def _checked_address(host: str, port: int) -> str:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        reason = refusal_reason(address)
        if reason:
            raise Refused(
                f"refusing to send to {host} ({address} is {reason}); "
                "private destinations must be allowed explicitly"
            )
    if not addresses:
        raise Refused(f"cannot resolve {host}: no address")
    return addresses[0]


def refusal_reason(address: str) -> str | None:
    """Why the SSRF guard refuses ``address``, or None if it is a public unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None and (reason := refusal_reason(str(ip.sixtofour))):
            return reason  # a 6to4 address reaches the IPv4 address inside it
        elif ip.is_site_local:  # fec0::/10: deprecated, still routed inside some networks
            return "private"
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not a public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


class Deadline:
    """Ends an HTTP exchange that is still running after ``seconds``.

    httpx's timeouts bound each network operation, not the whole exchange: a server that sends
    a byte of its headers just within each read timeout, or ``102 Processing`` answers without
    end, would hold the sending thread for ever. httpcore's ``trace`` extension hands over each
    connection's stream as it opens; when the time is up a timer shuts its socket down, which
    ends the read in progress with an error (``expired`` then tells it from a network failure).
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._stream: Any = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's trace callback: remembers the connection's stream (plain, then TLS)."""
        if event.endswith(("connect_tcp.complete", "start_tls.complete")):
            with self._lock:
                self._stream = info.get("return_value")
                if self.expired:
                    self._shut_down()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut_down()

    def _shut_down(self) -> None:
        connection = self._stream.get_extra_info("socket") if self._stream is not None else None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def read_capped(response: httpx.Response, limit: int, deadline: Deadline) -> bytes:
    """At most ``limit`` bytes of the body, as raw bytes (never decompressed here); what came
    before the deadline if it passes while the body trickles in (the status is known by then)."""
    import httpx

    body = bytearray()
    try:
        for chunk in response.iter_raw():
            body += chunk[: limit - len(body)]
            if len(body) >= limit:
                break
    except httpx.TransportError:
        if not deadline.expired:
            raise
    return bytes(body)


def _classify(response: httpx.Response, body: bytes, started: float) -> Delivery:
    status = response.status_code
    duration = time.monotonic() - started
    if 200 <= status < 300:
        return Delivery(True, status, None, False, None, duration)
    retryable = status == 429 or status >= 500
    detail = body.decode(errors="replace")[:ERROR_BODY_CHARS].strip()
    error = f"HTTP {status}" + (f": {detail}" if detail else "")
    if 300 <= status < 400:
        error = f"HTTP {status}: redirect to {response.headers.get('location', '?')!r} not followed"
    retry_after = parse_retry_after(response.headers.get("retry-after")) if retryable else None
    return Delivery(False, status, error, retryable, retry_after, duration)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: either delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _failed(error: str, *, retryable: bool, started: float) -> Delivery:
    return Delivery(False, None, error, retryable, None, time.monotonic() - started)


def _redacted(url: str) -> str:
    """A URL fit for an error message: no credentials, no path (webhook URLs embed secrets)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


# --- Email --------------------------------------------------------------------------------------


def send_email(
    smtp_url: str,
    sender: str,
    recipients: Sequence[str],
    content: EmailContent,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> Delivery:
    """Send over ``smtp://[user:pass@]host[:port]`` (STARTTLS when offered) or ``smtps://``."""
    started = time.monotonic()
    try:
        server = _smtp_server(smtp_url)
        message = _email_message(sender, recipients, content, headers or {})
        refused = _deliver(server, message, timeout)
    except (ValueError, smtplib.SMTPNotSupportedError, ssl.SSLError) as error:
        return _failed(f"{type(error).__name__}: {error}", retryable=False, started=started)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        return _smtp_failed(min(codes), f"all recipients refused: {error.recipients}", started)
    except smtplib.SMTPResponseException as error:
        return _smtp_failed(error.smtp_code, _smtp_text(error), started)
    except (smtplib.SMTPException, OSError) as error:
        return _failed(f"SMTP connection failed: {error}", retryable=True, started=started)
    duration = time.monotonic() - started
    error_text = f"some recipients refused: {refused}" if refused else None
    return Delivery(True, None, error_text, False, None, duration)


@dataclass(frozen=True, slots=True)
class _SmtpServer:
    implicit_tls: bool
    host: str
    port: int
    user: str | None
    password: str | None


def _smtp_server(smtp_url: str) -> _SmtpServer:
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP URL must be smtp://[user:pass@]host[:port] or smtps://...")
    implicit_tls = parts.scheme == "smtps"
    return _SmtpServer(
        implicit_tls=implicit_tls,
        host=parts.hostname,
        port=parts.port or (465 if implicit_tls else 25),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _email_message(
    sender: str, recipients: Sequence[str], content: EmailContent, headers: Mapping[str, str]
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in headers.items():
        del message[name]  # the caller's value replaces a default (Message-ID, say)
        message[name] = value
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message


def _deliver(server: _SmtpServer, message: EmailMessage, timeout: float) -> dict[str, object]:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if server.implicit_tls:
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with smtp:
        smtp.ehlo()
        encrypted = server.implicit_tls
        if not encrypted and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
            encrypted = True
        if server.user is not None:
            if not encrypted:
                raise ValueError("the SMTP server offers no STARTTLS: credentials not sent")
            smtp.login(server.user, server.password or "")
        refused: dict[str, object] = dict(smtp.send_message(message))
    return refused


def _smtp_failed(code: int, error: str, started: float) -> Delivery:
    """SMTP 4xx is temporary (try again), 5xx permanent."""
    return _failed(f"SMTP {code}: {error}", retryable=400 <= code < 500, started=started)


def _smtp_text(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)
