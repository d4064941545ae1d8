"""HTTP endpoints. Plain functions registered by `build_router`, which `create_app` calls
*after* `init_monitoring`: FastAPI builds each route's handler when the route is added, and the
SDK must have patched that machinery by then (audit row 4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import sentry_sdk
from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from examples.shop import services
from examples.shop.db import Order, Product, User
from vedette.kit import background_transaction, monitored_user, send_feedback


def db_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]


def current_user(request: Request, session: DbSession) -> User:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise services.NotAuthenticated()
    user = services.user_for_token(session, token)
    if user is None:
        raise services.NotAuthenticated()
    # Request-scoped tags (the request's isolation scope): low cardinality only, tags are
    # indexed. The user itself goes in through `monitored_user` (id only by default).
    sentry_sdk.set_tag("tenant_id", user.tenant)
    sentry_sdk.set_tag("customer_tier", user.tier)
    return user


CurrentUser = Annotated[User, Depends(monitored_user(current_user))]


class UserIn(BaseModel):
    email: str
    name: str
    password: str
    tenant: str = "acme"


class OrderLine(BaseModel):
    product_id: int
    quantity: int = Field(default=1, ge=1)


class OrderIn(BaseModel):
    items: list[OrderLine]


class CardIn(BaseModel):
    card_number: str
    cvv: str
    expiry: str
    cardholder: str = ""


async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_user(body: UserIn, session: DbSession, response: Response) -> dict[str, Any]:
    user = services.create_user(session, body.email, body.name, body.password, body.tenant)
    response.status_code = status.HTTP_201_CREATED
    return {"id": user.id, "token": user.api_token}


def get_user(user_id: int, session: DbSession) -> dict[str, Any]:
    user = services.get_user(session, user_id)
    return {"id": user.id, "name": user.name, "tenant": user.tenant}


async def search_products(request: Request, q: str = "") -> list[dict[str, Any]]:
    catalogue: list[dict[str, Any]] = request.app.state.catalogue
    return [p for p in catalogue if q.lower() in p["name"].lower()]


def place_order(body: OrderIn, user: CurrentUser, session: DbSession, response: Response) -> Any:
    order = services.place_order(session, user, [(i.product_id, i.quantity) for i in body.items])
    response.status_code = status.HTTP_201_CREATED
    return {"id": order.id, "total_cents": order.total_cents}


def list_orders(user: CurrentUser, session: DbSession) -> list[dict[str, Any]]:
    return services.orders_with_items(session, user)


def get_order(order_id: int, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    order = services.order_of(session, user, order_id)
    return {"id": order.id, "status": order.status, "total_cents": order.total_cents}


def checkout(
    order_id: int,
    card: CardIn,
    request: Request,
    user: CurrentUser,
    session: DbSession,
    response: Response,
) -> dict[str, Any]:
    order = services.order_of(session, user, order_id)
    payment = request.app.state.payments.pay(session, order, card.card_number)
    if payment.status == "pending":
        response.status_code = status.HTTP_202_ACCEPTED
    return {"order_id": order.id, "payment": payment.status, "last4": payment.card_last4}


async def recommendations(user: CurrentUser, session: DbSession) -> dict[str, Any]:
    totals = await run_in_threadpool(
        lambda: list(session.scalars(select(Order.total_cents).where(Order.user_id == user.id)))
    )
    average = await services.average_order_value(totals)
    return {"average_order_cents": round(average), "suggested": ["SKU-MUG", "SKU-PIN"]}


def sales_report(request: Request, session: DbSession) -> list[dict[str, Any]]:
    return services.sales_report(session, request.app.state.settings.slow_report_seconds)


def _retry_payments(request: Request) -> None:
    with (
        background_transaction("batch.process", "Retry pending payments"),
        request.app.state.sessions() as session,
    ):
        services.retry_pending_payments(session, request.app.state.payments)


def retry_payments(request: Request, tasks: BackgroundTasks, response: Response) -> dict[str, str]:
    # A BackgroundTask runs before the request's transaction ends: the batch becomes a span of
    # it. Run detached (examples/shop/jobs.py), the same code is a transaction of its own.
    tasks.add_task(_retry_payments, request)
    response.status_code = status.HTTP_202_ACCEPTED
    return {"status": "scheduled"}


class FeedbackIn(BaseModel):
    """What the shop's error page posts: the user's words about the error they saw."""

    message: str = Field(min_length=1, max_length=4096)
    name: str | None = Field(default=None, max_length=128)
    email: str | None = Field(default=None, max_length=128)
    event_id: str | None = Field(default=None, pattern=r"^[0-9a-fA-F-]{32,36}$")


def feedback(body: FeedbackIn, response: Response) -> dict[str, str | None]:
    feedback_id = send_feedback(
        body.message, name=body.name, email=body.email, event_id=body.event_id
    )
    response.status_code = status.HTTP_202_ACCEPTED
    return {"feedback_id": feedback_id}


def build_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/health", health, methods=["GET"])
    router.add_api_route("/users", create_user, methods=["POST"])
    router.add_api_route("/users/{user_id}", get_user, methods=["GET"])
    router.add_api_route("/products/search", search_products, methods=["GET"])
    router.add_api_route("/orders", place_order, methods=["POST"])
    router.add_api_route("/orders", list_orders, methods=["GET"])
    router.add_api_route("/orders/{order_id}", get_order, methods=["GET"])
    router.add_api_route("/orders/{order_id}/checkout", checkout, methods=["POST"])
    router.add_api_route("/recommendations", recommendations, methods=["GET"])
    router.add_api_route("/reports/sales", sales_report, methods=["GET"])
    router.add_api_route("/admin/retry-payments", retry_payments, methods=["POST"])
    router.add_api_route("/feedback", feedback, methods=["POST"])
    return router


def catalogue(session: Session) -> list[dict[str, Any]]:
    return [
        {"id": p.id, "sku": p.sku, "name": p.name, "price_cents": p.price_cents}
        for p in session.scalars(select(Product).order_by(Product.id))
    ]
