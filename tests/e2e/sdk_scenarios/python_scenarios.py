"""Drive the real ``sentry-sdk`` through every scenario of tests/fixtures/corpora/sdk-python.

Usage::

    python python_scenarios.py --list
    python python_scenarios.py --dsn DSN --scenario NAME
    python python_scenarios.py --serve   # a fork server, one process per scenario (tests)

One scenario per process: the SDK is initialised inside the scenario with the DSN given,
the real ``HttpTransport`` sends every envelope over HTTP, and ``sentry_sdk.flush()`` runs
before the process exits.

The scenarios reproduce what the corpus generator (gen_python.py) did: same release and
environment, same exception types and messages, same fingerprints, tags, users and the same
function layout, so the grouping the corpus manifest expects holds for these events too.
Keep the functions below stable: grouping looks at the frames (module, function, line
content), e.g. site A raises 3 frames below the handler and site B on another call path.

When run as a script, this file imports itself as the module ``python_scenarios`` so that
stack frames and transaction names carry that module name rather than ``__main__``.
"""

import argparse
import atexit
import contextlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import sentry_sdk

RELEASE = "corpora-shop@1.4.2"
ENVIRONMENT = "corpora"
SERVER_NAME = "corpora-host"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) corpora-test/1.0"

UNICODE_MESSAGE = "Paiement refusé: carte expirée 💳 — 支付失败 — Ошибка оплаты ✓"
UNICODE_ERROR = "ungültige Eingabe: «naïve» 🚀 Größe=\uff13\uff12"  # fullwidth digits


# --------------------------------------------------------------------------
# Code that fails on purpose. Grouping looks at these frames: keep the
# functions and their line layout stable.
# --------------------------------------------------------------------------


def divide_inner(total: int, parts: int) -> float:
    return total / parts


def divide_middle(total: int, parts: int) -> float:
    share = divide_inner(total, parts)
    return round(share, 2)


def divide_outer(total: int) -> float:
    parts = 0
    return divide_middle(total, parts)


def capture_division_error() -> None:
    """Site A: ZeroDivisionError raised 3 frames below the handler."""
    try:
        divide_outer(100)
    except ZeroDivisionError:
        sentry_sdk.capture_exception()


def average_order_value(orders: list[float]) -> float:
    return sum(orders) / len(orders)


def capture_division_error_elsewhere() -> None:
    """Site B: the same exception type from an unrelated call path."""
    try:
        average_order_value([])
    except ZeroDivisionError:
        sentry_sdk.capture_exception()


def load_database_url(settings: dict[str, str]) -> str:
    try:
        return settings["DATABASE_URL"]
    except KeyError as exc:
        raise RuntimeError("configuration is incomplete: DATABASE_URL missing") from exc


def run_parallel_jobs() -> None:
    raise ExceptionGroup(
        "2 background jobs failed",
        [
            ValueError("job sync-inventory: bad SKU 'X-1'"),
            TypeError("job send-mail: recipient is None"),
        ],
    )


def charge_card(amount_cents: int, provider: str) -> None:
    if provider == "stripe":
        raise ConnectionError(f"stripe: connection reset while charging {amount_cents}")
    raise TimeoutError(f"{provider}: no answer after 30s charging {amount_cents}")


def render_monthly_report(month: str) -> None:
    # Big locals on purpose: the SDK sends frame variables untruncated by default.
    csv_export = "".join(
        f"{i},ACME-{i:06d},{i * 3.5:.2f},shipped,{'x' * 60}\n" for i in range(1500)
    )
    html_preview = "<tr><td>Ünïcödé 漢字 €</td></tr>" * 2500  # noqa: F841
    audit_log = [f"login ok user={i}" for i in range(9)] + ["Z" * 40_000]  # noqa: F841
    raise ValueError(f"report for {month} exceeds the 100 KB mail limit ({len(csv_export)} bytes)")


