"""Tables, engine and demo data (SQLAlchemy 2 ORM, one SQLite file)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ForeignKey, String, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tenant: Mapped[str] = mapped_column(String(50))
    tier: Mapped[str] = mapped_column(String(20), default="standard")
    password_hash: Mapped[str] = mapped_column(String(200))
    api_token: Mapped[str] = mapped_column(String(100), unique=True)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int]
    stock: Mapped[int]


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    total_cents: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC))
    # lazy="select": reading `order.items` runs one SELECT per order -- the N+1 pattern the
    # /orders listing shows on purpose (see routes.list_orders).
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", lazy="select")
    payments: Mapped[list[Payment]] = relationship(back_populates="order", lazy="select")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    price_cents: Mapped[int]
    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship(lazy="select")


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int]
    card_last4: Mapped[str] = mapped_column(String(4))
    provider_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    order: Mapped[Order] = relationship(back_populates="payments")


PRODUCTS = [
    ("SKU-MUG", "Enamel mug", 1_200, 500),
    ("SKU-TEE", "Logo t-shirt", 2_400, 500),
    ("SKU-CAP", "Baseball cap", 1_800, 500),
    ("SKU-BAG", "Tote bag", 1_500, 500),
    ("SKU-PIN", "Enamel pin", 400, 500),
    ("SKU-LAMP", "Desk lamp (limited)", 9_900, 0),
]


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return 0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA busy_timeout=30000")
    # The sales report calls sleep(): a stand-in for a scan of a large table, so that the
    # "slow DB query" is slow on any machine (SQLite has no pg_sleep).
    dbapi_connection.create_function("sleep", 1, _sleep)


def make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def prepare(engine: Engine) -> sessionmaker[Session]:
    Base.metadata.create_all(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        if session.scalar(select(Product.id).limit(1)) is None:
            session.add_all(
                Product(sku=sku, name=name, price_cents=price, stock=stock)
                for sku, name, price, stock in PRODUCTS
            )
    return factory


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session
