"""One HTTP(S) request of a check, with the alert transport's SSRF guard applied to every hop.

Monitors point at URLs that users typed, so, as for webhooks, each host is resolved first and
refused unless all its addresses are public (``allow_private`` lifts this for operators who
monitor their own network), and the connection goes to the checked address, so a second DNS
answer cannot redirect it. Redirects, when the monitor follows them, are followed here one hop
at a time so each new destination passes the guard too, and the monitor's own headers
(credentials, often) only go to the origin of its URL. The whole check, redirects included,
ends at the timeout; the body is read up to a cap (enough for "body contains"), uncompressed
(``Accept-Encoding: identity``); proxies from the environment are ignored.

Failures are classed from the outside in: DNS, connect, TLS, timeout (see ``judge``).
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from vedette.alerts.transport import Deadline, read_capped, refusal_reason, user_agent
from vedette.uptime.judge import ErrorClass, Response
from vedette.uptime.spec import MonitorSpec

if TYPE_CHECKING:
    import httpx

MAX_BODY_BYTES = 64 * 1024
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    allow_private: bool = False
    ssl_context: ssl.SSLContext | None = None  # None: the system's trusted CAs


class _Failure(Exception):
    def __init__(self, error_class: ErrorClass, error: str) -> None:
        super().__init__(error)
        self.error_class = error_class


def probe(spec: MonitorSpec, settings: ProbeSettings) -> Response:
    """Run the monitor's request once; never raises for a failure of the target."""
    import httpx  # on the first check: a worker with no uptime monitor never loads it

    started = time.monotonic()
    timeout = spec.timeout_ms / 1000
    verify: ssl.SSLContext | bool = settings.ssl_context or True
    deadline = Deadline(timeout)
    try:
        with (
            deadline,
            httpx.Client(
                timeout=timeout, follow_redirects=False, trust_env=False, verify=verify
            ) as client,
        ):
            return _follow(client, spec, settings, started, deadline)
    except _Failure as failure:
        return _failed(failure.error_class, str(failure), started)
    except httpx.TimeoutException:
        return _failed(ErrorClass.TIMEOUT, f"no answer within {spec.timeout_ms} ms", started)
    except httpx.TransportError as error:
        if deadline.expired:
            return _failed(ErrorClass.TIMEOUT, f"no answer within {spec.timeout_ms} ms", started)
        if _caused_by_tls(error):
            return _failed(ErrorClass.TLS, f"TLS handshake failed: {error}", started)
        return _failed(ErrorClass.CONNECT, f"connection failed: {error}", started)
    except (httpx.HTTPError, ValueError) as error:
        return _failed(ErrorClass.CONNECT, f"request failed: {error}", started)


def _follow(
    client: httpx.Client,
    spec: MonitorSpec,
    settings: ProbeSettings,
    started: float,
    deadline: Deadline,
) -> Response:
    url, method, body = spec.url, spec.method, spec.body
    for _ in range(MAX_REDIRECTS + 1):
        pinned, headers, extensions = _destination(url, spec, settings.allow_private)
        extensions["trace"] = deadline.trace
        with client.stream(
            method, pinned, headers=headers, content=body, extensions=extensions
        ) as answer:
            expires = _certificate_expiry(answer)
            location = answer.headers.get("location")
            if spec.follow_redirects and answer.status_code in _REDIRECTS and location:
                url = urljoin(url, location)
                if answer.status_code == 303 or (answer.status_code in (301, 302) and body):
                    method, body = "GET", None
                continue
            content = read_capped(answer, MAX_BODY_BYTES, deadline)
            latency = (time.monotonic() - started) * 1000
            return Response(latency, answer.status_code, content, None, None, expires)
    raise _Failure(ErrorClass.CONNECT, f"more than {MAX_REDIRECTS} redirects")


def _destination(
    url: str, spec: MonitorSpec, allow_private: bool
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The URL pinned to a checked address, the headers and the TLS server name."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Failure(ErrorClass.REFUSED, "redirected to a URL that is not http(s)")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise _Failure(ErrorClass.DNS, f"cannot resolve {host}: {error}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise _Failure(ErrorClass.DNS, f"cannot resolve {host}: no address")
    if not allow_private:
        for address in addresses:
            reason = refusal_reason(address)
            if reason:
                raise _Failure(
                    ErrorClass.REFUSED,
                    f"refusing to check {host} ({address} is {reason}); private destinations "
                    "must be allowed by the operator (VEDETTE_UPTIME_ALLOW_PRIVATE_TARGETS)",
                )
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    pinned = parts._replace(netloc=netloc).geturl()
    own = dict(spec.headers) if _origin(url) == _origin(spec.url) else {}
    headers = {
        "User-Agent": f"{user_agent()} (uptime monitor)",
        "Accept-Encoding": "identity",  # "body contains" reads the bytes as they come
        **own,
    }
    headers["Host"] = host + (f":{parts.port}" if parts.port else "")
    # TLS still checks the certificate against the host name the user gave.
    return pinned, headers, {"sni_hostname": host} if parts.scheme == "https" else {}


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80)


def _certificate_expiry(answer: httpx.Response) -> float | None:
    stream = answer.extensions.get("network_stream")
    tls = stream.get_extra_info("ssl_object") if stream is not None else None
    certificate = tls.getpeercert() if tls is not None else None
    not_after = certificate.get("notAfter") if certificate else None
    return float(ssl.cert_time_to_seconds(str(not_after))) if not_after else None


def _caused_by_tls(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _failed(error_class: ErrorClass, error: str, started: float) -> Response:
    latency = (time.monotonic() - started) * 1000
    return Response(latency, error_class=error_class, error=error[:500])
