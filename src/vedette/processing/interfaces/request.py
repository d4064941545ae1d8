"""The ``request`` interface (docs/protocol.md, "Request, user and SDK").

Headers, cookies and the query string arrive as objects, pair lists or raw strings; they are
stored as ``[[name, value], ...]`` like Sentry stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from vedette.processing.coerce import field_int, field_str, lenient_str, mapping, put
from vedette.processing.interfaces.shapes import MAX_PAIRS, Json, key_value_pairs
from vedette.processing.trim import (
    HEADER_VALUE_CHARS,
    LARGE_BAG,
    SHORT_CHARS,
    SYMBOL_CHARS,
    URL_CHARS,
    Notes,
    Path,
    path_name,
    trim_bag,
    trim_str,
)


def normalize_request(value: object, path: Path, notes: Notes) -> Json | None:
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="request is not an object")
        return None
    request: Json = {}
    url = field_str(raw.get("url"), URL_CHARS, (*path, "url"), notes)
    url_query: str | None = None
    url_fragment: str | None = None
    if url is not None:
        url, _, url_fragment = url.partition("#")
        url, _, url_query = url.partition("?")
        request["url"] = url
    method = field_str(raw.get("method"), 32, (*path, "method"), notes)
    if method is not None and method.replace("-", "").replace("_", "").isalpha():
        request["method"] = method.upper()
    query = _query_pairs(raw.get("query_string"), (*path, "query_string"), notes)
    if not query and url_query:
        query = _query_pairs(url_query, (*path, "query_string"), notes)
    if query:
        request["query_string"] = query
    fragment = field_str(raw.get("fragment"), URL_CHARS, (*path, "fragment"), notes)
    put(request, "fragment", fragment or url_fragment or None)
    headers = _header_pairs(raw.get("headers"), (*path, "headers"), notes)
    cookies = _cookie_pairs(raw.get("cookies"), (*path, "cookies"), notes)
    # Relay: a Cookie header becomes request.cookies (when those are missing) and leaves headers.
    cookie_header = next((v for k, v in headers if k == "Cookie"), None)
    if cookie_header is not None:
        if not cookies:
            cookies = _cookie_pairs(cookie_header, (*path, "cookies"), notes)
        headers = [pair for pair in headers if pair[0] != "Cookie"]
    if headers:
        request["headers"] = headers
    if cookies:
        request["cookies"] = cookies
    content_type = next((v for k, v in headers if k == "Content-Type"), None)
    inferred = field_str(
        raw.get("inferred_content_type"), SHORT_CHARS, (*path, "inferred_content_type"), notes
    )
    data, inferred_from_data = _request_data(raw.get("data"), (*path, "data"), notes)
    put(request, "data", data)
    inferred = inferred or inferred_from_data or _media_type(content_type)
    put(request, "inferred_content_type", inferred)
    if isinstance(raw.get("env"), Mapping):
        request["env"] = trim_bag(raw.get("env"), (*path, "env"), notes, LARGE_BAG)
    for key in ("api_target", "protocol"):
        put(request, key, field_str(raw.get(key), SHORT_CHARS, (*path, key), notes))
    body_size = field_int(raw.get("body_size"), (*path, "body_size"), notes)
    if body_size is not None and body_size >= 0:
        request["body_size"] = body_size
    return request or None


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media[:SHORT_CHARS] or None


def _request_data(value: object, path: Path, notes: Notes) -> tuple[Any, str | None]:
    """Request body as a databag; a JSON string body is parsed like Relay does."""
    if value is None:
        return None, None
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and len(text) <= 4 * LARGE_BAG.size:
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, dict | list):
                return trim_bag(parsed, path, notes, LARGE_BAG), "application/json"
        if not text:
            return None, None
    return trim_bag(value, path, notes, LARGE_BAG), None


def header_name(name: str) -> str:
    """``x-api-key`` -> ``X-Api-Key`` (HTTP header names are case-insensitive)."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.strip().split("-"))


def _pair_value(value: object) -> str | None:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        parts = [lenient_str(item) for item in value]
        return ", ".join(part for part in parts if part is not None)
    return lenient_str(value)


def _header_pairs(value: object, path: Path, notes: Notes) -> list[list[str]]:
    if value is None:
        return []
    if not isinstance(value, Mapping | list | tuple):
        notes.error("invalid_data", path_name(path), value, reason="expected headers")
        return []
    result: list[list[str]] = []
    for index, (key, item) in enumerate(key_value_pairs(value)):
        if len(result) >= MAX_PAIRS:
            notes.annotate(path, len=len(value))
            break
        name = lenient_str(key)
        text = _pair_value(item)
        if not name or not name.strip() or text is None:
            continue
        text = trim_str(text, HEADER_VALUE_CHARS, (*path, index, 1), notes)
        result.append([header_name(name)[:SHORT_CHARS], text])
    return result


def _cookie_pairs(value: object, path: Path, notes: Notes) -> list[list[str]]:
    if value is None:
        return []
    if isinstance(value, str):
        pairs: list[tuple[object, object]] = []
        for chunk in value.split(";"):
            name, sep, content = chunk.partition("=")
            if sep and name.strip():
                pairs.append((name.strip(), content.strip()))
        return _string_pairs(pairs, path, notes)
    if not isinstance(value, Mapping | list | tuple):
        notes.error("invalid_data", path_name(path), value, reason="expected cookies")
        return []
    return _string_pairs(key_value_pairs(value), path, notes)


def _query_pairs(value: object, path: Path, notes: Notes) -> list[list[str]]:
    """A query string in any shape (``a=1&b=2``, object, pairs) as ``[[name, value], ...]``."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip().lstrip("?")[: 4 * URL_CHARS]
        return _string_pairs(parse_qsl(text, keep_blank_values=True), path, notes)
    if not isinstance(value, Mapping | list | tuple):
        notes.error("invalid_data", path_name(path), value, reason="expected a query string")
        return []
    return _string_pairs(key_value_pairs(value), path, notes)


def _string_pairs(
    pairs: Iterable[tuple[object, object]], path: Path, notes: Notes
) -> list[list[str]]:
    result: list[list[str]] = []
    for index, (key, item) in enumerate(pairs):
        if index >= MAX_PAIRS:
            notes.annotate(path, len=index + 1)
            break
        name = lenient_str(key)
        text = _pair_value(item)
        if not name or text is None:
            continue
        result.append(
            [
                trim_str(name, SYMBOL_CHARS, (*path, index, 0), notes),
                trim_str(text, HEADER_VALUE_CHARS, (*path, index, 1), notes),
            ]
        )
    return result


def request_header(request: Mapping[str, Any] | None, name: str) -> str | None:
    if request is None:
        return None
    headers = request.get("headers")
    if not isinstance(headers, list):
        return None
    return next((pair[1] for pair in headers if pair[0] == name), None)
