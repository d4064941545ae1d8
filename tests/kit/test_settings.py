"""Settings from the environment, the SDK options they stand for, init, and the SDK pin."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
import sentry_sdk
from pydantic import ValidationError
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from tests.kit.recording import RecordingTransport
from tests.kit.support import DSN, kit_settings, sdk_overrides

from vedette.kit import MonitoringSettings, init_monitoring, shutdown_monitoring
from vedette.kit.setup import sdk_options


def test_the_sdk_is_pinned_below_3() -> None:
    assert version("sentry-sdk").startswith("2.")


def test_the_usual_sentry_environment_variables_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTRY_DSN", DSN)
    monkeypatch.setenv("ENVIRONMENT", "staging")
    monkeypatch.setenv("APP_VERSION", "abc123")
    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RATE", "0.25")
    monkeypatch.setenv("SENTRY_PROFILES_SAMPLE_RATE", "0.5")
    monkeypatch.setenv("SENTRY_UNTRACED_PATHS", "/health,/internal")
    monkeypatch.setenv("SENTRY_SENSITIVE_KEYS", "tenant_ref, pin")
    monkeypatch.setenv("SENTRY_FAILED_STATUS_CODES", "403, 500-599")
    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RULES", '{"/api/v1/search": 0.01}')
    settings = MonitoringSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.sentry_dsn == DSN
    assert (settings.environment, settings.app_version) == ("staging", "abc123")
    assert settings.sentry_traces_sample_rate == 0.25
    assert settings.sentry_profiles_sample_rate == 0.5
    assert settings.sentry_untraced_paths == ["/health", "/internal"]
    assert settings.sentry_sensitive_keys == ["tenant_ref", "pin"]
    assert settings.sentry_failed_status_codes == {403, *range(500, 600)}
    assert settings.sentry_traces_sample_rules == {"/api/v1/search": 0.01}


@pytest.mark.parametrize(
    "values",
    [
        {"sentry_traces_sample_rate": 1.5},  # the SDK accepts it and then sends 0 transactions
        {"sentry_traces_sample_rate": -0.1},
        {"sentry_profiles_sample_rate": 2},
        {"sentry_traces_sample_rules": {"/search": 3.0}},
        {"sentry_traces_sample_rules": {"search": 0.5}},
        {"sentry_failed_status_codes": "403,5xx"},
        {"sentry_failed_status_codes": "700"},
        {"sentry_untraced_paths": "health"},
        {"sentry_dsn": "https://example.com/1"},  # no key
        {"sentry_dsn": "not a dsn"},
    ],
)
def test_invalid_settings_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MonitoringSettings(_env_file=None, **values)  # type: ignore[arg-type]


def test_no_dsn_means_off_and_nothing_initialised() -> None:
    assert init_monitoring(kit_settings(sentry_dsn="")) is False
    assert not sentry_sdk.get_client().is_active()
    assert not sentry_sdk.is_initialized()


def test_init_is_idempotent_and_events_carry_release_and_environment() -> None:
    transport = RecordingTransport()
    settings = kit_settings(environment="staging", app_version="abc123")
    overrides = sdk_overrides(transport)
    try:
        assert init_monitoring(settings, **overrides)
        client = sentry_sdk.get_client()
        assert init_monitoring(settings, **overrides)
        assert sentry_sdk.get_client() is client  # not re-initialised
        sentry_sdk.capture_message("hello")
        (event,) = transport.events()
        assert (event["environment"], event["release"]) == ("staging", "abc123")
    finally:
        shutdown_monitoring()
    assert not sentry_sdk.get_client().is_active()


def test_the_sdk_options_without_deprecated_ones() -> None:
    settings = kit_settings(sentry_failed_status_codes="403,500-599")
    options = sdk_options(settings)
    deprecated = {"send_default_pii", "profiles_sample_rate", "enable_tracing", "event_scrubber"}
    assert not deprecated & options.keys()
    by_type = {type(i): i for i in options["integrations"]}
    starlette, fastapi = by_type[StarletteIntegration], by_type[FastApiIntegration]
    # Both with the same status codes (the auto-enabled Starlette one would otherwise decide
    # which raised statuses are reported); endpoint names from the FastAPI one.
    assert fastapi.transaction_style == "endpoint"
    for integration in (starlette, fastapi):
        assert 403 in integration.failed_request_status_codes
        assert 404 not in integration.failed_request_status_codes
    assert SqlalchemyIntegration in by_type
    assert options["data_collection"]["user_info"] is False
    assert options["data_collection"]["stack_frame_variables"] is False
    assert "profile_session_sample_rate" not in options  # profiling is opt-in


def test_profiling_is_continuous_profiling() -> None:
    options = sdk_options(kit_settings(sentry_profiles_sample_rate=0.5))
    assert options["profile_session_sample_rate"] == 0.5
    assert options["profile_lifecycle"] == "trace"


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## FastAPI kit", 1)[1].split("\n## ", 1)[0]
    fields = [name.upper() for name in MonitoringSettings.model_fields]
    assert [f for f in fields if f"| `{f}` |" not in section] == []
