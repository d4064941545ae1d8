"""Command line: options -> settings -> library call -> print."""

from __future__ import annotations

import argparse
import gc
import getpass
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vedette.alerts.rule_input import build_spec
from vedette.api.serialize import dsn
from vedette.cli_alerts import add_alert_commands
from vedette.domain.roles import Role
from vedette.domain.scopes import user_token_scopes
from vedette.settings import Settings
from vedette.storage import (
    account_tokens,
    accounts,
    alert_rules,
    retention,
    teams,
    tokens,
    uptime,
    users,
)
from vedette.storage.database import Database
from vedette.storage.migrate import HEAD, current_revision, upgrade
from vedette.uptime.spec import MonitorSpec, config_values

# Young-generation collection threshold of the server process (CPython's default: 700).
SERVER_GC_THRESHOLD = 50_000


@contextmanager
def opened_database(settings: Settings) -> Iterator[Database]:
    """The configured database as it is, its connections closed on exit."""
    db = Database(settings.resolved_database_url())
    try:
        yield db
    finally:
        db.dispose()


@contextmanager
def migrated_database(settings: Settings) -> Iterator[Database]:
    """The configured database at the current schema, its connections closed on exit."""
    with opened_database(settings) as db:
        upgrade(db)
        yield db


def create_first_admin(settings: Settings) -> tuple[str, str] | None:
    """On a database without users: the first admin (sees every organisation), with a random
    password; (email, password), or None when users exist already."""
    with migrated_database(settings) as db, db.write() as conn:
        return users.create_first_admin(conn)


def announce_first_admin(settings: Settings) -> None:
    """Create the first admin if there is none and print the credentials (this once only)."""
    created = create_first_admin(settings)
    if created is not None:
        email, password = created
        print(f"Created the first admin for the web UI at {settings.base_url}/ (shown once):")
        print(f"  email:    {email}")
        print(f"  password: {password}", flush=True)


def migrate_in_a_child_process(settings: Settings) -> None:
    """Bring the database to the current schema in a child ``vedette migrate``, if it is not.

    Alembic's modules stay in a process once imported: about 14 MiB that a server which
    migrated in-process (on its first start, and after each upgrade) would hold for its life.
    """
    with opened_database(settings) as db:
        if current_revision(db) == HEAD:
            return
    migrate = subprocess.run([sys.executable, "-P", "-m", "vedette", "migrate"], check=False)
    if migrate.returncode != 0:
        raise SystemExit(f"vedette serve: the migration failed (exit code {migrate.returncode})")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    migrate_in_a_child_process(settings)
    gc.disable()  # until the app is made: nothing made meanwhile is garbage (about 10 % of it)
    import uvicorn

    from vedette.app import create_app
    from vedette.spool.gc_tuning import tune_garbage_collector

    announce_first_admin(settings)
    app = create_app(settings)
    # uvicorn re-raises the SIGTERM it shut down for. With the default action that kills the
    # process before its exit handlers run (logging's last flush among them).
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    # As in the worker: collections no longer walk the app's startup objects. In-process ingest
    # (bench/hotspots.py, alternated) is within noise of the defaults on an idle machine and was
    # 15-20 % faster under other load, when a collection's pause also delays the event loop.
    tune_garbage_collector(SERVER_GC_THRESHOLD)
    gc.enable()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        # The client's address is the peer's: X-Forwarded-For counts only where the operator
        # trusts a proxy (VEDETTE_TRUST_FORWARDED_FOR), read by the app itself.
        proxy_headers=False,
    )


def exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    if args.check:
        check_migrated(settings)
        return
    with migrated_database(settings):
        pass
    print("database is at the current schema")


def check_migrated(settings: Settings) -> None:
    """Exit 0 when the database is at the current schema, 1 with the difference otherwise."""
    with opened_database(settings) as db:
        current = current_revision(db)
    head = HEAD  # not Alembic's own reading of its scripts: checking never loads Alembic
    if current != head:
        print(
            f"database is at revision {current or '(none)'}, the current schema is {head};"
            " run `vedette migrate` (or start `vedette serve`) to upgrade it",
            file=sys.stderr,
        )
        raise SystemExit(1)
    print(f"database is at the current schema ({head})")


