"""Event and breadcrumb levels: Sentry's names, their aliases and Python's numeric levels."""

from __future__ import annotations

from vedette.processing.trim import Notes, Path, path_name

LEVELS = ("fatal", "error", "warning", "info", "debug")
_LEVEL_ALIASES = {"log": "info", "critical": "fatal", "warn": "warning", "err": "error"}
_PYTHON_LEVELS = {0: "debug", 10: "debug", 20: "info", 30: "warning", 40: "error", 50: "fatal"}


def normalize_level(value: object, path: Path, notes: Notes) -> str | None:
    """``fatal|error|warning|info|debug`` from names, aliases or Python's numeric levels."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        found = _PYTHON_LEVELS.get(value)
    elif isinstance(value, float):
        found = _PYTHON_LEVELS.get(int(value)) if value.is_integer() else None
    elif isinstance(value, str):
        text = value.strip().lower()
        found = text if text in LEVELS else _LEVEL_ALIASES.get(text)
        if found is None and text.isdigit():
            found = _PYTHON_LEVELS.get(int(text))
    else:
        found = None
    if found is None:
        notes.error("invalid_data", path_name(path), value, reason="unknown level")
    return found
