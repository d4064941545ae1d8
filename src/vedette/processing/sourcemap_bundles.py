"""Artifact bundles as sentry-cli builds them: a zip of files and a ``manifest.json`` that names
each file's URL (``~/static/app.js``), type (``minified_source``, ``source_map``) and headers
(``debug-id``, ``sourcemap``). Uploads are untrusted: the number of entries and the sizes are
checked before the zip's directory is read or anything is inflated, and a bundle that does not
read is an empty one."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_BUNDLE_FILES = 20_000


@dataclass(frozen=True, slots=True)
class BundleEntry:
    path: str  # inside the zip
    url: str
    kind: str  # minified_source | source_map | ...
    debug_id: str | None
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class BundleIndex:
    """A bundle's files by URL and by (debug id, type)."""

    by_url: Mapping[str, BundleEntry] = field(default_factory=dict)
    by_debug_id: Mapping[tuple[str, str], BundleEntry] = field(default_factory=dict)

    def weight(self) -> int:
        return 1 + len(self.by_url) + len(self.by_debug_id)


def normalize_debug_id(value: object) -> str | None:
    """A debug id in one spelling (lower case, dashes), for comparison; None if it is not one."""
    if not isinstance(value, str):
        return None
    digits = value.strip().lower().replace("-", "")
    if len(digits) < 32 or not all(c in "0123456789abcdef" for c in digits[:32]):
        return None
    d = digits[:32]
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


# The zip's end records (APPNOTE 4.3.16, 4.3.15, 4.3.14): where its directory's size is told.
_END = b"PK\x05\x06"
_END_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_END = b"PK\x06\x06"


def entry_count(bundle: bytes) -> int | None:
    """How many entries the zip's directory says it holds, read from its end records alone
    (zipfile reads the whole directory at once: millions of entries take gigabytes); None
    when there is no end record."""
    at = bundle.rfind(_END, max(0, len(bundle) - _END_SIZE - 0xFFFF))
    if at < 0 or len(bundle) < at + _END_SIZE:
        return None
    (entries,) = struct.unpack_from("<H", bundle, at + 10)
    if entries != 0xFFFF:
        return int(entries)
    locator = at - _ZIP64_LOCATOR_SIZE
    if locator < 0 or bundle[locator : locator + 4] != _ZIP64_LOCATOR:
        return int(entries)
    (end64,) = struct.unpack_from("<Q", bundle, locator + 8)
    if bundle[end64 : end64 + 4] != _ZIP64_END or len(bundle) < end64 + 40:
        return None
    (entries64,) = struct.unpack_from("<Q", bundle, end64 + 32)
    return int(entries64)


def _readable(bundle: bytes) -> bool:
    count = entry_count(bundle)
    return count is not None and count <= MAX_BUNDLE_FILES + 1  # and its manifest


def read_index(bundle: bytes) -> BundleIndex:
    """The index of a bundle's manifest; empty when the bundle or its manifest does not read."""
    if not _readable(bundle):
        return BundleIndex()
    try:
        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            info = archive.getinfo("manifest.json")
            if info.file_size > MAX_MANIFEST_BYTES:
                return BundleIndex()
            manifest = json.loads(archive.read(info))
            present = set(archive.namelist())
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, RuntimeError):
        return BundleIndex()
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        return BundleIndex()
    by_url: dict[str, BundleEntry] = {}
    by_debug_id: dict[tuple[str, str], BundleEntry] = {}
    for path, spec in list(files.items())[:MAX_BUNDLE_FILES]:
        entry = _entry(path, spec)
        if entry is None or entry.path not in present:
            continue
        by_url.setdefault(entry.url, entry)
        if entry.debug_id is not None:
            by_debug_id.setdefault((entry.debug_id, entry.kind), entry)
    return BundleIndex(by_url, by_debug_id)


def _entry(path: object, spec: object) -> BundleEntry | None:
    if not isinstance(path, str) or not isinstance(spec, dict):
        return None
    url, kind = spec.get("url"), spec.get("type")
    if not isinstance(url, str) or not isinstance(kind, str):
        return None
    raw_headers = spec.get("headers")
    headers = {
        str(k).lower(): v
        for k, v in (raw_headers.items() if isinstance(raw_headers, dict) else ())
        if isinstance(v, str)
    }
    return BundleEntry(path, url, kind, normalize_debug_id(headers.get("debug-id")), headers)


def read_file(bundle: bytes, path: str, limit: int) -> bytes | None:
    """One file of a bundle, or None when it is missing, broken or larger than ``limit``."""
    if not _readable(bundle):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            info = archive.getinfo(path)
            if info.file_size > limit:
                return None
            with archive.open(info) as stream:
                data = stream.read(limit + 1)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, RuntimeError):
        return None
    return data if len(data) <= limit else None