def create_project_dsn(settings: Settings, org: str, slug: str) -> str:
    with migrated_database(settings) as db, db.write() as conn:
        project = accounts.create_project(conn, org, slug)
        key = accounts.keys_of_project(conn, project.id)[0]
    return dsn(settings.base_url, key.public_key, project.id)


def base_url_hint(settings: Settings) -> str | None:
    """A warning when DSNs are built from the default base URL rather than a configured one."""
    if "base_url" in settings.model_fields_set:
        return None
    return (
        f"note: VEDETTE_BASE_URL is unset, so this DSN points at {settings.base_url}. SDKs"
        " must reach the server there: set VEDETTE_BASE_URL to the server's public URL (as"
        " configured for `vedette serve`) and create the DSN again, or list it with the"
        " keys API."
    )


def cmd_project_create(args: argparse.Namespace, settings: Settings) -> None:
    project_dsn = create_project_dsn(settings, args.org, args.slug)
    hint = base_url_hint(settings)
    if hint is not None:
        print(hint, file=sys.stderr)
    print(f"created project {args.org}/{args.slug}; its DSN:")
    print(project_dsn)


def create_api_token(
    settings: Settings, label: str, org: str | None = None, *, read_only: bool = False
) -> str:
    """An operator token (every organisation), or one limited to ``org``."""
    with migrated_database(settings) as db, db.write() as conn:
        org_id = None if org is None else accounts.ensure_organization(conn, org)
        return tokens.create_token(conn, label, org_id, read_only=read_only)


def create_user_token(
    settings: Settings, label: str, email: str, org: str, scopes: list[str] | None
) -> str:
    """A user's token in ``org``: the scopes named (all the user's role allows when None)."""
    with migrated_database(settings) as db, db.write() as conn:
        user = users.get_user(conn, email)
        org_id = accounts.organization_id(conn, org)
        if user is None or org_id is None:
            raise SystemExit(f"no user {email} or no organisation {org}")
        try:
            granted = user_token_scopes(scopes, user.role_in(org_id))
        except ValueError as error:
            raise SystemExit(str(error)) from None
        return tokens.create_token(conn, label, org_id, user_id=user.id, scopes=granted)


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> None:
    if args.user is not None:
        if args.org is None or args.read_only:
            raise SystemExit("--user needs --org, and takes --scopes instead of --read-only")
        scopes = None if args.scopes is None else args.scopes.replace(",", " ").split()
        token = create_user_token(settings, args.label, args.user, args.org, scopes)
        print(f"API token of {args.user} in {args.org} (shown once):")
        print(token)
        return
    scope = f"organisation {args.org}" if args.org else "every organisation"
    access = "read-only" if args.read_only else "read-write"
    print(
        f"{access} API token for {scope} (shown once; send it as 'Authorization: Bearer <token>'):"
    )
    print(create_api_token(settings, args.label, args.org, read_only=args.read_only))


