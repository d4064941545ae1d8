"""Stack-trace components: what each frame contributes, per platform.

Per frame: ``module`` (else the lower-cased basename of ``filename``), ``function`` and, for
platforms whose source lines are trustworthy, the whitespace-collapsed ``context_line``. Line and
column numbers, directories and locals never contribute, so a line shift above the crash keeps the
issue while an edit of the crashing line makes a new one.

See docs/protocol.md, "Stack-trace grouping".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from vedette.processing.grouping.component import (
    Component,
    component_bytes,
    contributes,
    disabled,
    leaf,
)
from vedette.processing.grouping.shape import JsonMap, frame_platform, mapping, text
from vedette.processing.memo import ENTRY_BYTES, BoundedMemo, approx_bytes, memoize_bytes

Variant = Literal["app", "system"]

JAVASCRIPT_PLATFORMS = frozenset({"javascript", "node"})
NATIVE_PLATFORMS = frozenset({"native", "c", "cpp", "cocoa", "objc", "swift"})
# Platforms whose context lines reflect real source (sourcemapped for JS) and may be hashed.
CONTEXT_LINE_PLATFORMS = frozenset({"javascript", "node", "python", "php", "ruby"})
MAX_CONTEXT_LINE = 120  # longer lines are usually minified or generated code

# Fields that must all be equal for two consecutive frames to count as recursion.
RECURSION_FIELDS = ("abs_path", "package", "module", "filename", "function", "lineno", "colno")


def family(platform: str) -> str:
    if platform in JAVASCRIPT_PLATFORMS:
        return "javascript"
    if platform in NATIVE_PLATFORMS:
        return "native"
    return "other"


def has_url_origin(path: str | None, *, files_count_as_urls: bool = False) -> bool:
    if not path:
        return False
    if path.startswith(("http:", "https:", "applewebdata:", "blob:")):
        return True
    return files_count_as_urls and path.startswith("file:")


# --- stack-trace rules (the small subset of Sentry's built-in ones that matters for our SDKs) -


@dataclass(frozen=True, slots=True)
class FrameRule:
    """``<field>:<glob> [family] -> +app/-app, -group``; ``reach`` "up" also hits callees."""

    field: Literal["path", "module", "function"]
    pattern: str
    in_app: bool | None = None
    group: bool | None = None
    family: str | None = None
    reach: Literal["self", "up"] = "self"


BUILTIN_RULES: Sequence[FrameRule] = (
    # Installed packages are never the application, whatever the SDK guessed.
    FrameRule("path", "**/vendor/**", in_app=False),
    FrameRule("path", "**/site-packages/**", in_app=False),
    FrameRule("path", "**/dist-packages/**", in_app=False),
    FrameRule("path", "**/node_modules/**", in_app=False),
    FrameRule("path", "**/go/pkg/mod/**", in_app=False),
    FrameRule("module", "unpkg/**", in_app=False),
    FrameRule("path", "**https://unpkg.com/**", in_app=False),
    FrameRule("path", "**https://cdnjs.cloudflare.com/**", in_app=False),
    FrameRule("path", "**https://cdn.jsdelivr.net/**", in_app=False),
    FrameRule("path", "**https://esm.run/**", in_app=False),
    FrameRule("function", "reportError", in_app=False, family="javascript", reach="up"),
    # Transpiler helpers, polyfills and the Node event loop are noise: not app, not hashed.
    FrameRule("module", "@babel/**", in_app=False, group=False),
    FrameRule("module", "core-js/**", in_app=False, group=False),
    FrameRule("module", "regenerator-runtime/**", in_app=False, group=False),
    FrameRule("module", "tslib/**", in_app=False, group=False),
    FrameRule("function", "_callSuper", in_app=False, group=False, family="javascript"),
    FrameRule("function", "runMicrotasks", in_app=False, group=False),
    FrameRule("function", "queueMicrotask", in_app=False, group=False),
    FrameRule("function", "processTicksAndRejections", in_app=False, group=False),
    FrameRule("function", "runNextTicks", in_app=False, group=False),
    FrameRule("function", "nextTick", in_app=False, group=False),
    # Telemetry agents.
    FrameRule("module", "newrelic", in_app=False, group=False),
    FrameRule("path", "**/*newrelic*/**", in_app=False, group=False),
    FrameRule("path", "**/*LogRocket*/**", in_app=False, group=False),
)


@lru_cache(maxsize=256)
def _glob(pattern: str, path_like: bool) -> re.Pattern[str]:
    """``**`` crosses ``/``; for paths ``*`` does not (and matching ignores case)."""
    parts: list[str] = []
    for token in re.split(r"(\*\*|\*|\?)", pattern):
        if token == "**":
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]*" if path_like else ".*")
        elif token == "?":
            parts.append("[^/]" if path_like else ".")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if path_like else re.DOTALL)


def _rule_matches(rule: FrameRule, frame: JsonMap, platform: str) -> bool:
    if rule.family is not None and family(platform) != rule.family:
        return False
    if rule.field == "path":
        candidates = [text(frame.get("abs_path")), text(frame.get("filename"))]
        return any(
            _glob(rule.pattern, True).fullmatch(c.replace("\\", "/")) for c in candidates if c
        )
    value = text(frame.get(rule.field))
    return value is not None and _glob(rule.pattern, False).fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class FrameFlags:
    in_app: bool
    group: bool


def frame_flags(
    frames: Sequence[JsonMap], event_platform: str, rules: Sequence[FrameRule] = BUILTIN_RULES
) -> list[FrameFlags]:
    """The SDK's ``in_app`` (absent = not in app) adjusted by the stack-trace rules, in order."""
    if rules is BUILTIN_RULES and (key := stack_key(frames, event_platform)) is not None:
        found = _STACK_FLAGS.get(key)
        if found is None:
            found = tuple(_frame_flags(frames, event_platform, rules))
            _STACK_FLAGS.put(key, found, _stack_bytes(key) + 56 * len(found))
        return list(found)
    return _frame_flags(frames, event_platform, rules)


