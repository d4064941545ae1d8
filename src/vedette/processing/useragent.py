"""A deliberately small User-Agent reader for the ``browser`` and ``client_os`` contexts.

Relay derives both contexts from the request's User-Agent (docs/protocol.md, "Contexts"). Full UA
parsing needs a large regex database; this covers the browsers and systems that make up nearly
all real traffic and returns nothing rather than guessing for the rest.
"""

from __future__ import annotations

import re

# Order matters: Edge and Opera also claim Chrome, Chrome also claims Safari.
_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/(\d+(?:\.\d+)*)")),
    ("Opera", re.compile(r"\bOPR/(\d+(?:\.\d+)*)")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/(\d+(?:\.\d+)*)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+(?:\.\d+)*)")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS)/(\d+(?:\.\d+)*)")),
    ("Safari", re.compile(r"\bVersion/(\d+(?:\.\d+)*)(?: Mobile/\S+)? Safari/")),
)
_WINDOWS_VERSIONS = {"10.0": "10", "6.3": "8.1", "6.2": "8", "6.1": "7", "6.0": "Vista"}
_IOS = re.compile(r"\b(?:iPhone|CPU) OS (\d+(?:_\d+)*)")
_MAC = re.compile(r"\bMac OS X (\d+(?:[_.]\d+)*)")
_ANDROID = re.compile(r"\bAndroid (\d+(?:\.\d+)*)")
_WINDOWS = re.compile(r"\bWindows NT (\d+\.\d+)")
_MAX_UA = 512


def browser_context(user_agent: str) -> dict[str, str] | None:
    """``{"type": "browser", "name", "version"}`` or None when the browser is not recognised."""
    text = user_agent[:_MAX_UA]
    for name, pattern in _BROWSERS:
        found = pattern.search(text)
        if found:
            return {"type": "browser", "name": name, "version": found.group(1)}
    return None


def os_context(user_agent: str) -> dict[str, str] | None:
    """``{"type": "os", "name", "version"?}`` for the client's system, or None."""
    text = user_agent[:_MAX_UA]
    found = _IOS.search(text)
    if found:
        return {"type": "os", "name": "iOS", "version": found.group(1).replace("_", ".")}
    found = _ANDROID.search(text)
    if found:
        return {"type": "os", "name": "Android", "version": found.group(1)}
    found = _WINDOWS.search(text)
    if found:
        version = _WINDOWS_VERSIONS.get(found.group(1), found.group(1))
        return {"type": "os", "name": "Windows", "version": version}
    found = _MAC.search(text)
    if found:
        return {"type": "os", "name": "Mac OS X", "version": found.group(1).replace("_", ".")}
    if "CrOS" in text:
        return {"type": "os", "name": "Chrome OS"}
    if "Linux" in text:
        return {"type": "os", "name": "Linux"}
    return None
