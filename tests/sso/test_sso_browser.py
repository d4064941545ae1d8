"""Single sign-on in a real browser: the sign-in page's button, the provider's page, back to
Vedette's projects as the user the first sign-in made; later sign-ins find the same user, even
after the email changed at the provider."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect
from playwright.sync_api import Page as PwPage
from tests.conftest import LiveVedette
from tests.sso.conftest import BUTTON_LABEL, ORGANIZATION, Account, Provider, member
from tests.ui.conftest import browser, chromium  # noqa: F401 (fixtures)


@pytest.fixture
def contexts() -> Iterator[list[BrowserContext]]:
    """The browser contexts a test opened, closed at its end."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def sign_in(
    browser: Browser,  # noqa: F811
    server: LiveVedette,
    account: Account,
    contexts: list[BrowserContext],
) -> PwPage:
    """A sign-in in a fresh context: no cookies at Vedette nor at the provider."""
    context = browser.new_context(base_url=server.base_url)
    contexts.append(context)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_role("link", name=f"Sign in with {BUTTON_LABEL}").click()
    page.wait_for_url(lambda url: "/interaction/" in url)
    page.fill("input[name=login]", account.id)
    page.get_by_role("button", name="Sign in at the provider").click()
    page.wait_for_url(f"{server.base_url}/")
    return page


def test_first_sign_in_provisions_the_user_and_later_ones_find_it(
    browser: Browser,  # noqa: F811
    sso_server: LiveVedette,
    provider: Provider,
    contexts: list[BrowserContext],
) -> None:
    ours = sso_server.create_project(slug=f"shop-{uuid.uuid4().hex[:8]}", org=ORGANIZATION)
    theirs = sso_server.create_project(slug=f"shop-{uuid.uuid4().hex[:8]}", org="elsewhere")
    account = provider.new_account()
    assert member(sso_server, account.email) is None

    page = sign_in(browser, sso_server, account, contexts)
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"{ORGANIZATION} / {ours.slug}")).to_be_visible()
    expect(page.get_by_role("link", name=f"elsewhere / {theirs.slug}")).to_have_count(0)
    first = member(sso_server, account.email)
    assert first is not None
    assert first.organizations == {ORGANIZATION}
    assert not first.is_superuser  # VEDETTE_OIDC_ROLE=member
    assert first.identities == 1

    sign_in(browser, sso_server, account, contexts)
    assert member(sso_server, account.email) == first

    # The provider changes the person's email: still the same user (linked by subject).
    provider.set_account(
        account.id, {"email": f"renamed-{account.email}", "email_verified": True, "name": "R"}
    )
    renamed = sign_in(browser, sso_server, account, contexts)
    expect(renamed.get_by_role("link", name=f"{ORGANIZATION} / {ours.slug}")).to_be_visible()
    assert member(sso_server, f"renamed-{account.email}") is None
    assert member(sso_server, account.email) == first