def _frame_flags(
    frames: Sequence[JsonMap], event_platform: str, rules: Sequence[FrameRule]
) -> list[FrameFlags]:
    in_app = [frame.get("in_app") is True for frame in frames]
    group = [True] * len(frames)
    # Rule by rule, and within a rule frame by frame: only the (rule, frame) pairs that match
    # (most frames match none; looping over every rule for every frame cost 0.3 ms per event).
    hits = sorted(
        (rule_index, index)
        for index, frame in enumerate(frames)
        for rule_index in _matched_rules(frame, event_platform, rules)
    )
    for rule_index, index in hits:
        rule = rules[rule_index]
        reached = range(index, len(frames)) if rule.reach == "up" else (index,)
        for target in reached:
            if rule.in_app is not None:
                in_app[target] = rule.in_app
            if rule.group is not None:
                group[target] = rule.group
    return [FrameFlags(a, g) for a, g in zip(in_app, group, strict=True)]


def _matched_rules(
    frame: JsonMap, event_platform: str, rules: Sequence[FrameRule]
) -> frozenset[int]:
    """Indices of the rules a frame matches. The same code locations recur in event after
    event, so for the built-in rules the answer is cached by the fields the rules read."""
    platform = frame_platform(frame, event_platform)
    if rules is not BUILTIN_RULES:
        return frozenset(i for i, rule in enumerate(rules) if _rule_matches(rule, frame, platform))
    return _builtin_matches(
        family(platform),
        text(frame.get("abs_path")),
        text(frame.get("filename")),
        text(frame.get("module")),
        text(frame.get("function")),
    )


# Keyed by frame fields of untrusted events: bounded by bytes (docs/benchmarks.md, "Digest
# floor"), so a flood of long distinct paths and names costs at most this much memory.
MIB = 1024 * 1024


@memoize_bytes(65536, 4 * MIB)
def _builtin_matches(
    frame_family: str,
    abs_path: str | None,
    filename: str | None,
    module: str | None,
    function: str | None,
) -> frozenset[int]:
    frame = {"abs_path": abs_path, "filename": filename, "module": module, "function": function}
    platform = {"javascript": "javascript", "native": "native"}.get(frame_family, "other")
    return frozenset(
        i for i, rule in enumerate(BUILTIN_RULES) if _rule_matches(rule, frame, platform)
    )


# --- one frame ----------------------------------------------------------------------------------

