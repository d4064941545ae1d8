"""The ``sdk`` interface: who sent the event (docs/protocol.md, "Request, user and SDK")."""

from __future__ import annotations

from collections.abc import Mapping

from vedette.processing.coerce import field_str, lenient_str, mapping, put, valid_ip
from vedette.processing.interfaces.shapes import MAX_PAIRS, Json
from vedette.processing.trim import SHORT_CHARS, SMALL_BAG, Notes, Path, trim_bag


def normalize_sdk(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        return None
    sdk: Json = {}
    for key in ("name", "version"):
        put(sdk, key, field_str(raw.get(key), SHORT_CHARS, (*path, key), notes))
    integrations = raw.get("integrations")
    if isinstance(integrations, list):
        names = [lenient_str(item) for item in integrations[:MAX_PAIRS]]
        sdk["integrations"] = [name[:SHORT_CHARS] for name in names if name]
    packages = raw.get("packages")
    if isinstance(packages, list):
        kept: list[Json] = []
        for item in packages[:MAX_PAIRS]:
            package = mapping(item)
            if package is None:
                continue
            entry: Json = {}
            for key in ("name", "version"):
                text = lenient_str(package.get(key))
                if text:
                    entry[key] = text[:SHORT_CHARS]
            if entry:
                kept.append(entry)
        sdk["packages"] = kept
    if isinstance(raw.get("settings"), Mapping):
        sdk["settings"] = trim_bag(raw.get("settings"), (*path, "settings"), notes, SMALL_BAG)
    client_ip = valid_ip(raw.get("client_ip"))
    put(sdk, "client_ip", client_ip)
    return sdk or None