def cmd_token_list(_args: argparse.Namespace, settings: Settings) -> None:
    with migrated_database(settings) as db, db.read() as conn:
        rows = tokens.list_tokens(conn)
    for token in rows:
        state = "revoked" if token.revoked_at is not None else "active"
        access = " ".join(sorted(token.scopes))
        org = token.organization_slug or "*"
        owner = token.user_email or "-"
        print(f"{token.id}\t{state}\t{org}\t{owner}\t{token.label}\t{access}")


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> None:
    with migrated_database(settings) as db, db.write() as conn:
        revoked = tokens.revoke_token(conn, args.id)
    if not revoked:
        raise SystemExit(f"no active token with id {args.id} (see `vedette token list`)")
    print(f"token {args.id} revoked")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    settings = settings.model_copy(update={"base_url": f"http://{args.host}:{args.port}"})
    if args.mail_port and not settings.smtp_url:
        settings = settings.model_copy(update={"smtp_url": f"smtp://{args.host}:{args.mail_port}"})
    shop_url = f"http://{args.host}:{args.shop_port}" if args.shop_port else None
    if shop_url:  # the demo's uptime monitor checks the shop, on this machine
        settings = settings.model_copy(update={"uptime_allow_private_targets": True})
    project_dsn = demo_project_dsn(settings, shop_url)
    token = create_api_token(settings, "demo")
    print(f"Vedette is starting on {settings.base_url}")
    print(f"  database:  {settings.resolved_database_url()}")
    print(f"  API token: {token}")
    print(f"  demo DSN:  {project_dsn}")
    print(
        f"  issues:    curl -H 'Authorization: Bearer {token}'"
        f" {settings.base_url}/api/0/projects/demo/shop/issues/"
    )
    # The reference shop (examples/shop, present in a source checkout) instrumented with
    # vedette.kit and reporting to the demo project, and its traffic mix: real issues and
    # transactions within a minute. Both are child processes, stopped with the server.
    import os
    import subprocess

    root = Path(__file__).resolve().parents[2]
    children: list[subprocess.Popen[bytes]] = []
    if args.mail_port and (root / "examples" / "mailsink.py").is_file():
        mail_dir = settings.data_dir / "demo-mail"
        sink = [sys.executable, "-m", "examples.mailsink", "--host", args.host,
                "--port", str(args.mail_port), "--dir", str(mail_dir)]  # fmt: skip
        children.append(subprocess.Popen(sink, cwd=root))
        print(f"  demo mail: {settings.smtp_url}, kept in {mail_dir}; the alert rule")
        print(f"             'New issues in the shop' mails {DEMO_ALERT_ADDRESS} there")
    if args.shop_port and (root / "examples" / "shop" / "app.py").is_file():
        shop_url = f"http://{args.host}:{args.shop_port}"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        shop_env = {
            **os.environ,
            "SENTRY_DSN": project_dsn,
            "SENTRY_TRACES_SAMPLE_RATE": "1.0",
            "SENTRY_PROFILES_SAMPLE_RATE": "1.0",
            "SENTRY_ENABLE_LOGS": "true",
            "ENVIRONMENT": "demo",
            "APP_VERSION": "shop@1.0.0",
            "SHOP_DATABASE_PATH": str(settings.data_dir / "demo-shop.sqlite3"),
        }
        shop = [sys.executable, "-m", "examples.shop", "--host", args.host,
                "--port", str(args.shop_port)]  # fmt: skip
        drive = [sys.executable, "-m", "examples.shop.traffic", "--url", shop_url,
                 "--rounds", str(args.traffic_rounds), "--wait-for",
                 f"{settings.base_url}/_health/"]  # fmt: skip
        shop_log = settings.data_dir / "demo-shop.log"
        # The shop's tracebacks go to its log: they are what the demo reports, not console noise.
        with shop_log.open("ab") as log:
            children.append(subprocess.Popen(shop, cwd=root, env=shop_env, stdout=log, stderr=log))
        children.append(subprocess.Popen(drive, cwd=root))
        print(f"  demo shop: {shop_url} (examples/shop on vedette.kit), log in {shop_log};")
        print("             its traffic mix starts once both are up")
    print("Point any Sentry SDK at the DSN, e.g. sentry_sdk.init(dsn=...).", flush=True)
    # cmd_serve turns SIGTERM into SystemExit: the `finally` below stops the children.
    try:
        cmd_serve(args, settings)
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


DEMO_ALERT_ADDRESS = "oncall@shop.example"


