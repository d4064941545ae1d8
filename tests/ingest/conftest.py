"""Fixtures of the ingest tests that talk to the session's live server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.conftest import LiveVedette, ProjectHandle


@pytest.fixture(scope="module")
def project(live_vedette: LiveVedette) -> ProjectHandle:
    return live_vedette.create_project()


@pytest.fixture
def client(live_vedette: LiveVedette) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_vedette.base_url, timeout=30) as c:
        yield c
