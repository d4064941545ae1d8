"""Ingest failures, each carrying the HTTP status Sentry's Relay answers with.

See docs/protocol.md, "Responses and rate limits".
"""

from __future__ import annotations


class IngestError(Exception):
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(IngestError):
    status = 400


class Unauthorized(IngestError):
    status = 401


class Forbidden(IngestError):
    status = 403


class RequestTimeout(IngestError):
    status = 408


class PayloadTooLarge(IngestError):
    status = 413


class UnsupportedEncoding(IngestError):
    status = 415


class TooManyRequests(IngestError):
    status = 429

    def __init__(self, detail: str, retry_after: int, rate_limits: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.rate_limits = rate_limits
