"""Exception components: single exceptions, chains and exception groups.

Per exception, in Sentry's ``newstyle:2023-01-11`` order: stack trace, type (ignored when the
mechanism is synthetic), ``ns_error`` and the parameterised value (ignored when a stack trace
contributes). Every exception of a chain contributes; exception groups are first reduced to their
distinct "top-level" children (see :func:`select_exceptions`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from vedette.processing.grouping.component import (
    Component,
    contributes,
    contributing_values,
    disabled,
    find,
    leaf,
    with_hint,
)
from vedette.processing.grouping.frames import stacktrace_variants
from vedette.processing.grouping.parameterize import normalize_message
from vedette.processing.grouping.shape import (
    JsonMap,
    frames,
    integer,
    is_synthetic,
    mapping,
    mechanism,
    text,
)

Variants = dict[str, Component]


def remove_non_stacktrace_variants(variants: Variants) -> Variants:
    """If some variant hashes a stack trace, variants without one stop contributing.

    E.g. no in-app frames but system frames: the ``app`` variant would otherwise fall back to
    type + value and collide with unrelated errors of the same type.
    """
    if len(variants) <= 1:
        return variants
    with_stack = [
        name
        for name, component in variants.items()
        if any(contributes(s) for s in find(component, "stacktrace"))
    ]
    if not with_stack:
        return variants
    hint = "ignored because this variant does not have a contributing stacktrace, but " + (
        f"the {with_stack[0]} variant does" if len(with_stack) == 1 else "others do"
    )
    return {
        name: component if name in with_stack else disabled(component, hint)
        for name, component in variants.items()
    }


def _type_component(exc: JsonMap) -> Component:
    component = leaf("type", text(exc.get("type")))
    if is_synthetic(exc):
        return disabled(component, "ignored because exception is synthetic")
    return component


def _ns_error_component(exc: JsonMap) -> Component | None:
    meta = mapping(mechanism(exc).get("meta")) or {}
    ns_error = mapping(meta.get("ns_error"))
    if ns_error is None:
        return None
    parts = (text(ns_error.get("domain")), text(ns_error.get("code")))
    return Component("ns_error", tuple(part for part in parts if part))


def _value_component(exc: JsonMap) -> Component:
    raw = text(exc.get("value"))
    if raw is None:
        return Component("value")
    normalized = normalize_message(raw)
    component = leaf("value", normalized)
    return (
        component if normalized == raw else with_hint(component, "stripped event-specific values")
    )


def single_exception_variants(exc: JsonMap, platform: str) -> Variants:
    exc_frames = frames(exc.get("stacktrace"))
    if exc_frames:
        stacks = stacktrace_variants(exc_frames, platform)
    else:
        # Deliberate difference from Sentry, which gives a frameless exception an ``app``
        # variant only: a chain's system hash would then ignore frameless members, and two
        # exception groups raised from one line with different leaves would share it.
        stacks = {"app": Component("stacktrace"), "system": Component("stacktrace")}
    type_ = _type_component(exc)
    ns_error = _ns_error_component(exc)
    variants: Variants = {}
    for name, stack in stacks.items():
        value = _value_component(exc)
        if contributes(value) and contributes(stack):
            value = disabled(value, "ignored because stacktrace takes precedence")
        elif contributes(value) and ns_error is not None and contributes(ns_error):
            value = disabled(value, "ignored because ns-error info takes precedence")
        parts = (stack, type_, value) if ns_error is None else (stack, type_, ns_error, value)
        variants[name] = Component("exception", parts)
    return remove_non_stacktrace_variants(variants)


# --- exception groups ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selection:
    """Which exceptions (indices, in hashing order) contribute, and which one names the issue."""

    indices: tuple[int, ...]
    main: int


@dataclass(frozen=True, slots=True)
class _Tree:
    exception_id: dict[int, int]  # list index -> exception_id
    children: dict[int, list[int]]  # exception_id -> list indices, in SDK order
    root: int  # list index of exception_id 0


def _build_tree(exceptions: Sequence[JsonMap]) -> _Tree | None:
    """The exception tree, or ``None`` when ids are missing, duplicated or self-parented."""
    exception_id: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    seen: set[int] = set()
    for index in reversed(range(len(exceptions))):
        mech = mechanism(exceptions[index])
        own = integer(mech.get("exception_id"))
        parent = integer(mech.get("parent_id"))
        if own is None or own == parent or own in seen:
            return None
        seen.add(own)
        exception_id[index] = own
        if parent is not None:
            children.setdefault(parent, []).append(index)
    root = next((i for i, own in exception_id.items() if own == 0), None)
    return None if root is None else _Tree(exception_id, children, root)


def _is_group(exc: JsonMap) -> bool:
    return mechanism(exc).get("is_exception_group") is True


def _top_level(tree: _Tree, exceptions: Sequence[JsonMap]) -> list[int]:
    """Non-group exceptions reached from the root through groups only (depth first, in order).

    Iterative with a visited set: SDK trees can contain cycles (one of Sentry's fixtures does).
    """
    found: list[int] = []
    visited: set[int] = set()
    stack = [tree.root]
    while stack:
        index = stack.pop()
        if index in visited:
            continue
        visited.add(index)
        if _is_group(exceptions[index]):
            stack.extend(reversed(tree.children.get(tree.exception_id[index], [])))
        else:
            found.append(index)
    return found


def _first_path(tree: _Tree, start: int) -> tuple[int, ...]:
    """``start`` and then always its first child: the cause chain of one leaf."""
    path = [start]
    while kids := tree.children.get(tree.exception_id[path[-1]]):
        if kids[0] in path:
            break
        path.append(kids[0])
    return tuple(path)


def select_exceptions(exceptions: Sequence[JsonMap], key: Callable[[int], Hashable]) -> Selection:
    """Reduce an exception group to what identifies it (RFC 0079, Sentry's current rules).

    ``key(i)`` is what exception ``i`` would hash to (asked only for group children). Children
    of the group (through nested groups) are sorted by type, descending, for a stable order;
    equal keys collapse. One distinct child: the event is that child plus its first-child chain
    (``Group[Da, Da]`` is just ``Da``). Several: each distinct child, then the root group. Plain
    chains (no ids) are kept whole; a tree without reachable children (a cycle, dangling
    parents) falls back to the root alone.
    """
    last = len(exceptions) - 1
    everything = Selection(tuple(range(len(exceptions))), last)
    if len(exceptions) <= 1:
        return everything
    tree = _build_tree(exceptions)
    if tree is None:
        return everything
    top = _top_level(tree, exceptions)
    if not top:
        return Selection((tree.root,), tree.root)
    top.sort(key=lambda i: str(text(exceptions[i].get("type"))), reverse=True)
    distinct: list[int] = []
    seen: set[Hashable] = set()
    for index in top:
        identity = key(index)
        if identity not in seen:
            seen.add(identity)
            distinct.append(index)
    if len(distinct) == 1:
        return Selection(_first_path(tree, distinct[0]), distinct[0])
    return Selection((*distinct, tree.root), last)


def _identity(variants: Variants) -> Hashable:
    return tuple((name, tuple(contributing_values(c))) for name, c in sorted(variants.items()))


def exception_variants(exceptions: Sequence[JsonMap], platform: str) -> Variants:
    """Grouping variants of the exception interface; empty if there are no exceptions."""
    if not exceptions:
        return {}
    per_exception = [single_exception_variants(exc, platform) for exc in exceptions]
    selection = select_exceptions(exceptions, lambda i: _identity(per_exception[i]))
    if len(selection.indices) == 1:
        return per_exception[selection.indices[0]]
    names = list(dict.fromkeys(name for v in per_exception for name in v))
    chained = {
        name: Component(
            "chained_exception",
            tuple(per_exception[i][name] for i in selection.indices if name in per_exception[i]),
        )
        for name in names
    }
    return remove_non_stacktrace_variants(chained)


def main_exception_index(exceptions: Sequence[JsonMap], platform: str) -> int | None:
    """The exception that names the issue: the last one, or the single distinct group child."""
    if not exceptions:
        return None
    # Keys are computed lazily: a plain chain (no exception ids) needs none.
    return select_exceptions(
        exceptions, lambda i: _identity(single_exception_variants(exceptions[i], platform))
    ).main
