"""SQL parametrisation: the table is the spec (Relay's normaliser; docs/protocol.md,
"Performance metrics")."""

from __future__ import annotations

import pytest

from vedette.processing.sql import normalize_sql, span_group

CASES = [
    ("SELECT * FROM orders WHERE id = 42", "SELECT * FROM orders WHERE id = %s"),
    ("SELECT * FROM orders WHERE id = $1", "SELECT * FROM orders WHERE id = %s"),
    ("SELECT * FROM orders WHERE id = ?", "SELECT * FROM orders WHERE id = %s"),
    ("SELECT * FROM t WHERE a = :id AND b = %(b)s", "SELECT * FROM t WHERE a = %s AND b = %s"),
    ("SELECT a FROM t WHERE name = 'bob''s'", "SELECT a FROM t WHERE name = %s"),
    ("SELECT a FROM t WHERE x IN (1, 2, 3) AND y IN (?, ?)",
     "SELECT a FROM t WHERE x IN (%s) AND y IN (%s)"),
    ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", "INSERT INTO t (a, b) VALUES (%s)"),
    ("SELECT orders.id \nFROM orders \nWHERE orders.id = ?",
     "SELECT orders.id FROM orders WHERE orders.id = %s"),
    ("select * from t where a = 5 -- trailing comment", "select * from t where a = %s"),
    ("/* app:shop */ SELECT 1", "SELECT %s"),
    ("UPDATE t SET v = -3.5e2, f = TRUE WHERE id = 7", "UPDATE t SET v = %s, f = %s WHERE id = %s"),
    # identifiers with digits stay; casts stay
    ("SELECT * FROM table_2 t2 WHERE t2.c = 0x1F LIMIT 10",
     "SELECT * FROM table_2 t2 WHERE t2.c = %s LIMIT %s"),
    ("SELECT b::int FROM t", "SELECT b::int FROM t"),
    ("SELECT $tag$ a ' b $tag$", "SELECT %s"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_normalize_sql(sql: str, expected: str) -> None:
    assert normalize_sql(sql) == expected


def test_same_statement_same_group_different_statement_different_group() -> None:
    a = span_group("db", normalize_sql("SELECT * FROM o WHERE id = 1"))
    b = span_group("db", normalize_sql("SELECT * FROM o WHERE id = 2"))
    c = span_group("db", normalize_sql("SELECT * FROM o WHERE ref = 2"))
    assert a == b != c
    assert len(a) == 16
