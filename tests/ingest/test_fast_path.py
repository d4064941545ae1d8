"""The ingest paths are served as plain ASGI, ahead of Starlette (issue 18): the same answers as
when Starlette routed them, every other path still Starlette's, and a client that hangs up is
counted rather than logged as an error of the application."""

from __future__ import annotations

import asyncio
import gzip
import socket
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.ingest.test_ingest_http import auth_header, fresh_error
from tests.waiting import wait_for

from vedette.app import create_app
from vedette.ingest.routes import header_value
from vedette.settings import Settings

CORS_ORIGIN = ("access-control-allow-origin", "*")
CORS_EXPOSE = ("access-control-expose-headers", "x-sentry-error, x-sentry-rate-limits, retry-after")
INGEST_PATHS = [
    "/api/1/envelope/", "/api/1/envelope", "/api/1/store/", "/api/1/store",
    "/api/1/integration/otlp/v1/traces", "/api/1/integration/otlp/v1/traces/",
    "/api/1/integration/otlp/v1/logs", "/api/1/integration/otlp/v1/logs/",
    "/api/shop/envelope/",  # a 400 of ingest's own
]  # fmt: skip
OTHER_PATHS = [
    "/_health/", "/metrics", "/api/0/", "/api/1/envelopes/", "/api/1/envelope/x", "/api//envelope/",
    "/api/1/integration/otlp/v1/metrics", "/api/1/envelope//", "/api1/envelope/",
]  # fmt: skip


def reached_starlette(app: Any, method: str, path: str) -> bool:
    """Whether Starlette's router saw the request (it marks the scope with itself)."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1")],
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    asyncio.run(app(scope, receive, send))
    return "router" in scope


def test_ingest_paths_skip_starlette_and_others_do_not(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, worker_enabled=False))
    for path in INGEST_PATHS:
        for method in ("POST", "OPTIONS", "GET"):
            assert not reached_starlette(app, method, path), (method, path)
    for path in OTHER_PATHS:
        assert reached_starlette(app, "POST", path), path


def test_answers_as_before(
    live_vedette: LiveVedette, project: ProjectHandle, client: httpx.Client
) -> None:
    """Status, headers and body as Starlette's routes and responses gave them."""
    body, event_id = fresh_error()
    accepted = client.post(
        f"/api/{project.id}/envelope", content=body, headers=auth_header(project)
    )
    assert accepted.status_code == 200
    assert accepted.content == b'{"id":"%s"}' % event_id.encode()
    assert sorted(accepted.headers.items()) == sorted(
        [CORS_ORIGIN, CORS_EXPOSE, ("content-type", "application/json"),
         ("content-length", str(len(accepted.content))), *server_headers(accepted)]
    )  # fmt: skip

    refused = client.post(f"/api/{project.id}/envelope/", content=body)
    assert refused.status_code == 401
    assert refused.content == b'{"detail":"missing authorization information"}'
    assert sorted(refused.headers.items()) == sorted(
        [CORS_ORIGIN, CORS_EXPOSE, ("content-type", "application/json"),
         ("content-length", str(len(refused.content))),
         ("x-sentry-error", "missing authorization information"), *server_headers(refused)]
    )  # fmt: skip

    preflight = client.options(f"/api/{project.id}/store/")
    assert (preflight.status_code, preflight.content) == (200, b"")
    assert preflight.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert preflight.headers["access-control-max-age"] == "3600"
    assert preflight.headers["content-length"] == "0"

    for method in ("GET", "PUT", "DELETE"):
        other = client.request(method, f"/api/{project.id}/envelope/")
        assert (other.status_code, other.text) == (405, "Method Not Allowed")
        assert other.headers["content-type"] == "text/plain; charset=utf-8"
        assert {m.strip() for m in other.headers["allow"].split(",")} == {"POST", "OPTIONS"}

    assert client.post(f"/api/{project.id}/envelopes/", content=body).status_code == 404
    assert client.get("/_health/").json() == {"ok": True}


def server_headers(response: httpx.Response) -> list[tuple[str, str]]:
    """What uvicorn adds to every answer."""
    return [
        (name, response.headers[name]) for name in ("date", "server") if name in response.headers
    ]


def test_a_project_id_of_other_digits_is_a_400(
    project: ProjectHandle, client: httpx.Client
) -> None:
    """ "²" is a digit to ``str.isdigit`` but not to ``int``: it was a 500."""
    response = client.post(
        "/api/%C2%B2/envelope/", content=fresh_error()[0], headers=auth_header(project)
    )
    assert response.status_code == 400
    assert response.headers["x-sentry-error"] == "invalid project id in path"


def test_a_client_that_hangs_up_mid_body_is_counted_not_logged(
    live_vedette: LiveVedette, project: ProjectHandle, client: httpx.Client
) -> None:
    metric = 'vedette_ingest_rejected_total{reason="client_disconnected"}'

    def disconnected() -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith(metric + " "):
                return float(line.split(" ")[1])
        return 0.0

    before, log_size = disconnected(), live_vedette.log_path.stat().st_size
    head = (
        f"POST /api/{project.id}/envelope/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-Sentry-Auth: Sentry sentry_key={project.public_key}\r\n"
        "Content-Length: 100000\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", live_vedette.port), timeout=30) as sock:
        sock.sendall(head + b'{"event_id":')
    wait_for(lambda: disconnected() == before + 1)
    with live_vedette.log_path.open("rb") as log:
        log.seek(log_size)
        assert b"Exception in ASGI application" not in log.read()


@pytest.mark.parametrize(
    ("detail", "header"),
    [
        ("plain text", b"plain text"),
        ("\u4e8b\u4ef6 item of 13 bytes", b"\\u4e8b\\u4ef6 item of 13 bytes"),
        ("caf\u00e9", b"caf\\xe9"),
        ("a\r\nSet-Cookie: x", b"a\\r\\nSet-Cookie: x"),
        ("tab\there\x00", b"tab\\there\\x00"),
    ],
)
def test_an_error_header_escapes_what_the_client_sent(detail: str, header: bytes) -> None:
    assert header_value(detail) == header


def test_an_item_type_of_any_script_is_named_in_a_413_not_a_500(
    client: httpx.Client, project: ProjectHandle
) -> None:
    """The detail quotes the item's type, which is the client's text: it used to be encoded as
    latin-1 into the header, and a type in another script was a 500."""
    payload = bytes(12 * 1024 * 1024 + 1)  # past the 12 MiB limit of an unknown item type
    item = orjson.dumps({"type": "\u4e8b\u4ef6", "length": len(payload)})
    body = gzip.compress(b"{}\n" + item + b"\n" + payload + b"\n", 1)
    response = client.post(
        f"/api/{project.id}/envelope/",
        content=body,
        headers={**auth_header(project), "Content-Encoding": "gzip"},
    )
    assert response.status_code == 413
    assert response.headers["x-sentry-error"].startswith("\\u4e8b\\u4ef6 item of ")
    assert response.json()["detail"].startswith("\u4e8b\u4ef6 item of ")
