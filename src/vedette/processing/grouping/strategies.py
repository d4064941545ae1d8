"""Versioned grouping strategies: ``{strategy id: event -> hashes}`` (docs/protocol.md, "Grouping").

A strategy id is stored beside every hash it produced, so what a released strategy computes must
never change: fix or improve grouping by adding a new id (and a new entry in ``STRATEGIES``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from os.path import basename
from types import MappingProxyType
from typing import Any

from vedette.processing.grouping.component import (
    FALLBACK_HASH,
    Component,
    contributes,
    contributing_values,
    hash_values,
    leaf,
)
from vedette.processing.grouping.exceptions import (
    Variants,
    exception_variants,
    remove_non_stacktrace_variants,
)
from vedette.processing.grouping.fingerprint import (
    builtin_fingerprint,
    client_fingerprint,
    is_default_entry,
    is_default_fingerprint,
    resolve_entry,
)
from vedette.processing.grouping.frames import stacktrace_variants
from vedette.processing.grouping.parameterize import normalize_message
from vedette.processing.grouping.security import security_variants
from vedette.processing.grouping.shape import (
    JsonMap,
    exceptions,
    frames,
    interface,
    mapping,
    message_for_grouping,
    platform,
    text,
    values_list,
)

Strategy = Callable[[Mapping[str, Any]], tuple[str, ...]]

# Preference order of variants in ``Grouping.hashes``: app first, as Sentry prefers it.
VARIANT_ORDER = ("app", "system", "default")
_MD5 = re.compile(r"[0-9a-f]{32}")


# --- default grouping: the first interface that contributes wins ----------------------------


def _exception(event: JsonMap) -> Variants:
    return exception_variants(exceptions(event), platform(event))


def _crashed_thread(event: JsonMap) -> JsonMap | None:
    """The only thread, or the only one marked ``crashed``."""
    threads = values_list(interface(event, "threads"))
    if len(threads) == 1:
        return threads[0]
    crashed = [thread for thread in threads if thread.get("crashed") is True]
    return crashed[0] if len(crashed) == 1 else None


def _threads(event: JsonMap) -> Variants:
    thread = _crashed_thread(event)
    thread_frames = frames(thread.get("stacktrace")) if thread is not None else []
    if not thread_frames:
        return {}
    stacks = stacktrace_variants(thread_frames, platform(event))
    return remove_non_stacktrace_variants(
        {name: Component("threads", (stack,)) for name, stack in stacks.items()}
    )


def _stacktrace(event: JsonMap) -> Variants:
    top_frames = frames(interface(event, "stacktrace"))
    if not top_frames:
        return {}
    return remove_non_stacktrace_variants(stacktrace_variants(top_frames, platform(event)))


def _template(event: JsonMap) -> Variants:
    template = mapping(interface(event, "template"))
    if template is None:
        return {}
    filename = text(template.get("filename"))
    parts = (
        leaf("filename", basename(filename) if filename else None),
        leaf("context_line", text(template.get("context_line"))),
    )
    return {"default": Component("template", parts)}


def _message(event: JsonMap) -> Variants:
    message = message_for_grouping(event)
    if message is None:
        return {}
    return {"default": Component("message", (leaf("message", normalize_message(message)),))}


# Sentry's interface precedence (scores 2000, 1900, 1800, 1100, 1000, 0).
DEFAULT_STEPS: Sequence[Callable[[JsonMap], Variants]] = (
    _exception,
    _threads,
    _stacktrace,
    _template,
    security_variants,
    _message,
)


def default_variants(event: JsonMap) -> Variants:
    """The contributing variants of the first interface that contributes anything."""
    for step in DEFAULT_STEPS:
        winning = {name: c for name, c in step(event).items() if contributes(c)}
        if winning:
            return dict(sorted(winning.items(), key=lambda item: _variant_rank(item[0])))
    return {}


def _variant_rank(name: str) -> int:
    return VARIANT_ORDER.index(name) if name in VARIANT_ORDER else len(VARIANT_ORDER)


def _unique(hashes: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(hashes))


# --- fingerprints and the legacy checksum ---------------------------------------------------


def _checksum(event: JsonMap) -> str | None:
    """A legacy client ``checksum``: used as the hash if it is one, else hashed."""
    checksum = text(event.get("checksum"))
    if not checksum:
        return None
    return checksum.lower() if _MD5.fullmatch(checksum.lower()) else hash_values((checksum,))


def _expand(fingerprint: Sequence[str], default: Sequence[str]) -> list[str]:
    expanded: list[str] = []
    for entry in fingerprint:
        expanded.extend(default if is_default_entry(entry) else (entry,))
    return expanded


def _salted(fingerprint: Sequence[str], variants: Variants) -> tuple[str, ...]:
    """``["{{ default }}", "tenant-7"]``: each default hash, salted by the other entries."""
    if not variants:
        return (hash_values(_expand(fingerprint, ())),)
    return _unique(
        hash_values(_expand(fingerprint, list(contributing_values(component))))
        for component in variants.values()
    )


def _default_hashes(event: JsonMap) -> tuple[str, ...]:
    variants = default_variants(event)
    hashes = _unique(hash_values(contributing_values(c)) for c in variants.values())
    return hashes or (FALLBACK_HASH,)


def vedette_2026_11(event: Mapping[str, Any]) -> tuple[str, ...]:
    """Sentry ``newstyle:2023-01-11`` semantics for non-native platforms (see package doc)."""
    checksum = _checksum(event)
    if checksum is not None:
        return (checksum,)
    fingerprint = client_fingerprint(event)
    if fingerprint is not None and not is_default_fingerprint(fingerprint):
        resolved = [resolve_entry(entry, event) for entry in fingerprint]
        if any(is_default_entry(entry) for entry in resolved):
            return _salted(resolved, default_variants(event))
        return (hash_values(resolved),)
    builtin = builtin_fingerprint(event)
    if builtin is not None:
        return (hash_values(builtin),)
    return _default_hashes(event)


STRATEGIES: Mapping[str, Strategy] = MappingProxyType({"vedette:2026-11": vedette_2026_11})
