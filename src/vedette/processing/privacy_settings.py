"""A project's data scrubbing settings in Sentry's API shape, and the organization's over them.

The fields, as Sentry's project and organization APIs name them: ``dataScrubber`` (scrub at
all), ``dataScrubberDefaults`` (the built-in sensitive keys and value rules),
``scrubIPAddresses``, ``sensitiveFields`` and ``safeFields`` (lists of key names), and
``relayPiiConfig`` (advanced rules, JSON text; processing.pii_config).

A project inherits its organization's settings and cannot loosen them (Sentry's rule): each
switch is on when either turns it on, sensitive fields add up, and both sets of advanced rules
run. Safe fields add up too: they only exempt keys from the default rules, never from an
additional sensitive field or an advanced rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from vedette.processing.pii_config import PiiConfigError, parse_pii_config
from vedette.processing.pipeline import ProcessingConfig
from vedette.processing.scrub import ScrubConfig

BOOLEAN_FIELDS = {
    "dataScrubber": "data_scrubber",
    "dataScrubberDefaults": "data_scrubber_defaults",
    "scrubIPAddresses": "scrub_ip_addresses",
}
LIST_FIELDS = {"sensitiveFields": "sensitive_fields", "safeFields": "safe_fields"}
MAX_FIELDS = 200
MAX_FIELD_LENGTH = 200


class SettingsError(ValueError):
    """A field the API refuses: ``field`` names it, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    data_scrubber: bool = True
    data_scrubber_defaults: bool = True
    scrub_ip_addresses: bool = False
    sensitive_fields: tuple[str, ...] = ()
    safe_fields: tuple[str, ...] = ()
    relay_pii_config: str | None = None

    def to_api(self) -> dict[str, Any]:
        """Sentry's field names; also how the settings are stored."""
        return {
            "dataScrubber": self.data_scrubber,
            "dataScrubberDefaults": self.data_scrubber_defaults,
            "scrubIPAddresses": self.scrub_ip_addresses,
            "sensitiveFields": list(self.sensitive_fields),
            "safeFields": list(self.safe_fields),
            "relayPiiConfig": self.relay_pii_config,
        }


# An organization requires nothing until it says so (Sentry's "Require Data Scrubber" and
# "Require Using Default Scrubbers" start off), so its projects' own switches decide.
ORGANIZATION_DEFAULTS = PrivacySettings(data_scrubber=False, data_scrubber_defaults=False)
PROJECT_DEFAULTS = PrivacySettings()


def _field_list(field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SettingsError(field, "a list of field names")
    names = tuple(dict.fromkeys(item.strip() for item in value if item.strip()))
    if len(names) > MAX_FIELDS or any(len(name) > MAX_FIELD_LENGTH for name in names):
        raise SettingsError(field, f"at most {MAX_FIELDS} names of {MAX_FIELD_LENGTH} chars")
    return names


def updated(settings: PrivacySettings, body: Mapping[str, Any]) -> PrivacySettings:
    """``settings`` with the fields ``body`` carries (a PUT changes only what it sends)."""
    changes: dict[str, Any] = {}
    for field, attribute in BOOLEAN_FIELDS.items():
        if field in body:
            if not isinstance(body[field], bool):
                raise SettingsError(field, "true or false")
            changes[attribute] = body[field]
    for field, attribute in LIST_FIELDS.items():
        if field in body:
            changes[attribute] = _field_list(field, body[field])
    if "relayPiiConfig" in body:
        text = body["relayPiiConfig"]
        if text is not None and not isinstance(text, str):
            raise SettingsError("relayPiiConfig", "JSON text (a string) or null")
        try:
            parse_pii_config(text)
        except PiiConfigError as error:
            raise SettingsError("relayPiiConfig", str(error)) from None
        changes["relay_pii_config"] = text if text and text.strip() else None
    return replace(settings, **changes)


def from_stored(stored: Mapping[str, Any] | None, defaults: PrivacySettings) -> PrivacySettings:
    """What storage kept (written by ``to_api``); a field it cannot read keeps its default."""
    settings = defaults
    for field in (*BOOLEAN_FIELDS, *LIST_FIELDS, "relayPiiConfig"):
        if stored is not None and field in stored:
            try:
                settings = updated(settings, {field: stored[field]})
            except SettingsError:
                continue
    return settings


def effective(organization: PrivacySettings, project: PrivacySettings) -> PrivacySettings:
    """The switches and fields that apply to the project's events: it may add to its
    organization's, never remove. Advanced rules stay apart (both sets run: ``scrub_config``)."""
    return PrivacySettings(
        data_scrubber=organization.data_scrubber or project.data_scrubber,
        data_scrubber_defaults=(
            organization.data_scrubber_defaults or project.data_scrubber_defaults
        ),
        scrub_ip_addresses=organization.scrub_ip_addresses or project.scrub_ip_addresses,
        sensitive_fields=tuple(
            dict.fromkeys((*organization.sensitive_fields, *project.sensitive_fields))
        ),
        safe_fields=tuple(dict.fromkeys((*organization.safe_fields, *project.safe_fields))),
    )


def scrub_config(organization: PrivacySettings, project: PrivacySettings) -> ScrubConfig:
    """The scrubber's configuration for one project's events."""
    merged = effective(organization, project)
    advanced = []
    for text in (organization.relay_pii_config, project.relay_pii_config):
        try:
            advanced.append(parse_pii_config(text))
        except PiiConfigError:
            continue  # refused when saved; a stored config that no longer reads is skipped
    return ScrubConfig(
        enabled=merged.data_scrubber,
        extra_sensitive_keys=merged.sensitive_fields,
        safe_keys=merged.safe_fields,
        scrub_ip_addresses=merged.scrub_ip_addresses,
        defaults=merged.data_scrubber_defaults,
        advanced=tuple(config for config in advanced if config.applications),
    )


def processing_config(
    organization: Mapping[str, Any] | None, project: Mapping[str, Any] | None
) -> ProcessingConfig:
    """The worker's configuration for a project, from both levels' stored settings."""
    return ProcessingConfig(
        scrub=scrub_config(
            from_stored(organization, ORGANIZATION_DEFAULTS), from_stored(project, PROJECT_DEFAULTS)
        )
    )
