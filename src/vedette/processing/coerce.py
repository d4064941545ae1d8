"""Lenient scalar coercion for untrusted event fields (Relay's LenientString and friends)."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from typing import Any, TypeGuard

from vedette.processing.trim import Notes, Path, clean_str, path_name, trim_str

_HEX_DIGITS = "0123456789abcdef"


def lenient_str(value: object) -> str | None:
    """Strings as they are; numbers and booleans as text; anything else None.

    Booleans read ``True``/``False`` and integral floats lose their ``.0``, like Relay.
    """
    if isinstance(value, str):
        return clean_str(value)
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    return None


def field_str(
    value: object, limit: int, path: Path, notes: Notes, *, strip: bool = True
) -> str | None:
    """A lenient string field trimmed to ``limit``; empty is absent; wrong types are errors."""
    if value is None:
        return None
    if type(value) is str and len(value) <= limit and value.isascii() and "\x00" not in value:
        # Nearly every field: nothing to clean or cut (what the steps below would find).
        kept = value.strip() if strip else value
        return kept or None
    text = lenient_str(value)
    if text is None:
        notes.error("invalid_data", path_name(path), value, reason="expected a string")
        return None
    if strip:
        text = text.strip()
    if not text:
        return None
    return trim_str(text, limit, path, notes)


def field_int(value: object, path: Path, notes: Notes) -> int | None:
    """An integer from an int, an integral float or a decimal string."""
    if value is None:
        return None
    result: int | None = None
    if isinstance(value, bool):
        result = None
    elif isinstance(value, int):
        result = value if -(2**63) <= value < 2**63 else None
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        result = int(value) if abs(value) < 2**63 else None
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value) < 20:
        result = int(value.strip())
    if result is None:
        notes.error("invalid_data", path_name(path), value, reason="expected an integer")
    return result


def int64(value: object) -> int | None:
    """A 64-bit signed integer from an int or a decimal string (as OTLP's JSON sends them);
    None for anything else, a longer string included (``int()`` of one is slow, or refused)."""
    if isinstance(value, str) and len(value) <= 20 and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def finite_float(value: object) -> float | None:
    """A finite float from an int or float (huge ints overflow to None); bools are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def field_float(value: object, path: Path, notes: Notes) -> float | None:
    if value is None:
        return None
    number = finite_float(value)
    if number is None:
        notes.error("invalid_data", path_name(path), value, reason="expected a number")
    return number


def field_bool(value: object, path: Path, notes: Notes) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value in (0, 1) and isinstance(value, int):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    notes.error("invalid_data", path_name(path), value, reason="expected a boolean")
    return None


def hex_id(value: object, length: int) -> str | None:
    """A lowercase hex id of exactly ``length`` digits (dashes tolerated), else None."""
    if not isinstance(value, str):
        return None
    candidate = value.strip().replace("-", "").lower()
    # Nothing left once hex digits are stripped from both ends: all hex (no regex call).
    if len(candidate) != length or not candidate or candidate.strip(_HEX_DIGITS):
        return None
    return candidate


def mapping(value: object) -> Mapping[str, object] | None:
    """``value`` when it is a JSON object, else None."""
    return value if is_mapping(value) else None


def is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, with what parsed JSON holds (dicts, None) answered
    without the ABC's check: about 90 checks per event, each several times slower."""
    if type(value) is dict:
        return True
    return value is not None and isinstance(value, Mapping)


def put(target: dict[str, Any], key: str, value: object) -> None:
    """Set ``key`` only when ``value`` is present (normalised events carry no nulls)."""
    if value is not None:
        target[key] = value


def valid_ip(value: object) -> str | None:
    """``value`` as a canonical IPv4 or IPv6 address, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None
