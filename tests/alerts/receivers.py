"""Real servers on 127.0.0.1 that notifications are sent to in tests.

``HttpReceiver`` is a ``ThreadingHTTPServer`` that records every request and answers from a
script (``receiver.script(Reply(503), Reply(503), Reply(200))``), then with ``default``.
``SmtpReceiver`` is an aiosmtpd server that records every message, optionally with STARTTLS,
implicit TLS, required authentication or a scripted reply to RCPT.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

LOOPBACK = "127.0.0.1"


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering
    # Send the status line, then one byte of a header every this many seconds for 5 s before
    # finishing the answer: each read is quick, the whole answer is not.
    trickle: float = 0.0
    gzip: bool = False  # compress the body when the request accepts gzip, as web servers do


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a sender killed mid-request: the point of some tests) is
        no error of the receiver's; anything else is reported as usual."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class HttpReceiver:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server((LOOPBACK, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order, then with ``default``."""
        with self._lock:
            self._script.extend(replies)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()  # wakes hanging handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            return self._script.popleft() if self._script else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                reply = receiver._next_reply(Recorded(self.command, self.path, headers, body))
                if reply.hang and receiver._closing.wait(reply.hang):
                    return
                body, extra = reply.body, dict(reply.headers)
                if reply.gzip and "gzip" in headers.get("accept-encoding", ""):
                    body, extra["Content-Encoding"] = gzip.compress(body), "gzip"
                try:
                    self.send_response(reply.status)
                    if reply.trickle:
                        self._trickle(reply.trickle)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout): nothing to answer
                    self.close_connection = True

            def _trickle(self, interval: float) -> None:
                self.flush_headers()
                self.wfile.write(b"X-Slow: ")
                for _ in range(int(5 / interval)):
                    if receiver._closing.wait(interval):
                        raise ConnectionAbortedError("the receiver is closing")
                    self.wfile.write(b"a")
                self.wfile.write(b"\r\n")

            do_POST = do_PUT = do_GET = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


class _Recorder:
    def __init__(self, rcpt_reply: str | None) -> None:
        self.mails: list[Mail] = []
        self.rcpt_reply = rcpt_reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = cast(bytes, envelope.original_content or envelope.content)
        message = message_from_bytes(content, policy=policy.default)
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 made by the openssl command (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class SmtpReceiver:
    """An SMTP server on 127.0.0.1; ``mails`` holds what it accepted.

    ``certificate`` (cert, key) enables STARTTLS, or implicit TLS with ``implicit_tls``;
    ``credentials`` (user, password) makes authentication required; ``rcpt_reply`` answers every
    RCPT TO with that line (e.g. ``"450 mailbox busy"``).
    """

    def __init__(
        self,
        *,
        certificate: tuple[Path, Path] | None = None,
        implicit_tls: bool = False,
        credentials: tuple[str, str] | None = None,
        rcpt_reply: str | None = None,
    ) -> None:
        self._recorder = _Recorder(rcpt_reply)
        self.port = free_port()
        tls = None
        if certificate:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(*certificate)
        options: dict[str, Any] = {}
        if tls and implicit_tls:
            options["ssl_context"] = tls
        elif tls:
            options["tls_context"] = tls
        if credentials:
            options["auth_required"] = True
            options["authenticator"] = _Authenticator(*credentials)
        self._controller = Controller(
            self._recorder,
            hostname=LOOPBACK,
            port=self.port,
            server_hostname="localhost",
            ready_timeout=10,
            **options,
        )

    @property
    def mails(self) -> list[Mail]:
        return self._recorder.mails

    def url(self, scheme: str = "smtp", userinfo: str = "") -> str:
        return f"{scheme}://{userinfo + '@' if userinfo else ''}{LOOPBACK}:{self.port}"

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()


class _Authenticator:
    def __init__(self, user: str, password: str) -> None:
        self.expected = (user.encode(), password.encode())

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == self.expected
        return AuthResult(success=ok, handled=False)
