"""`vedette alert ...`: alert rules from the command line (a public contract: keep the flags)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import AbstractContextManager

from vedette.alerts.rule_input import build_spec
from vedette.domain.alert_rules import RuleError, Trigger
from vedette.settings import Settings
from vedette.storage import accounts, alert_rules
from vedette.storage.database import Database

OpenDatabase = Callable[[Settings], AbstractContextManager[Database]]


def add_alert_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], open_db: OpenDatabase
) -> None:
    alert = sub.add_parser("alert", help="manage alert rules").add_subparsers(
        dest="action", required=True
    )
    create = alert.add_parser("create", help="create an alert rule; prints its id last")
    create.add_argument("project", metavar="ORG/PROJECT")
    create.add_argument("--name", required=True)
    create.add_argument("--when", required=True, choices=[t.value for t in Trigger])
    create.add_argument("--threshold", type=float, help="events, users, spike factor or level")
    create.add_argument("--warning", type=float, help="metric: the warning level")
    create.add_argument("--window", type=int, help="seconds the count looks back")
    create.add_argument("--min-count", type=int, help="spike: events in the hour at least")
    create.add_argument("--metric", help="metric: p50, p95, p99, failure_rate or throughput")
    create.add_argument("--transaction", help="metric: one transaction (default: all)")
    create.add_argument("--filter", default="", help="search: environment:production level:error")
    create.add_argument("--interval", type=int, help="seconds between notifications per issue")
    create.add_argument("--digest", type=int, default=0, help="send one digest per N seconds")
    create.add_argument(
        "--notify",
        action="append",
        required=True,
        metavar="TARGET",
        help="email:ADDRESS, webhook:URL, slack:URL, discord:URL, teams:URL, mattermost:URL,"
        " ntfy:URL, telegram:TOKEN@CHAT_ID or pagerduty:ROUTING_KEY (repeatable)",
    )
    create.set_defaults(func=lambda args, settings: create_rule(args, settings, open_db))
    listing = alert.add_parser("list", help="list a project's rules: id, trigger, name, targets")
    listing.add_argument("project", metavar="ORG/PROJECT")
    listing.set_defaults(func=lambda args, settings: list_rules(args, settings, open_db))
    remove = alert.add_parser("delete", help="delete a rule by the id `list` shows")
    remove.add_argument("id", type=int)
    remove.set_defaults(func=lambda args, settings: delete_rule(args, settings, open_db))


def _project(db: Database, slug_pair: str) -> accounts.Project:
    org, _, slug = slug_pair.partition("/")
    with db.read() as conn:
        project = accounts.find_project(conn, org, slug)
    if project is None:
        raise SystemExit(f"no project {slug_pair!r} (write ORG/PROJECT)")
    return project


def create_rule(args: argparse.Namespace, settings: Settings, open_db: OpenDatabase) -> None:
    try:
        spec = build_spec(
            name=args.name,
            when=args.when,
            notify=args.notify,
            threshold=args.threshold,
            warning=args.warning,
            window=args.window,
            min_count=args.min_count,
            metric=args.metric,
            transaction=args.transaction,
            filter_query=args.filter,
            interval=args.interval,
            digest=args.digest,
        )
    except RuleError as error:
        raise SystemExit(f"vedette alert create: {error}") from None
    with open_db(settings) as db:
        project = _project(db, args.project)
        with db.write() as conn:
            rule_id = alert_rules.create_rule(conn, project.id, spec)
    print(f"created alert rule {spec.name!r} ({spec.trigger}) on {args.project}")
    print(rule_id)


def list_rules(args: argparse.Namespace, settings: Settings, open_db: OpenDatabase) -> None:
    with open_db(settings) as db:
        project = _project(db, args.project)
        with db.read() as conn:
            rules = alert_rules.rules_of_projects(conn, [project.id])
    for rule in rules:
        targets = " ".join(a.target for a in rule.spec.actions)
        print(f"{rule.id}\t{rule.spec.trigger}\t{rule.spec.name}\t{targets}")


def delete_rule(args: argparse.Namespace, settings: Settings, open_db: OpenDatabase) -> None:
    with open_db(settings) as db, db.write() as conn:
        if not alert_rules.delete_rule(conn, args.id):
            raise SystemExit(f"no alert rule {args.id}")
    print(f"deleted alert rule {args.id}")
