"""A corpus of hostile requests against one live server: every one is answered (4xx for the
malformed, 200 for the legal-but-huge), good clients keep being served meanwhile, and the
server's memory stays bounded. ``bench/hostile.py`` prints the same run's figures."""

from __future__ import annotations

import gzip
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import brotli
import httpx
import orjson
import zstandard
from tests.conftest import LiveVedette, ProjectHandle
from tests.e2e.crash_stream import TEMPLATE, TEMPLATE_ID

BOMB = bytes(110 * 1024 * 1024)  # past the 100 MiB decompressed-envelope cap


def _event(payload: dict[str, object]) -> bytes:
    body = orjson.dumps(payload)
    return b"{}\n" + orjson.dumps({"type": "event", "length": len(body)}) + b"\n" + body


@dataclass(frozen=True)
class Hostile:
    name: str
    body: bytes
    expected: int
    headers: tuple[tuple[str, str], ...] = ()


def corpus() -> list[Hostile]:
    nested = b"[" * 100_000 + b"]" * 100_000
    return [
        Hostile("not an envelope", b"\x00\xff garbage", 400),
        Hostile("truncated item", b'{}\n{"type":"event","length":500}\n{"message":"x"}', 400),
        Hostile(
            "wrong length, too short", b'{}\n{"type":"event","length":3}\n{"message":"x"}\n', 400
        ),
        Hostile("invalid JSON header", b'{"event_id":\n{"type":"event"}\n{}\n', 400),
        Hostile("invalid UTF-8 header", b'{"event_id":"\xff\xfe"}\n{"type":"event"}\n{}\n', 400),
        # Items are read by the worker: these three are acknowledged, then counted invalid.
        Hostile("invalid JSON item", b'{}\n{"type":"event"}\n{"message": nope}\n', 200),
        Hostile("invalid UTF-8 item", b'{}\n{"type":"event"}\n{"message":"\xc3\x28"}\n', 200),
        Hostile("deep nesting", b'{}\n{"type":"event"}\n' + nested + b"\n", 200),
        Hostile("10,000 tags", _event({"tags": {f"k{i}": "v" * 50 for i in range(10_000)}}), 200),
        Hostile("1 MB string", _event({"message": "x" * 1_000_000}), 200),
        Hostile("event over 1 MiB", _event({"message": "x" * 1_100_000}), 413),
        Hostile("gzip bomb", gzip.compress(BOMB, 6), 413, (("Content-Encoding", "gzip"),)),
        Hostile(
            "brotli bomb", brotli.compress(BOMB, quality=1), 413, (("Content-Encoding", "br"),)
        ),
        Hostile(
            "zstd bomb",
            zstandard.ZstdCompressor(level=1).compress(BOMB),
            413,
            (("Content-Encoding", "zstd"),),
        ),
        Hostile("corrupt gzip", b"\x1f\x8b\x08\x00garbage", 400, (("Content-Encoding", "gzip"),)),
        Hostile("unknown encoding", b"{}\n", 415, (("Content-Encoding", "lzma"),)),
        Hostile("21 MiB body", b"x" * (21 * 1024 * 1024), 413),
        Hostile("bad auth", _event({"message": "x"}), 401, (("X-Sentry-Auth", "Sentry nope"),)),
    ]


def peak_memory_kib(pid: int) -> int:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def raw_request(port: int, head: bytes, body_parts: list[bytes], timeout: float) -> bytes:
    """Send ``head`` and the body parts over a plain socket; return the status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        for part in body_parts:
            sock.sendall(part)
        return sock.makefile("rb").readline()


class GoodClient:
    """Sends ordinary events while the corpus runs, one every 20 ms (a steady client, not a
    flood competing with the corpus for the CPU); counts what got a 200."""

    def __init__(self, server: LiveVedette, project: ProjectHandle) -> None:
        self._server, self._project = server, project
        self._stop = threading.Event()
        self.statuses: list[int] = []
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        headers = {"X-Sentry-Auth": f"Sentry sentry_key={self._project.public_key}"}
        with httpx.Client(base_url=self._server.base_url, timeout=30) as client:
            while not self._stop.is_set():
                body = TEMPLATE.replace(TEMPLATE_ID, uuid.uuid4().hex.encode())
                response = client.post(
                    f"/api/{self._project.id}/envelope/", content=body, headers=headers
                )
                self.statuses.append(response.status_code)
                self._stop.wait(0.02)

    def __enter__(self) -> GoodClient:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_corpus(server: LiveVedette, project: ProjectHandle) -> list[tuple[str, int, int]]:
    """Post every hostile request (each must be answered: the client's timeout bounds it);
    returns (case, expected status, answered status) per request."""
    outcomes = []
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"}
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        for case in corpus():
            headers = {**auth, **dict(case.headers)}
            response = client.post(
                f"/api/{project.id}/envelope/", content=case.body, headers=headers
            )
            outcomes.append((case.name, case.expected, response.status_code))
    return outcomes


def test_hostile_corpus_is_answered_while_good_clients_are_served(
    own_server: LiveVedette,
) -> None:
    own_server.start(body_timeout_seconds="2")
    project = own_server.create_project()
    assert own_server.process is not None
    port, pid = own_server.port, own_server.process.pid
    auth = f"X-Sentry-Auth: Sentry sentry_key={project.public_key}\r\n".encode()

    with GoodClient(own_server, project) as good:
        outcomes = run_corpus(own_server, project)
        # Slowloris: announce 1,000 bytes, send 10 and stall; the body deadline answers 408.
        head = (
            (
                f"POST /api/{project.id}/envelope/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
            ).encode()
            + auth
            + b"\r\n"
        )
        status = raw_request(port, head, [b'{}\n{"type"'], timeout=30)
        outcomes.append(("slowloris body", 408, int(status.split()[1])))
        # 100 KiB of headers: refused by the HTTP layer, the connection closed.
        huge = b"X-Padding: " + b"a" * 100 * 1024 + b"\r\n"
        head = f"POST /api/{project.id}/envelope/ HTTP/1.1\r\nHost: x\r\n".encode() + huge
        status = raw_request(port, head + b"Content-Length: 0\r\n\r\n", [], timeout=30)
        outcomes.append(("100 KiB header", 400, int(status.split()[1]) if status else 400))

    assert [(name, got) for name, expected, got in outcomes if got != expected] == []
    assert good.statuses and set(good.statuses) == {200}, "good clients were served throughout"
    own_server.wait_processed(timeout=60)
    stats = own_server.api_get(f"/api/0/projects/{project.org}/{project.slug}/stats/")
    assert stats["invalid"] == {"error": 3}  # the three unreadable items, nothing else
    # Bombs are stopped by bytes: the server never held a decompressed bomb (110 MiB).
    assert peak_memory_kib(pid) < 400 * 1024
