"""Two-factor sign-in: RFC 6238 codes (the RFC's own test vector, at fixed times), each good
once; recovery codes good once; set up, used and turned off in storage on both engines and
through the web UI of a live server."""

from __future__ import annotations

import base64
import re
import uuid

import httpx
import pyotp
import pytest
from tests.conftest import LiveVedette
from tests.ui import pages
from tests.workflow.sending import PASSWORD, create_user

from vedette.domain.second_factor import matched_step, recovery_hash
from vedette.storage import accounts, second_factor, users
from vedette.storage.database import Database

# RFC 6238, appendix B: the SHA-1 secret and its 8-digit codes; the 6-digit code is their tail.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("code", "now", "last_step", "step"),
    [
        ("287082", 59, None, 1),  # 94287082 at T = 59
        ("081804", 1111111109, None, 37037036),  # 07081804
        ("287082", 89, None, 1),  # the step before the server's is still good
        ("287 082", 59, None, 1),  # as people type it
        ("287082", 59, 1, None),  # used already
        ("287082", 120, None, None),  # two steps late
        ("287083", 59, None, None),
        ("28708", 59, None, None),
        ("abcdef", 59, None, None),
    ],
)
def test_codes(code: str, now: float, last_step: int | None, step: int | None) -> None:
    assert matched_step(RFC_SECRET, code, now, last_step) == step


def test_recovery_codes_ignore_case_and_dashes() -> None:
    assert recovery_hash("K7MPQ-2XWRT") == recovery_hash(" k7mpq 2xwrt ")
    assert recovery_hash("k7mpq-2xwrt") != recovery_hash("k7mpq-2xwrs")


def test_set_up_use_and_turn_off(db: Database) -> None:
    with db.write() as conn:
        accounts.ensure_organization(conn, "acme")
        user = users.create_user(conn, f"{uuid.uuid4().hex[:8]}@acme.test", PASSWORD, ["acme"])
        secret = second_factor.start_setup(conn, user.id, 0.0)
        totp = pyotp.TOTP(secret)
        assert not second_factor.is_enabled(conn, user.id)
        right = totp.at(1000)
        wrong = right[:-1] + str((int(right[-1]) + 1) % 10)
        assert second_factor.confirm(conn, user.id, wrong, 1000.0) is None
        recovery = second_factor.confirm(conn, user.id, right, 1000.0)
        assert recovery is not None and len(set(recovery)) == 10
        assert second_factor.is_enabled(conn, user.id)
    with db.write() as conn:
        assert not second_factor.verify(conn, user.id, totp.at(1000), 1000.0)  # confirmed with it
        assert second_factor.start_setup(conn, user.id, 1020.0) is None  # on: password first
        assert second_factor.verify(conn, user.id, totp.at(1030), 1030.0)
        assert not second_factor.verify(conn, user.id, totp.at(1030), 1031.0)  # once
        assert second_factor.verify(conn, user.id, recovery[0].upper(), 1040.0)
        assert not second_factor.verify(conn, user.id, recovery[0], 1041.0)  # once
        assert second_factor.recovery_codes_left(conn, user.id) == 9
        second_factor.disable(conn, user.id)
        assert not second_factor.is_enabled(conn, user.id)
        assert not second_factor.verify(conn, user.id, recovery[1], 1050.0)


def sign_in(client: httpx.Client, email: str) -> httpx.Response:
    token = pages.parse(client.get("/login/").text).form("/login/").inputs["csrf_token"]
    return client.post(
        "/login/", data={"csrf_token": token, "email": email, "password": PASSWORD, "next": "/x/"}
    )


