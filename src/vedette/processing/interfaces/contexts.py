"""``contexts``: objects by alias, each ``type`` defaulting to its alias.

See docs/protocol.md, "Contexts". The trace context also gets its ids and status checked.
"""

from __future__ import annotations

from collections.abc import Mapping

from vedette.processing.coerce import hex_id, lenient_str, mapping, put
from vedette.processing.interfaces.shapes import Json
from vedette.processing.interfaces.transaction import normalize_span_status
from vedette.processing.trim import (
    CONTEXT_BAG,
    SHORT_CHARS,
    Notes,
    Path,
    clean_str,
    path_name,
    trim_bag,
)
from vedette.processing.useragent import browser_context, os_context

MAX_CONTEXTS = 100


def normalize_contexts(
    value: object, path: Path, notes: Notes, *, transaction: bool
) -> dict[str, Json]:
    raw = mapping(value)
    if raw is None:
        if value is not None:
            notes.error("invalid_data", path_name(path), value, reason="contexts is not an object")
        return {}
    contexts: dict[str, Json] = {}
    for alias_key, item in raw.items():
        alias = clean_str(str(alias_key)).strip()[:SHORT_CHARS]
        if len(contexts) >= MAX_CONTEXTS:
            notes.annotate(path, len=len(raw))
            break
        if not alias or item is None:
            continue
        if not isinstance(item, Mapping):
            notes.error("invalid_data", path_name((*path, alias)), item, reason="not an object")
            continue
        context = trim_bag(item, (*path, alias), notes, CONTEXT_BAG)
        ctx_type = context.get("type")
        context["type"] = (
            ctx_type.strip() if isinstance(ctx_type, str) and ctx_type.strip() else alias
        )
        if context["type"] == "trace":
            _normalize_trace_context(context, (*path, alias), notes, transaction=transaction)
        contexts[alias] = context
    return contexts


def _normalize_trace_context(context: Json, path: Path, notes: Notes, *, transaction: bool) -> None:
    for key, length in (("trace_id", 32), ("span_id", 16), ("parent_span_id", 16)):
        given = context.get(key)
        checked = hex_id(given, length)
        if checked is None:
            context.pop(key, None)
            if given is not None:
                notes.error("invalid_data", path_name((*path, key)), given, reason="invalid id")
        else:
            context[key] = checked
    status = normalize_span_status(context.get("status"), (*path, "status"), notes)
    context.pop("status", None)
    op = lenient_str(context.get("op"))
    context.pop("op", None)
    if op and op.strip():
        context["op"] = op.strip()[:SHORT_CHARS]
    if transaction:
        status = status or "unknown"
        context.setdefault("op", "default")
    put(context, "status", status)


def add_user_agent_contexts(contexts: dict[str, Json], user_agent: str | None) -> None:
    """Relay derives ``browser`` and ``client_os`` from the request's User-Agent."""
    if not user_agent:
        return
    if "browser" not in contexts:
        put(contexts, "browser", browser_context(user_agent))
    if "client_os" not in contexts:
        put(contexts, "client_os", os_context(user_agent))