def demo_project_dsn(settings: Settings, shop_url: str | None = None) -> str:
    """The DSN of the demo/shop project, created on first use with an alert rule that mails
    every new issue (to the demo's mail sink) and an uptime monitor of the shop's /health,
    shown on the demo organisation's public status page."""
    with migrated_database(settings) as db, db.write() as conn:
        project = accounts.find_project(conn, "demo", "shop")
        if project is None:
            project = accounts.create_project(conn, "demo", "shop")
            rule = build_spec(
                name="New issues in the shop",
                when="new_issue",
                notify=[f"email:{DEMO_ALERT_ADDRESS}"],
            )
            alert_rules.create_rule(conn, project.id, rule)
            if shop_url:
                health = MonitorSpec("Shop", f"{shop_url}/health", interval_seconds=30, public=True)
                uptime.create_monitor(conn, project.id, config_values(health), time.time())
                uptime.set_status_page(conn, project.organization_id, True, "Demo shop status")
        key = accounts.keys_of_project(conn, project.id)[0]
    return dsn(settings.base_url, key.public_key, project.id)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> None:
    from vedette.stores import backup_sqlite, open_storage  # not needed by every command

    storage = open_storage(settings)
    try:
        if not storage.db.is_sqlite:
            raise SystemExit(
                "vedette backup copies the embedded SQLite database. For PostgreSQL use its own"
                " tools, e.g. `pg_dump --format=custom --file=vedette.dump DBNAME` and"
                " `pg_restore --dbname=DBNAME vedette.dump`."
            )
        written = backup_sqlite(storage, Path(args.directory))
    finally:
        storage.dispose()
    print("backup written; to restore, start vedette with VEDETTE_DATA_DIR pointing at:")
    print(written)


def cmd_cleanup(_args: argparse.Namespace, settings: Settings) -> None:
    with migrated_database(settings) as db:
        before = retention.database_bytes(db)
        report = retention.cleanup(db, settings.retention_policy(), time.time())
        after = retention.database_bytes(db)
    print(
        f"removed {report.events} events, {report.issues} issues, {report.attachments}"
        f" attachments, {report.spans} spans, {report.check_ins} check-ins,"
        f" {report.session_states} session states; packed {report.histogram_rows_packed}"
        " rows of finished days' duration histograms"
    )
    # Deleted rows become free pages that new data reuses; the file itself does not shrink.
    print(f"database: {before} bytes before, {after} bytes after")


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> None:
    password = args.password or getpass.getpass("password: ")
    try:
        with migrated_database(settings) as db, db.write() as conn:
            user = users.create_user(
                conn, args.email, password, list(args.org), is_superuser=args.superuser,
                role=Role(args.role),
            )  # fmt: skip
    except users.UserError as error:
        raise SystemExit(str(error)) from error
    scope = "every organisation" if user.is_superuser else ", ".join(args.org) or "no organisation"
    print(f"created user {user.email} ({scope}, {args.role})")


def cmd_user_password(args: argparse.Namespace, settings: Settings) -> None:
    password = args.password or getpass.getpass("new password: ")
    try:
        with migrated_database(settings) as db, db.write() as conn:
            user = users.get_user(conn, args.email)
            if user is not None and users.set_password(conn, args.email, password):
                account_tokens.end_sessions(conn, user.id)  # as a reset in the web UI does
    except users.UserError as error:
        raise SystemExit(str(error)) from error
    if user is None:
        raise SystemExit(f"no user {args.email}")
    print(f"password of {users.normalize_email(args.email)} changed; its sessions ended")


