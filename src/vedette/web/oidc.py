"""The OpenID Connect relying party: discovery, the authorization request (PKCE S256, state,
nonce), the code exchange and the ID token's verification.

The protocol work is Authlib's (the OAuth 2 client over httpx2) and the JOSE work joserfc's
(signatures, claims); this module only wires them to one configured provider and caches what
the provider publishes: its metadata for an hour, its signing keys until a token names a key
id they lack (the provider rotated its keys). Such tokens come only from the token endpoint,
in answer to a code and our client secret, so they cannot make us fetch keys at will.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from vedette.web.oidc_config import OidcConfig, ProviderError, TokenRefused, VerifiedIdentity

METADATA_SECONDS = 3600.0
# Asymmetric algorithms only: an HMAC "signed" with the client secret proves nothing about
# the provider, and "none" nothing at all.
ID_TOKEN_ALGORITHMS = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
]  # fmt: skip
CLOCK_LEEWAY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Authorization:
    """A sign-in sent to the provider: where the browser goes, and what the callback needs."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class Tokens:
    id_token: str
    access_token: str | None


def identity_of(claims: Mapping[str, Any]) -> VerifiedIdentity:
    """The subject and email of verified claims (``email_verified`` None when not said)."""
    email = claims.get("email")
    verified = claims.get("email_verified")
    if isinstance(verified, str):  # some providers (Amazon Cognito) send "true" and "false"
        verified = {"true": True, "false": False}.get(verified.lower())
    return VerifiedIdentity(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) and email else None,
        email_verified=verified if isinstance(verified, bool) else None,
    )


def claims_registry(config: OidcConfig, nonce: str, now: int) -> jwt.JWTClaimsRegistry:
    """OpenID Connect Core 3.1.3.7: the checks an ID token's claims must pass."""
    return jwt.JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": config.issuer},
        aud={"essential": True, "value": config.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )


def check_authorized_party(claims: Mapping[str, Any], client_id: str) -> None:
    """With several audiences, ``azp`` must name this client (Core 3.1.3.7, item 4-5)."""
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise TokenRefused("the token is for several audiences and not authorized for us")


class OidcClient:
    """The relying party of one provider; shared by every request of this process."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            token_endpoint_auth_method="client_secret_basic",
            redirect_uri=self.config.redirect_uri,
            scope=self.config.scopes,
            code_challenge_method="S256",
            timeout=self.config.timeout_seconds,
        )

    async def _get_json(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(timeout=self.config.timeout_seconds) as client:
                response = await client.get(
                    url, headers={"Accept": "application/json", **(headers or {})}
                )
                response.raise_for_status()
                body = response.json()
        except Exception as exc:  # transport, status, JSON: all the provider's failure
            raise ProviderError(f"GET {url} failed: {exc!r}") from exc
        if not isinstance(body, dict):
            raise ProviderError(f"GET {url} answered no JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, checked to be about the configured issuer."""
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
                url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
                found = await self._get_json(url)
                if found.get("issuer") != self.config.issuer:
                    raise ProviderError(
                        f"the discovery document names issuer {found.get('issuer')!r},"
                        f" not {self.config.issuer!r}"
                    )
                for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(field), str):
                        raise ProviderError(f"the discovery document has no {field}")
                self._metadata, self._metadata_at = found, time.monotonic()
            return self._metadata

    async def _key_set(self, refresh: bool) -> KeySet:
        jwks_uri = (await self.metadata())["jwks_uri"]
        async with self._lock:
            if self._keys is None or refresh:
                published = await self._get_json(jwks_uri)
                try:
                    self._keys = KeySet.import_key_set(published)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError) as exc:
                    raise ProviderError(f"the provider's JWKS cannot be read: {exc!r}") from exc
            return self._keys

    async def authorization(self) -> Authorization:
        """A fresh state, nonce and PKCE verifier, and the provider URL that carries them."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                endpoint, state=state, nonce=nonce, code_verifier=verifier
            )
        return Authorization(url, state, nonce, verifier)

    async def sign_in(self, code: str, code_verifier: str, nonce: str) -> VerifiedIdentity:
        """Who the provider signed in: the code exchanged, the ID token verified, and the email
        asked of the userinfo endpoint when the ID token has none (providers that put the
        scopes' claims only there, as Core 5.4 allows)."""
        tokens = await self.exchange(code, code_verifier)
        identity = await self.verify(tokens.id_token, nonce)
        if identity.email is None and tokens.access_token:
            return await self.userinfo(tokens.access_token, identity.subject)
        return identity

    async def exchange(self, code: str, code_verifier: str) -> Tokens:
        """The tokens the token endpoint gives for ``code`` (the ID token not yet verified)."""
        endpoint = (await self.metadata())["token_endpoint"]
        try:
            async with self._client() as client:
                token = await client.fetch_token(
                    endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
        except Exception as exc:  # transport, OAuth error answer, bad JSON
            raise ProviderError(f"the code exchange failed: {exc!r}") from exc
        id_token, access_token = token.get("id_token"), token.get("access_token")
        if not isinstance(id_token, str) or not id_token:
            raise ProviderError("the token response has no id_token")
        return Tokens(id_token, access_token if isinstance(access_token, str) else None)

    async def userinfo(self, access_token: str, subject: str) -> VerifiedIdentity:
        """The userinfo endpoint's claims, which must be about the ID token's subject."""
        endpoint = (await self.metadata()).get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            raise ProviderError("the ID token has no email and the provider no userinfo endpoint")
        claims = await self._get_json(endpoint, {"Authorization": f"Bearer {access_token}"})
        if claims.get("sub") != subject:  # Core 5.3.2: else the answer may be substituted
            raise TokenRefused("the userinfo answer is about another subject")
        return identity_of(claims)

    async def verify(self, id_token: str, nonce: str) -> VerifiedIdentity:
        """The identity of a signed, current ID token issued to us for this sign-in."""
        try:
            decoded = await self._decode(id_token)
            claims = decoded.claims
            claims_registry(self.config, nonce, int(time.time())).validate(claims)
        except (JoseError, ValueError) as exc:
            raise TokenRefused(f"{type(exc).__name__}: {exc}") from exc
        check_authorized_party(claims, self.config.client_id)
        return identity_of(claims)

    async def _decode(self, id_token: str) -> jwt.Token:
        try:
            return jwt.decode(id_token, await self._key_set(False), ID_TOKEN_ALGORITHMS)
        except InvalidKeyIdError:
            return jwt.decode(id_token, await self._key_set(True), ID_TOKEN_ALGORITHMS)
