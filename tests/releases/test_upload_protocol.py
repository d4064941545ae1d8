"""The chunk-upload protocol's pure parts: form bodies, chunk checks, assembly."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from vedette.domain import uploads
from vedette.domain.uploads import FormPart, UploadError


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def encoded(files: list[tuple[str, str, bytes]], data: dict[str, str]) -> tuple[str, bytes]:
    """A multipart body as a real HTTP client encodes it."""
    request = httpx.Request(
        "POST", "http://x/", files=[(n, (f, b)) for n, f, b in files], data=data
    )
    return request.headers["content-type"], request.read()


def test_form_parts_of_a_client_body() -> None:
    binary = bytes(range(256)) * 3
    content_type, body = encoded([("file", sha1(binary), binary)], {"name": "~/app.js"})
    assert uploads.form_parts(content_type, body) == [
        FormPart("name", None, b"~/app.js"),
        FormPart("file", sha1(binary), binary),
    ]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/json", b"{}"), ("multipart/form-data", b"not multipart")],
)
def test_bodies_that_are_not_forms_are_refused(content_type: str, body: bytes) -> None:
    with pytest.raises(UploadError):
        uploads.form_parts(content_type, body)


@pytest.mark.parametrize(
    ("parts", "problem"),
    [
        ([FormPart("file", "0" * 40, b"a")], "does not match"),
        ([FormPart("file", None, b"a")], "does not match"),
        ([FormPart("file", sha1(b"a"), b"a")] * 65, "at most 64"),
        ([FormPart("file", "x", b"\0" * (uploads.CHUNK_SIZE + 1))], "at most"),
    ],
)
def test_bad_chunks_are_refused(parts: list[FormPart], problem: str) -> None:
    with pytest.raises(UploadError, match=problem):
        uploads.checked_chunks(parts)


def test_chunks_by_checksum_duplicates_once() -> None:
    parts = [FormPart("file", sha1(b"a"), b"a"), FormPart("file", sha1(b"a"), b"a"),
             FormPart("file_gzip", sha1(b"b"), b"b"), FormPart("other", None, b"c")]  # fmt: skip
    assert uploads.checked_chunks(parts) == {sha1(b"a"): b"a", sha1(b"b"): b"b"}


@pytest.mark.parametrize(
    ("wanted", "stored", "missing"),
    [
        ([], set(), []),
        (["a", "b", "a"], set(), ["a", "b"]),
        (["a", "b", "c"], {"b"}, ["a", "c"]),
        (["a"], {"a"}, []),
    ],
)
def test_missing_chunks(wanted: list[str], stored: set[str], missing: list[str]) -> None:
    assert uploads.missing_chunks(wanted, stored) == missing


@pytest.mark.parametrize(
    ("pieces", "checksum_of", "ok"),
    [
        ([b"ab", b"cd"], b"abcd", True),
        ([b"cd", b"ab"], b"cdab", True),
        ([b"ab", b"ab"], b"abab", True),  # one chunk twice
        ([b"ab", b"cd"], b"cdab", False),  # the chunks in another order
        ([b""], b"", True),
    ],
)
def test_assembly(pieces: list[bytes], checksum_of: bytes, ok: bool) -> None:
    stored = {sha1(p): p for p in pieces}
    chunks = [sha1(p) for p in pieces]
    if ok:
        assert uploads.assemble(sha1(checksum_of), chunks, stored) == checksum_of
    else:
        with pytest.raises(UploadError, match="checksum"):
            uploads.assemble(sha1(checksum_of), chunks, stored)


@pytest.mark.parametrize(
    ("value", "ok"),
    [([], True), (["a" * 40], True), (["A" * 40], False), (["a" * 39], False), ("a" * 40, False)],
)
def test_chunk_lists(value: object, ok: bool) -> None:
    if ok:
        assert uploads.chunk_list(value) == value
    else:
        with pytest.raises(UploadError):
            uploads.chunk_list(value)
