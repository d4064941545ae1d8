"""The optional second factor of a password sign-in (docs/workflow.md, "Two-factor sign-in"):
time-based one-time codes (RFC 6238: 6 digits, 30-second steps, as every authenticator app
makes them) and single-use recovery codes. Pure: the caller passes the time and keeps what was
used."""

from __future__ import annotations

import hashlib
import secrets

import pyotp

STEP_SECONDS = 30
# A code of the step before or after the server's is accepted (phones' clocks drift).
VALID_WINDOW = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Vedette")


def matched_step(secret: str, code: str, now: float, last_step: int | None) -> int | None:
    """The time step whose code ``code`` is (within the window around ``now``), when it is later
    than ``last_step`` (a code is good once); else None."""
    digits = "".join(code.split())
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    here = totp.timecode(now)
    for step in range(here - VALID_WINDOW, here + VALID_WINDOW + 1):
        if (last_step is None or step > last_step) and secrets.compare_digest(
            totp.generate_otp(step), digits
        ):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes of two groups of five letters and digits, e.g. ``k7mpq-2xwrt``."""

    def group() -> str:
        return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(5))

    return [f"{group()}-{group()}" for _ in range(RECOVERY_CODES)]


def recovery_hash(code: str) -> str:
    """How a recovery code is stored and looked up: case, spaces and dashes do not matter."""
    normal = "".join(c for c in code.lower() if c.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()
