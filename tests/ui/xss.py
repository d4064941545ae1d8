"""An XSS corpus placed in every event field the UI shows, as raw envelopes for real ingest.

Each payload sets ``window.__xss`` and opens a dialog if it ever runs; the browser test listens
for both. ``MARK`` lets the test find the payload text on a page (it must be shown as text).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

MARK = "xssmark"
PAYLOADS = [
    f'<script>window.__xss=1;alert("{MARK}1")</script>',
    f'"><img src=x onerror="window.__xss=2;alert(\'{MARK}2\')">',
    f"'><svg onload=\"window.__xss=3;alert('{MARK}3')\">",
    f"javascript:window.__xss=4;alert('{MARK}4')",
    f"<svg><script>window.__xss=5;alert('{MARK}5')</script></svg>",
    f'<a href="javascript:window.__xss=6;alert(6)">{MARK}6</a>',
    f"</pre></code></textarea></title><script>window.__xss=7;alert('{MARK}7')</script>",
    f"<iframe srcdoc=\"<script>parent.__xss=8;alert('{MARK}8')</script>\"></iframe>",
    f"<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=9>{MARK}9",
    f"{{{{ 7*7 }}}} {{% if 1 %}}{MARK}10{{% endif %}}",  # template text, never evaluated
]
EVERYTHING = " ".join(PAYLOADS)
# Releases may not contain '/' or '\\'; environments neither, nor spaces (Sentry's rules).
RELEASE = f'"><img src=x onerror=window.__xss=11;alert(11)>{MARK}11'
ENVIRONMENT = f'"><svg\tonload=window.__xss=12;alert(12)>{MARK}12'
JS_URL = "javascript:window.__xss=13;alert(document.domain)//"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _p(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


def _frame(i: int, in_app: bool) -> dict[str, Any]:
    return {
        "filename": _p(i),
        "abs_path": _p(i + 1),
        "module": _p(i + 2),
        "function": _p(i + 3),
        "lineno": 10 + i,
        "colno": 3,
        "in_app": in_app,
        "package": _p(i + 4),
        "context_line": _p(i + 5),
        "pre_context": [_p(i + 6), _p(i + 7)],
        "post_context": [_p(i + 8), _p(i + 9)],
        "vars": {
            "payload": EVERYTHING,
            _p(i): _p(i + 1),
            "nested": {"list": [_p(i + 2), {"deep": _p(i + 3)}], "url": JS_URL},
        },
    }


def error_event(event_id: str, trace_id: str, now: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "timestamp": now,
        "platform": "python",
        "level": "error",
        "logger": _p(0),
        "server_name": _p(1),
        "release": RELEASE,
        "environment": ENVIRONMENT,
        "transaction": _p(2),
        "culprit": _p(3),
        "logentry": {"formatted": EVERYTHING},
        "exception": {
            "values": [
                {
                    "type": _p(4),
                    "value": EVERYTHING,
                    "module": _p(5),
                    "mechanism": {"type": _p(6), "handled": False},
                    "stacktrace": {"frames": [_frame(0, False), _frame(1, True)]},
                },
                {
                    "type": f"XssError{MARK}",
                    "value": _p(7),
                    "stacktrace": {"frames": [_frame(2, True)]},
                },
            ]
        },
        "threads": {
            "values": [
                {
                    "id": 1,
                    "name": _p(8),
                    "crashed": True,
                    "stacktrace": {"frames": [_frame(3, True)]},
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {
                    "timestamp": now - 1,
                    "type": _p(9),
                    "category": _p(0),
                    "level": "error",
                    "message": EVERYTHING,
                    "data": {"url": JS_URL, _p(1): _p(2)},
                },
                {
                    "timestamp": now - 0.5,
                    "type": "http",
                    "category": "httpx",
                    "data": {"url": JS_URL, "method": _p(3)},
                },
            ]
        },
        "request": {
            "url": JS_URL,
            "method": "GET",
            "query_string": [[_p(0), _p(1)]],
            "headers": [[_p(2), _p(3)], ["Referer", JS_URL]],
            "cookies": {_p(4): _p(5)},
            "data": {"form": EVERYTHING},
            "env": {"REMOTE_ADDR": "127.0.0.1", _p(6): _p(7)},
        },
        "user": {"id": _p(8), "email": _p(9), "username": _p(0), "name": JS_URL},
        "tags": {f"xss{i}": _p(i) for i in range(len(PAYLOADS))} | {_p(1)[:150]: "key"},
        "contexts": {
            "trace": {"trace_id": trace_id, "span_id": uuid.uuid4().hex[:16], "op": _p(2)},
            "runtime": {"name": _p(3), "version": _p(4)},
            "os": {"name": _p(5), "version": _p(6)},
            _p(7)[:60]: {"type": _p(8), "value": EVERYTHING, "homepage": JS_URL},
        },
        "extra": {"payload": EVERYTHING, _p(9): JS_URL},
        "fingerprint": [f"xss-{event_id}"],
        "sdk": {
            "name": _p(0),
            "version": _p(1),
            "integrations": [_p(2), _p(3)],
            "packages": [{"name": _p(4), "version": _p(5)}],
        },
    }


def transaction_event(event_id: str, trace_id: str, now: float) -> dict[str, Any]:
    root = uuid.uuid4().hex[:16]
    start = now - 0.5
    spans = []
    for i in range(6):  # an N+1: the same statement six times in a row
        spans.append(
            {
                "trace_id": trace_id,
                "span_id": uuid.uuid4().hex[:16],
                "parent_span_id": root,
                "op": "db",
                # The same statement each time (so one query group), payload included.
                "description": f"SELECT * FROM t WHERE note = '{MARK}' /* {_p(0)} */",
                "start_timestamp": start + 0.01 * i,
                "timestamp": start + 0.01 * i + 0.005,
                "data": {"db.system": _p(i + 1), "url": JS_URL},
            }
        )
    spans.append(
        {
            "trace_id": trace_id,
            "span_id": uuid.uuid4().hex[:16],
            "parent_span_id": root,
            "op": _p(3)[:60],
            "description": EVERYTHING,
            "status": "internal_error",
            "start_timestamp": start + 0.1,
            "timestamp": start + 0.3,
        }
    )
    return {
        "event_id": event_id,
        "type": "transaction",
        "platform": "python",
        "transaction": f"GET /xss/{MARK}" + _p(0)[:80],
        "transaction_info": {"source": "custom"},
        "start_timestamp": start,
        "timestamp": now,
        "release": RELEASE,
        "environment": ENVIRONMENT,
        "contexts": {
            "trace": {
                "trace_id": trace_id,
                "span_id": root,
                "op": "http.server",
                "status": "ok",
                "description": _p(4),
            },
        },
        "tags": {"xss": _p(5)},
        "spans": spans,
        "user": {"id": _p(6)},
        "request": {"url": JS_URL, "method": "GET"},
    }


def envelope(item_type: str, payload: dict[str, Any]) -> bytes:
    body = orjson.dumps(payload)
    header = {"event_id": payload["event_id"], "sent_at": _iso(time.time())}
    return b"\n".join(
        [orjson.dumps(header), orjson.dumps({"type": item_type, "length": len(body)}), body]
    )


def corpus_envelopes() -> tuple[list[bytes], str, str, str]:
    """(envelopes, error event id, transaction event id, trace id), timestamps of now."""
    now = time.time()
    trace_id = uuid.uuid4().hex
    error_id, transaction_id = uuid.uuid4().hex, uuid.uuid4().hex
    check_in = {
        "check_in_id": uuid.uuid4().hex,
        "monitor_slug": "xss-" + MARK,
        "status": "error",
        "environment": ENVIRONMENT,
        "monitor_config": {"schedule": {"type": "crontab", "value": "0 * * * *"}},
    }
    check_in_envelope = b"\n".join(
        [
            orjson.dumps({}),
            orjson.dumps({"type": "check_in"}),
            orjson.dumps(check_in),
        ]
    )
    session = {
        "sid": uuid.uuid4().hex,
        "did": _p(1)[:60],
        "init": True,
        "started": _iso(now),
        "status": "crashed",
        "errors": 1,
        "attrs": {"release": RELEASE, "environment": ENVIRONMENT},
    }
    session_envelope = b"\n".join(
        [orjson.dumps({}), orjson.dumps({"type": "session"}), orjson.dumps(session)]
    )
    return (
        [
            envelope("event", error_event(error_id, trace_id, now)),
            envelope("transaction", transaction_event(transaction_id, trace_id, now)),
            check_in_envelope,
            session_envelope,
        ],
        error_id,
        transaction_id,
        trace_id,
    )
