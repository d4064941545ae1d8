"""Alerts end to end: the real sentry-sdk sends to a live `vedette serve`, rules made with the
CLI and the API fire, and real receivers on loopback (HTTP, and SMTP through aiosmtpd) get the
notifications; a `kill -9` during a delivery still delivers after the restart."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from tests.alerts.receivers import HttpReceiver, Reply, SmtpReceiver
from tests.alerts.sdk import capture_error
from tests.conftest import BACKENDS, LiveVedette, ProjectHandle, fresh_database_url
from tests.waiting import wait_for

FAST_RETRIES = {"notification_retry_seconds": "0.2", "alerts_allow_private_targets": "true"}


def vedette_cli(server: LiveVedette, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "vedette", *args],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


class Checkout(Exception):
    pass


class Staging(Exception):
    pass


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def alert_server(
    tmp_path_factory: pytest.TempPathFactory, smtp: SmtpReceiver
) -> Iterator[LiveVedette]:
    """One server for the module (SQLite: the rules and channels cannot tell the engines
    apart; the outbox's locking is tested on both in test_dispatcher and below)."""
    data_dir = tmp_path_factory.mktemp("alerts-live")
    for url in fresh_database_url("sqlite", data_dir, migrated=True):
        server = LiveVedette(url, data_dir, "sqlite")
        server.start(smtp_url=smtp.url(), email_from="vedette@example.test", **FAST_RETRIES)
        try:
            yield server
        finally:
            server.close()


def rules_path(project: ProjectHandle) -> str:
    return f"/api/0/projects/{project.org}/{project.slug}/rules/"


def test_a_new_issue_notifies_webhook_email_and_slack_once(
    alert_server: LiveVedette, smtp: SmtpReceiver
) -> None:
    server = alert_server
    project = server.create_project()
    with HttpReceiver() as hooks:
        out = vedette_cli(
            server,
            "alert",
            "create",
            f"{project.org}/{project.slug}",
            "--name",
            "Checkout breaks",
            "--when",
            "new_issue",
            "--filter",
            "environment:production",
            "--notify",
            f"webhook:{hooks.url}/legacy",
            "--notify",
            "email:oncall@example.test",
            "--notify",
            f"slack:{hooks.url}/slack",
        )
        rule_id = out.strip().splitlines()[-1]
        assert rule_id.isdigit()
        # Staging does not match the filter.
        capture_error(project.dsn, Staging("card declined"), environment="staging")
        event_id = capture_error(
            project.dsn,
            Checkout("card declined"),
            environment="production",
            release="shop@2.1.0",
            tags={"tenant": "acme"},
        )
        wait_for(lambda: len(hooks.requests) >= 2 and smtp.mails)
        capture_error(project.dsn, Checkout("card declined"), environment="production")
        server.wait_processed()
        [issue] = [i for i in server.issues(project) if i["count"] == "2"]

        legacy = next(r for r in hooks.requests if r.path == "/legacy")
        body = orjson.loads(legacy.body)
        assert body["id"] == issue["id"]
        assert body["project"] == body["project_slug"] == project.slug
        assert body["project_name"] == project.slug
        assert body["message"] == issue["title"]
        assert body["culprit"] == issue["culprit"]
        assert body["level"] == "error"
        assert body["triggering_rules"] == ["Checkout breaks"]
        assert (
            body["url"] == f"{server.base_url}/p/{project.org}/{project.slug}/issues/{issue['id']}/"
        )
        assert body["event"]["event_id"] == event_id
        assert body["event"]["environment"] == "production"
        assert body["event"]["release"] == "shop@2.1.0"
        assert ["tenant", "acme"] in body["event"]["tags"]
        assert legacy.headers["x-vedette-notification-id"] == body["notification_id"]

        slack = orjson.loads(next(r for r in hooks.requests if r.path == "/slack").body)
        assert "Checkout" in slack["text"] and slack["blocks"]
        [mail] = smtp.mails
        assert mail.recipients == ["oncall@example.test"]
        assert "Checkout" in mail.message["Subject"]
        assert mail.message["X-Vedette-Notification-Id"]
        assert {part.get_content_type() for part in mail.message.walk()} >= {
            "text/plain",
            "text/html",
        }
        time.sleep(0.5)  # time for a wrong second notification to arrive (none may)
        assert len(hooks.requests) == 2 and len(smtp.mails) == 1

    history = server.api_get(f"{rules_path(project)}{rule_id}/group-history/")
    assert [(h["group"]["id"], h["count"]) for h in history] == [(issue["id"], 1)]
    deliveries = server.api_get(f"{rules_path(project)}{rule_id}/deliveries/")
    assert sorted(d["target"].split(":")[0] for d in deliveries) == ["email", "slack", "webhook"]
    assert {d["status"] for d in deliveries} == {"sent"}


def test_rules_api_and_a_receiver_that_fails_twice(alert_server: LiveVedette) -> None:
    server = alert_server
    project = server.create_project()
    with HttpReceiver() as hooks:
        hooks.script(Reply(503), Reply(503))
        headers = {"Authorization": f"Bearer {server.token}"}
        created = server.http.post(
            rules_path(project),
            json={
                "name": "Every error",
                "trigger": "frequency",
                "threshold": 1,
                "window": 600,
                "frequency": 1,
                "actions": [{"target": f"webhook:{hooks.url}/h", "secret": "s3cret"}],
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        rule = created.json()
        assert rule["actions"][0]["hasSecret"] is True and "s3cret" not in created.text
        bad = server.http.post(rules_path(project), json={"name": "x"}, headers=headers)
        assert bad.status_code == 400
        assert [r["id"] for r in server.api_get(rules_path(project))] == [rule["id"]]

        capture_error(project.dsn, Checkout("gateway timeout"))
        wait_for(lambda: len(hooks.requests) == 3)
        first, _, third = hooks.requests
        assert first.body == third.body
        assert third.headers["x-vedette-signature"].startswith("sha256=")
        deliveries = wait_for(
            lambda: [
                d
                for d in server.api_get(f"{rules_path(project)}{rule['id']}/deliveries/")
                if d["status"] == "sent"
            ]
        )
        assert [a["statusCode"] for a in deliveries[0]["attempts"]] == [503, 503, 200]

        # Muted: the issue ignored, nothing more is sent.
        [issue] = server.issues(project)
        server.api_put(f"/api/0/issues/{issue['id']}/", {"status": "ignored"})
        capture_error(project.dsn, Checkout("gateway timeout"))
        server.wait_processed()
        time.sleep(0.5)
        assert len(hooks.requests) == 3

        deleted = server.http.delete(f"{rules_path(project)}{rule['id']}/", headers=headers)
        assert deleted.status_code == 204
        assert server.api_get(rules_path(project)) == []


def test_send_a_test_notification_then_list_and_delete_with_the_cli(
    alert_server: LiveVedette,
) -> None:
    server = alert_server
    project = server.create_project()
    auth = {"Authorization": f"Bearer {server.token}"}
    with HttpReceiver() as hooks:
        rule = {"name": "Ping", "trigger": "regression", "actions": [f"discord:{hooks.url}/d"]}
        rule_id = server.http.post(rules_path(project), json=rule, headers=auth).json()["id"]
        answer = server.http.post(f"{rules_path(project)}{rule_id}/test/", headers=auth)
        assert answer.status_code == 202
        [request] = wait_for(lambda: hooks.requests)
        assert "Test notification" in orjson.loads(request.body)["embeds"][0]["title"]
    listed = vedette_cli(server, "alert", "list", f"{project.org}/{project.slug}")
    assert listed.split("\t")[:3] == [rule_id, "regression", "Ping"]
    vedette_cli(server, "alert", "delete", rule_id)
    assert server.api_get(rules_path(project)) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_during_a_delivery_still_delivers_after_restart(
    backend: str, tmp_path: Path
) -> None:
    for url in fresh_database_url(backend, tmp_path, migrated=True):
        server = LiveVedette(url, tmp_path, backend)
        settings = {**FAST_RETRIES, "notification_lease_seconds": "2"}
        try:
            with HttpReceiver() as hooks:
                hooks.script(Reply(hang=60.0))  # the first delivery never returns
                server.start(**settings)
                project = server.create_project()
                vedette_cli(
                    server,
                    "alert",
                    "create",
                    f"{project.org}/{project.slug}",
                    "--name",
                    "K",
                    "--when",
                    "new_issue",
                    "--notify",
                    f"webhook:{hooks.url}/k",
                )
                capture_error(project.dsn, Checkout("crash during delivery"))
                wait_for(lambda: hooks.requests)
                server.kill()
                server.start(**settings)
                wait_for(lambda: len(hooks.requests) == 2)
                first, second = hooks.requests
                assert first.body == second.body  # the same notification, same id
        finally:
            server.close()