# --------------------------------------------------------------------------
# FastAPI reference app (module-level endpoints: with transaction_style
# "endpoint" the transaction is named after module + function).
# --------------------------------------------------------------------------

# Imported by build_app() only: importing FastAPI costs a second, and only the FastAPI
# scenarios need it. The endpoints find these names in the module globals at call time.
HTTPException: Any = None
Request: Any = None


async def read_item(item_id: int, verbose: bool = False) -> dict[str, Any]:
    item = {"sku": f"SKU-{item_id}", "stock": 3}
    return {"sku": item["sku"], "price": price_for(item)}


def price_for(item: dict[str, Any]) -> int:
    if "price" not in item:
        raise LookupError(f"no price configured for {item['sku']}")
    return int(item["price"])


async def missing_item(item_id: int) -> dict[str, Any]:
    raise HTTPException(status_code=404, detail=f"item {item_id} not found")


async def checkout(request: "Request") -> dict[str, Any]:
    payload = await request.json()
    sentry_sdk.set_user({"id": "1001"})
    raise PermissionError(f"card declined for cart {payload.get('cart_id')}")


_ENGINE: Any = None
_TABLES: dict[str, Any] = {}


def setup_database() -> None:
    """An in-memory SQLite shop, created before any request (outside any transaction)."""
    global _ENGINE
    from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert
    from sqlalchemy.pool import StaticPool

    _ENGINE = create_engine(
        "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
    )
    metadata = MetaData()
    _TABLES["orders"] = Table(
        "orders",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("customer", String(50)),
        Column("views", Integer, nullable=False, default=0),
    )
    _TABLES["order_lines"] = Table(
        "order_lines",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("order_id", Integer, nullable=False),
        Column("sku", String(20)),
        Column("qty", Integer),
    )
    metadata.create_all(_ENGINE)
    with _ENGINE.begin() as conn:
        conn.execute(insert(_TABLES["orders"]).values(id=1, customer="acme", views=0))
        conn.execute(
            insert(_TABLES["order_lines"]),
            [
                {"id": 1, "order_id": 1, "sku": "SKU-7", "qty": 2},
                {"id": 2, "order_id": 1, "sku": "SKU-9", "qty": 1},
            ],
        )


def fetch_charge(order_id: int) -> dict[str, Any]:
    """Ask the (mocked) payment provider: a real httpx client, a transport that answers locally."""
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": f"ch_{order_id}", "status": "succeeded"})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        response = client.get(f"https://payments.example.com/v1/charges/ch_{order_id}")
    return dict(response.json())


def read_order(order_id: int) -> dict[str, Any]:
    from sqlalchemy import select, update

    orders, lines = _TABLES["orders"], _TABLES["order_lines"]
    with _ENGINE.begin() as conn:
        row = conn.execute(select(orders).where(orders.c.id == order_id)).first()
        if row is None:
            raise HTTPException(status_code=404, detail=f"order {order_id} not found")
        items = conn.execute(select(lines).where(lines.c.order_id == order_id)).all()
        conn.execute(update(orders).where(orders.c.id == order_id).values(views=orders.c.views + 1))
    with sentry_sdk.start_span(op="payment.lookup", name="fetch charge status") as span:
        span.set_data("order.id", order_id)
        charge = fetch_charge(order_id)
    with sentry_sdk.start_span(op="serialize", name="serialize order"):
        body = {
            "id": row.id,
            "customer": row.customer,
            "lines": [{"sku": item.sku, "qty": item.qty} for item in items],
            "charge": charge["status"],
        }
    return body


def fail_in_traced_request(order_id: int) -> dict[str, Any]:
    with sentry_sdk.start_span(op="inventory.reserve", name="reserve stock"):
        raise RuntimeError(f"inventory service refused reservation for order {order_id}")


def require_fastapi() -> None:
    """The FastAPI scenarios need fastapi (with starlette, sqlalchemy and httpx)."""
    try:
        import fastapi  # noqa: F401
    except ImportError:
        raise SystemExit(
            "fastapi is not installed: the FastAPI scenarios need fastapi in this environment"
        ) from None


