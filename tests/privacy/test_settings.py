"""Project settings over organization settings (Sentry's rule: a project cannot loosen what its
organization requires), and what the API accepts."""

from __future__ import annotations

from typing import Any

import pytest

from vedette.processing.privacy_settings import (
    ORGANIZATION_DEFAULTS,
    PROJECT_DEFAULTS,
    PrivacySettings,
    SettingsError,
    effective,
    from_stored,
    scrub_config,
    updated,
)

ORG_REQUIRES = PrivacySettings(
    data_scrubber=True,
    data_scrubber_defaults=True,
    scrub_ip_addresses=True,
    sensitive_fields=("order_note",),
    safe_fields=("trace_ref",),
    relay_pii_config='{"applications": {"$string": ["@email"]}}',
)
PROJECT_LOOSENS = PrivacySettings(
    data_scrubber=False,
    data_scrubber_defaults=False,
    scrub_ip_addresses=False,
    sensitive_fields=("coupon",),
    relay_pii_config='{"applications": {"extra.**": ["@ip"]}}',
)


def test_a_project_cannot_loosen_what_its_organization_requires() -> None:
    merged = effective(ORG_REQUIRES, PROJECT_LOOSENS)
    assert merged.data_scrubber and merged.data_scrubber_defaults and merged.scrub_ip_addresses
    assert merged.sensitive_fields == ("order_note", "coupon")
    config = scrub_config(ORG_REQUIRES, PROJECT_LOOSENS)
    assert len(config.advanced) == 2  # both sets of rules run


def test_an_organization_requiring_nothing_leaves_the_project_to_decide() -> None:
    merged = effective(ORGANIZATION_DEFAULTS, PROJECT_LOOSENS)
    assert not merged.data_scrubber and not merged.data_scrubber_defaults
    assert effective(ORGANIZATION_DEFAULTS, PROJECT_DEFAULTS) == PROJECT_DEFAULTS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dataScrubber": "yes"}, "dataScrubber"),
        ({"scrubIPAddresses": 1}, "scrubIPAddresses"),
        ({"sensitiveFields": "order_note"}, "sensitiveFields"),
        ({"safeFields": [1]}, "safeFields"),
        ({"sensitiveFields": ["x" * 201]}, "sensitiveFields"),
        ({"relayPiiConfig": {"applications": {}}}, "relayPiiConfig"),
        ({"relayPiiConfig": '{"applications": {"$string": ["@nope"]}}'}, "relayPiiConfig"),
    ],
)
def test_refused_fields_are_named(body: dict[str, Any], field: str) -> None:
    with pytest.raises(SettingsError) as refused:
        updated(PROJECT_DEFAULTS, body)
    assert refused.value.field == field


def test_a_put_changes_only_what_it_sends_and_round_trips_through_storage() -> None:
    settings = updated(PROJECT_DEFAULTS, {"sensitiveFields": [" order_note ", "order_note", ""]})
    assert settings == PrivacySettings(sensitive_fields=("order_note",))
    assert updated(settings, {"relayPiiConfig": "  "}).relay_pii_config is None
    assert from_stored(ORG_REQUIRES.to_api(), ORGANIZATION_DEFAULTS) == ORG_REQUIRES
    assert from_stored({"dataScrubber": "garbage"}, PROJECT_DEFAULTS) == PROJECT_DEFAULTS
