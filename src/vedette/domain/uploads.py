"""The chunk-upload protocol sentry-cli speaks, its pure parts: limits, multipart form bodies,
chunk checksums and assembly of a file from its chunks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser

CHUNK_SIZE = 8 * 1024 * 1024
CHUNKS_PER_REQUEST = 64
MAX_REQUEST_SIZE = 32 * 1024 * 1024
MAX_FILE_SIZE = 256 * 1024 * 1024
# Chunks of a file: its size over sentry-cli's smallest chunks (it splits by chunkSize above).
MAX_CHUNKS = 4096
# What sentry-cli may send through chunks (its names): bundles of source files and maps,
# release files and debug files of every kind.
ACCEPTS = [
    "artifact_bundles", "artifact_bundles_v2", "bcsymbolmaps", "debug_files", "il2cpp",
    "pdbs", "portablepdbs", "proguard", "release_files", "sources",
]  # fmt: skip

_SHA1 = re.compile(r"[0-9a-f]{40}")


class UploadError(ValueError):
    """The upload breaks the protocol: a checksum that does not match, a file too large."""


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    filename: str | None
    data: bytes


def sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def is_checksum(value: object) -> bool:
    return isinstance(value, str) and _SHA1.fullmatch(value) is not None


def form_parts(content_type: str, body: bytes) -> list[FormPart]:
    """The parts of a ``multipart/form-data`` body (the stdlib's MIME parser reads it)."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise UploadError("expected multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise UploadError("malformed multipart body")
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise UploadError("a form part without a name")
        parts.append(FormPart(name, part.get_filename(), payload))
    return parts


def checked_chunks(parts: Sequence[FormPart]) -> dict[str, bytes]:
    """The chunks of an upload request by checksum: each ``file`` part is named by the SHA-1 of
    its content, at most ``CHUNK_SIZE`` bytes, ``CHUNKS_PER_REQUEST`` of them."""
    files = [p for p in parts if p.name in ("file", "file_gzip")]
    if len(files) > CHUNKS_PER_REQUEST:
        raise UploadError(f"at most {CHUNKS_PER_REQUEST} chunks per request")
    chunks = {}
    for part in files:
        if len(part.data) > CHUNK_SIZE:
            raise UploadError(f"a chunk is at most {CHUNK_SIZE} bytes")
        checksum = sha1_hex(part.data)
        if part.filename != checksum:
            raise UploadError(f"chunk {part.filename!r} does not match its content ({checksum})")
        chunks[checksum] = part.data
    return chunks


def missing_chunks(wanted: Sequence[str], stored: set[str]) -> list[str]:
    """Chunks of ``wanted`` not stored yet, each once, in their order."""
    return list(dict.fromkeys(c for c in wanted if c not in stored))


def chunk_list(value: object) -> list[str]:
    if not isinstance(value, list) or not all(is_checksum(c) for c in value):
        raise UploadError("chunks must be a list of SHA-1 checksums")
    if len(value) > MAX_CHUNKS:
        raise UploadError(f"a file is made of at most {MAX_CHUNKS} chunks")
    return list(value)


def check_size(chunks: Sequence[str], sizes: Mapping[str, int]) -> None:
    """Refuse a file over ``MAX_FILE_SIZE`` from its chunks' sizes, before any is read."""
    if sum(sizes[c] for c in chunks) > MAX_FILE_SIZE:
        raise UploadError(f"the file is larger than {MAX_FILE_SIZE} bytes")


def assemble(checksum: str, chunks: Sequence[str], stored: Mapping[str, bytes]) -> bytes:
    """The file made of ``chunks`` in order, once its SHA-1 is ``checksum`` and its size within
    ``MAX_FILE_SIZE``."""
    check_size(chunks, {c: len(data) for c, data in stored.items()})
    data = b"".join(stored[c] for c in chunks)
    if sha1_hex(data) != checksum:
        raise UploadError("the assembled file does not match its checksum")
    return data
