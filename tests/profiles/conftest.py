"""The browser fixtures of tests/ui, for the profile pages' Playwright check."""

from tests.ui.conftest import browser, chromium, tab  # noqa: F401
