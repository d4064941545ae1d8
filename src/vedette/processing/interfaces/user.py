"""The ``user`` interface (docs/protocol.md, "Request, user and SDK")."""

from __future__ import annotations

from collections.abc import Mapping

from vedette.processing.coerce import field_str, mapping, put, valid_ip
from vedette.processing.interfaces.shapes import Json
from vedette.processing.trim import (
    MEDIUM_BAG,
    SHORT_CHARS,
    SYMBOL_CHARS,
    Notes,
    Path,
    path_name,
    trim_bag,
)

_USER_STRINGS = {
    "id": SHORT_CHARS,
    "email": SYMBOL_CHARS,
    "username": SHORT_CHARS,
    "name": SHORT_CHARS,
    "segment": SHORT_CHARS,
    "sentry_user": SHORT_CHARS,
}
_GEO_KEYS = ("city", "country_code", "region", "subdivision", "subregion")


def normalize_user(value: object, path: Path, notes: Notes, client_ip: str | None) -> Json | None:
    """User with a string id; unknown keys move into ``data``; ``{{auto}}`` IP resolved."""
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="user is not an object")
        return None
    user: Json = {}
    for key, limit in _USER_STRINGS.items():
        put(user, key, field_str(raw.get(key), limit, (*path, key), notes))
    ip = raw.get("ip_address")
    if isinstance(ip, str) and ip.strip() == "{{auto}}":
        put(user, "ip_address", valid_ip(client_ip))
    elif ip is not None:
        checked = valid_ip(ip)
        if checked is None:
            notes.error("invalid_data", path_name((*path, "ip_address")), ip, reason="not an IP")
        put(user, "ip_address", checked)
    geo = mapping(raw.get("geo"))
    if geo is not None:
        geo_out: Json = {}
        for key in _GEO_KEYS:
            put(geo_out, key, field_str(geo.get(key), SHORT_CHARS, (*path, "geo", key), notes))
        if geo_out:
            user["geo"] = geo_out
    data: dict[str, object] = {}
    given_data = raw.get("data")
    if isinstance(given_data, Mapping):
        data.update({str(key): item for key, item in given_data.items()})
    known = {*_USER_STRINGS, "ip_address", "geo", "data"}
    for key, item in raw.items():
        if key not in known and item is not None and key not in data:
            data[str(key)] = item
    if data:
        user["data"] = trim_bag(data, (*path, "data"), notes, MEDIUM_BAG)
    return user or None