_BASENAME = re.compile(r"[/\\]")
_RUBY_ERB_SUFFIX = re.compile(r"__\d{4,}_\d{4,}$")
_JAVA_REFLECT = re.compile(r"(sun\.reflect\.Generated(?:Serialization)?ConstructorAccessor)\d+")
_JAVA_CGLIB = re.compile(r"(\$\$[\w_]+?CGLIB\$\$)[a-fA-F0-9]+(?:_[0-9]+)?")
_JAVA_ASSIST = re.compile(r"(\$\$_javassist)(?:_seam)?(?:_[0-9]+)?")
_CLOJURE_FN = re.compile(r"(\$fn__)\d+")
_JS_UNKNOWN_FUNCTIONS = frozenset(
    {"?", "<anonymous function>", "<anonymous>", "Anonymous function"}
)
_JS_LOW_QUALITY_PATHS = frozenset({"[native code]", "native code", "eval code", "<anonymous>"})
_NATIVE_UNKNOWN_FUNCTIONS = frozenset({"<redacted>", "<unknown>"})


def filename_component(frame: JsonMap, platform: str) -> Component:
    raw = text(frame.get("filename"))
    if raw is None:
        return Component("filename")
    name = _BASENAME.split(raw)[-1].lower()
    component = leaf("filename", name)
    if has_url_origin(text(frame.get("abs_path"))):
        return disabled(component, "ignored because frame points to a URL")
    if name in ("<anonymous>", "[native code]"):
        return disabled(component, "ignored anonymous or native filename")
    if platform == "java":
        return leaf("filename", _JAVA_ASSIST.sub(r"\1<auto>", name))
    return component


def _clean_java_module(module: str) -> str:
    for prefix in (
        "sun.reflect.GeneratedMethodAccessor",
        "jdk.internal.reflect.GeneratedMethodAccessor",
    ):
        if module.startswith(prefix):
            return prefix
    for pattern in (_JAVA_REFLECT, _JAVA_CGLIB, _JAVA_ASSIST, _CLOJURE_FN):
        module = pattern.sub(r"\1<auto>", module)
    return module


def module_component(frame: JsonMap, platform: str) -> Component:
    module = text(frame.get("module"))
    if not module:
        return Component("module")
    abs_path = text(frame.get("abs_path"))
    if platform == "javascript" and "/" in module and abs_path and abs_path.endswith(module):
        return disabled(leaf("module", module), "ignored bad javascript module")
    if platform == "java":
        if "$$Lambda$" in module:
            return disabled(leaf("module", module), "ignored java lambda")
        return leaf("module", _clean_java_module(module))
    return leaf("module", module)


def _trim_native_function(func: str) -> str:
    """``"int ns::Foo<T>::bar(int) const"`` -> ``"ns::Foo::bar"``: params, generics, return type."""
    trimmed = func
    while True:
        reduced = re.sub(r"<[^<>]*>", "", trimmed)
        if reduced == trimmed:
            break
        trimmed = reduced
    trimmed = re.sub(r"\(.*\)[^()]*$", "", trimmed).strip()
    return trimmed.rsplit(" ", 1)[-1] if " " in trimmed else trimmed or func


def function_component(frame: JsonMap, platform: str, context_line_used: bool) -> Component:
    func = text(frame.get("function")) or text(frame.get("raw_function"))
    if not func:
        return Component("function")
    kind = family(platform)
    if platform == "ruby":
        return leaf(
            "function", "block" if func.startswith("block ") else _RUBY_ERB_SUFFIX.sub("", func)
        )
    if platform == "php" and func.startswith(("[Anonymous", "class@anonymous\x00")):
        return disabled(leaf("function", func), "ignored anonymous function")
    if platform == "java" and func.startswith("lambda$"):
        return disabled(leaf("function", func), "ignored lambda function")
    if kind == "native":
        if func in _NATIVE_UNKNOWN_FUNCTIONS:
            return disabled(leaf("function", func), "ignored unknown function")
        return leaf("function", _trim_native_function(func))
    if kind == "javascript":
        short = func.rsplit(".", 1)[-1]
        component = leaf("function", short)
        if not short or short in _JS_UNKNOWN_FUNCTIONS or short.endswith("/<"):
            return disabled(component, "ignored unknown function name")
        data = mapping(frame.get("data")) or {}
        if data.get("sourcemap") is not None and context_line_used:
            return disabled(component, "ignored because sourcemap used and context line available")
        return component
    return leaf("function", func)


