"""What each JSON API route reads or changes, and so which token scopes it needs
(domain/scopes.py; docs/workflow.md, "API tokens"). Every ``/api/0/`` route must be named
here: the API refuses to start otherwise, so a new route cannot escape the check."""

from __future__ import annotations

from vedette.domain.scopes import Resource

_P = "/api/0/projects/{org}/{project}"
_O = "/api/0/organizations/{org}"
_I = "/api/0/issues/{issue_id}"

ROUTE_RESOURCES: dict[str, Resource] = {
    "/api/0/": Resource.TOKEN,
    "/api/0/internal/spool/": Resource.OPERATOR,
    # An organisation and its settings.
    f"{_O}/": Resource.ORGANIZATION,
    f"{_O}/projects/": Resource.ORGANIZATION,
    f"{_O}/repos/": Resource.ORGANIZATION,
    # Every member reads the audit log, as on the organisation's pages.
    f"{_O}/audit-logs/": Resource.ORGANIZATION,
    f"{_O}/teams/": Resource.TEAM,
    # A project's settings: client keys, Apdex, uptime checks.
    f"{_P}/": Resource.PROJECT,
    f"{_P}/keys/": Resource.PROJECT,
    f"{_P}/keys/{{key}}/": Resource.PROJECT,
    f"{_P}/transaction-threshold/configure/": Resource.PROJECT,
    f"{_P}/uptime/": Resource.PROJECT,
    f"{_P}/uptime/{{monitor_id:int}}/": Resource.PROJECT,
    f"{_P}/uptime/{{monitor_id:int}}/checks/": Resource.PROJECT,
    # What the SDKs sent, and the work on issues.
    **dict.fromkeys(
        [
            f"{_P}/issues/", f"{_P}/events/", f"{_P}/events/{{event_id}}/",
            f"{_P}/events/{{event_id}}/attachments/", f"{_P}/events/{{event_id}}/committers/",
            f"{_P}/events/{{event_id}}/waterfall/", f"{_P}/stats/", f"{_P}/transactions/",
            f"{_P}/transactions/summary/", f"{_P}/traces/{{trace_id}}/", f"{_P}/slow-queries/",
            f"{_P}/monitors/", f"{_P}/monitors/{{slug}}/checkins/", f"{_P}/logs/",
            f"{_P}/user-feedback/", f"{_P}/profiling/profiles/{{profile_id}}/",
            f"{_P}/profiling/chunks/{{chunk_id}}/", f"{_P}/profiling/flamegraph/",
            f"{_I}/", f"{_I}/events/", f"{_I}/events/{{which:str}}/", f"{_I}/comments/",
            f"{_I}/comments/{{note_id}}/", f"{_I}/activities/", f"{_I}/hashes/",
        ],
        Resource.EVENT,
    ),
    # Alert rules.
    **dict.fromkeys(
        [
            f"{_P}/rules/", f"{_P}/rules/{{rule_id:int}}/",
            f"{_P}/rules/{{rule_id:int}}/group-history/",
            f"{_P}/rules/{{rule_id:int}}/deliveries/", f"{_P}/rules/{{rule_id:int}}/test/",
        ],
        Resource.ALERTS,
    ),
    # sentry-cli's release pipeline: releases, deploys, commits, source maps, debug files.
    **dict.fromkeys(
        [
            f"{_O}/releases/", f"{_O}/releases/{{version}}/",
            f"{_O}/releases/{{version}}/deploys/", f"{_O}/releases/{{version}}/commits/",
            f"{_O}/releases/{{version}}/previous-with-commits/",
            f"{_O}/releases/{{version}}/files/", f"{_O}/chunk-upload/",
            f"{_O}/artifactbundle/assemble/", f"{_P}/releases/", f"{_P}/releases/{{version}}/",
            f"{_P}/releases/{{version}}/files/", f"{_P}/files/difs/assemble/",
            f"{_P}/files/dsyms/", f"{_P}/files/artifact-bundles/",
        ],
        Resource.RELEASES,
    ),
}  # fmt: skip
