"""The shop's domain: expected errors, the payment gateway and the services that use them.

Expected errors subclass `ExpectedError`: the kit answers them with their status and never
reports them (seed best practice #6, done the way the audit says: no capture, no re-raise dance).
Bugs are left to propagate: the kit reports each once, unhandled.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sentry_sdk
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from examples.shop.db import Order, OrderItem, Payment, Product, User
from vedette.kit import ExpectedError, report_exception, span, traced

log = logging.getLogger("shop")


class UserNotFound(ExpectedError):
    status_code = 404
    default_detail = "User not found"


class EmailTaken(ExpectedError):
    status_code = 409
    default_detail = "A user with this email exists"


class OrderNotFound(ExpectedError):
    status_code = 404
    default_detail = "Order not found"


class OutOfStock(ExpectedError):
    status_code = 409
    default_detail = "Out of stock"


class AlreadyPaid(ExpectedError):
    status_code = 409
    default_detail = "Order already paid"


class PaymentDeclined(ExpectedError):
    status_code = 402
    default_detail = "Payment declined"


class NotAuthenticated(ExpectedError):
    status_code = 401
    default_detail = "Missing or unknown bearer token"


class GatewayTimeout(Exception):
    """The payment provider did not answer in time (handled: the order waits for a retry)."""


# Test cards, as payment providers publish them.
CARD_OK = "4242 4242 4242 4242"
CARD_DECLINED = "4000 0000 0000 0002"
CARD_TIMEOUT = "4000 0000 0000 0119"
CARD_3DS = "4000 0000 0000 3220"  # answers "requires_action": the shop's bug (a KeyError)


def password_hash(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()
    return f"{salt}${digest}"


def create_user(session: Session, email: str, name: str, password: str, tenant: str) -> User:
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(f"{email} is taken")
    user = User(
        email=email,
        name=name,
        tenant=tenant,
        tier="gold" if tenant.endswith("-vip") else "standard",
        password_hash=password_hash(password),
        api_token=secrets.token_urlsafe(24),
    )
    session.add(user)
    session.commit()
    log.info("user %s signed up", user.id)
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    return user


def user_for_token(session: Session, token: str) -> User | None:
    return session.scalar(select(User).where(User.api_token == token))


def place_order(session: Session, user: User, lines: list[tuple[int, int]]) -> Order:
    order = Order(user_id=user.id)
    session.add(order)
    with span("order.build", "Reserve stock", lines=len(lines)):
        for product_id, quantity in lines:
            product = session.get(Product, product_id)
            if product is None or product.stock < quantity:
                session.rollback()
                raise OutOfStock(f"product {product_id}: not enough stock")
            product.stock -= quantity
            order.items.append(
                OrderItem(product_id=product_id, quantity=quantity, price_cents=product.price_cents)
            )
            order.total_cents += quantity * product.price_cents
    session.commit()
    sentry_sdk.add_breadcrumb(
        category="order", message="Order placed", level="info", data={"order_id": order.id}
    )
    return order


def order_of(session: Session, user: User, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None or order.user_id != user.id:
        raise OrderNotFound(f"order {order_id} not found")
    return order


def orders_with_items(session: Session, user: User) -> list[dict[str, Any]]:
    """The N+1 query pattern, on purpose: one SELECT for the orders, then one per order for
    its items (lazy loading in a loop). Vedette reports it as a performance issue; the fix is
    ``select(Order).options(selectinload(Order.items))``."""
    orders = session.scalars(select(Order).where(Order.user_id == user.id).order_by(Order.id))
    listing = []
    for order in orders:
        listing.append(
            {
                "id": order.id,
                "status": order.status,
                "total_cents": order.total_cents,
                "items": [
                    {"product_id": i.product_id, "quantity": i.quantity} for i in order.items
                ],
            }
        )
    return listing


@dataclass
class FakePay:
    """A payment provider's HTTP API, simulated in-process (latency, outcomes by test card)."""

    latency_seconds: float = 0.005

    def charge(self, card_number: str, amount_cents: int) -> dict[str, Any]:
        digits = card_number.replace(" ", "")
        with span("http.client", "POST https://api.fakepay.test/v1/charges", amount=amount_cents):
            time.sleep(self.latency_seconds)
            if digits == CARD_TIMEOUT.replace(" ", ""):
                raise GatewayTimeout("fakepay did not answer within 10 s")
            if digits == CARD_DECLINED.replace(" ", ""):
                return {"error": {"code": "card_declined"}}
            if digits == CARD_3DS.replace(" ", ""):
                return {"status": "requires_action", "next_action": {"type": "3ds"}}
            return {"charge": {"id": f"ch_{secrets.token_hex(6)}", "status": "succeeded"}}


class PaymentService:
    def __init__(self, gateway: FakePay) -> None:
        self.gateway = gateway

    @traced("payment.process", "Process payment")
    def pay(self, session: Session, order: Order, card_number: str) -> Payment:
        if order.status == "paid":
            raise AlreadyPaid(f"order {order.id} is paid")
        sentry_sdk.set_context(
            "order",
            {"order_id": order.id, "total": order.total_cents, "items_count": len(order.items)},
        )
        log.info("User started checkout of order %s", order.id)
        last4 = card_number.replace(" ", "")[-4:]
        try:
            response = self.gateway.charge(card_number, order.total_cents)
        except GatewayTimeout as error:
            # Handled, not re-raised: reported once, grouped by provider rather than by the
            # message, with this event's own tags (nothing leaks into later events).
            report_exception(
                error,
                fingerprint=["payment-gateway-timeout", "fakepay"],
                tags={"payment_provider": "fakepay"},
                contexts={"payment": {"order_id": order.id, "amount": order.total_cents}},
                level="warning",
            )
            order.status = "payment_pending"
            payment = Payment(
                order_id=order.id, status="pending", amount_cents=order.total_cents,
                card_last4=last4,
            )  # fmt: skip
            session.add(payment)
            session.commit()
            return payment
        if "error" in response:
            raise PaymentDeclined(f"declined: {response['error']['code']}")
        # The bug the demo shows: a "requires_action" answer has no "charge" (KeyError).
        charge_id = response["charge"]["id"]
        payment = Payment(
            order_id=order.id, status="succeeded", amount_cents=order.total_cents,
            card_last4=last4, provider_ref=charge_id,
        )  # fmt: skip
        order.status = "paid"
        session.add(payment)
        session.commit()
        return payment


@traced("recommend", "Average order value")
async def average_order_value(totals: list[int]) -> float:
    # Bug on purpose: a user without orders divides by zero (an unexpected error in an async
    # endpoint, reported once as unhandled).
    return sum(totals) / len(totals)


def sales_report(session: Session, delay_seconds: float) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT p.sku, SUM(i.quantity) AS units, SUM(i.quantity * i.price_cents) AS revenue"
            " FROM order_items i JOIN products p ON p.id = i.product_id"
            " WHERE (SELECT sleep(:delay)) = 0"
            " GROUP BY p.sku ORDER BY revenue DESC"
        ),
        {"delay": delay_seconds},
    )
    return [{"sku": sku, "units": units, "revenue_cents": revenue} for sku, units, revenue in rows]


def retry_pending_payments(session: Session, payments: PaymentService) -> int:
    """The seed's batch job: one span per item, inside whatever transaction runs it."""
    pending = list(session.scalars(select(Order).where(Order.status == "payment_pending")))
    settled = 0
    for order in pending:
        with span("item.process", f"Retry payment of order {order.id}", order_id=order.id):
            order.status = "paid"
            for payment in order.payments:
                payment.status = "succeeded"
            settled += 1
    session.commit()
    return settled
