"""What an event says about its issue: title, culprit, level, type and metadata (like Sentry).

- errors: ``"ZeroDivisionError: division by zero"`` from the exception actually raised (the last
  one; for an exception group with one distinct child, that child); a synthetic exception (an
  SDK's ``captureMessage`` dressed as an exception) is titled by its message, else by the top
  in-app function;
- messages: the first line of the rendered message;
- security reports: Sentry's report sentences.

Tolerates raw SDK payloads as well as normalised events; pure (stdlib + ``vedette.domain``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vedette.domain.events import IssueSummary
from vedette.processing.grouping.exceptions import main_exception_index
from vedette.processing.grouping.frames import NATIVE_PLATFORMS, family, frame_flags
from vedette.processing.grouping.security import (
    effective_directive,
    normalize_blocked_uri,
)
from vedette.processing.grouping.shape import (
    JsonMap,
    exceptions,
    formatted_message,
    frame_platform,
    frames,
    interface,
    is_synthetic,
    mapping,
    platform,
    text,
    values_list,
)

TITLE_MAX = 200
CULPRIT_MAX = 200  # Sentry's MAX_CULPRIT_LENGTH
VALUE_MAX = 1024
TYPE_MAX = 128
UNLABELED = "<unlabeled event>"
UNKNOWN = "<unknown>"

LEVELS = frozenset({"fatal", "error", "warning", "info", "debug"})
LEVEL_ALIASES = {"warn": "warning", "critical": "fatal", "log": "info"}
PYTHON_LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "fatal"}

# interface key -> (issue type, sentence template over the hostname)
HOSTNAME_REPORTS = {
    "expectct": ("expectct", "Expect-CT failed for '{}'"),
    "expectstaple": ("expectstaple", "Expect-Staple failed for '{}'"),
    "hpkp": ("hpkp", "Public key pinning validation failed for '{}'"),
}


def truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def first_line(value: str) -> str:
    lines = value.strip().splitlines()
    return lines[0].strip() if lines else ""


def normalize_level(value: object, default: str = "error") -> str:
    """Sentry levels with their aliases and Python's numeric levels (docs/protocol.md, "Event
    attributes")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return PYTHON_LEVELS.get(value, default)
    if isinstance(value, str):
        level = value.strip().lower()
        level = LEVEL_ALIASES.get(level, level)
        if level in LEVELS:
            return level
    return default


def event_type(event: JsonMap) -> str:
    if text(event.get("type")) == "transaction":
        return "transaction"
    if exceptions(event):
        return "error"
    if mapping(event.get("csp")) is not None:
        return "csp"
    for key, (kind, _) in HOSTNAME_REPORTS.items():
        if mapping(event.get(key)) is not None:
            return kind
    return "default"


# --- frames ------------------------------------------------------------------------------------


InAppFrames = Callable[[Sequence[JsonMap]], list[tuple[JsonMap, bool]]]


def _in_app_frames(stack: Sequence[JsonMap], event_platform: str) -> list[tuple[JsonMap, bool]]:
    return [
        (f, flag.in_app) for f, flag in zip(stack, frame_flags(stack, event_platform), strict=True)
    ]


def _in_app_memo(event_platform: str) -> InAppFrames:
    """``_in_app_frames`` for one summary: title, metadata and culprit read the same stack.

    Keyed by the identity of the frames, which the memo keeps alive while it lives.
    """
    seen: dict[tuple[int, ...], tuple[Sequence[JsonMap], list[tuple[JsonMap, bool]]]] = {}

    def in_app_frames(stack: Sequence[JsonMap]) -> list[tuple[JsonMap, bool]]:
        key = tuple(map(id, stack))
        found = seen.get(key)
        if found is None:
            found = (stack, _in_app_frames(stack, event_platform))
            seen[key] = found
        return found[1]

    return in_app_frames


def crash_frame(
    stack: Sequence[JsonMap], event_platform: str, in_app_frames: InAppFrames | None = None
) -> JsonMap | None:
    """The top in-app frame with a known function, else the top frame with one."""
    in_app_frames = in_app_frames or _in_app_memo(event_platform)
    named = [
        (frame, in_app)
        for frame, in_app in in_app_frames(stack)
        if text(frame.get("function")) not in (None, "", "<redacted>", "<unknown>")
    ]
    for frame, in_app in reversed(named):
        if in_app:
            return frame
    return named[-1][0] if named else None


def _event_stack(event: JsonMap, exc: JsonMap | None) -> list[JsonMap]:
    """The main exception's frames, else the top-level stack trace, else a single thread's."""
    stack = frames(exc.get("stacktrace")) if exc is not None else []
    if not stack:
        stack = frames(interface(event, "stacktrace"))
    if not stack:
        threads = values_list(interface(event, "threads"))
        if len(threads) == 1:
            stack = frames(threads[0].get("stacktrace"))
    return stack


def in_app_frame_mix(event: JsonMap, in_app_frames: InAppFrames | None = None) -> str | None:
    """``in-app-only`` / ``system-only`` / ``mixed`` over every exception's frames."""
    in_app_frames = in_app_frames or _in_app_memo(platform(event))
    flags = [
        in_app
        for exc in exceptions(event)
        for _, in_app in in_app_frames(frames(exc.get("stacktrace")))
    ]
    if not flags:
        return None
    if all(flags):
        return "in-app-only"
    return "mixed" if any(flags) else "system-only"


