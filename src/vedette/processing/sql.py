"""SQL parametrisation for grouping db spans, as Relay's span normaliser does it.

See docs/protocol.md, "Performance metrics".

Literals become ``%s`` (strings, numbers, booleans, NULL stays), every driver's placeholder
style (``?``, ``$1``, ``:name``, ``%(name)s``, ``%s``) becomes ``%s``, ``IN (...)`` lists and
multi-row ``VALUES`` collapse to one ``%s``, comments go and whitespace collapses. The same
statement from the same code path therefore yields the same text whatever its arguments.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRING = re.compile(r"(?:[eEnN]|[uU]&)?'(?:[^']|'')*'")
_DOLLAR_STRING = re.compile(r"\$([A-Za-z_]\w*)?\$.*?\$\1\$", re.S)
_PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|\$\d+|\?|(?<![:\w]):[A-Za-z_]\w*")
_NUMBER = re.compile(
    r"(?<![\w.$])[-+]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)\b"
)
_BOOLEAN = re.compile(r"\b(?:TRUE|FALSE|true|false)\b")
_IN_LIST = re.compile(r"\b(IN)\s*\(\s*%s(?:\s*,\s*%s)*\s*\)", re.I)
_VALUES = re.compile(r"\b(VALUES)\s*\((?:\s*%s\s*,?)+\)(?:\s*,\s*\((?:\s*%s\s*,?)+\))*", re.I)
_SPACE = re.compile(r"\s+")
MAX_LENGTH = 2000


# Cached: ORMs send the same statement text (placeholders, not literals) again and again, and
# nine regex passes per db span were a third of a 20-span transaction's processing.
@lru_cache(maxsize=4096)
def normalize_sql(text: str) -> str:
    sql = _COMMENT.sub(" ", text[: MAX_LENGTH * 4])
    sql = _DOLLAR_STRING.sub("%s", sql)
    sql = _STRING.sub("%s", sql)
    sql = _PLACEHOLDER.sub("%s", sql)
    sql = _NUMBER.sub("%s", sql)
    sql = _BOOLEAN.sub("%s", sql)
    sql = _SPACE.sub(" ", sql).strip()
    sql = _IN_LIST.sub(lambda m: f"{m.group(1)} (%s)", sql)
    sql = _VALUES.sub(lambda m: f"{m.group(1)} (%s)", sql)
    return sql[:MAX_LENGTH]


@lru_cache(maxsize=4096)
def span_group(category: str, normalized: str) -> str:
    """16 hex characters naming one (op category, normalised description) pair."""
    return hashlib.md5(f"{category}\x00{normalized}".encode(), usedforsecurity=False).hexdigest()[
        :16
    ]
