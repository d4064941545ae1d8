"""A monitor as written in the API's JSON or the UI's form: defaults, normalisation, refusals."""

from __future__ import annotations

import pytest

from vedette.uptime.spec import MonitorSpec, SpecError, spec_from_json, spec_json
from vedette.web.uptime import form_of_spec, spec_from_form


def test_json_defaults_and_round_trip() -> None:
    spec = spec_from_json(
        {"name": " Shop ", "url": "https://shop.example/health", "method": "head"}
    )
    assert (spec.name, spec.method, spec.interval_seconds, spec.timeout_ms) == (
        "Shop",
        "HEAD",
        60,
        10_000,
    )
    assert (spec.status_min, spec.status_max, spec.failure_threshold) == (200, 299, 3)
    assert spec_from_json(spec_json(spec)) == spec


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"url": "https://x.example/", "followRedirects": "yes"}, "true or false"),
        ({"url": "https://x.example/", "expectedStatus": [300, 200]}, "lowest first"),
        ({"url": "https://x.example/", "expectedStatus": 200}, "expectedStatus"),
        ({"url": "https://x.example/", "intervalSeconds": "often"}, "invalid field"),
        ({"url": "https://x.example/", "headers": [["X-A", "1\r\nX-B: 2"]]}, "line break"),
        ({"url": "https://x.example/", "timeoutMs": 40_000, "intervalSeconds": 30}, "timeoutMs"),
        ({"url": "https:///nohost"}, "url must be"),
    ],
)
def test_json_that_cannot_work_says_why(body: dict[str, object], error: str) -> None:
    with pytest.raises(SpecError, match=error):
        spec_from_json({"name": "m", **body})


def test_the_form_reads_header_lines_and_checkboxes_and_shows_a_spec_back() -> None:
    spec = MonitorSpec(
        name="Shop",
        url="https://shop.example/health",
        headers=(("Authorization", "Bearer t"), ("X-Check", "a:b")),
        follow_redirects=False,
        public=True,
    )
    form = form_of_spec(spec)
    assert form["headers"] == "Authorization: Bearer t\nX-Check: a:b"
    assert spec_from_form(form) == spec
    with pytest.raises(SpecError, match="Name: value"):
        spec_from_form(form | {"headers": "no colon here"})
    with pytest.raises(SpecError, match="interval must be a whole number"):
        spec_from_form(form | {"interval": "1m"})
