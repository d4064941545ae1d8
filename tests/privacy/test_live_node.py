"""The real @sentry/node against a live server: credentials in extra, contexts, breadcrumbs,
request headers, the query string, cookies and the exception's value are not stored, and
look-alikes are stored intact, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from tests.conftest import LiveVedette, ProjectHandle
from tests.privacy.corpus import LOOKALIKES, SECRET_CORES, SECRETS
from tests.privacy.test_live_sdk import chunks, stored, without_meta

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
NODE_MODULES = HERE.parents[0] / "e2e" / "sdk_scenarios" / "node" / "node_modules"


def send(project: ProjectHandle, maps: list[dict[str, str]]) -> list[str]:
    """One event per map of values, from one @sentry/node process; their ids."""
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "@sentry" / "node").is_dir():
        pytest.skip("needs node and @sentry/node: `npm ci` in tests/e2e/sdk_scenarios/node")
    run = subprocess.run(
        [node, str(HERE / "node_secrets.cjs"), project.dsn, orjson.dumps(maps).decode()],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


# Scrubbing happens before storage: one engine tells all.
@pytest.mark.parametrize("live_vedette", ["sqlite"], indirect=True)
def test_no_credential_sent_by_node_is_stored(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    maps = chunks(SECRETS)
    for chunk, event_id in zip(maps, send(project, maps), strict=True):
        event = stored(live_vedette, project, event_id)
        body = without_meta(event)
        encoded = {name: orjson.dumps(SECRET_CORES[name]).decode()[1:-1] for name in chunk}
        assert [name for name, core in encoded.items() if core in body] == []
        assert len(event["extra"]) == len(chunk)


@pytest.mark.parametrize("live_vedette", ["sqlite"], indirect=True)
def test_lookalikes_sent_by_node_are_stored_intact(live_vedette: LiveVedette) -> None:
    project = live_vedette.create_project()
    maps = chunks(LOOKALIKES)
    for chunk, event_id in zip(maps, send(project, maps), strict=True):
        event = stored(live_vedette, project, event_id)
        assert {k.removeprefix("note_"): v for k, v in event["extra"].items()} == chunk
