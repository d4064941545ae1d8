"""Single sign-on against a real OpenID provider: the certified ``oidc-provider`` (Node, in
``provider/``) on loopback, started with a signing key the tests generated, and one Vedette
server per engine configured for it; each once per session (kept on the shelf).

Since the test holds the provider's signing key, it can mint ID tokens the provider's JWKS
vouches for, with one thing wrong each, and hand them to Vedette through the real code exchange
(the provider's test hook swaps the ID token of its next token response).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select
from tests.conftest import BACKENDS, LiveVedette, SessionShelf, free_port, fresh_database_url

from vedette.storage.schema import memberships, oidc_identities, organizations, users

PROVIDER_DIR = Path(__file__).with_name("provider")
CLIENT_ID = "vedette"
CLIENT_SECRET = "sso-test-client-secret"
ORGANIZATION = "sso-team"
BUTTON_LABEL = "Test IdP"
CALLBACK_PATH = "/auth/oidc/callback/"


@dataclass(frozen=True)
class Account:
    """An account at the provider: its subject (the id typed on its sign-in page), its email."""

    id: str
    email: str


@dataclass
class Provider:
    issuer: str
    key: RSAKey
    process: subprocess.Popen[bytes]
    http: httpx.Client

    def queue_id_token(self, token: str) -> None:
        """The next token response carries ``token`` instead of the provider's own."""
        assert self.http.post("/_test/next-id-token", content=token).status_code == 204

    def set_account(self, account: str, claims: dict[str, Any]) -> None:
        response = self.http.post(f"/_test/accounts/{account}", content=json.dumps(claims))
        assert response.status_code == 204

    def publish_key(self, key: RSAKey) -> None:
        """The provider's JWKS lists ``key`` from now on (a rotation, as Vedette sees it)."""
        public = json.dumps(key.as_dict(private=False))
        assert self.http.post("/_test/published-keys", content=public).status_code == 204

    def new_account(self, email_verified: bool = True) -> Account:
        """An account of this test's own (each test signs in people nobody else does)."""
        account = Account(f"u{uuid.uuid4().hex[:10]}", f"{uuid.uuid4().hex[:10]}@sso.example")
        claims = {"email": account.email, "email_verified": email_verified, "name": "Someone"}
        self.set_account(account.id, claims)
        return account

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.http.close()

    def mint(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        signing = key or self.key
        header = {"alg": "RS256", "kid": signing.kid or ""}
        return jwt.encode(header, claims, signing)

    def valid_claims(self, account: Account, nonce: str) -> dict[str, Any]:
        """What the provider would put in the ID token of this sign-in."""
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": account.id,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": account.email,
            "email_verified": True,
        }


def start_provider(folder: Path, ports: dict[str, int]) -> Provider:
    """The provider on a free port, its redirect URIs those of the servers to come."""
    node = shutil.which("node")
    if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test provider is not installed: (cd tests/sso/provider && npm ci)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(
        2048, parameters={"kid": uuid.uuid4().hex, "use": "sig", "alg": "RS256"}, private=True
    )
    config = {
        "port": port,
        "issuer": issuer,
        "client": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"http://127.0.0.1:{p}{CALLBACK_PATH}" for p in ports.values()],
        },
        "jwks": {"keys": [key.as_dict(private=True)]},
        "accounts": {},
    }
    (folder / "config.json").write_text(json.dumps(config))
    with (folder / "provider.log").open("wb") as log:
        process = subprocess.Popen(
            [node, str(PROVIDER_DIR / "provider.mjs"), str(folder / "config.json")],
            cwd=PROVIDER_DIR, stdout=subprocess.PIPE, stderr=log,
        )  # fmt: skip
    provider = Provider(issuer, key, process, httpx.Client(base_url=issuer, timeout=10))
    assert process.stdout is not None
    ready = process.stdout.readline()  # "ready", or nothing when it failed to start
    if ready != b"ready\n":
        provider.stop()
        raise AssertionError((folder / "provider.log").read_text()[-3000:])
    return provider