def cmd_team_create(args: argparse.Namespace, settings: Settings) -> None:
    with migrated_database(settings) as db, db.write() as conn:
        org_id = accounts.organization_id(conn, args.org)
        if org_id is None:
            raise SystemExit(f"no organisation {args.org}")
        try:
            team = teams.create_team(
                conn, org_id, args.slug, args.name or args.slug, list(args.member), time.time()
            )
        except teams.TeamError as error:
            raise SystemExit(str(error)) from error
    print(f"created team #{team.slug} of {args.org} ({len(team.member_emails)} members)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vedette", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add_server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--log-level", default="info")

    serve = sub.add_parser("serve", help="run the ingest server, worker and API")
    add_server_options(serve)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser(
        "demo", help="serve on SQLite with a demo project, run the demo shop against it"
    )
    add_server_options(demo)
    demo.add_argument(
        "--shop-port", type=int, default=8001, help="port of the demo shop (0: no shop)"
    )
    demo.add_argument(
        "--traffic-rounds", type=int, default=5, help="rounds of the shop's traffic mix"
    )
    demo.add_argument(
        "--mail-port", type=int, default=8025, help="port of the demo's mail sink (0: none)"
    )
    demo.set_defaults(func=cmd_demo)

    backup = sub.add_parser(
        "backup", help="online copy of the SQLite database and spool into a new directory"
    )
    backup.add_argument("directory")
    backup.set_defaults(func=cmd_backup)

    migrate = sub.add_parser("migrate", help="bring the database to the current schema")
    migrate.add_argument(
        "--check",
        action="store_true",
        help="migrate nothing; exit 0 when the database is at the current schema, else 1",
    )
    migrate.set_defaults(func=cmd_migrate)

    cleanup = sub.add_parser(
        "cleanup", help="apply retention now (the worker also does it every hour)"
    )
    cleanup.set_defaults(func=cmd_cleanup)

    project = sub.add_parser("project", help="manage projects").add_subparsers(
        dest="action", required=True
    )
    create = project.add_parser("create", help="create a project; prints its DSN last")
    create.add_argument("slug")
    create.add_argument("--org", required=True)
    create.set_defaults(func=cmd_project_create)

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="action", required=True
    )
    token_create = token.add_parser("create", help="create an API token; prints it last")
    token_create.add_argument("--label", default="cli")
    token_create.add_argument("--org", default=None, help="limit the token to one organisation")
    token_create.add_argument(
        "--read-only", action="store_true", help="the token may read but not change anything"
    )
    token_create.add_argument(
        "--user", default=None, help="a user's token in --org, bounded by the user's role"
    )
    token_create.add_argument(
        "--scopes", default=None, help="with --user: e.g. 'project:releases org:read'"
    )
    token_create.set_defaults(func=cmd_token_create)
    token_list = token.add_parser("list", help="list tokens: id, state, org, user, label, scopes")
    token_list.set_defaults(func=cmd_token_list)
    token_revoke = token.add_parser("revoke", help="revoke a token by the id `list` shows")
    token_revoke.add_argument("id", type=int)
    token_revoke.set_defaults(func=cmd_token_revoke)

    user = sub.add_parser("user", help="manage users of the web UI").add_subparsers(
        dest="action", required=True
    )
    user_create = user.add_parser("create", help="create a user (a member of --org)")
    user_create.add_argument("email")
    user_create.add_argument("--password", help="asked for when not given")
    user_create.add_argument(
        "--org", action="append", default=[], help="organisation to join (repeatable)"
    )
    user_create.add_argument(
        "--role",
        choices=list(Role),
        default=Role.OWNER.value,
        help="their role in --org (docs/workflow.md, 'Roles'); default owner: the operator"
        " hands the organisation over",
    )
    user_create.add_argument(
        "--superuser", action="store_true", help="sees every organisation, like the first admin"
    )
    user_create.set_defaults(func=cmd_user_create)
    user_password = user.add_parser("password", help="set a user's password")
    user_password.add_argument("email")
    user_password.add_argument("--password", help="asked for when not given")
    user_password.set_defaults(func=cmd_user_password)
    team = sub.add_parser("team", help="manage teams (to assign issues to)").add_subparsers(
        dest="action", required=True
    )
    team_create = team.add_parser("create", help="create a team of an organisation's users")
    team_create.add_argument("org")
    team_create.add_argument("slug")
    team_create.add_argument("--name", help="defaults to the slug")
    team_create.add_argument(
        "--member", action="append", default=[], help="a user's email (repeatable)"
    )
    team_create.set_defaults(func=cmd_team_create)
    add_alert_commands(sub, migrated_database)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = Settings()
    users.use_password_hashing(settings.password_hash_memory_kib, settings.password_hash_iterations)
    args.func(args, settings)


if __name__ == "__main__":
    main(sys.argv[1:])
