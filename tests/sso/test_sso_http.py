"""Single sign-on driven over HTTP: Vedette's callback refuses what it must.

Each forged ID token reaches Vedette through the real code exchange (the provider swaps it into
its token response) and is signed with the provider's own key unless the case is about the
signature; the control case, the same minting with nothing wrong, signs in, so each refusal is
down to the one thing its case breaks.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey
from tests.conftest import LiveVedette
from tests.sso.conftest import (
    BUTTON_LABEL,
    ORGANIZATION,
    Provider,
    member,
    sign_in_at_provider,
)
from tests.ui import pages

from vedette.storage import users

SESSION_COOKIE = "vedette_session"
STATE_COOKIE = "vedette_oidc_state"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A browser without a browser: cookies kept (per host), redirects not followed."""
    with httpx.Client(timeout=30) as client:
        yield client


def tampered(token: str) -> str:
    """The token with another email in its payload and the signature left as it was."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "someone-else@sso.example"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def stranger_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex}, private=True)


Forgery = Callable[[Provider, dict[str, Any]], str]
REFUSED: dict[str, Forgery] = {
    "signature broken": lambda p, claims: tampered(p.mint(claims)),
    "signed by a key the provider never published": lambda p, claims: p.mint(
        claims, stranger_key()
    ),
    "wrong nonce": lambda p, claims: p.mint({**claims, "nonce": "another-sign-in"}),
    "expired": lambda p, claims: p.mint(
        {**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600}
    ),
    "wrong audience": lambda p, claims: p.mint({**claims, "aud": "another-client"}),
    "wrong issuer": lambda p, claims: p.mint({**claims, "iss": "https://idp.invalid"}),
    "issued in the future": lambda p, claims: p.mint(
        {**claims, "iat": claims["iat"] + 3600, "exp": claims["iat"] + 7200}
    ),
}


def test_a_well_formed_minted_token_signs_in(
    sso_server: LiveVedette, provider: Provider, http: httpx.Client
) -> None:
    """The control of the cases below: their minting, with nothing wrong, is accepted."""
    account = provider.new_account()
    callback = sign_in_at_provider(http, sso_server, account)
    provider.queue_id_token(provider.mint(provider.valid_claims(account, callback.nonce)))
    response = http.get(callback.url)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == "/"
    assert SESSION_COOKIE in response.cookies
    found = member(sso_server, account.email)
    assert found is not None and found.organizations == {ORGANIZATION}


@pytest.mark.parametrize(
    ("next_path", "landing"),
    [
        ("/settings/tokens/", "/settings/tokens/"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
    ],
)
def test_a_sign_in_returns_where_it_was_going_on_this_site_only(
    sso_server: LiveVedette, provider: Provider, http: httpx.Client, next_path: str, landing: str
) -> None:
    account = provider.new_account()
    callback = sign_in_at_provider(http, sso_server, account, next_path)
    response = http.get(callback.url)  # the provider's own ID token, untouched
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == landing
    assert http.get(f"{sso_server.base_url}{landing}").status_code == 200


def test_without_oidc_settings_there_is_no_button_and_no_route(live_vedette: LiveVedette) -> None:
    page = pages.parse(live_vedette.http.get("/login/").text)
    assert not [link for link in page.links if link.startswith("/auth/oidc/")]
    assert "Sign in with" not in page.text
    assert live_vedette.http.get("/auth/oidc/login/").status_code == 404
    assert live_vedette.http.get("/auth/oidc/callback/?state=x&code=y").status_code == 404


def test_the_sign_in_page_offers_the_provider(sso_server: LiveVedette) -> None:
    page = pages.parse(sso_server.http.get("/login/", params={"next": "/x/?a=1&b=2"}).text)
    assert "/auth/oidc/login/?next=/x/%3Fa%3D1%26b%3D2" in page.links
    assert f"Sign in with {BUTTON_LABEL}" in page.text


@pytest.mark.parametrize("forgery", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_id_token_is_refused(
    sso_server: LiveVedette, provider: Provider, http: httpx.Client, forgery: Forgery
) -> None:
    account = provider.new_account()
    callback = sign_in_at_provider(http, sso_server, account)
    provider.queue_id_token(forgery(provider, provider.valid_claims(account, callback.nonce)))
    response = http.get(callback.url)
    assert response.status_code == 401, response.text[:500]
    assert "could not be verified" in pages.parse(response.text).text
    assert SESSION_COOKIE not in response.cookies
    assert member(sso_server, account.email) is None
    assert member(sso_server, "someone-else@sso.example") is None


def test_a_key_the_provider_rotated_in_is_fetched_and_accepted(
    sso_server: LiveVedette, provider: Provider, http: httpx.Client
) -> None:
    """Vedette's cached JWKS predates the new key: an unknown kid makes it fetch them again."""
    first = provider.new_account()
    assert http.get(sign_in_at_provider(http, sso_server, first).url).status_code == 303
    rotated = stranger_key()
    provider.publish_key(rotated)
    account = provider.new_account()
    callback = sign_in_at_provider(http, sso_server, account)
    provider.queue_id_token(provider.mint(provider.valid_claims(account, callback.nonce), rotated))
    response = http.get(callback.url)
    assert response.status_code == 303, response.text[:500]
    assert member(sso_server, account.email) is not None