def _frame_culprit(frame: JsonMap, event_platform: str) -> str:
    """Sentry's culprit formats: ``module in function``, JS ``function(module)``, native fn."""
    frame_plat = frame_platform(frame, event_platform)
    function = text(frame.get("function")) or "?"
    if frame_plat in NATIVE_PLATFORMS:
        return function
    location = text(frame.get("module")) or text(frame.get("filename"))
    if not location:
        return ""
    if family(frame_plat) == "javascript":
        return f"{function}({location})"
    return f"{location} in {function}"


def _stack_culprit(
    stack: Sequence[JsonMap], event_platform: str, in_app_frames: InAppFrames
) -> str:
    fallback = ""
    for frame, in_app in reversed(in_app_frames(stack)):
        found = _frame_culprit(frame, event_platform)
        if in_app and found:
            return found
        fallback = fallback or found
    return fallback


def culprit(event: JsonMap, in_app_frames: InAppFrames | None = None) -> str:
    """The transaction, else a legacy ``culprit``, else the top in-app frame, else the URL."""
    for given in (text(event.get("transaction")), text(event.get("culprit"))):
        if given and given.strip():
            return truncate(given.strip(), CULPRIT_MAX)
    excs = exceptions(event)
    if excs and is_synthetic(excs[-1]):
        return ""  # synthetic frames point at the SDK call, not at a culprit (Sentry does this)
    stacks = [frames(e.get("stacktrace")) for e in excs] or [frames(interface(event, "stacktrace"))]
    stacks = [stack for stack in stacks if stack]
    in_app_frames = in_app_frames or _in_app_memo(platform(event))
    found = _stack_culprit(stacks[-1], platform(event), in_app_frames) if stacks else ""
    if not found:
        request = mapping(event.get("request")) or {}
        found = text(request.get("url")) or ""
    return truncate(found, CULPRIT_MAX)


# --- per type ----------------------------------------------------------------------------------


def _message_title(event: JsonMap) -> str:
    message = first_line(formatted_message(event) or "")
    return truncate(message, TITLE_MAX) if message else UNLABELED


def _error(event: JsonMap, in_app_frames: InAppFrames) -> tuple[str, dict[str, Any]]:
    excs = exceptions(event)
    index = main_exception_index(excs, platform(event))
    exc = excs[-1 if index is None else index]
    frame = crash_frame(_event_stack(event, exc), platform(event), in_app_frames)
    value = truncate(text(exc.get("value")) or "", VALUE_MAX)
    type_ = None if is_synthetic(exc) else truncate(text(exc.get("type")) or "Error", TYPE_MAX)
    function = text(frame.get("function")) if frame is not None else None
    metadata: dict[str, Any] = {
        "type": type_,
        "value": value,
        "filename": (text(frame.get("filename")) or text(frame.get("abs_path"))) if frame else None,
        "function": function,
        "in_app_frame_mix": in_app_frame_mix(event, in_app_frames),
    }
    if type_ is None:
        title = _message_title(event) if formatted_message(event) else (function or UNKNOWN)
    elif first_line(value):
        title = truncate(f"{type_}: {first_line(value)}", TITLE_MAX)
    else:
        title = type_
    return title, metadata


def _csp(event: JsonMap) -> tuple[str, dict[str, Any]]:
    csp = mapping(event.get("csp")) or {}
    directive = effective_directive(csp) or ""
    uri = normalize_blocked_uri(text(csp.get("blocked_uri")) or "")
    message = first_line(formatted_message(event) or "")
    if not message:
        message = f"Blocked '{directive.removesuffix('-src')}' from '{uri}'"
    return truncate(message, TITLE_MAX), {"directive": directive, "uri": uri, "message": message}


def _hostname_report(event: JsonMap, kind: str) -> tuple[str, dict[str, Any]]:
    key = next(k for k, (t, _) in HOSTNAME_REPORTS.items() if t == kind)
    report = mapping(event.get(key)) or {}
    hostname = text(report.get("hostname")) or ""
    message = HOSTNAME_REPORTS[key][1].format(hostname)
    return truncate(message, TITLE_MAX), {"origin": hostname, "message": message}


def summarize(event: Mapping[str, Any]) -> IssueSummary:
    """Title, culprit, level, type and metadata of the issue this event belongs to."""
    event = event if isinstance(event, Mapping) else {}
    kind = event_type(event)
    in_app_frames = _in_app_memo(platform(event))
    if kind == "error":
        title, metadata = _error(event, in_app_frames)
    elif kind == "csp":
        title, metadata = _csp(event)
    elif kind in ("expectct", "expectstaple", "hpkp"):
        title, metadata = _hostname_report(event, kind)
    elif kind == "transaction":
        title = truncate(text(event.get("transaction")) or UNLABELED, TITLE_MAX)
        metadata = {"title": title}
    else:
        title = _message_title(event)
        metadata = {"title": title}
    return IssueSummary(
        title=title,
        culprit=culprit(event, in_app_frames),
        level=normalize_level(event.get("level"), "info" if kind == "transaction" else "error"),
        type=kind,
        metadata=metadata,
    )
