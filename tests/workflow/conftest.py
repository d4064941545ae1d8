"""A server that sends email to a real SMTP receiver on loopback, shared by the workflow tests
that read mail (one per xdist worker; SQLite: the outbox's locking is tested on both engines
with the alerts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.alerts.receivers import Mail, SmtpReceiver
from tests.conftest import LiveVedette, fresh_database_url


def text_of(mail: Mail) -> str:
    part = mail.message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def mail_server(
    tmp_path_factory: pytest.TempPathFactory, smtp: SmtpReceiver
) -> Iterator[LiveVedette]:
    data_dir = tmp_path_factory.mktemp("workflow-mail")
    for url in fresh_database_url("sqlite", data_dir, migrated=True):
        server = LiveVedette(url, data_dir, "sqlite")
        server.start(smtp_url=smtp.url(), email_from="vedette@example.test",
                     notification_retry_seconds="0.2")  # fmt: skip
        try:
            yield server
        finally:
            server.close()
