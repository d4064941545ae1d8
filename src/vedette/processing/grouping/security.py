"""Security reports (CSP, Expect-CT, Expect-Staple, HPKP): a salt plus what was blocked."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from vedette.processing.grouping.component import Component, disabled, leaf
from vedette.processing.grouping.shape import JsonMap, mapping, text

LOCAL = "'self'"

# interface key -> (component id, salt) for the reports that group by hostname.
HOSTNAME_REPORTS = {
    "expectct": ("expect_ct", "expect-ct"),
    "expectstaple": ("expect_staple", "expect-staple"),
    "hpkp": ("hpkp", "hpkp"),
}


def normalize_blocked_uri(value: str) -> str:
    """``https://cdn.example/x.js`` -> ``cdn.example``; ``data:...`` -> ``data:``; empty -> self."""
    if value in ("", LOCAL, "self"):
        return LOCAL
    if ":" not in value:
        return f"{value}:"
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if parts.scheme in ("http", "https"):
        return parts.netloc
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def effective_directive(csp: JsonMap) -> str | None:
    found = text(csp.get("effective_directive"))
    if found:
        return found
    violated = text(csp.get("violated_directive")) or ""
    return violated.split()[0] if violated.split() else None


def local_script_violation(csp: JsonMap) -> str | None:
    """``'unsafe-inline'``/``'unsafe-eval'`` for inline script violations, else ``None``."""
    violated = text(csp.get("violated_directive")) or ""
    uri = normalize_blocked_uri(text(csp.get("blocked_uri")) or "")
    if not violated or effective_directive(csp) != "script-src" or uri != LOCAL:
        return None
    for kind in ("'unsafe-inline'", "'unsafe-eval'"):
        if kind in violated:
            return kind
    return None


def csp_component(csp: JsonMap) -> Component:
    uri = leaf("uri", normalize_blocked_uri(text(csp.get("blocked_uri")) or ""))
    violation = leaf("violation", local_script_violation(csp))
    if local_script_violation(csp):
        uri = disabled(uri, "violation takes precedence")
    else:
        violation = disabled(violation, "not a local script violation")
    return Component("csp", (leaf("salt", effective_directive(csp)), violation, uri))


def security_variants(event: JsonMap) -> dict[str, Component]:
    csp = mapping(event.get("csp"))
    if csp is not None:
        return {"default": csp_component(csp)}
    for key, (component_id, salt) in HOSTNAME_REPORTS.items():
        report = mapping(event.get(key))
        if report is not None:
            hostname = leaf("hostname", text(report.get("hostname")))
            return {"default": Component(component_id, (leaf("salt", salt), hostname))}
    return {}