def context_line_component(frame: JsonMap, platform: str) -> Component:
    raw = text(frame.get("context_line")) or ""
    line = " ".join(raw.expandtabs(2).split())
    if not line:
        return Component("context_line")
    component = leaf("context_line", line)
    if len(raw) > MAX_CONTEXT_LINE:
        return disabled(component, "discarded because line too long")
    if (
        family(platform) == "javascript"
        and not text(frame.get("function"))
        and has_url_origin(text(frame.get("abs_path")))
    ):
        return disabled(component, "discarded because from URL origin and no function")
    return component


def frame_component(frame: JsonMap, platform: str) -> Component:
    """What one frame contributes, before in-app, rule and recursion decisions."""
    context_line = text(frame.get("context_line"))
    if context_line is not None and len(context_line) > MAX_CONTEXT_LINE:
        # Over-long lines never contribute; keep a bounded cache key (minified JS lines are huge).
        context_line = context_line[: MAX_CONTEXT_LINE + 1]
    return _cached_frame_component(
        platform,
        text(frame.get("filename")),
        text(frame.get("abs_path")),
        text(frame.get("module")),
        text(frame.get("function")),
        text(frame.get("raw_function")),
        context_line,
        (mapping(frame.get("data")) or {}).get("sourcemap") is not None,
    )


@memoize_bytes(32768, 8 * MIB, value_bytes=component_bytes)
def _cached_frame_component(
    platform: str,
    filename: str | None,
    abs_path: str | None,
    module: str | None,
    function: str | None,
    raw_function: str | None,
    context_line: str | None,
    sourcemapped: bool,
) -> Component:
    """Components are immutable, and code locations recur event after event: cache them."""
    fields = {"filename": filename, "abs_path": abs_path, "module": module, "function": function,
              "raw_function": raw_function, "context_line": context_line,
              "data": {"sourcemap": True} if sourcemapped else None}  # fmt: skip
    return _frame_component(fields, platform)


def _frame_component(frame: JsonMap, platform: str) -> Component:
    module = module_component(frame, platform)
    filename = filename_component(frame, platform)
    if contributes(module) and contributes(filename):
        filename = disabled(filename, "module takes precedence")
    context = None
    if platform in CONTEXT_LINE_PLATFORMS:
        context = context_line_component(frame, platform)
    function = function_component(frame, platform, context is not None and contributes(context))
    if family(platform) == "native" and contributes(function) and contributes(filename):
        filename = disabled(filename, "function takes precedence")
    values = (
        (module, filename, function) if context is None else (module, filename, function, context)
    )
    component = Component("frame", values)
    func = text(frame.get("raw_function")) or text(frame.get("function")) or ""
    if family(platform) == "javascript" and (
        func.rsplit(".", 1)[-1] == "eval" or text(frame.get("abs_path")) in _JS_LOW_QUALITY_PATHS
    ):
        return disabled(component, "ignored low quality javascript frame")
    return component


def is_recursion(frame: JsonMap, previous: JsonMap | None) -> bool:
    return previous is not None and all(frame.get(f) == previous.get(f) for f in RECURSION_FIELDS)


# --- a whole stack trace ---------------------------------------------------------------------


def _frame_components(
    frames: Sequence[JsonMap], event_platform: str
) -> list[tuple[Component, bool]]:
    """(component, in-app) per frame, with the variant-independent decisions applied.

    Built once per stack trace and shared by both variants: frame components are the bulk of
    the grouping cost on deep traces.
    """
    flags = frame_flags(frames, event_platform)
    components: list[tuple[Component, bool]] = []
    previous: JsonMap | None = None
    for frame, flag in zip(frames, flags, strict=True):
        component = frame_component(frame, frame_platform(frame, event_platform))
        if is_recursion(frame, previous):
            component = disabled(component, "ignored due to recursion")
        elif not flag.group:
            component = disabled(component, "ignored by stack trace rule")
        components.append((component, flag.in_app))
        previous = frame
    if len(frames) == 1 and _is_low_quality_single_js_frame(frames[0], event_platform):
        only, in_app = components[0]
        components[0] = (disabled(only, "ignored single non-URL JavaScript frame"), in_app)
    return components


