"""Several `vedette serve` processes on one PostgreSQL: nothing lost, doubled or split."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.conftest import BACKENDS, LiveVedette, fresh_database_url
from tests.retime import retime

from vedette.storage.schema import events, groups

CORPORA = Path(__file__).parents[1] / "fixtures" / "corpora"
TEMPLATE = retime((CORPORA / "sdk-python" / "error_zero_division.envelope").read_bytes())
TEMPLATE_ID = b"48ff7871266a4a838ea1b6f0bffcf293"

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="scale-out is the PostgreSQL layout"
)


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[LiveVedette, LiveVedette]]:
    for url in fresh_database_url("postgresql", tmp_path, migrated=True):
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first = LiveVedette(url, tmp_path / "a", "postgresql")
        second = LiveVedette(url, tmp_path / "b", "postgresql")
        try:
            first.start(worker_batch_size="10")
            second.start(worker_batch_size="10")
            yield first, second
        finally:
            first.close()
            second.close()


def test_two_processes_share_one_database(two_servers: tuple[LiveVedette, LiveVedette]) -> None:
    first, second = two_servers
    project = first.create_project()
    headers = {"X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7"}
    sent: list[str] = []
    lock = threading.Lock()

    def send(server: LiveVedette, count: int) -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for _ in range(count):
                event_id = uuid.uuid4().hex
                body = TEMPLATE.replace(TEMPLATE_ID, event_id.encode())
                response = client.post(
                    f"/api/{project.id}/envelope/", content=body, headers=headers
                )
                assert response.status_code == 200
                with lock:
                    sent.append(event_id)

    threads = [threading.Thread(target=send, args=(s, 150)) for s in (first, second, first)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.wait_processed(timeout=60)

    with first.db.read() as conn:
        stored = dict(
            conn.execute(
                select(events.c.event_id, func.count())
                .where(events.c.project_id == project.id)
                .group_by(events.c.event_id)
            ).all()
        )
        issue_count = conn.execute(
            select(func.count()).select_from(groups).where(groups.c.project_id == project.id)
        ).scalar_one()
    assert set(stored) == set(sent)
    assert set(stored.values()) == {1}
    assert issue_count == 1, "concurrent workers agree on one issue for one hash"
    [issue] = second.issues(project)
    assert issue["count"] == str(len(sent))