@pytest.mark.e2e
def test_a_password_sign_in_asks_for_the_code(live_vedette: LiveVedette) -> None:
    server = live_vedette
    user = create_user(server, f"mfa-{uuid.uuid4().hex[:6]}")
    with httpx.Client(base_url=server.base_url, timeout=30) as browser:
        assert sign_in(browser, user.email).status_code == 303
        token = pages.parse(browser.get("/settings/2fa/").text).csrf_token
        shown = browser.post("/settings/2fa/setup/", data={"csrf_token": token}).text
        found = re.search(r'id="totp-secret">([A-Z2-7]+)<', shown)
        assert found is not None
        code = pyotp.TOTP(found.group(1)).now()
        bad = browser.post("/settings/2fa/confirm/", data={"csrf_token": token, "code": "x"})
        assert bad.status_code == 400
        done = browser.post("/settings/2fa/confirm/", data={"csrf_token": token, "code": code})
        recovery = re.findall(r"\b[a-z2-9]{5}-[a-z2-9]{5}\b", done.text)
        assert len(recovery) == 10

    with httpx.Client(base_url=server.base_url, timeout=30) as browser:
        asked = sign_in(browser, user.email)
        assert asked.status_code == 200 and "Your code" in asked.text  # no session yet
        assert browser.get("/").status_code == 303
        assert browser.post("/login/code/", data={"code": "123"}).status_code == 401
        replay = browser.post("/login/code/", data={"code": code})  # used to turn it on
        assert replay.status_code == 401
        signed = browser.post("/login/code/", data={"code": recovery[0]})
        assert (signed.status_code, signed.headers["location"]) == (303, "/x/")
        assert browser.get("/").status_code == 200

    with httpx.Client(base_url=server.base_url, timeout=30) as browser:
        sign_in(browser, user.email)
        assert browser.post("/login/code/", data={"code": recovery[0]}).status_code == 401
    with httpx.Client(base_url=server.base_url, timeout=30) as stranger:
        # No password step, no code step: the cookie is what ties the two.
        assert stranger.post("/login/code/", data={"code": recovery[1]}).status_code == 403


def _with_factor(server: LiveVedette, label: str) -> tuple[str, list[str]]:
    """A user whose second factor is on; their email and recovery codes."""
    user = create_user(server, f"{label}-{uuid.uuid4().hex[:6]}")
    with server.db.write() as conn:
        secret = second_factor.start_setup(conn, user.id, 0.0)
        assert secret is not None
        recovery = second_factor.confirm(conn, user.id, pyotp.TOTP(secret).at(1000), 1000.0)
    assert recovery is not None
    return user.email, recovery


@pytest.mark.e2e
def test_signing_in_again_does_not_reset_the_limit_on_codes(live_vedette: LiveVedette) -> None:
    """Whoever knows the password could otherwise guess codes without end: four wrong codes,
    the password again, four more..."""
    email, recovery = _with_factor(live_vedette, "guess")
    with httpx.Client(base_url=live_vedette.base_url, timeout=30) as browser:
        for _ in range(2):
            assert sign_in(browser, email).status_code == 200  # the code step
            for _ in range(4):
                assert browser.post("/login/code/", data={"code": "000000"}).status_code == 401
        sign_in(browser, email)
        refused = browser.post("/login/code/", data={"code": recovery[0]})
        assert refused.status_code == 401, "the limit holds even for a right code"
        assert browser.get("/").status_code == 303


@pytest.mark.e2e
def test_turning_the_factor_on_again_does_not_turn_it_off(live_vedette: LiveVedette) -> None:
    """Starting a new set-up used to drop the factor in use, with no password asked."""
    email, recovery = _with_factor(live_vedette, "setup")
    with httpx.Client(base_url=live_vedette.base_url, timeout=30) as browser:
        sign_in(browser, email)
        assert browser.post("/login/code/", data={"code": recovery[0]}).status_code == 303
        token = pages.parse(browser.get("/settings/2fa/").text).csrf_token
        again = browser.post("/settings/2fa/setup/", data={"csrf_token": token})
        assert again.status_code == 400 and "Turn the factor off first" in again.text
    with live_vedette.db.read() as conn:
        user = users.get_user(conn, email)
        assert user is not None and second_factor.is_enabled(conn, user.id)
