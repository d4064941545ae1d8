"""Issue status transitions when a new event arrives, as pure functions.

See docs/protocol.md, "Issue lifecycle".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vedette.domain.events import IssueStatus

_SEMVER = re.compile(
    r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[.-]?([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)


@dataclass(frozen=True, slots=True)
class IssueState:
    status: IssueStatus
    resolved_at: float | None
    resolved_in_release: str | None


def version_key(release: str) -> tuple[int, int, int, int, str] | None:
    """A sort key for ``package@1.4.2``-style releases, or None when not version-like.

    A pre-release (``1.4.2-rc1``) sorts before its release, as in semver.
    """
    version = release.rpartition("@")[2]
    match = _SEMVER.match(version)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor or 0), int(patch or 0), 0 if pre else 1, pre or "")


def release_is_newer(candidate: str, baseline: str, first_seen: dict[str, float]) -> bool:
    """Whether ``candidate`` is a later release than ``baseline``.

    Versions compare as semver when both parse and name the same package; otherwise the release
    seen first is the older one (``first_seen`` maps release -> first time seen).
    """
    if candidate == baseline:
        return False
    a, b = version_key(candidate), version_key(baseline)
    if (
        a is not None
        and b is not None
        and candidate.rpartition("@")[0] == baseline.rpartition("@")[0]
    ):
        return a > b
    return first_seen.get(candidate, float("inf")) > first_seen.get(baseline, float("inf"))


def regresses(
    state: IssueState,
    event_timestamp: float,
    event_release: str | None,
    first_seen: dict[str, float],
) -> bool:
    """Whether this event reopens a resolved issue.

    An event that happened before the resolution does not reopen it even if processed after it
    (Sentry bug #30371). A resolution "in next release" is only undone by a newer release; one
    "in release X" (``resolved`` with ``resolved_in_release``: a commit of X fixed it) by X or
    a newer release, not by the older releases still running.
    """
    if state.status == IssueStatus.RESOLVED:
        after = state.resolved_at is None or event_timestamp > state.resolved_at
        fixed_in = state.resolved_in_release
        if fixed_in is None or event_release is None or not after:
            return after
        return event_release == fixed_in or release_is_newer(event_release, fixed_in, first_seen)
    if state.status == IssueStatus.RESOLVED_IN_NEXT_RELEASE:
        if event_release is None or state.resolved_in_release is None:
            return False
        return release_is_newer(event_release, state.resolved_in_release, first_seen)
    return False
