"""The package layering, enforced: each package imports only what the data flow allows (domain
at the bottom, the web UI at the top), and no module imports itself back through others."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "vedette"

# package -> the vedette packages it may import (itself included).
ALLOWED: dict[str, set[str]] = {
    "domain": {"domain"},
    # shared: stdlib-only code both the server and the kit run (the secret formats table).
    "shared": {"shared"},
    "processing": {"processing", "domain", "shared"},
    "storage": {"storage", "domain"},
    "ingest": {"ingest", "spool", "domain"},
    "spool": {"spool", "processing", "storage", "domain"},
    # api and web read privacy settings, check advanced rules and preview them with the pure
    # functions of processing (processing.privacy_settings, processing.scrub).
    "api": {"api", "alerts", "uptime", "storage", "domain", "processing"},
    "web": {"web", "api", "alerts", "uptime", "storage", "domain", "processing"},
    "alerts": {"alerts", "storage", "domain"},
    "uptime": {"uptime", "alerts", "storage", "domain"},
    "kit": {"kit", "shared"},
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
    assert sorted(m for m in loaded if m != "vedette" and not m.startswith("vedette.kit")) == [
        "vedette.shared",
        "vedette.shared.secret_patterns",
    ]
    assert "vedette.kit" in loaded


@pytest.mark.parametrize(
    "path", sorted((SRC / "shared").rglob("*.py")), ids=lambda p: str(p.relative_to(SRC))
)
def test_shared_modules_import_the_standard_library_only(path: Path) -> None:
    """Both the server and the kit import vedette.shared: it may depend on neither's packages."""
    for name in imports_of(path):
        root = name.split(".")[0]
        assert root in sys.stdlib_module_names or root == "__future__", f"{path.name}: {name}"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that can run: at module level or inside a function (an import deferred
    into a function hides a cycle, it does not remove it), but not under ``if TYPE_CHECKING:``."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
        return
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        children: Iterable[ast.AST] = node.orelse
    else:
        children = ast.iter_child_nodes(node)
    for child in children:
        yield from runtime_imports(child)


def module_name(path: Path) -> str:
    parts = ["vedette", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """vedette module -> the vedette modules it imports."""
    paths = {module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:  # a submodule if there is one, else the module itself
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in paths else base)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert "vedette.web.ui" in graph and "vedette.kit.setup" in graph  # the walk found modules
    assert cycles(graph) == []
