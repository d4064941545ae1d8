"""Password hashing costs: the default is a recommended argon2id setting, the settings change
it for new hashes, and a password hashed with other costs is hashed again when it signs in."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from sqlalchemy import select, update
from tests.conftest import CHEAP_HASH_ITERATIONS, CHEAP_HASH_MEMORY_KIB

from vedette import cli
from vedette.settings import Settings
from vedette.storage import users
from vedette.storage.database import Database
from vedette.storage.schema import users as users_table


def stored_hash(db: Database, email: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(
                select(users_table.c.password_hash).where(users_table.c.email == email)
            ).scalar_one()
        )


def costs(password_hash: str) -> str:
    """``m=...,t=...,p=...`` of a PHC string: ``$argon2id$v=19$m=65536,t=3,p=4$salt$hash``."""
    return password_hash.split("$")[3]


@pytest.fixture
def restores_the_suites_costs() -> Iterator[None]:
    yield
    users.use_password_hashing(CHEAP_HASH_MEMORY_KIB, CHEAP_HASH_ITERATIONS)


def test_the_default_is_rfc_9106s_argon2id_setting() -> None:
    fields = Settings.model_fields
    assert (
        fields["password_hash_memory_kib"].default,
        fields["password_hash_iterations"].default,
    ) == (65536, 3)
    default = PasswordHasher()
    assert (default.memory_cost, default.time_cost, default.type) == (65536, 3, Type.ID)


@pytest.mark.usefixtures("restores_the_suites_costs")
def test_a_hash_of_other_costs_signs_in_and_is_hashed_again(db: Database) -> None:
    with db.write() as conn:
        users.create_user(conn, "old@example.test", "correct horse battery")
        older = PasswordHasher(memory_cost=2048, time_cost=2).hash("correct horse battery")
        conn.execute(
            update(users_table)
            .where(users_table.c.email == "old@example.test")
            .values(password_hash=older)
        )
    users.use_password_hashing(4096, 1)
    with db.write() as conn:
        assert users.authenticate(conn, "old@example.test", "wrong horse battery") is None
    assert costs(stored_hash(db, "old@example.test")) == "m=2048,t=2,p=4"
    with db.write() as conn:
        assert users.authenticate(conn, "old@example.test", "correct horse battery") is not None
    assert costs(stored_hash(db, "old@example.test")) == "m=4096,t=1,p=4"


@pytest.mark.usefixtures("restores_the_suites_costs")
def test_the_command_line_hashes_with_the_settings(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEDETTE_DATABASE_URL", str(db.url.render_as_string(hide_password=False)))
    monkeypatch.setenv("VEDETTE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VEDETTE_PASSWORD_HASH_MEMORY_KIB", "3072")
    monkeypatch.setenv("VEDETTE_PASSWORD_HASH_ITERATIONS", "2")
    with redirect_stdout(io.StringIO()):
        cli.main(["user", "create", "cli@example.test", "--password", "correct horse battery"])
    assert costs(stored_hash(db, "cli@example.test")) == "m=3072,t=2,p=4"


def test_settings_refuse_a_cost_below_the_floor() -> None:
    with pytest.raises(ValueError, match="password_hash_memory_kib"):
        Settings(password_hash_memory_kib=512)