def without_email(claims: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in claims.items() if not name.startswith("email")}


def test_the_email_comes_from_userinfo_when_the_id_token_has_none(
    sso_server: LiveVedette, provider: Provider, http: httpx.Client
) -> None:
    account = provider.new_account()
    callback = sign_in_at_provider(http, sso_server, account)
    claims = without_email(provider.valid_claims(account, callback.nonce))
    provider.queue_id_token(provider.mint(claims))
    response = http.get(callback.url)
    assert response.status_code == 303, response.text[:500]
    assert member(sso_server, account.email) is not None


def test_userinfo_about_another_subject_is_refused(
    sso_server: LiveVedette, provider: Provider, http: httpx.Client
) -> None:
    """An ID token naming someone else, the access token (and so userinfo) the real one's."""
    account, someone = provider.new_account(), provider.new_account()
    callback = sign_in_at_provider(http, sso_server, account)
    claims = without_email(provider.valid_claims(someone, callback.nonce))
    provider.queue_id_token(provider.mint(claims))
    response = http.get(callback.url)
    assert response.status_code == 401, response.text[:500]
    assert member(sso_server, account.email) is None
    assert member(sso_server, someone.email) is None


def test_a_callback_works_once(
    sso_server: LiveVedette, provider: Provider, http: httpx.Client
) -> None:
    """Replaying a callback URL, even with its state cookie, is refused before any exchange."""
    account = provider.new_account()
    callback = sign_in_at_provider(http, sso_server, account)
    state_cookie = http.cookies.get(STATE_COOKIE)
    assert state_cookie is not None
    assert http.get(callback.url).status_code == 303
    with httpx.Client(timeout=30) as replayer:
        replayer.cookies.set(STATE_COOKIE, state_cookie, domain="127.0.0.1", path="/auth/oidc/")
        replay = replayer.get(callback.url)
    assert replay.status_code == 400, replay.text[:500]
    assert "expired or was already used" in pages.parse(replay.text).text
    assert SESSION_COOKIE not in replay.cookies


def test_an_unknown_state_is_refused(
    sso_server: LiveVedette, provider: Provider, http: httpx.Client
) -> None:
    """The callback's state must be the one this browser was given (login CSRF)."""
    account = provider.new_account()
    callback = sign_in_at_provider(http, sso_server, account)
    forged = callback.url.replace(f"state={callback.state}", f"state={uuid.uuid4().hex}")
    response = http.get(forged)
    assert response.status_code == 400, response.text[:500]
    assert SESSION_COOKIE not in response.cookies
    # Someone else's browser (no state cookie) cannot finish this sign-in either.
    with httpx.Client(timeout=30) as other_browser:
        assert other_browser.get(callback.url).status_code == 400
    assert member(sso_server, account.email) is None
    # The refusals did not use the sign-in up: its own browser still finishes it.
    assert http.get(callback.url).status_code == 303


def test_an_unverified_email_is_refused(
    sso_server: LiveVedette, provider: Provider, http: httpx.Client
) -> None:
    account = provider.new_account(email_verified=False)
    callback = sign_in_at_provider(http, sso_server, account)
    response = http.get(callback.url)
    assert response.status_code == 403, response.text[:500]
    assert "not verified" in pages.parse(response.text).text
    assert member(sso_server, account.email) is None


def password_sign_in(server: LiveVedette, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        form = pages.parse(http.get("/login/").text).form("/login/")
        return http.post(
            "/login/",
            data={"csrf_token": form.inputs["csrf_token"], "email": email,
                  "password": password, "next": "/"},
        )  # fmt: skip


def test_sso_only_refuses_passwords_to_the_organization(sso_server: LiveVedette) -> None:
    password = "a long enough password"
    suffix = uuid.uuid4().hex[:8]
    emails = {
        "member": f"member-{suffix}@example.com",
        "superuser": f"root-{suffix}@example.com",
        "outsider": f"outsider-{suffix}@example.com",
    }
    with sso_server.db.write() as conn:
        users.create_user(conn, emails["member"], password, [ORGANIZATION])
        users.create_user(conn, emails["superuser"], password, [ORGANIZATION], is_superuser=True)
        users.create_user(conn, emails["outsider"], password, [f"elsewhere-{suffix}"])
    refused = password_sign_in(sso_server, emails["member"], password)
    assert refused.status_code == 403, refused.text[:500]
    assert "sign in with single sign-on" in pages.parse(refused.text).text
    assert SESSION_COOKIE not in refused.cookies
    for who in ("superuser", "outsider"):
        allowed = password_sign_in(sso_server, emails[who], password)
        assert allowed.status_code == 303, (who, allowed.text[:500])
        assert SESSION_COOKIE in allowed.cookies
