"""The relying party's own rules, and its calls to the provider: bounded in time, refused when
the provider is not the configured one; its libraries loaded only when SSO is configured."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import free_port
from tests.sso.conftest import CLIENT_ID, Provider

from vedette.web.oidc import OidcClient, check_authorized_party, identity_of
from vedette.web.oidc_config import OidcConfig, ProviderError, TokenRefused, VerifiedIdentity


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


_APP_MODULES = """
import sys
from vedette.app import create_app
from vedette.settings import Settings
create_app(Settings(database_url=sys.argv[1], worker_enabled=False, {oidc}))
print(" ".join(sys.modules))
"""
_OIDC = (
    'oidc_issuer="http://127.0.0.1:9/", oidc_client_id="c", oidc_client_secret="s",'
    ' oidc_organization="team"'
)
SSO_LIBRARIES = ("authlib", "joserfc", "httpx2", "cryptography")


@pytest.mark.parametrize("configured", [False, True])
def test_the_sso_libraries_are_loaded_only_when_sso_is_configured(
    configured: bool, tmp_path: Path
) -> None:
    """Authlib, joserfc, httpx2 and cryptography cost every server 13 MiB and 70 ms of CPU."""
    script = _APP_MODULES.format(oidc=_OIDC if configured else "")
    loaded = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path / 'v.sqlite3'}"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.split()  # fmt: skip
    sso = sorted({m.split(".")[0] for m in loaded if m.startswith(SSO_LIBRARIES)})
    assert sso == (sorted(SSO_LIBRARIES) if configured else [])
