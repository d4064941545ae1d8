"""scrubIPAddresses: every place an event carries the client's address, including the one
Vedette itself fills in for ``{{auto}}``; off, the addresses stay."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from vedette.processing.normalize import NormalizeContext, normalize_event
from vedette.processing.scrub import ScrubConfig, scrub_event

CLIENT = "198.51.100.7"
PROXY_CHAIN = "203.0.113.9, 10.0.0.1"


def event(headers_as_dict: bool) -> dict[str, Any]:
    headers: Any = [["X-Forwarded-For", PROXY_CHAIN], ["Forwarded", "for=203.0.113.9"],
                    ["X-Real-IP", "203.0.113.9"], ["Accept", "text/html"]]  # fmt: skip
    return {
        "event_id": "d" * 32,
        "platform": "javascript",
        "message": "login from 203.0.113.9",
        "user": {"id": "u1", "ip_address": "{{auto}}"},
        "request": {
            "url": "https://shop.example/",
            "headers": dict(headers) if headers_as_dict else headers,
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
    }


def scrubbed(payload: dict[str, Any], **config: Any) -> dict[str, Any]:
    ctx = NormalizeContext(received=1_795_885_544.0, event_id="d" * 32, client_ip=CLIENT)
    return dict(scrub_event(normalize_event(payload, ctx), ScrubConfig(**config)))


@pytest.mark.parametrize("headers_as_dict", [False, True], ids=["pairs", "object"])
@pytest.mark.parametrize("enabled", [True, False], ids=["scrubbing-on", "scrubbing-off"])
def test_no_address_is_stored(headers_as_dict: bool, enabled: bool) -> None:
    stored = scrubbed(event(headers_as_dict), scrub_ip_addresses=True, enabled=enabled)
    body = orjson.dumps({k: v for k, v in stored.items() if k != "_meta"}).decode()
    assert "203.0.113.9" not in body and CLIENT not in body and "10.0.0.1" not in body
    assert "ip_address" not in stored["user"]
    headers = dict(stored["request"]["headers"])
    assert headers["Accept"] == "text/html"
    assert headers["X-Forwarded-For"] is None
    remarks = orjson.dumps(stored["_meta"]).decode()
    assert '"@ip:remove","x"' in remarks


def test_addresses_stay_when_ip_scrubbing_is_off() -> None:
    stored = scrubbed(event(False))
    assert stored["user"]["ip_address"] == CLIENT  # what Vedette filled in for {{auto}}
    assert dict(stored["request"]["headers"])["X-Forwarded-For"] == PROXY_CHAIN
    assert stored["request"]["env"]["REMOTE_ADDR"] == "203.0.113.9"
