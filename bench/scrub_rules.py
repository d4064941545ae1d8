"""What 50 advanced data scrubbing rules cost the digest, against the default scrubbing alone.

    uv run python bench/scrub_rules.py --events 300 --rounds 5

In-process, the worker's processing of one envelope (parse, normalise, scrub, group, summarise;
storage left out, which would only dilute the ratio): each round processes the same envelopes
with the default settings, then with a relayPiiConfig of 50 rules (pattern rules and built-ins
on ``$string``, ``extra.**``, ``$frame.vars``, headers, the user, breadcrumbs), alternately,
and reports the medians of CPU time per event and their ratio, on two shapes of payload: the
real-SDK error of bench/payloads.py (20 frames with local variables, 50 KB) and a small message
event with tags, extra, a request and breadcrumbs.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time

import orjson

sys.path.insert(0, os.path.dirname(__file__))

from payloads import build_payloads

from vedette.domain.envelope import Envelope, parse_envelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.processing.privacy_settings import PrivacySettings, processing_config


def fifty_rules() -> str:
    rules = {
        f"pattern-{i}": {
            "type": "pattern",
            "pattern": rf"\bORD-{i:02d}\d{{4,}}\b",
            "redaction": {"method": "replace", "text": "[order]"},
        }
        for i in range(20)
    }
    selectors = [
        "$string", "extra.**", "$frame.vars", "$http.headers.x-request-id", "$breadcrumb.**"
    ]  # fmt: skip
    applications: dict[str, list[str]] = {}
    for index, name in enumerate(rules):
        applications.setdefault(selectors[index % len(selectors)], []).append(name)
    builtins = ["@ip:replace", "@email:mask", "@creditcard:mask", "@iban:replace", "@mac:mask",
                "@uuid:hash", "@imei:replace", "@usssn:mask", "@userpath:replace", "@pemkey",
                "@urlauth", "@bearer", "@jwt", "@stripe-key", "@aws-access-key-id",
                "@github-token", "@slack-webhook", "@password:remove", "@anything:remove",
                "@email:hash", "@ip:hash", "@creditcard:replace", "@iban:mask", "@mac:replace",
                "@uuid:replace", "@usssn:replace", "@npm-token", "@pypi-token", "@sendgrid-key",
                "@twilio-key"]  # fmt: skip
    places = ["$string", "extra.**", "$frame.vars", "user.email", "contexts.**", "$http.headers"]
    for index, rule in enumerate(builtins):
        place = "extra.secret_note" if rule == "@anything:remove" else places[index % len(places)]
        applications.setdefault(place, []).append(rule)
    assert len(rules) + len(builtins) == 50
    return orjson.dumps({"rules": rules, "applications": applications}).decode()


def small_event() -> bytes:
    event = {
        "event_id": "b" * 32,
        "platform": "python",
        "level": "warning",
        "message": "checkout slow for order ORD-0712345 from 10.0.0.7",
        "tags": {"region": "eu", "shop": "main"},
        "extra": {"order": "ORD-0712345", "items": 3, "note": "leave at door"},
        "request": {
            "url": "https://shop.example/checkout?step=2",
            "method": "POST",
            "headers": {"User-Agent": "Mozilla/5.0", "X-Request-Id": "r-1", "Accept": "*/*"},
        },
        "breadcrumbs": {
            "values": [
                {"category": "http", "message": f"GET /api/items/{i}", "data": {"status": 200}}
                for i in range(10)
            ]
        },
        "user": {"id": "u-1", "email": "ada@example.com"},
    }
    body = orjson.dumps(event)
    return b'{"event_id":"' + b"b" * 32 + b'"}\n{"type":"event","length":%d}\n' % len(body) + body


def envelopes() -> dict[str, Envelope]:
    error = build_payloads()["error"]
    return {
        "real-SDK error (50 KB, 20 frames)": parse_envelope(gzip.decompress(error.body)),
        "small message event": parse_envelope(small_event()),
    }


def cpu_per_event(envelope: Envelope, config: ProcessingConfig, events: int) -> float:
    start = time.process_time()
    for _ in range(events):
        process_envelope(envelope, 1_795_885_543.0, "198.51.100.7", config)
    return (time.process_time() - start) / events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    defaults = processing_config(None, None)
    with_rules = processing_config(None, PrivacySettings(relay_pii_config=fifty_rules()).to_api())
    assert len(with_rules.scrub.advanced[0].applications) > 5
    print("| payload | defaults | 50 advanced rules | cost of the rules |")
    print("| --- | ---: | ---: | ---: |")
    for name, envelope in envelopes().items():
        plain: list[float] = []
        ruled: list[float] = []
        cpu_per_event(envelope, with_rules, 20)  # warm the caches of both
        cpu_per_event(envelope, defaults, 20)
        for _ in range(args.rounds):
            plain.append(cpu_per_event(envelope, defaults, args.events))
            ruled.append(cpu_per_event(envelope, with_rules, args.events))
        a, b = statistics.median(plain), statistics.median(ruled)
        print(f"| {name} | {a * 1000:.3f} ms | {b * 1000:.3f} ms | {(b / a - 1) * 100:+.1f} % |")


if __name__ == "__main__":
    main()