def build_app() -> Any:
    global HTTPException, Request
    import fastapi

    HTTPException, Request = fastapi.HTTPException, fastapi.Request
    app = fastapi.FastAPI(title="corpora-shop")
    app.add_api_route("/items/{item_id}", read_item, methods=["GET"])
    app.add_api_route("/missing/{item_id}", missing_item, methods=["GET"])
    app.add_api_route("/checkout", checkout, methods=["POST"])
    app.add_api_route("/orders/{order_id}", read_order, methods=["GET"])
    app.add_api_route("/orders/{order_id}/reserve", fail_in_traced_request, methods=["POST"])
    return app


def make_client(app: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(
        app,
        raise_server_exceptions=False,
        headers={
            "user-agent": USER_AGENT,
            "accept": "application/json",
            "x-request-id": "req-7f3a",
        },
    )


# --------------------------------------------------------------------------
# Scenarios. Each one gets ``init(**options)`` and must call it first.
#
# The generator ran with every integration its environment auto-enabled (FastAPI, Starlette,
# SQLAlchemy, httpx). Importing those libraries costs seconds per process, so auto-enabling
# is off here and the web scenarios name the integrations they use (web_integrations());
# the default integrations (logging, stdlib, excepthook, dedupe, argv, modules, threading,
# ...) are on everywhere.
# --------------------------------------------------------------------------

Init = Callable[..., None]


def web_integrations(transaction_style: str = "url", sqlalchemy: bool = False) -> list[Any]:
    """What the generator's auto-enabling gave the FastAPI scenarios (httpx instruments the
    TestClient's requests and the payment lookup; SQLAlchemy the shop's queries)."""
    from sentry_sdk.integrations.fastapi import FastApiIntegration
    from sentry_sdk.integrations.httpx import HttpxIntegration
    from sentry_sdk.integrations.starlette import StarletteIntegration

    integrations: list[Any] = [
        StarletteIntegration(transaction_style=transaction_style),
        FastApiIntegration(transaction_style=transaction_style),
        HttpxIntegration(),
    ]
    if sqlalchemy:
        from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration

        integrations.append(SqlalchemyIntegration())
    return integrations


SCENARIOS: dict[str, Callable[[Init], None]] = {}


def scenario(func: Callable[[Init], None]) -> Callable[[Init], None]:
    SCENARIOS[func.__name__.removeprefix("scenario_")] = func
    return func


@scenario
def scenario_error_zero_division(init: Init) -> None:
    init()
    capture_division_error()


@scenario
def scenario_error_zero_division_twice(init: Init) -> None:
    init()
    capture_division_error()
    capture_division_error()


@scenario
def scenario_error_zero_division_other_site(init: Init) -> None:
    init()
    capture_division_error_elsewhere()


@scenario
def scenario_error_chained(init: Init) -> None:
    init()
    try:
        load_database_url({})
    except RuntimeError:
        sentry_sdk.capture_exception()


@scenario
def scenario_error_exception_group(init: Init) -> None:
    init()
    try:
        run_parallel_jobs()
    except ExceptionGroup:
        sentry_sdk.capture_exception()


@scenario
def scenario_message_levels(init: Init) -> None:
    init()
    sentry_sdk.capture_message("Cache warmed: 1200 keys", level="info")
    sentry_sdk.capture_message("Disk usage above 80% on /var", level="warning")
    sentry_sdk.capture_message("Nightly export produced 0 rows", level="error")


@scenario
def scenario_message_custom_fingerprint(init: Init) -> None:
    init()
    for tenant in (17, 23):
        sentry_sdk.capture_message(
            f"Billing cron skipped tenant {tenant}",
            level="warning",
            fingerprint=["billing-cron", "nightly"],
        )


@scenario
def scenario_error_fingerprint_payment(init: Init) -> None:
    init()
    for amount, provider in ((4999, "stripe"), (1250, "adyen")):
        try:
            charge_card(amount, provider)
        except OSError:
            sentry_sdk.capture_exception(fingerprint=["payment-error", "stripe"])


@scenario
def scenario_error_fingerprint_default_extended(init: Init) -> None:
    init()
    for tenant in (7, 9):
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["{{ default }}", f"tenant-{tenant}"]
            capture_division_error()


@scenario
def scenario_error_with_scope_data(init: Init) -> None:
    init()
    sentry_sdk.set_user({"id": "42", "email": "jane@example.com", "username": "jane"})
    sentry_sdk.set_tag("tenant", "acme")
    sentry_sdk.set_tags({"feature": "checkout", "plan": "pro"})
    sentry_sdk.set_context(
        "order", {"id": 9001, "total_cents": 4999, "currency": "EUR", "items": 3}
    )
    sentry_sdk.set_extra("retry_count", 2)
    sentry_sdk.add_breadcrumb(category="auth", message="User jane logged in", level="info")
    sentry_sdk.add_breadcrumb(
        type="http",
        category="httpx",
        data={"method": "GET", "url": "https://api.example.com/cart", "status_code": 200},
    )
    sentry_sdk.add_breadcrumb(
        category="ui.click", message="button#checkout", level="debug", data={"x": 10}
    )
    order: dict[str, Any] = {"id": 9001}
    try:
        order["shipping_address"]
    except KeyError:
        sentry_sdk.capture_exception()


@scenario
def scenario_logging_integration(init: Init) -> None:
    init()
    log = logging.getLogger("corpora.orders")
    log.setLevel(logging.INFO)
    log.info("Loading order %s", 17)
    log.info("Charging card for order %s", 17)
    log.warning("Payment provider slow, retrying (attempt %d)", 2)
    try:
        charge_card(2500, "stripe")
    except ConnectionError:
        log.error("Payment failed for order %s", 17, exc_info=True)
    log.error("Order %s left in state %r", 17, "charging")


@scenario
def scenario_fastapi_unhandled_500(init: Init) -> None:
    require_fastapi()
    init(integrations=web_integrations(transaction_style="endpoint"))
    client = make_client(build_app())
    response = client.get("/items/42", params={"verbose": "true"})
    assert response.status_code == 500, response.status_code


@scenario
def scenario_fastapi_http_404(init: Init) -> None:
    require_fastapi()
    init(integrations=web_integrations())
    client = make_client(build_app())
    response = client.get("/missing/7")
    assert response.status_code == 404, response.status_code


@scenario
def scenario_fastapi_transaction(init: Init) -> None:
    require_fastapi()
    init(integrations=web_integrations(sqlalchemy=True), traces_sample_rate=1.0)
    setup_database()
    client = make_client(build_app())
    found = client.get("/orders/1")
    assert found.status_code == 200, found.text
    missing = client.get("/orders/999")
    assert missing.status_code == 404, missing.status_code


@scenario
def scenario_fastapi_error_traced(init: Init) -> None:
    require_fastapi()
    init(integrations=web_integrations(), traces_sample_rate=1.0)
    client = make_client(build_app())
    response = client.post("/orders/5/reserve")
    assert response.status_code == 500, response.status_code


@scenario
def scenario_manual_transaction(init: Init) -> None:
    init(traces_sample_rate=1.0)
    with sentry_sdk.start_transaction(
        op="batch.process", name="nightly-invoice-batch"
    ) as transaction:
        transaction.set_tag("batch.kind", "invoices")
        transaction.set_data("batch.size", 3)
        for invoice_id in (101, 102, 103):
            with sentry_sdk.start_span(
                op="invoice.render", name=f"render invoice {invoice_id}"
            ) as span:
                span.set_data("invoice.id", invoice_id)
                with sentry_sdk.start_span(
                    op="db.query", name="SELECT * FROM invoices WHERE id = ?"
                ):
                    time.sleep(0.002)
                time.sleep(0.001)
        with sentry_sdk.start_span(op="queue.publish", name="publish invoices.rendered"):
            time.sleep(0.001)
        transaction.set_status("ok")


@scenario
def scenario_span_streaming(init: Init) -> None:
    from sentry_sdk import traces

    init(traces_sample_rate=1.0, trace_lifecycle="stream")
    with traces.start_span(
        name="nightly-invoice-batch",
        attributes={"sentry.op": "batch.process", "batch.kind": "invoices"},
    ):
        for invoice_id in (101, 102):
            with (
                traces.start_span(
                    name=f"render invoice {invoice_id}", attributes={"sentry.op": "invoice.render"}
                ),
                traces.start_span(
                    name="SELECT * FROM invoices WHERE id = ?",
                    attributes={"sentry.op": "db.query", "db.system": "sqlite"},
                ),
            ):
                time.sleep(0.002)


@scenario
def scenario_transaction_with_profile(init: Init) -> None:
    init(traces_sample_rate=1.0, profiles_sample_rate=1.0)
    with sentry_sdk.start_transaction(op="task", name="profile-me"):
        deadline = time.perf_counter() + 0.3
        while time.perf_counter() < deadline:
            sum(i * i for i in range(2000))


@scenario
def scenario_session_application(init: Init) -> None:
    init()
    sentry_sdk.start_session(session_mode="application")
    capture_division_error()
    sentry_sdk.end_session()


@scenario
def scenario_crons_checkin(init: Init) -> None:
    from sentry_sdk.crons import MonitorStatus, capture_checkin

    init()
    check_in_id = capture_checkin(
        monitor_slug="nightly-invoice",
        status=MonitorStatus.IN_PROGRESS,
        monitor_config={
            "schedule": {"type": "crontab", "value": "0 2 * * *"},
            "timezone": "Europe/Vienna",
            "checkin_margin": 5,
            "max_runtime": 30,
            "failure_issue_threshold": 2,
            "recovery_threshold": 1,
        },
    )
    capture_checkin(
        monitor_slug="nightly-invoice",
        check_in_id=check_in_id,
        status=MonitorStatus.OK,
        duration=12.5,
    )

    @sentry_sdk.monitor(monitor_slug="hourly-sync")
    def hourly_sync() -> None:
        raise RuntimeError("upstream inventory feed unavailable")

    with contextlib.suppress(RuntimeError):
        hourly_sync()  # the decorator sends the error check-in; no error event


@scenario
def scenario_large_event(init: Init) -> None:
    init()
    try:
        render_monthly_report("2024-05")
    except ValueError:
        sentry_sdk.capture_exception()


def post_checkout(app: Any) -> None:
    client = make_client(app)
    response = client.post(
        "/checkout",
        params={"coupon": "SPRING24", "token": "qs-secret-123"},
        headers={
            "authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.secret",
            "cookie": "sessionid=abc123; csrftoken=tok456; theme=dark",
            "x-forwarded-for": "203.0.113.7, 10.0.0.2",
            "x-api-key": "key-789",
        },
        json={
            "cart_id": "c-55",
            "email": "jane@example.com",
            "password": "hunter2",
            "card_number": "4242424242424242",
        },
    )
    assert response.status_code == 500, response.status_code


@scenario
def scenario_pii_default(init: Init) -> None:
    require_fastapi()
    init(integrations=web_integrations())
    post_checkout(build_app())


@scenario
def scenario_pii_enabled(init: Init) -> None:
    require_fastapi()
    init(integrations=web_integrations(), send_default_pii=True)
    post_checkout(build_app())


@scenario
def scenario_unicode_emoji(init: Init) -> None:
    init()
    sentry_sdk.set_user({"id": "u-ü", "username": "Jürgen 🦊"})
    sentry_sdk.add_breadcrumb(category="i18n", message="Sprache gewechselt → Deutsch 🇩🇪")
    sentry_sdk.set_extra("greeting", "こんにちは世界 👋🏽")
    sentry_sdk.capture_message(UNICODE_MESSAGE, level="warning")
    try:
        raise ValueError(UNICODE_ERROR)
    except ValueError:
        sentry_sdk.capture_exception()


@scenario
def scenario_error_with_attachments(init: Init) -> None:
    init()
    sentry_sdk.add_attachment(
        bytes=b"line 1\nline 2: failed\n", filename="export.log", content_type="text/plain"
    )
    sentry_sdk.add_attachment(bytes=bytes(range(256)) * 4, filename="dump.bin")
    try:
        raise RuntimeError("export failed, see attachments")
    except RuntimeError:
        sentry_sdk.capture_exception()


def drop_health_checks(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    message = event.get("message") or (event.get("logentry") or {}).get("message") or ""
    return None if message.startswith("drop") else event


@scenario
def scenario_client_report(init: Init) -> None:
    init(before_send=drop_health_checks)
    sentry_sdk.capture_message("drop: health check ok")
    sentry_sdk.capture_message("drop: health check ok again")
    sentry_sdk.capture_message("kept: order 3 shipped late")


@scenario
def scenario_logs(init: Init) -> None:
    from sentry_sdk import logger as sentry_logger

    init(enable_logs=True)
    sentry_logger.info("Order {order_id} created for {customer}", order_id=17, customer="acme")
    sentry_logger.warning("Stock low", attributes={"sku": "SKU-7", "left": 2})
    logging.getLogger("corpora.shipping").warning("Carrier %s slow", "DHL")


@scenario
def scenario_metrics(init: Init) -> None:
    init()
    sentry_sdk.metrics.count("orders.created", 1, attributes={"plan": "pro"})
    sentry_sdk.metrics.gauge("queue.depth", 42, unit="none")
    sentry_sdk.metrics.distribution("checkout.duration", 187.5, unit="millisecond")


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def run(dsn: str, name: str) -> None:
    func = SCENARIOS[name]

    def init(**options: Any) -> None:
        sentry_sdk.init(
            dsn=dsn,
            release=RELEASE,
            environment=ENVIRONMENT,
            server_name=SERVER_NAME,
            auto_enabling_integrations=False,
            **options,
        )

    try:
        func(init)
    finally:
        sentry_sdk.flush(timeout=10)


def serve() -> int:
    """A fork server: one interpreter with the SDK (and FastAPI) imported, one forked process
    per scenario, so each scenario still runs in a process of its own, from an SDK that was
    never initialised, and exits through the interpreter's exit handlers as a script would.

    Reads ``{"dsn": ..., "scenario": ..., "output": PATH}`` lines on stdin; the scenario's
    stdout and stderr go to PATH; answers each with the scenario's exit code on a line."""
    with contextlib.suppress(ImportError):  # what the FastAPI scenarios import, once
        import fastapi.testclient  # noqa: F401
        import sqlalchemy  # noqa: F401
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _scenario_child(request["dsn"], request["scenario"], request["output"])
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
    return 0


def _scenario_child(dsn: str, name: str, output: str) -> None:
    """In the forked process: run one scenario as ``--dsn DSN --scenario NAME`` would."""
    code = 1
    try:
        target = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, 1)
        os.dup2(target, 2)
        os.close(target)
        sys.argv = [sys.argv[0], "--dsn", dsn, "--scenario", name]
        run(dsn, name)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()  # the SDK's own exit handling (flush, sessions), as at exit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", help="DSN to send to (http://KEY@HOST:PORT/PROJECT_ID)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="scenario to run")
    parser.add_argument("--list", action="store_true", help="print the scenario names and exit")
    parser.add_argument("--serve", action="store_true", help="fork server (see serve())")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    if args.serve:
        return serve()
    if not args.dsn or not args.scenario:
        parser.error("--dsn and --scenario are required (or --list)")
    run(args.dsn, args.scenario)
    return 0


if __name__ == "__main__":
    # Re-import this file as a module so frames say ``python_scenarios``, not ``__main__``.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import python_scenarios

    sys.exit(python_scenarios.main())
