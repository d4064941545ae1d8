"""The layering of style.md, enforced: each package imports only what the data flow allows."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "vedette"

# package -> the vedette packages it may import (itself included).
ALLOWED: dict[str, set[str]] = {
    "domain": {"domain"},
    "processing": {"processing", "domain"},
    "storage": {"storage", "domain"},
    "ingest": {"ingest", "spool", "domain"},
    "spool": {"spool", "processing", "storage", "domain"},
    "api": {"api", "storage", "domain"},
    "web": {"web", "api", "storage", "domain"},
    "alerts": {"alerts", "storage", "domain"},
    "kit": {"kit"},
}
# Frameworks the pure layers must never touch.
FORBIDDEN_THIRD_PARTY = {
    "domain": {"sqlalchemy", "starlette", "fastapi", "uvicorn", "psycopg", "alembic"},
    "processing": {"sqlalchemy", "starlette", "fastapi", "uvicorn", "psycopg", "alembic"},
    # The kit runs inside users' apps: none of the server's own dependencies.
    "kit": {"uvicorn", "psycopg", "alembic", "orjson", "zstandard", "brotli", "sqlalchemy"},
}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] in ALLOWED)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_data_flow(path: Path) -> None:
    package = path.relative_to(SRC).parts[0]
    for name in imports_of(path):
        parts = name.split(".")
        if parts[0] == "vedette":
            assert len(parts) > 1 and parts[1] in ALLOWED[package], (
                f"{package} may not import {name}"
            )
        assert parts[0] not in FORBIDDEN_THIRD_PARTY.get(package, set()), (
            f"{package} must stay pure; it imports {name}"
        )


def test_the_kit_has_no_relative_import_out_of_itself() -> None:
    """`imports_of` skips relative imports; the kit may only use them inside its package."""
    for path in (SRC / "kit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                depth = len(path.relative_to(SRC / "kit").parts)  # 1 for kit/x.py
                assert node.level <= depth, f"{path.name}: a relative import leaves vedette.kit"


def test_importing_the_kit_loads_nothing_of_the_server() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys, vedette.kit; print(' '.join(m for m in sys.modules if 'vedette' in m))"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert sorted(m for m in loaded if m != "vedette" and not m.startswith("vedette.kit")) == []
    assert "vedette.kit" in loaded
