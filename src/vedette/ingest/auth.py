"""Where an SDK puts its DSN key, and which project that key opens.

See docs/protocol.md, "Endpoints and authentication".
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from vedette.ingest.errors import BadRequest, Forbidden, Unauthorized

_PUBLIC_KEY = re.compile(r"^[0-9a-f]{32}$")
MAX_PROTOCOL_VERSION = 8


@dataclass(frozen=True, slots=True)
class Credentials:
    public_key: str
    client: str | None


def _parse_sentry_pairs(value: str) -> dict[str, str]:
    """``Sentry sentry_key=..., sentry_version=7`` -> {"sentry_key": ..., ...}."""
    body = value.strip()[len("sentry ") :]
    pairs: dict[str, str] = {}
    for part in body.split(","):
        key, sep, val = part.partition("=")
        if sep:
            pairs[key.strip()] = val.strip()
    return pairs


def _from_headers(headers: Mapping[str, str]) -> list[dict[str, str]]:
    found = []
    for name in ("x-sentry-auth", "authorization"):
        value = headers.get(name)
        if not value:
            continue
        if value[:7].lower() == "sentry ":
            found.append(_parse_sentry_pairs(value))
        elif name == "authorization" and value[:6].lower() == "basic ":
            try:
                user = base64.b64decode(value[6:].strip()).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise Unauthorized("unparsable Basic authorization") from exc
            found.append({"sentry_key": user})
    return found


def _check_version(pairs: Mapping[str, str]) -> None:
    version = pairs.get("sentry_version")
    if not version:
        return
    try:
        major = int(version.split(".")[0])
    except ValueError as exc:
        raise BadRequest("invalid sentry_version") from exc
    if major > MAX_PROTOCOL_VERSION:
        raise BadRequest(f"unsupported protocol version {major}")


def key_from_dsn(dsn: object) -> tuple[str, str] | None:
    """(public_key, project_id) from an envelope-header DSN, or None if it is not a DSN."""
    if not isinstance(dsn, str):
        return None
    parts = urlsplit(dsn)
    if parts.scheme not in ("http", "https") or not parts.username:
        return None
    project_id = parts.path.rstrip("/").rpartition("/")[2]
    return parts.username, project_id


def extract_credentials(
    headers: Mapping[str, str], query: Mapping[str, str], envelope_dsn: object, project_id: int
) -> Credentials:
    """The one public key this request authenticates with; 401 if none or several."""
    candidates = _from_headers(headers)
    if any(k.startswith("sentry_") for k in query):
        candidates.append(dict(query))
    if len(candidates) > 1:
        raise Unauthorized("multiple authorization payloads detected")
    dsn_key = key_from_dsn(envelope_dsn)
    if dsn_key is not None and dsn_key[1] != str(project_id):
        raise Unauthorized("envelope dsn names another project")
    if candidates:
        pairs = candidates[0]
        _check_version(pairs)
        key = pairs.get("sentry_key")
        if not key:
            raise Unauthorized("missing authorization information")
        if dsn_key is not None and dsn_key[0] != key:
            raise Unauthorized("envelope dsn does not match the request's key")
        client = pairs.get("sentry_client") or headers.get("user-agent")
    elif dsn_key is not None:
        key, client = dsn_key[0], headers.get("user-agent")
    else:
        raise Unauthorized("missing authorization information")
    if not _PUBLIC_KEY.match(key):
        raise BadRequest("invalid public key format")
    return Credentials(key, client)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    public_key: str
    project_id: int
    is_active: bool
    # (count, window seconds): the key's own quota, or None.
    rate_limit: tuple[int, int] | None = None


class KeyRegistry:
    """Public key -> project, cached so that ingest rarely touches the database.

    Entries (including "no such key") live for ``ttl`` seconds, so a key disabled by another
    process stops working within that time; this process's own changes call ``forget``.
    """

    def __init__(self, load: Callable[[str], KeyInfo | None], ttl: float = 2.0) -> None:
        self._load = load
        self._ttl = ttl
        self._cache: dict[str, tuple[float, KeyInfo | None]] = {}
        self._lock = threading.Lock()

    def cached(self, public_key: str, now: float) -> tuple[bool, KeyInfo | None]:
        entry = self._cache.get(public_key)
        if entry is None or now - entry[0] > self._ttl:
            return False, None
        return True, entry[1]

    def load(self, public_key: str, now: float) -> KeyInfo | None:
        info = self._load(public_key)
        with self._lock:
            if len(self._cache) > 100_000:  # bounded: random keys must not grow memory forever
                self._cache.clear()
            self._cache[public_key] = (now, info)
        return info

    def forget(self, public_key: str) -> None:
        with self._lock:
            self._cache.pop(public_key, None)


def authorize(info: KeyInfo | None, project_id: int) -> KeyInfo:
    if info is None:
        raise Forbidden("unknown public key")
    if not info.is_active:
        raise Forbidden("disabled public key")
    if info.project_id != project_id:
        raise Forbidden("public key does not belong to this project")
    return info