class SsoVedette(LiveVedette):
    """A live server on a port chosen beforehand (the provider knows its redirect URI)."""

    def __init__(self, database_url: str, data_dir: Path, backend: str, port: int) -> None:
        super().__init__(database_url, data_dir, backend)
        self.http.close()
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.base_url, timeout=30)


@pytest.fixture(scope="session")
def ports(shelf: SessionShelf) -> dict[str, int]:
    """Each engine's server port, known before the provider starts (its redirect URIs)."""
    return shelf.keep(("sso", "ports"), lambda: {backend: free_port() for backend in BACKENDS})


@pytest.fixture(scope="session")
def provider(
    shelf: SessionShelf, ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Provider:
    """One provider for the session (tests make accounts of their own)."""
    return shelf.keep(
        ("sso", "provider"),
        lambda: start_provider(tmp_path_factory.mktemp("oidc-provider"), ports),
        Provider.stop,
    )


@pytest.fixture(scope="session", params=BACKENDS)
def sso_server(
    request: pytest.FixtureRequest,
    shelf: SessionShelf,
    provider: Provider,
    ports: dict[str, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> LiveVedette:
    """The session's server of this engine with single sign-on at ``provider``, SSO only."""
    backend: str = request.param

    def start() -> tuple[SsoVedette, contextlib.AbstractContextManager[str]]:
        data_dir = tmp_path_factory.mktemp(f"sso-{backend}")
        database = contextlib.contextmanager(fresh_database_url)(backend, data_dir, migrated=True)
        server = SsoVedette(database.__enter__(), data_dir, backend, ports[backend])
        server.start(
            oidc_issuer=provider.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            oidc_organization=ORGANIZATION,
            oidc_role="member",
            oidc_sso_only="true",
            oidc_button_label=BUTTON_LABEL,
        )
        return server, database

    def stop(started: tuple[SsoVedette, contextlib.AbstractContextManager[str]]) -> None:
        server, database = started
        server.close()
        database.__exit__(None, None, None)

    return shelf.keep(("sso-server", backend), start, stop)[0]


# -- driving the sign-in over HTTP --------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """Where the provider sends the browser back, and what the sign-in asked for."""

    url: str
    state: str
    nonce: str


def sign_in_at_provider(
    http: httpx.Client, server: LiveVedette, account: Account, next_path: str = "/"
) -> Callback:
    """Start a sign-in at Vedette and sign ``account`` in at the provider, as a browser would;
    stops before the callback (the returned URL)."""
    start = http.get(f"{server.base_url}/auth/oidc/login/", params={"next": next_path})
    assert start.status_code == 303, start.text[:500]
    authorize = start.headers["location"]
    nonce = parse_qs(urlsplit(authorize).query)["nonce"][0]
    location = authorize
    for _ in range(6):
        response = http.get(location)
        if response.status_code == 200 and "/interaction/" in str(response.url):
            response = http.post(str(response.url), data={"login": account.id})
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        location = urljoin(str(response.url), response.headers["location"])
        if location.startswith(server.base_url + CALLBACK_PATH):
            state = parse_qs(urlsplit(location).query)["state"][0]
            return Callback(location, state, nonce)
    raise AssertionError(f"the provider never redirected back; last: {location}")


@dataclass(frozen=True)
class Member:
    user_id: int
    email: str
    is_superuser: bool
    organizations: frozenset[str]
    identities: int


def member(server: LiveVedette, email: str) -> Member | None:
    """The user of ``email`` as stored, with organisations and linked identities."""
    with server.db.read() as conn:
        row = conn.execute(
            select(users.c.id, users.c.email, users.c.is_superuser).where(users.c.email == email)
        ).one_or_none()
        if row is None:
            return None
        orgs = conn.execute(
            select(organizations.c.slug)
            .join(memberships, memberships.c.organization_id == organizations.c.id)
            .where(memberships.c.user_id == row.id)
        ).scalars()
        linked = conn.execute(
            select(oidc_identities.c.id).where(oidc_identities.c.user_id == row.id)
        ).all()
        return Member(row.id, row.email, bool(row.is_superuser), frozenset(orgs), len(linked))
