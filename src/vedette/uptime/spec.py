"""A monitor as a user writes it (API, UI form), validated; and its JSON in Sentry's field
names. Pure: no database, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vedette.storage.uptime import UptimeMonitor

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MIN_INTERVAL_SECONDS = 30
MAX_INTERVAL_SECONDS = 3600
MIN_TIMEOUT_MS = 100
MAX_TIMEOUT_MS = 30_000
DEFAULT_INTERVAL_SECONDS = 60
DEFAULT_TIMEOUT_MS = 10_000
DEFAULT_FAILURE_THRESHOLD = 3
MAX_HEADERS = 30
MAX_BODY_CHARS = 64 * 1024


class SpecError(ValueError):
    """A monitor that cannot work as written; the message says why (a 400, a form error)."""


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    name: str
    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    status_min: int = 200
    status_max: int = 299
    body_contains: str | None = None
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    follow_redirects: bool = True
    environment: str | None = None
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    public: bool = False  # shown on the organisation's status page


def validated(spec: MonitorSpec) -> MonitorSpec:
    """The spec, normalised, or SpecError."""
    name = spec.name.strip()
    if not name or len(name) > 200:
        raise SpecError("name must be 1 to 200 characters")
    url = spec.url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise SpecError("url must be an http:// or https:// URL of at most 2000 characters")
    method = spec.method.upper()
    if method not in METHODS:
        raise SpecError(f"method must be one of {', '.join(METHODS)}")
    _check_headers(spec.headers)
    if spec.body is not None and len(spec.body) > MAX_BODY_CHARS:
        raise SpecError(f"body must be at most {MAX_BODY_CHARS} characters")
    if not 100 <= spec.status_min <= spec.status_max <= 599:
        raise SpecError("the expected status range must lie within 100-599, lowest first")
    if not MIN_INTERVAL_SECONDS <= spec.interval_seconds <= MAX_INTERVAL_SECONDS:
        raise SpecError("intervalSeconds must be between 30 and 3600")
    longest = min(MAX_TIMEOUT_MS, spec.interval_seconds * 1000)
    if not MIN_TIMEOUT_MS <= spec.timeout_ms <= longest:
        raise SpecError(f"timeoutMs must be between {MIN_TIMEOUT_MS} and {longest}")
    if not 1 <= spec.failure_threshold <= 20:
        raise SpecError("failureThreshold must be between 1 and 20")
    environment = (spec.environment or "").strip() or None
    if environment is not None and len(environment) > 64:
        raise SpecError("environment must be at most 64 characters")
    return MonitorSpec(
        name=name,
        url=url,
        method=method,
        headers=spec.headers,
        body=spec.body or None,
        status_min=spec.status_min,
        status_max=spec.status_max,
        body_contains=spec.body_contains or None,
        interval_seconds=spec.interval_seconds,
        timeout_ms=spec.timeout_ms,
        follow_redirects=spec.follow_redirects,
        environment=environment,
        failure_threshold=spec.failure_threshold,
        public=spec.public,
    )


def _check_headers(headers: tuple[tuple[str, str], ...]) -> None:
    if len(headers) > MAX_HEADERS:
        raise SpecError(f"at most {MAX_HEADERS} headers")
    for name, value in headers:
        if not name or not name.isascii() or any(c in name for c in ": \r\n\t"):
            raise SpecError(f"invalid header name {name!r}")
        if "\r" in value or "\n" in value:
            raise SpecError(f"header {name} has a line break in its value")


# Sentry's field names (camelCase) -> ours; the JSON API reads and writes these.
def spec_from_json(data: dict[str, Any], base: MonitorSpec | None = None) -> MonitorSpec:
    """A validated spec from an API body; with ``base`` (PUT), absent fields keep its values."""
    current = base or MonitorSpec(name="", url="")
    try:
        spec = MonitorSpec(
            name=str(data.get("name", current.name)),
            url=str(data.get("url", current.url)),
            method=str(data.get("method", current.method)),
            headers=_headers_from_json(data.get("headers", list(current.headers))),
            body=_optional_str(data.get("body", current.body)),
            status_min=int(_range(data, current)[0]),
            status_max=int(_range(data, current)[1]),
            body_contains=_optional_str(data.get("bodyContains", current.body_contains)),
            interval_seconds=int(data.get("intervalSeconds", current.interval_seconds)),
            timeout_ms=int(data.get("timeoutMs", current.timeout_ms)),
            follow_redirects=_bool(data.get("followRedirects", current.follow_redirects)),
            environment=_optional_str(data.get("environment", current.environment)),
            failure_threshold=int(data.get("failureThreshold", current.failure_threshold)),
            public=_bool(data.get("public", current.public)),
        )
    except (TypeError, ValueError) as error:
        if isinstance(error, SpecError):
            raise
        raise SpecError(f"invalid field: {error}") from None
    return validated(spec)


def spec_json(spec: MonitorSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "url": spec.url,
        "method": spec.method,
        "headers": [list(h) for h in spec.headers],
        "body": spec.body,
        "expectedStatus": [spec.status_min, spec.status_max],
        "bodyContains": spec.body_contains,
        "intervalSeconds": spec.interval_seconds,
        "timeoutMs": spec.timeout_ms,
        "followRedirects": spec.follow_redirects,
        "environment": spec.environment,
        "failureThreshold": spec.failure_threshold,
        "public": spec.public,
    }


def _range(data: dict[str, Any], current: MonitorSpec) -> tuple[int, int]:
    value = data.get("expectedStatus", [current.status_min, current.status_max])
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise SpecError("expectedStatus must be [lowest, highest], e.g. [200, 299]")
    return int(value[0]), int(value[1])


def _headers_from_json(value: object) -> tuple[tuple[str, str], ...]:
    """Headers as ``{"name": "value"}`` or Sentry's ``[["name", "value"], ...]``."""
    if isinstance(value, dict):
        return tuple((str(k), str(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        pairs = []
        for item in value:
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise SpecError('headers must be [["name", "value"], ...]')
            pairs.append((str(item[0]), str(item[1])))
        return tuple(pairs)
    raise SpecError('headers must be [["name", "value"], ...]')


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise SpecError("followRedirects and public must be true or false")
    return value


def spec_of(monitor: UptimeMonitor) -> MonitorSpec:
    """The spec a stored monitor was made from."""
    return MonitorSpec(
        name=monitor.name,
        url=monitor.url,
        method=monitor.method,
        headers=tuple((str(k), str(v)) for k, v in monitor.headers),
        body=monitor.body,
        status_min=monitor.status_min,
        status_max=monitor.status_max,
        body_contains=monitor.body_contains,
        interval_seconds=monitor.interval_seconds,
        timeout_ms=monitor.timeout_ms,
        follow_redirects=monitor.follow_redirects,
        environment=monitor.environment,
        failure_threshold=monitor.failure_threshold,
        public=monitor.public,
    )


def config_values(spec: MonitorSpec) -> dict[str, Any]:
    """The spec as the storage's configuration columns."""
    return {
        "name": spec.name,
        "url": spec.url,
        "method": spec.method,
        "headers": [list(h) for h in spec.headers],
        "body": spec.body,
        "status_min": spec.status_min,
        "status_max": spec.status_max,
        "body_contains": spec.body_contains,
        "interval_seconds": spec.interval_seconds,
        "timeout_ms": spec.timeout_ms,
        "follow_redirects": spec.follow_redirects,
        "environment": spec.environment,
        "failure_threshold": spec.failure_threshold,
        "public": spec.public,
    }
