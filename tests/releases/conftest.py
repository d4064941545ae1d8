"""The Chromium of the UI tests, for the browser source-map test."""

from tests.ui.conftest import browser, chromium

__all__ = ["browser", "chromium"]
