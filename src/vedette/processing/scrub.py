"""Server-side data scrubbing with Sentry's defaults (docs/protocol.md, "Data scrubbing").

Runs after normalisation and before grouping, so scrubbed values never reach hashes or tags.
Three kinds of rules, each redaction recorded in ``_meta`` as ``{"rem": [[rule, "s"]], "len": n}``
and the original never kept:

* **key-based**: a value whose key (object key, header/cookie/query/tag name, the first element
  of a ``[key, value]`` pair) matches the sensitive-key pattern becomes ``[Filtered]``. Sentry's
  pattern matches *substrings*, so ``auth`` also catches ``author_id`` (a known false positive we
  keep for compatibility; add the key to ``safe_keys`` to exempt it). Token *counts*
  (``gen_ai.usage.input_tokens``: numbers under ``*tokens``/``*_count``/``usage``) stay.
* **value-based**: credit cards (Luhn- and issuer-checked, so long numeric ids survive), IBANs
  (mod-97 checked), PEM key bodies, the password of ``scheme://user:PASSWORD@host``, bearer
  and basic-auth credentials (``Bearer <token>``; prose like "basic information" stays),
  US SSNs, user home directories, and ``key=value`` pairs inside strings whose key is
  sensitive (a query string or Cookie header captured as a plain string, e.g. in frame vars):
  only the matched part becomes ``[Filtered]``. Plus every credential format of the table in
  ``vedette.shared.secret_patterns`` (Stripe, AWS, GitHub, Slack... keys found by their
  shape, wherever they sit); the rules live in ``processing.value_rules``.
* **replace-only** for ``logentry.formatted`` (the message users read): emails ``[email]``,
  cards ``[creditcard]``, IBANs ``[iban]``, SSNs ``[us-ssn]``, bearer tokens ``[token]``, PEM
  bodies ``[pemkey]``, URL passwords ``[auth]``, credentials ``[<format>]``.

Not scrubbed (Relay's DATASCRUBBER_IGNORE): ``debug_meta``, frame ``filename``/``abs_path``,
``exception.value`` (but for the credential table), the ``User-Agent`` header, plus ids,
timestamps and ``user.id``.
Keys in ``ScrubConfig.safe_keys`` (exact, case-insensitive) keep their whole value unscrubbed.
IP addresses are kept unless ``scrub_ip_addresses`` is on (Sentry's "Prevent storing IP
addresses"): then ``user.ip_address`` (also the one Vedette fills in for ``{{auto}}``),
``request.env.REMOTE_ADDR``, forwarding headers (``X-Forwarded-For``, ``Forwarded``,
``X-Real-IP``...), ``sdk.client_ip`` and the ``user: ip:...`` tag go, and IP-looking
substrings become ``[ip]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from vedette.domain.events import NormalizedEvent, as_plain_dict
from vedette.processing.advanced_scrub import UNSCRUBBED_TOP, AdvancedScrubber
from vedette.processing.pii_config import PiiConfig
from vedette.processing.trim import Notes, Path, merge_meta
from vedette.processing.value_rules import (
    CACHED_KEY_CHARS,
    IP_RULES,
    MAX_SCAN_LEVELS,
    SHORT_VALUE_CHARS,
    apply_short_value_rules,
    apply_value_rules,
    is_card_number,
    is_card_number_value,
    is_sensitive_key,
    scan_container,
)
from vedette.shared.secret_patterns import FILTERED, redact_secrets

__all__ = ["FILTERED", "ScrubConfig", "is_card_number", "scrub_event"]

# Deeper than any normalised event goes; past it a value is dropped, never kept unchecked (the
# pre-scan counts a container's levels up to it).
MAX_DEPTH = MAX_SCAN_LEVELS

SENSITIVE_COOKIES = frozenset(
    {"sentrysid", "sudo", "su", "session", "__session", "sessionid", "user_session", "symfony",
     "phpsessid", "fasthttpsessionid", "mysession", "irissessionid", "_vercel_jwt", "csrf",
     "xsrf", "_xsrf", "_csrf", "csrf-token", "csrf_token", "xsrf-token", "xsrf_token",
     "fastcsrf", "_iris_csrf"}
)  # fmt: skip
# Headers that carry the client's address through proxies (removed with IP scrubbing on).
_FORWARDING_HEADERS = frozenset(
    {"x-forwarded-for", "x-real-ip", "forwarded", "cf-connecting-ip", "true-client-ip",
     "x-client-ip", "x-cluster-client-ip", "fastly-client-ip", "x-original-forwarded-for"}
)  # fmt: skip
# Numbers under these keys are usage counters (gen-AI token counts), not secrets.
_COUNTER_KEY = re.compile(r"(?i)(tokens|_count|count_|usage)")

# Keys never touched, wherever they sit in their structure.
_ID_KEYS = frozenset({"event_id", "trace_id", "span_id", "parent_span_id", "segment_id"})
_FRAME_PATH_KEYS = frozenset({"filename", "abs_path"})


@dataclass(frozen=True, slots=True)
class ScrubConfig:
    """Sentry's data scrubbing settings of one project, its organization's merged in
    (processing.privacy_settings): ``enabled`` is dataScrubber, ``defaults``
    dataScrubberDefaults (the built-in key names and value rules; off, only the additional
    sensitive fields apply), ``advanced`` the relayPiiConfig rules."""

    enabled: bool = True
    extra_sensitive_keys: tuple[str, ...] = ()
    safe_keys: tuple[str, ...] = ()
    scrub_ip_addresses: bool = False
    defaults: bool = True
    advanced: tuple[PiiConfig, ...] = ()


def scrub_event(
    event: NormalizedEvent, config: ScrubConfig, *, quick: bool = True
) -> NormalizedEvent:
    """Scrub a normalised event in place (and return it); never raises on any JSON shape.

    ``quick``: skip containers whose JSON text shows nothing any rule could act on (the same
    result, tests compare it with the walk of every node).
    """
    scrubber = _Scrubber(config, quick)
    if config.advanced:
        AdvancedScrubber(config.advanced, scrubber.notes).event(as_plain_dict(event))
    if config.enabled:
        scrubber.event(as_plain_dict(event))
    if config.scrub_ip_addresses:
        scrubber.strip_ips(as_plain_dict(event))
    if scrubber.notes.meta:
        existing = event.get("_meta")
        meta: dict[str, Any] = existing if isinstance(existing, dict) else {}
        merge_meta(meta, scrubber.notes.meta)
        event["_meta"] = meta
    return event


def _is_pair(item: object) -> bool:
    return isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)


def _is_pair_list(value: list[Any]) -> bool:
    """``[[key, value], ...]`` (nulls tolerated): headers, tags, raw ASGI scopes in locals."""
    return any(_is_pair(item) for item in value) and all(
        item is None or _is_pair(item) for item in value
    )


@lru_cache(maxsize=8192)
def _default_key_rule(lowered: str) -> str | None:
    return "@password:filter" if is_sensitive_key(lowered) else None


def _scrubbed_part(frame: Any) -> Any:
    """What ``_Scrubber.frame`` looks at: a frame without its path keys (never scrubbed)."""
    if isinstance(frame, dict):
        return {k: v for k, v in frame.items() if k not in _FRAME_PATH_KEYS}
    return frame


class _Scrubber:
    """One scrubbing pass: config, compiled key pattern and the ``_meta`` remarks it made."""

    def __init__(self, config: ScrubConfig, quick: bool = True) -> None:
        extra = "|".join(re.escape(key.lower()) for key in config.extra_sensitive_keys if key)
        self.extra_keys = re.compile(f"(?i)(?:{extra})") if extra else None
        self.safe = frozenset(key.lower() for key in config.safe_keys if key)
        self.config = config
        self.notes = Notes()
        # IP scrubbing matches dots and colons, which every JSON text has: walk everything.
        # So do extra keys beyond ASCII (their case folding is not bytes.lower's).
        self.quick = (
            quick
            and not config.scrub_ip_addresses
            and all(key.isascii() for key in config.extra_sensitive_keys)
        )
        self.extra_needles = tuple(k.lower().encode() for k in config.extra_sensitive_keys if k)

    def untouched(self, value: dict[Any, Any] | list[Any], depth: int) -> bool:
        """Whether walking ``value`` would change nothing, decided at C speed.

        Frame variables, contexts and breadcrumbs are mostly harmless: one orjson.dumps and a
        few substring searches over the text (or, for a text seen before, a cache lookup)
        replace a walk that builds a path per node (4.0 -> 0.6 ms for a 66 KB, 20-frame
        event; docs/benchmarks.md). Not ASCII (case folding beyond ASCII), not plain JSON, or
        possibly deep enough for the depth limit: walk.
        """
        if not self.quick:
            return False
        try:
            encoded = orjson.dumps(value)
        except (TypeError, orjson.JSONEncodeError):
            return False
        if not encoded.isascii():
            return False
        scan = scan_container(encoded, self.extra_needles)
        return not scan.needs_walk and scan.levels < MAX_DEPTH - depth

    # -- decisions ---------------------------------------------------------------------------

    def key_rule(self, key: str) -> str | None:
        """The rule id that makes ``key`` sensitive, or None."""
        lowered = key.lower()
        if lowered in self.safe:
            return None
        if self.extra_keys is not None and self.extra_keys.search(lowered):
            return "strip-fields"
        if not self.config.defaults:
            return None
        if len(lowered) > CACHED_KEY_CHARS:  # not kept: the cache stays bounded in bytes
            return "@password:filter" if is_sensitive_key(lowered) else None
        return _default_key_rule(lowered)

    def filter_value(self, key: str, value: Any, path: Path, rule: str) -> Any:
        """``[Filtered]`` for a sensitive key's value (nothing to hide in null/bool/counters)."""
        if value is None or isinstance(value, bool) or value == FILTERED or value == "":
            return value
        if isinstance(value, int | float) and _COUNTER_KEY.search(key):
            return value
        original = len(value) if isinstance(value, str) else None
        self.notes.annotate(path, rem=[[rule, "s"]], **({"len": original} if original else {}))
        return FILTERED

    # -- generic values ----------------------------------------------------------------------

    def text(self, value: str, path: Path, *, replace_only: bool = False) -> str:
        if self.extra_keys is not None and self.extra_keys.search(value):
            # Sentry: a value that contains an additional sensitive field goes whole.
            self.notes.annotate(path, rem=[["strip-fields", "s"]], len=len(value))
            return FILTERED
        if len(value) < 5 or not self.config.defaults:  # "pwd=x" is the shortest match
            return value
        rule_set = (2 if replace_only else 0) + (1 if self.config.scrub_ip_addresses else 0)
        if len(value) <= SHORT_VALUE_CHARS:  # the common case, without a call in between
            result, applied = apply_short_value_rules(value, rule_set)
        else:
            result, applied = apply_value_rules(value, rule_set)
        if applied:
            self.notes.annotate(path, rem=[[rule_id, "s"] for rule_id in applied], len=len(value))
        return result

    def secrets_only(self, value: Any, path: Path) -> Any:
        """Only the credential formats of the shared table, for text the other rules skip."""
        if not isinstance(value, str) or not self.config.defaults:
            return value
        result, applied = redact_secrets(value)
        if applied:
            self.notes.annotate(path, rem=[[rule_id, "s"] for rule_id in applied], len=len(value))
        return result

    def bag(self, value: Any, path: Path, depth: int = 0) -> Any:
        """Scrub any JSON value: key rules inside objects and pair lists, value rules on text."""
        if isinstance(value, str):
            return self.text(value, path)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            if self.config.defaults and is_card_number_value(value):
                self.notes.annotate(path, rem=[["@creditcard:filter", "s"]])
                return FILTERED
            return value
        if depth >= MAX_DEPTH:
            self.notes.annotate(path, rem=[["!limit", "x"]])
            return None
        if isinstance(value, dict | list) and self.untouched(value, depth):
            return value
        if isinstance(value, Mapping):
            return self.mapping(value, path, depth)
        if isinstance(value, list):
            if _is_pair_list(value):
                return [
                    None if item is None else self.pair(item, (*path, index), depth)
                    for index, item in enumerate(value)
                ]
            return [self.bag(item, (*path, index), depth + 1) for index, item in enumerate(value)]
        return None

    def mapping(self, value: Mapping[Any, Any], path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            here = (*path, name)
            rule = self.key_rule(name)
            if name.lower() in self.safe:
                result[name] = item
            elif rule is not None:
                result[name] = self.filter_value(name, item, here, rule)
            else:
                result[name] = self.bag(item, here, depth + 1)
        return result

    def pair(self, item: list[Any], path: Path, depth: int) -> list[Any]:
        key, value = item
        if key.lower() in self.safe:
            return [key, value]
        rule = self.key_rule(key)
        if rule is not None:
            return [key, self.filter_value(key, value, (*path, 1), rule)]
        return [key, self.bag(value, (*path, 1), depth + 1)]

    # -- event structure ---------------------------------------------------------------------

    def event(self, event: dict[str, Any]) -> None:
        for key in list(event):
            if key in UNSCRUBBED_TOP:
                continue
            value = event[key]
            path: Path = (key,)
            if key == "logentry" and isinstance(value, dict):
                self.logentry(value, path)
            elif key == "exception":
                self.each_value(value, path, self.exception)
            elif key == "threads":
                self.each_value(value, path, self.thread)
            elif key == "stacktrace" and isinstance(value, dict):
                self.stacktrace(value, path)
            elif key == "request" and isinstance(value, dict):
                self.request(value, path)
            elif key == "contexts" and isinstance(value, dict):
                self.contexts(value, path)
            elif key == "user" and isinstance(value, dict):
                self.user(value, path)
            elif key == "spans" and isinstance(value, list):
                event[key] = [self.span(item, (*path, i)) for i, item in enumerate(value)]
            else:
                event[key] = self.bag(value, path)

    def logentry(self, entry: dict[str, Any], path: Path) -> None:
        for key, value in list(entry.items()):
            if key == "formatted" and isinstance(value, str):
                entry[key] = self.text(value, (*path, key), replace_only=True)
            else:
                entry[key] = self.bag(value, (*path, key))

    def each_value(self, container: Any, path: Path, handle: Callable[[Any, Path], Any]) -> None:
        values = container.get("values") if isinstance(container, dict) else container
        if isinstance(values, list):
            base = (*path, "values") if isinstance(container, dict) else path
            for index, item in enumerate(values):
                values[index] = handle(item, (*base, index))

    def exception(self, exc: Any, path: Path) -> Any:
        if not isinstance(exc, dict):
            return self.bag(exc, path)
        for key, value in list(exc.items()):
            if key == "value":
                # Relay's DATASCRUBBER_IGNORE (titles and grouping read it), but a credential
                # in a message ("invalid key sk_live_...") still goes.
                exc[key] = self.secrets_only(value, (*path, key))
                continue
            if key in ("stacktrace", "raw_stacktrace") and isinstance(value, dict):
                self.stacktrace(value, (*path, key))
            else:
                exc[key] = self.bag(value, (*path, key))
        return exc

    def thread(self, thread: Any, path: Path) -> Any:
        if not isinstance(thread, dict):
            return self.bag(thread, path)
        for key, value in list(thread.items()):
            if key in ("stacktrace", "raw_stacktrace") and isinstance(value, dict):
                self.stacktrace(value, (*path, key))
            else:
                thread[key] = self.bag(value, (*path, key))
        return thread

    def stacktrace(self, stacktrace: dict[str, Any], path: Path) -> None:
        for key, value in list(stacktrace.items()):
            if key == "frames" and isinstance(value, list):
                for index, frame in enumerate(value):
                    value[index] = self.frame(frame, (*path, key, index))
            else:
                stacktrace[key] = self.bag(value, (*path, key))

    def frame(self, frame: Any, path: Path) -> Any:
        if not isinstance(frame, dict):
            return self.bag(frame, path)
        if self.untouched(_scrubbed_part(frame), 0):
            return frame
        for key, value in list(frame.items()):
            if key not in _FRAME_PATH_KEYS:
                frame[key] = self.bag(value, (*path, key))
        return frame

    def request(self, request: dict[str, Any], path: Path) -> None:
        for key, value in list(request.items()):
            here = (*path, key)
            if key == "headers":
                request[key] = self.headers(value, here)
            elif key == "cookies":
                request[key] = self.cookies(value, here)
            else:
                request[key] = self.bag(value, here)

    def headers(self, headers: Any, path: Path) -> Any:
        if isinstance(headers, dict):
            pairs: list[Any] = [[str(k), v] for k, v in headers.items()]
        elif isinstance(headers, list):
            pairs = headers
        else:
            return self.bag(headers, path)
        result: list[Any] = []
        for index, item in enumerate(pairs):
            if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
                if item[0].lower() == "user-agent":
                    result.append(item)
                else:
                    result.append(self.pair(item, (*path, index), 1))
            else:
                result.append(self.bag(item, (*path, index), 1))
        return dict(result) if isinstance(headers, dict) else result

    def cookies(self, cookies: Any, path: Path) -> Any:
        if isinstance(cookies, str):
            parts = []
            for index, chunk in enumerate(cookies.split(";")):
                name, sep, value = chunk.partition("=")
                if sep and self.cookie_rule(name.strip()):
                    self.notes.annotate((*path, index), rem=[["@cookie:filter", "s"]])
                    value = FILTERED
                parts.append(f"{name}{sep}{value}")
            return self.text(";".join(parts), path)
        pairs = [[str(k), v] for k, v in cookies.items()] if isinstance(cookies, dict) else cookies
        if not isinstance(pairs, list):
            return self.bag(cookies, path)
        result: list[Any] = []
        for index, item in enumerate(pairs):
            here = (*path, index)
            if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
                if self.cookie_rule(item[0]):
                    result.append(
                        [item[0], self.filter_value(item[0], item[1], (*here, 1), "@cookie:filter")]
                    )
                else:
                    result.append(self.pair(item, here, 1))
            else:
                result.append(self.bag(item, here, 1))
        return dict(result) if isinstance(cookies, dict) else result

    def cookie_rule(self, name: str) -> bool:
        lowered = name.lower()
        if lowered in self.safe:
            return False
        if self.config.defaults and lowered in SENSITIVE_COOKIES:
            return True
        return self.key_rule(name) is not None

    def contexts(self, contexts: dict[str, Any], path: Path) -> None:
        for alias, context in list(contexts.items()):
            here = (*path, alias)
            if not isinstance(context, dict):
                contexts[alias] = self.bag(context, here)
                continue
            if self.untouched(context, 0):  # its keys and values, one level down: as a bag's
                continue
            for key, value in list(context.items()):
                if key in _ID_KEYS or key == "type":
                    continue
                rule = self.key_rule(key)
                if key.lower() in self.safe:
                    continue
                if rule is not None:
                    context[key] = self.filter_value(key, value, (*here, key), rule)
                else:
                    context[key] = self.bag(value, (*here, key), 1)

    def user(self, user: dict[str, Any], path: Path) -> None:
        if self.untouched(user, 0):
            return
        for key, value in list(user.items()):
            if key in ("id", "ip_address"):
                continue  # the user's identity; IPs follow the scrub_ip_addresses option
            user[key] = self.bag(value, (*path, key))

    def span(self, span: Any, path: Path) -> Any:
        if not isinstance(span, dict):
            return self.bag(span, path)
        if self.untouched(span, 0):
            return span
        for key, value in list(span.items()):
            if key not in _ID_KEYS and key not in ("start_timestamp", "timestamp"):
                span[key] = self.bag(value, (*path, key))
        return span

    # -- "Prevent storing IP addresses" --------------------------------------------------------

    def strip_ips(self, event: dict[str, Any]) -> None:
        user = event.get("user")
        if isinstance(user, dict) and user.pop("ip_address", None) is not None:
            self.notes.annotate(("user", "ip_address"), rem=[["@ip:remove", "x"]])
        request = event.get("request")
        env = request.get("env") if isinstance(request, dict) else None
        if isinstance(env, dict) and env.pop("REMOTE_ADDR", None) is not None:
            self.notes.annotate(("request", "env", "REMOTE_ADDR"), rem=[["@ip:remove", "x"]])
        if isinstance(request, dict):
            self.strip_forwarding_headers(request.get("headers"))
        sdk = event.get("sdk")
        if isinstance(sdk, dict):
            sdk.pop("client_ip", None)
        tags = event.get("tags")
        if isinstance(tags, list):
            event["tags"] = [
                tag
                for tag in tags
                if not (
                    isinstance(tag, list)
                    and len(tag) == 2
                    and tag[0] == "user"
                    and isinstance(tag[1], str)
                    and tag[1].startswith("ip:")
                )
            ]
        if not (self.config.enabled and self.config.defaults):  # else the text rules ran
            self.ip_text(event, (), 0)

    def strip_forwarding_headers(self, headers: Any) -> None:
        """The client's address as proxies pass it on (``X-Forwarded-For``...): emptied."""
        if isinstance(headers, dict):
            found = [(name, (name,)) for name in headers if name.lower() in _FORWARDING_HEADERS]
            for name, where in found:
                headers[name] = None
                self.notes.annotate(("request", "headers", *where), rem=[["@ip:remove", "x"]])
        elif isinstance(headers, list):
            for index, item in enumerate(headers):
                if _is_pair(item) and item[0].lower() in _FORWARDING_HEADERS:
                    item[1] = None
                    here = ("request", "headers", index, 1)
                    self.notes.annotate(here, rem=[["@ip:remove", "x"]])

    def ip_text(self, value: Any, path: Path, depth: int) -> Any:
        if depth >= MAX_DEPTH:
            return value
        if isinstance(value, dict):
            for key, item in list(value.items()):
                if key not in ("_meta", "debug_meta"):
                    value[key] = self.ip_text(item, (*path, key), depth + 1)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = self.ip_text(item, (*path, index), depth + 1)
        elif isinstance(value, str):
            result = value
            for rule in IP_RULES:
                if rule.precheck(result):
                    result = rule.pattern.sub(rule.replace, result)
            if result != value:
                self.notes.annotate(path, rem=[["@ip:replace", "s"]], len=len(value))
            return result
        return value
