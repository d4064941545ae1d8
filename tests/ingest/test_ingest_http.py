"""The ingest edge over real HTTP against a live server: auth, encodings, caps, CORS, answers."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator
from pathlib import Path

import brotli
import httpx
import orjson
import pytest
import zstandard
from tests.conftest import LiveVedette, ProjectHandle
from tests.waiting import wait_for

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
ERROR_ENVELOPE = (CORPORA / "sdk-python" / "error_zero_division.envelope").read_bytes()


def auth_header(project: ProjectHandle) -> dict[str, str]:
    return {
        "X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7, "
        "sentry_client=sentry.python/2.75.0"
    }


def fresh_error(event_id: str | None = None) -> tuple[bytes, str]:
    """The captured error envelope with a new event id (header and payload)."""
    event_id = event_id or uuid.uuid4().hex
    old = b"48ff7871266a4a838ea1b6f0bffcf293"
    return ERROR_ENVELOPE.replace(old, event_id.encode()), event_id


def post(
    client: httpx.Client, project: ProjectHandle, body: bytes, **headers: str
) -> httpx.Response:
    return client.post(
        f"/api/{project.id}/envelope/", content=body, headers={**auth_header(project), **headers}
    )


def test_accepts_and_stores_a_gzip_envelope(
    live_vedette: LiveVedette, project: ProjectHandle, client: httpx.Client
) -> None:
    body, event_id = fresh_error()
    response = post(client, project, gzip.compress(body), **{"Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.json() == {"id": event_id}
    assert response.headers["access-control-allow-origin"] == "*"
    live_vedette.wait_processed()
    event = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/events/{event_id}/")
    assert event["eventID"] == event_id
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("deflate", lambda b: __import__("zlib").compress(b)),
        ("br", brotli.compress),
        ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_other_encodings(
    project: ProjectHandle, client: httpx.Client, encoding: str, encode: object
) -> None:
    body, event_id = fresh_error()
    response = post(client, project, encode(body), **{"Content-Encoding": encoding})  # type: ignore[operator]
    assert response.status_code == 200, response.text
    assert response.json() == {"id": event_id}


def test_node_style_query_auth_chunked_without_content_type(
    live_vedette: LiveVedette, project: ProjectHandle, client: httpx.Client
) -> None:
    body, event_id = fresh_error()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 700):
            yield body[start : start + 700]

    response = client.post(
        f"/api/{project.id}/envelope/",
        params={"sentry_version": "7", "sentry_key": project.public_key,
                "sentry_client": "sentry.javascript.node/11.12.0"},
        content=chunks(),
    )  # fmt: skip
    assert "content-length" not in response.request.headers
    assert response.status_code == 200, response.text
    live_vedette.wait_processed()
    live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/events/{event_id}/")


def test_envelope_header_dsn_authenticates_alone(
    project: ProjectHandle, client: httpx.Client
) -> None:
    body, _ = fresh_error()
    header, rest = body.split(b"\n", 1)
    with_dsn = orjson.dumps({**orjson.loads(header), "dsn": project.dsn}) + b"\n" + rest
    response = client.post(f"/api/{project.id}/envelope/", content=with_dsn)
    assert response.status_code == 200, response.text


def test_cors_preflight(project: ProjectHandle, client: httpx.Client) -> None:
    response = client.options(
        f"/api/{project.id}/envelope/",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-sentry-auth" in response.headers["access-control-allow-headers"]
    assert "POST" in response.headers["access-control-allow-methods"]


def test_store_endpoint_wraps_a_json_event(
    live_vedette: LiveVedette, project: ProjectHandle, client: httpx.Client
) -> None:
    event_id = uuid.uuid4().hex
    event = {"event_id": event_id, "message": "legacy store endpoint", "level": "warning"}
    response = client.post(
        f"/api/{project.id}/store/", content=orjson.dumps(event), headers=auth_header(project)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"id": event_id}
    live_vedette.wait_processed()
    stored = live_vedette.api_get(
        f"/api/0/projects/{project.org}/{project.slug}/events/{event_id}/"
    )
    assert stored["level"] == "warning"


def rejected(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers.get("x-sentry-error"), "Sentry-style error header"
    assert response.json()["detail"]
    assert response.headers["access-control-allow-origin"] == "*"


def test_missing_auth_is_401(project: ProjectHandle, client: httpx.Client) -> None:
    rejected(client.post(f"/api/{project.id}/envelope/", content=fresh_error()[0]), 401)


def test_duplicate_auth_is_401(project: ProjectHandle, client: httpx.Client) -> None:
    response = client.post(
        f"/api/{project.id}/envelope/",
        params={"sentry_key": project.public_key},
        content=fresh_error()[0],
        headers=auth_header(project),
    )
    rejected(response, 401)


def test_unknown_key_is_403(project: ProjectHandle, client: httpx.Client) -> None:
    stranger = ProjectHandle(project.org, project.slug, project.id, "", uuid.uuid4().hex)
    rejected(post(client, stranger, fresh_error()[0]), 403)


def test_malformed_key_is_400(project: ProjectHandle, client: httpx.Client) -> None:
    bad = ProjectHandle(project.org, project.slug, project.id, "", "not-a-key")
    rejected(post(client, bad, fresh_error()[0]), 400)


def test_key_of_another_project_is_403(
    live_vedette: LiveVedette, project: ProjectHandle, client: httpx.Client
) -> None:
    other = live_vedette.create_project()
    response = client.post(
        f"/api/{other.id}/envelope/", content=fresh_error()[0], headers=auth_header(project)
    )
    rejected(response, 403)


def test_non_numeric_project_id_is_400(project: ProjectHandle, client: httpx.Client) -> None:
    response = client.post(
        "/api/shop/envelope/", content=fresh_error()[0], headers=auth_header(project)
    )
    rejected(response, 400)


def test_disabled_key_is_403(live_vedette: LiveVedette, client: httpx.Client) -> None:
    project = live_vedette.create_project()
    assert post(client, project, fresh_error()[0]).status_code == 200
    live_vedette.api_put(
        f"/api/0/projects/{project.org}/{project.slug}/keys/{project.public_key}/",
        {"isActive": False},
    )
    rejected(post(client, project, fresh_error()[0]), 403)


@pytest.mark.parametrize(
    "body",
    [
        b"this is not an envelope",
        b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"event","length":9999}\n{}\n',
        b'{}\n{"length":2}\n{}\n',
    ],
    ids=["garbage", "length past end", "item without type"],
)
def test_malformed_envelopes_are_400(
    project: ProjectHandle, client: httpx.Client, body: bytes
) -> None:
    rejected(post(client, project, body), 400)


def test_corrupt_gzip_is_400(project: ProjectHandle, client: httpx.Client) -> None:
    rejected(post(client, project, b"\x1f\x8b\x08garbage", **{"Content-Encoding": "gzip"}), 400)


def test_gzip_bomb_is_413(project: ProjectHandle, client: httpx.Client) -> None:
    bomb = gzip.compress(bytes(110 * 1024 * 1024), 6)  # 110 MiB > the 100 MiB envelope cap
    assert len(bomb) < 200 * 1024
    rejected(post(client, project, bomb, **{"Content-Encoding": "gzip"}), 413)


def test_oversized_body_is_413(project: ProjectHandle, client: httpx.Client) -> None:
    rejected(post(client, project, b"x" * (21 * 1024 * 1024)), 413)


def test_oversized_event_item_is_413(project: ProjectHandle, client: httpx.Client) -> None:
    payload = orjson.dumps({"message": "x" * (1024 * 1024 + 10)})
    body = b"{}\n" + orjson.dumps({"type": "event", "length": len(payload)}) + b"\n" + payload
    rejected(post(client, project, body), 413)


def test_invalid_item_does_not_poison_the_envelope(
    live_vedette: LiveVedette, client: httpx.Client
) -> None:
    project = live_vedette.create_project()
    body, event_id = fresh_error()
    poisoned = body + b'{"type":"session"}\n{this is not json}\n'
    assert post(client, project, poisoned).status_code == 200
    live_vedette.wait_processed()
    live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/events/{event_id}/")
    stats = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
    assert stats["accepted"]["error"] == 1
    assert stats["invalid"]["session"] == 1


def test_an_envelope_of_unreadable_json_items_is_acknowledged_and_counted_invalid(
    live_vedette: LiveVedette, client: httpx.Client
) -> None:
    """Items are read by the worker, as Relay reads them after answering: the request checks
    only the envelope's framing, and an item that does not read becomes an invalid outcome."""
    project = live_vedette.create_project()
    body = b'{}\n{"type":"event"}\n{not json}\n{"type":"transaction"}\n[1, 2]\n'
    assert post(client, project, body).status_code == 200
    live_vedette.wait_processed()
    stats = live_vedette.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
    assert stats["invalid"] == {"error": 1, "transaction": 1}
    assert "accepted" not in stats


