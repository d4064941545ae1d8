"""Browser-facing safety: response headers, signed cookie values, safe redirects.

Every string an event carries is attacker-controlled, so the UI's first defence is escaping
(Jinja2 autoescape, never ``|safe`` on event data); these headers are the second: even an
injected ``<script>`` would not run, since only scripts from our own origin may.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Pure ASGI middleware: the headers above on every response of the routes it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in HEADERS if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Signer:
    """HMAC-SHA256 over a cookie value: ``value.signature``; tampering yields None."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"vedette-cookie:" + secret.encode()).digest()

    def _signature(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, value: str) -> str:
        return f"{value}.{self._signature(value)}"

    def unsign(self, signed: str | None) -> str | None:
        if not signed:
            return None
        value, dot, signature = signed.rpartition(".")
        if not dot or not value:
            return None
        if not hmac.compare_digest(signature.encode(), self._signature(value).encode()):
            return None
        return value


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site; anything else (``//evil``, ``https://...``,
    ``/\\evil``, control characters) becomes ``default``: no open redirects after sign-in."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ord(c) < 32 or c == "\\" for c in target)
    ):
        return default
    return target
