"""The shop's own settings (``SHOP_*``); monitoring has its own (`MonitoringSettings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ShopSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_", extra="ignore")

    database_path: Path = Field(
        default=Path("shop.sqlite3"), description="SQLite file of the shop (created if missing)."
    )
    slow_report_seconds: float = Field(
        default=1.2,
        ge=0.0,
        description="How long the sales report's query takes: it stands in for a scan of a big"
        " table. Above 1 s it is a 'slow DB query' for Vedette and Sentry.",
    )
    gateway_latency_seconds: float = Field(
        default=0.005, ge=0.0, description="Simulated round trip to the payment provider."
    )