def test_server_keeps_serving_after_abuse(
    live_vedette: LiveVedette, project: ProjectHandle, client: httpx.Client
) -> None:
    for _ in range(3):
        post(client, project, b"\x1f\x8b garbage", **{"Content-Encoding": "gzip"})
        post(client, project, b"{}\n{\n")
    body, event_id = fresh_error()
    assert post(client, project, body).json() == {"id": event_id}


def test_metrics_count_accepted_and_rejected(
    live_vedette: LiveVedette, project: ProjectHandle, client: httpx.Client
) -> None:
    def counters() -> dict[str, float]:
        text = client.get("/metrics").text
        return {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }

    before = counters()
    assert post(client, project, fresh_error()[0]).status_code == 200
    assert post(client, project, b"garbage").status_code == 400
    after = counters()
    accepted = "vedette_ingest_accepted_envelopes_total"
    bad = 'vedette_ingest_rejected_total{reason="bad_request"}'
    assert after[accepted] == before[accepted] + 1
    assert after[bad] == before.get(bad, 0) + 1
    assert "vedette_spool_depth" in after
    assert after["vedette_database_bytes"] > 0

    live_vedette.wait_processed()
    # The worker counts a batch once it has committed it, just after the spool shows it done.
    entries = "vedette_worker_entries_total"
    processed = wait_for(lambda: (c := counters())[entries] >= before[entries] + 1 and c)
    assert processed[entries] >= before[entries] + 1, "the worker's batches are counted"
    assert processed["vedette_worker_batches_total"] >= 1
    assert processed["vedette_worker_batch_seconds_total"] > 0
