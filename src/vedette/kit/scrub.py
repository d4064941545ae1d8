"""Scrubbing of outgoing events and transactions: a pure function of (event, rules).

Secrets turn up in places a filter of known fields never looks: query strings (in events *and*
transactions), request bodies, ``contexts``, ``extra`` keys that are no exact denylist match
(``api_token``), breadcrumb data and frame variables. So this walks the whole payload instead
of a list of known places:

* a value whose **key** contains a sensitive fragment (case-insensitive, ``-`` read as ``_``)
  becomes ``[Filtered]``, whatever its type;
* every **string** is checked for card numbers (13-19 digits passing the Luhn check), bearer
  tokens and ``key=value`` / ``"key": "value"`` pairs with a sensitive key (URLs in breadcrumbs,
  raw bodies, log messages, repr()s of dicts in frame variables);
* every **string** is checked against the credential formats of
  ``vedette.shared.secret_patterns`` (Stripe, AWS, GitHub, Slack, JWT... by their shape), the
  table the Vedette server applies too, so nothing leaves that the server would remove;
* ``request.query_string`` is filtered pair by pair so harmless parameters (``page=2``) stay;
* ``user`` keeps its ``id`` only, unless PII is allowed (then ``email`` and ``username`` too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

from vedette.shared.secret_patterns import FILTERED, redact_secrets

__all__ = ["DEFAULT_SENSITIVE_KEYS", "FILTERED", "Scrubber", "luhn_valid"]

# Fragments, matched as substrings of the lower-cased key with '-' read as '_'. "key" alone is
# not here on purpose: it would take "monkey" and every cache key; the dangerous ones are listed.
DEFAULT_SENSITIVE_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "auth",
    "cookie",
    "session",
    "csrf",
    "xsrf",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "credential",
    "jwt",
    "bearer",
    "signature",
    "card",
    "cvv",
    "cvc",
    "iban",
    "ssn",
    "email",
    "phone",
)

# Identifiers and SDK bookkeeping: never rewritten (a trace id is hex and could look like digits).
_UNTOUCHED_KEYS = frozenset(
    {
        "event_id",
        "trace_id",
        "span_id",
        "parent_span_id",
        "segment_id",
        "profile_id",
        "profiler_id",
        "timestamp",
        "start_timestamp",
        "_meta",
        "sdk",
        "modules",
        "debug_meta",
    }
)
_USER_ID_ONLY = frozenset({"id"})
# Nothing shorter can hold a card number, a bearer token or a key=value pair worth hiding.
_SHORTEST = 6
_CACHE_SIZE = 8192
_USER_WITH_PII = frozenset({"id", "email", "username"})

_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")
# A placeholder in SQL or a template is not a secret: keep `WHERE token = ?` readable.
_PLACEHOLDER = re.compile(r"^(?:\?|%s|%\(\w+\)s|:\w+|\$\d+|\[Filtered\])$")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_replacement(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return FILTERED if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)


class Scrubber:
    """Callable on an SDK event dict; mutates it in place and returns it."""

    def __init__(self, extra_keys: Iterable[str] = (), *, allow_user_pii: bool = False) -> None:
        terms = {t.lower().replace("-", "_") for t in (*DEFAULT_SENSITIVE_KEYS, *extra_keys)}
        self.terms = tuple(sorted(t for t in terms if t))
        self.allow_user_pii = allow_user_pii
        alternation = "|".join(re.escape(t).replace("_", "[-_]") for t in self.terms)
        self._term = re.compile(alternation, re.IGNORECASE)
        self._pair = re.compile(
            r"""(?ix)
            (?P<key>[\w.\-]*(?:"""
            + alternation
            + r""")[\w.\-]*)
            (?P<quote>["']?)
            (?P<sep>\s*[=:]\s*)
            (?P<value>\[Filtered\]|"[^"]*"|'[^']*'|[^\s&,;"'}\]\)]+)
            """
        )
        # Strings and keys recur across events (SQL, header names, span data, source lines):
        # plain dicts as caches, read inline by the walk (cheaper than an lru_cache call).
        self._texts: dict[str, str] = {}
        self._keys: dict[str, bool] = {}

    # -- single values --------------------------------------------------------------------

    def key_is_sensitive(self, key: str) -> bool:
        found = self._keys.get(key)
        if found is None:
            found = self._term.search(key) is not None
            if len(self._keys) >= _CACHE_SIZE:
                self._keys.clear()
            self._keys[key] = found
        return found

    def text(self, value: str) -> str:
        found = self._texts.get(value)
        if found is None:
            found = self._text(value)
            if len(self._texts) >= _CACHE_SIZE:
                self._texts.clear()
            self._texts[value] = found
        return found

    def _pair_replacement(self, match: re.Match[str]) -> str:
        value = match.group("value")
        bare = value.strip("\"'")
        if _PLACEHOLDER.match(bare):
            return match.group(0)
        quote = value[0] if value[:1] in ("'", '"') else ""
        key, sep = match.group("key") + match.group("quote"), match.group("sep")
        return f"{key}{sep}{quote}{FILTERED}{quote}"

    def _text(self, value: str) -> str:
        if len(value) < _SHORTEST:
            return value
        value = redact_secrets(value)[0]
        if "earer" in value or "EARER" in value:
            value = _BEARER.sub(r"\1 " + FILTERED, value)
        if self._term.search(value) is not None and ("=" in value or ":" in value):
            value = self._pair.sub(self._pair_replacement, value)
        return _CARD.sub(_card_replacement, value)

    def query_string(self, raw: str) -> str:
        """``token=a&page=2`` -> ``token=[Filtered]&page=2``; the pairs keep their encoding."""
        pairs = []
        for pair in raw.split("&"):
            key, sep, value = pair.partition("=")
            if self.key_is_sensitive(unquote_plus(key)):
                pairs.append(f"{key}={FILTERED}")
            else:
                pairs.append(f"{key}{sep}{self.text(value) if value else value}")
        return "&".join(pairs)

    # -- trees ----------------------------------------------------------------------------

    def value(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.text(node) if len(node) >= _SHORTEST else node
        if isinstance(node, dict):
            self._dict(node)
        elif isinstance(node, list):
            self._list(node)
        return node

    def _dict(self, node: dict[Any, Any]) -> None:
        keys, texts = self._keys, self._texts
        for key, item in node.items():  # values are replaced in place: the keys do not change
            if not isinstance(key, str) or key in _UNTOUCHED_KEYS:
                continue
            sensitive = keys.get(key)
            if sensitive is None:
                sensitive = self.key_is_sensitive(key)
            if sensitive:
                node[key] = FILTERED
            elif isinstance(item, str):
                if len(item) >= _SHORTEST:
                    cleaned = texts.get(item)
                    node[key] = self.text(item) if cleaned is None else cleaned
            elif isinstance(item, dict):
                self._dict(item)
            elif isinstance(item, list):
                self._list(item)

    def _list(self, node: list[Any]) -> None:
        for index, item in enumerate(node):
            if isinstance(item, str):
                if len(item) >= _SHORTEST:
                    node[index] = self.text(item)
            elif isinstance(item, dict):
                self._dict(item)
            elif isinstance(item, list):
                self._list(item)

    def _request(self, request: dict[str, Any]) -> None:
        query = request.get("query_string")
        if isinstance(query, str) and query:
            request["query_string"] = self.query_string(query)
        url = request.get("url")
        if isinstance(url, str) and "?" in url:
            base, _, query = url.partition("?")
            request["url"] = f"{base}?{self.query_string(query)}"
        data = request.get("data")
        if isinstance(data, str) and data[:1] in ("{", "["):
            try:
                parsed = json.loads(data)
            except ValueError:
                pass
            else:
                request["data"] = json.dumps(self.value(parsed))
        for key in list(request):
            if key in ("query_string", "url"):
                continue
            if self.key_is_sensitive(key):
                request[key] = FILTERED
            else:
                request[key] = self.value(request[key])

    def _user(self, event: dict[str, Any]) -> None:
        user = event.get("user")
        if not isinstance(user, dict):
            return
        allowed = _USER_WITH_PII if self.allow_user_pii else _USER_ID_ONLY
        kept = {k: v for k, v in user.items() if k in allowed}
        if kept:
            event["user"] = kept
        else:
            del event["user"]

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self._user(event)
        for key in list(event):
            if key in _UNTOUCHED_KEYS or key == "user":
                continue
            node = event[key]
            if key == "request" and isinstance(node, dict):
                self._request(node)
            elif self.key_is_sensitive(key):
                event[key] = FILTERED
            else:
                event[key] = self.value(node)
        return event
