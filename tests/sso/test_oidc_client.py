"""The relying party's own rules, and its calls to the provider: bounded in time, refused when
the provider is not the configured one."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import free_port
from tests.sso.conftest import CLIENT_ID, Provider

from vedette.web.oidc import (
    OidcClient,
    OidcConfig,
    ProviderError,
    TokenRefused,
    VerifiedIdentity,
    check_authorized_party,
    identity_of,
)


def config(issuer: str, timeout: float = 10.0) -> OidcConfig:
    return OidcConfig(
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret="secret",
        redirect_uri="http://127.0.0.1:9/auth/oidc/callback/",
        organization="team",
        timeout_seconds=timeout,
    )


@pytest.mark.parametrize(
    ("claims", "identity"),
    [
        ({"sub": "1", "email": "a@x", "email_verified": True}, ("a@x", True)),
        ({"sub": "1", "email": "a@x", "email_verified": False}, ("a@x", False)),
        ({"sub": "1", "email": "a@x"}, ("a@x", None)),
        ({"sub": "1", "email": "a@x", "email_verified": "false"}, ("a@x", False)),
        ({"sub": "1", "email": "a@x", "email_verified": "TRUE"}, ("a@x", True)),
        ({"sub": "1", "email": "a@x", "email_verified": "yes"}, ("a@x", None)),
        ({"sub": "1", "email": "a@x", "email_verified": 1}, ("a@x", None)),
        ({"sub": "1", "email": ""}, (None, None)),
        ({"sub": "1", "email": ["a@x"]}, (None, None)),
    ],
)
def test_identity_of_claims(
    claims: dict[str, Any], identity: tuple[str | None, bool | None]
) -> None:
    assert identity_of(claims) == VerifiedIdentity("1", *identity)


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"aud": CLIENT_ID}, True),
        ({"aud": [CLIENT_ID]}, True),
        ({"aud": [CLIENT_ID, "other"], "azp": CLIENT_ID}, True),
        ({"aud": [CLIENT_ID, "other"]}, False),
        ({"aud": [CLIENT_ID, "other"], "azp": "other"}, False),
    ],
)
def test_several_audiences_need_us_as_the_authorized_party(
    claims: dict[str, Any], accepted: bool
) -> None:
    if accepted:
        check_authorized_party(claims, CLIENT_ID)
    else:
        with pytest.raises(TokenRefused):
            check_authorized_party(claims, CLIENT_ID)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_a_provider_that_never_answers_fails_within_the_timeout(silent_port: int) -> None:
    client = OidcClient(config(f"http://127.0.0.1:{silent_port}", timeout=0.3))
    started = time.monotonic()
    with pytest.raises(ProviderError):
        asyncio.run(client.authorization())
    assert time.monotonic() - started < 5


def test_an_unreachable_provider_is_a_provider_error() -> None:
    with pytest.raises(ProviderError):
        asyncio.run(OidcClient(config(f"http://127.0.0.1:{free_port()}")).metadata())


def test_discovery_must_name_the_configured_issuer(provider: Provider) -> None:
    """The real provider's document, reached under another spelling of its issuer."""
    with pytest.raises(ProviderError, match="names issuer"):
        asyncio.run(OidcClient(config(provider.issuer + "/")).metadata())
    metadata = asyncio.run(OidcClient(config(provider.issuer)).metadata())
    assert metadata["issuer"] == provider.issuer


def test_the_authorization_request_carries_pkce_state_and_nonce(provider: Provider) -> None:
    authorization = asyncio.run(OidcClient(config(provider.issuer)).authorization())
    assert authorization.url.startswith(provider.issuer + "/auth?")
    for part in ("code_challenge_method=S256", "code_challenge=", "response_type=code",
                 f"state={authorization.state}", f"nonce={authorization.nonce}"):  # fmt: skip
        assert part in authorization.url
    assert authorization.code_verifier not in authorization.url
