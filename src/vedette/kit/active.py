"""The monitoring `init_monitoring` switched on: its settings, SDK client and scrubber."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sentry_sdk

from vedette.kit.scrub import Scrubber
from vedette.kit.settings import MonitoringSettings


@dataclass
class Active:
    settings: MonitoringSettings
    sdk_options: dict[str, Any]
    client: Any
    scrubber: Scrubber
    global_tags: list[str] = field(default_factory=list)


_current: Active | None = None


def current() -> Active | None:
    return _current


def replace(active: Active | None) -> Active | None:
    """Make ``active`` the current monitoring; returns the one it replaces."""
    global _current
    previous, _current = _current, active
    return previous


def active_settings() -> MonitoringSettings | None:
    """The settings of the monitoring `init_monitoring` switched on, if it is on."""
    if _current is None or sentry_sdk.get_client() is not _current.client:
        return None
    return _current.settings


def active_scrubber() -> Scrubber | None:
    return None if active_settings() is None or _current is None else _current.scrubber