def _stacktrace(frames: Sequence[tuple[Component, bool]], variant: Variant) -> Component:
    """One variant of a stack trace; ``app`` keeps only in-app frames."""
    components = tuple(
        disabled(c, "non app frame") if variant == "app" and not in_app and contributes(c) else c
        for c, in_app in frames
    )
    stacktrace = Component("stacktrace", components)
    if not contributes(stacktrace):
        hint = (
            "contains no in-app frames" if variant == "app" else "contains no contributing frames"
        )
        return disabled(stacktrace, f"ignored because it {hint}")
    return stacktrace


def _is_low_quality_single_js_frame(frame: JsonMap, event_platform: str) -> bool:
    return (
        family(frame_platform(frame, event_platform)) == "javascript"
        and not text(frame.get("function"))
        and has_url_origin(text(frame.get("abs_path")), files_count_as_urls=True)
    )


def stacktrace_variants(frames: Sequence[JsonMap], event_platform: str) -> dict[str, Component]:
    key = stack_key(frames, event_platform)
    found = None if key is None else _STACK_VARIANTS.get(key)
    if found is None:
        components = _frame_components(frames, event_platform)
        found = (_stacktrace(components, "app"), _stacktrace(components, "system"))
        if key is not None:
            weight = _stack_bytes(key) + component_bytes(found[0]) + component_bytes(found[1])
            _STACK_VARIANTS.put(key, found, weight)
    return {"app": found[0], "system": found[1]}


# --- whole stack traces, cached -----------------------------------------------------------------
#
# An error that repeats repeats its stack trace, and grouping and titles walk it several times
# (in-app flags, frame components, recursion). Both are pure functions of a few fields of each
# frame, so they are cached by exactly those fields. Components and flags are frozen, so hits
# share them safely. Bounded (untrusted events) by the bytes their keys and values hold (an
# estimate: tests/processing/test_memo_bytes.py checks it against tracemalloc under a flood).

_STACK_FLAGS: BoundedMemo[tuple[FrameFlags, ...]] = BoundedMemo(2048, max_weight=4 * MIB)
_STACK_VARIANTS: BoundedMemo[tuple[Component, Component]] = BoundedMemo(2048, max_weight=8 * MIB)
_MAX_KEY_FRAMES = 128
_MAX_KEY_CHARS = 16 * 1024

StackKey = tuple[str, tuple[tuple[object, ...], ...]]


def _stack_bytes(key: StackKey) -> int:
    return ENTRY_BYTES + approx_bytes(key)


def stack_key(frames: Sequence[JsonMap], event_platform: str) -> StackKey | None:
    """What grouping and titles read of these frames, or None when it is not a safe key.

    Text fields must be exact ``str`` (or absent): ``text()`` reads ``1``, ``1.0`` and
    ``True`` differently, but as keys they are equal. Line and column numbers only take part
    in recursion checks (equality with the previous frame), and must be exact ints, strings
    or absent.
    """
    if len(frames) > _MAX_KEY_FRAMES:
        return None
    size = 0
    parts: list[tuple[object, ...]] = []
    for frame in frames:
        get = frame.get
        fields = (
            get("platform"), get("abs_path"), get("filename"), get("module"), get("function"),
            get("raw_function"), get("package"),
        )  # fmt: skip
        for value in fields:
            if value is None:
                continue
            if type(value) is not str:
                return None
            size += len(value)
        context_line = get("context_line")
        if context_line is not None:
            if type(context_line) is not str:
                return None
            # Over-long lines never contribute (frame_component cuts its key the same way).
            context_line = context_line[: MAX_CONTEXT_LINE + 1]
            size += len(context_line)
        lineno, colno = get("lineno"), get("colno")
        if not (lineno is None or type(lineno) is int or type(lineno) is str) or not (
            colno is None or type(colno) is int or type(colno) is str
        ):
            return None
        data = get("data")
        sourcemapped = (
            data is not None and isinstance(data, Mapping) and data.get("sourcemap") is not None
        )
        parts.append((*fields, context_line, lineno, colno, get("in_app") is True, sourcemapped))
    if size > _MAX_KEY_CHARS:
        return None
    return event_platform, tuple(parts)
