"""What the server needs of single sign-on before anyone uses it: the provider's configuration
and the outcomes the sign-in pages handle. The relying party itself (vedette/web/oidc.py, over
Authlib, joserfc and httpx2: 13 MiB and 70 ms of imports) is loaded only when SSO is configured.
"""

from __future__ import annotations

from dataclasses import dataclass

from vedette.storage.identities import ProvisionedRole


@dataclass(frozen=True)
class OidcConfig:
    """One OpenID provider and how its users land here (``VEDETTE_OIDC_*``)."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    organization: str
    role: ProvisionedRole = "member"
    sso_only: bool = False
    button_label: str = "single sign-on"
    timeout_seconds: float = 10.0
    scopes: str = "openid email profile"


class ProviderError(Exception):
    """The provider could not be reached, or answered what no provider should."""


class TokenRefused(Exception):
    """The ID token is not one to trust (signature, issuer, audience, time, nonce)."""


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    subject: str
    email: str | None
    email_verified: bool | None
