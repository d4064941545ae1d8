"""The value rules of server-side scrubbing: what a string's content alone gives away.

Cards (Luhn- and issuer-checked), IBANs (mod-97), US SSNs, PEM bodies, URL passwords, bearer
credentials, sensitive ``key=value`` pairs inside strings, home directories, and every
credential format of ``vedette.shared.secret_patterns`` (the table the kit applies too). Also
the pre-scan that tells, from a container's JSON text, that no rule could act inside it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import orjson

from vedette.processing.memo import ENTRY_BYTES, BoundedMemo, approx_bytes, compact
from vedette.processing.trim import nesting
from vedette.shared.secret_patterns import (
    CASED_HINTS,
    FILTERED,
    LOWERED_HINTS,
    SECRET_FORMATS,
    SecretFormat,
    replace_secret,
)

# -- value patterns --------------------------------------------------------------------------

_PEM = re.compile(
    r"(-----BEGIN [A-Z0-9 ]{0,40}(?:PRIVATE|PUBLIC) KEY-----)(.+?)"
    r"(-----END [A-Z0-9 ]{0,40}KEY-----)",
    re.DOTALL,
)
_URL_AUTH = re.compile(
    r"(\b[a-zA-Z][a-zA-Z0-9+.\-]{0,31}://[^:/?#@\s]{0,256}:)([^@/?#\s]{1,256})(@)"
)
_BEARER = re.compile(r"(?i)\b((?:bearer|basic|token)\s+)([A-Za-z0-9\-._~+/]{6,}=*)")
# HTTP auth schemes: after "Authorization:" the credential, not the scheme, is the secret.
_AUTH_SCHEMES = frozenset({"basic", "bearer", "digest", "token", "negotiate"})
# An opaque token has a digit, a symbol or mixed case; "bearer instruments" is prose.
_TOKEN_LIKE = re.compile(r"[0-9\-._~+/=]|[a-z].*[A-Z]|[A-Z].*[a-z]")


def _embedded_pair(separators: str, not_before: str) -> re.Pattern[str]:
    """``key<separator>value`` inside a string, the key sensitive, the value not starting with
    ``not_before`` (a value removed already): group 1 up to the value."""
    return re.compile(
        r"(?i)((?:^|(?<=[\s?&;,{(\"'/]))[\w.\-]{0,40}?"
        r"(?:password|passwd|pwd|secret|token|api[-_]?key|apikey|session|sessid|csrf|xsrf"
        r"|auth(?!or(?!iz))|credentials|private[-_]?key)"
        rf"[\w.\-]{{0,40}}[\"']?\s{{0,3}}[{separators}]\s{{0,3}}[\"']?)"
        rf"(?!{not_before})([^\s&;,\"'}}\])]+)"
    )


_EMBEDDED_KV = _embedded_pair("=:", r"\[Filtered\]")
# In prose (messages, log bodies, feedback) only ``=``: "session: 5 minutes" is a sentence.
# Earlier rules of that set leave a label ("[connection-string-password]"): kept as it is.
_EMBEDDED_ASSIGNMENT = _embedded_pair("=", r"\[")
_CARD = re.compile(r"(?<![\w.\-])(?:\d[ \-]?){12,18}\d(?![\w\-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_HOME = re.compile(r"(?i)(/home/|/Users/|\b[a-z]:\\Users\\)(?!\[Filtered\])([^/\\\s'\"]+)")
_EMAIL = re.compile(
    r"(?<![\w.%+\-])[\w.%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}\b"
)
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])"
)
_IPV6 = re.compile(
    r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])|(?<![\w:])[0-9A-Fa-f:]*::[0-9A-Fa-f:]*(?![\w:])"
)
# Issuer prefixes: Visa, Mastercard (51-55, 2221-2720), Amex, Discover, Diners, JCB.
_CARD_ISSUER = re.compile(r"4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9])|3(?:0[0-5]|[68])|35")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_card_number_value(value: int | float) -> bool:
    """A number (an integer, or a float with no fraction: JSON has no integers) whose digits
    are a card number. A float counts below 2^53, where it holds its integer exactly (and is
    written out digit by digit, as the scrubber's text scan reads it)."""
    if isinstance(value, float) and not (value.is_integer() and abs(value) < 2**53):
        return False
    digits = str(int(value))
    return len(digits) <= 19 and is_card_number(digits)


def is_card_number(text: str) -> bool:
    """13-19 digits (spaces/dashes allowed) with a known issuer prefix and a valid Luhn sum."""
    digits = text.replace(" ", "").replace("-", "")
    return (
        13 <= len(digits) <= 19
        and digits.isdigit()
        and _CARD_ISSUER.match(digits) is not None
        and luhn_valid(digits)
    )


def _iban_valid(text: str) -> bool:
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


@dataclass(frozen=True, slots=True)
class _Rule:
    rule_id: str
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str]
    precheck: Callable[[str], bool]


def _keep_groups(replacement: str) -> Callable[[re.Match[str]], str]:
    """Replace group 2 and keep groups 1 and 3 around it."""

    def replace(found: re.Match[str]) -> str:
        tail = found.group(3) if found.re.groups >= 3 else ""
        return f"{found.group(1)}{replacement}{tail}"

    return replace


def _embedded_value(found: re.Match[str]) -> str:
    """``key=value`` with a sensitive key: the value goes (an auth scheme name stays)."""
    if found.group(2).lower() in _AUTH_SCHEMES:
        return found.group(0)
    return f"{found.group(1)}{FILTERED}"


def _bearer(replacement: str) -> Callable[[re.Match[str]], str]:
    def replace(found: re.Match[str]) -> str:
        token = found.group(2)
        if _TOKEN_LIKE.search(token[1:]) is None:  # a capitalised word is still prose
            return found.group(0)
        return f"{found.group(1)}{replacement}"

    return replace


def _checked(check: Callable[[str], bool], replacement: str) -> Callable[[re.Match[str]], str]:
    def replace(found: re.Match[str]) -> str:
        return replacement if check(found.group(0)) else found.group(0)

    return replace


_FOUR_DIGITS = re.compile(r"\d{4}")


def _has_digit_group(text: str) -> bool:
    """Cards, IBANs and SSNs all contain a run of four digits: a cheap first filter."""
    return _FOUR_DIGITS.search(text) is not None


def _contains(*needles: str) -> Callable[[str], bool]:
    return lambda text: any(needle in text for needle in needles)


_SCHEME_HINT = re.compile(r"(?i)bearer|basic|token")
# The sensitive keys of _embedded_pair, as a quick test before its regular expression
# (substring tests of the lowered text: a case-blind alternation costs 8 µs on a log line).
_KEY_HINTS = ("pass", "pwd", "secret", "token", "key", "sess", "csrf", "xsrf", "auth", "cred")


def _assignment_hint(text: str) -> bool:
    if "=" not in text:
        return False
    lowered = text.lower()
    return any(hint in lowered for hint in _KEY_HINTS)


def _bearer_check(text: str) -> bool:
    return _SCHEME_HINT.search(text) is not None


def _secret_rule(secret: SecretFormat, replace_only: bool) -> _Rule:
    """A credential format of the shared table; after the rules above, which name what they
    already cover (a PEM body, a URL's password) as they always did."""
    replacement = f"[{secret.name}]" if replace_only else FILTERED
    return _Rule(
        f"@{secret.name}:{'replace' if replace_only else 'filter'}",
        secret.pattern,
        lambda found: replace_secret(found, replacement),
        lambda text: secret.hinted(text, text.lower()),
    )


def _rules(replace_only: bool) -> tuple[_Rule, ...]:
    def label(name: str, filtered: str = FILTERED) -> str:
        return f"[{name}]" if replace_only else filtered

    method = "replace" if replace_only else "filter"
    rules = [
        _Rule(f"@pemkey:{method}", _PEM, _keep_groups(label("pemkey")), _contains("-----BEGIN")),
        _Rule(f"@urlauth:{method}", _URL_AUTH, _keep_groups(label("auth")), _contains("://")),
        _Rule(f"@bearer:{method}", _BEARER, _bearer(label("token")), _bearer_check),
        _Rule(
            f"@creditcard:{method}",
            _CARD,
            _checked(is_card_number, label("creditcard")),
            _has_digit_group,
        ),
        _Rule(f"@iban:{method}", _IBAN, _checked(_iban_valid, label("iban")), _has_digit_group),
        _Rule(
            f"@usssn:{method}",
            _SSN,
            _checked(lambda _: True, label("us-ssn")),
            _has_digit_group,
        ),
    ]
    rules.extend(_secret_rule(secret, replace_only) for secret in SECRET_FORMATS)
    if replace_only:
        rules.append(
            _Rule("@email:replace", _EMAIL, _checked(lambda _: True, "[email]"), _contains("@"))
        )
        rules.append(
            _Rule("@password:replace", _EMBEDDED_ASSIGNMENT, _embedded_value, _assignment_hint)
        )
    else:
        rules.append(_Rule("@password:filter", _EMBEDDED_KV, _embedded_value, _contains("=", ":")))
        rules.append(
            _Rule("@userpath:filter", _HOME, _keep_groups(FILTERED), _contains("/home/", "Users"))
        )
    return tuple(rules)


_FILTER_RULES = _rules(replace_only=False)
_REPLACE_RULES = _rules(replace_only=True)


def _ip_rule() -> tuple[_Rule, ...]:
    def ipv6(found: re.Match[str]) -> str:
        text = found.group(0)
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            return text
        return "[ip]" if any(char not in ":0" for char in text) else text

    return (
        _Rule("@ip:replace", _IPV4, lambda _: "[ip]", _contains(".")),
        _Rule("@ip:replace", _IPV6, ipv6, _contains(":")),
    )


IP_RULES = _ip_rule()


_RULE_SETS = (
    _FILTER_RULES,
    _FILTER_RULES + IP_RULES,
    _REPLACE_RULES,
    _REPLACE_RULES + IP_RULES,
)


def apply_value_rules(value: str, rule_set: int) -> tuple[str, tuple[str, ...]]:
    """The text with every value rule of the set applied, and the ids of those that changed it.

    Cached: the same strings recur in event after event (and frame after frame: the SDK repeats
    a function's arguments in every frame they pass through). Bounded in bytes: 4,096 texts of
    up to 1,024 characters and 128 of up to 16 KB, with their results (about 14 MB at most).
    """
    if len(value) <= SHORT_VALUE_CHARS:
        return apply_short_value_rules(value, rule_set)
    if len(value) <= _LONG_VALUE_CHARS:
        return _apply_long_value_rules(value, rule_set)
    return _value_rules(value, rule_set)


def _value_rules(value: str, rule_set: int) -> tuple[str, tuple[str, ...]]:
    result = value
    applied: list[str] = []
    for rule in _RULE_SETS[rule_set]:
        if not rule.precheck(result):
            continue
        changed = rule.pattern.sub(rule.replace, result)
        if changed != result:
            applied.append(rule.rule_id)
            result = changed
    return result, tuple(applied)


# ``apply_value_rules`` for texts of at most SHORT_VALUE_CHARS (the scrubber calls it directly).
SHORT_VALUE_CHARS = 1024
apply_short_value_rules = lru_cache(maxsize=4096)(_value_rules)
_LONG_VALUE_CHARS = 16 * 1024
_apply_long_value_rules = lru_cache(maxsize=128)(_value_rules)


# What the rules above could act on, looked for in the JSON text of a whole container at C speed
# (bytes.lower, bytes.translate and substring search; a regex alternation is 10x slower here).
# Whatever a rule could match in one string or key is found this way in the JSON text holding
# it: JSON escapes only quotes, backslashes and control characters, which none of these need.
# Lower-cased needles: the sensitive-key pattern and exact keys (``^otp$`` as the quoted key),
# the value rules' words and prechecks. Case-sensitive: the user-path precheck.
_NEEDLES = (
    b"pass", b"pwd", b"secret", b"apikey", b"api-key", b"api_key", b"auth", b"credentials",
    b"private", b"token",
    b"sess", b"cookie", b"csrf", b"xsrf", b'"otp"', b"factor", b"connect.sid", b"symfony",
    b"sentrysid", b"_vercel_jwt", b"bearer", b"basic", b"-----begin", b"://",
    *(hint.encode() for hint in LOWERED_HINTS),
)  # fmt: skip
_CASED_NEEDLES = (b"/home/", b"Users", *(hint.encode() for hint in CASED_HINTS))
# Digit runs, the skeleton of the card, SSN and IBAN patterns: digits become 0, capitals A.
_DIGITS = bytes(range(48, 58))
_NO_SEPARATORS = bytes.maketrans(_DIGITS, b"0" * 10)
_SKELETON = bytes.maketrans(_DIGITS + bytes(range(65, 91)), b"0" * 10 + b"A" * 26)
_CARD_RUN = b"0" * 13  # 13 digits once spaces and dashes are gone
# Confirmations of a cheap hit, on the JSON text: each finds everything its rule could act on
# (the rule's own pattern without its look-arounds, which only narrow it) but skips the common
# lookalikes. A card number cannot start right after a digit or a point (``_CARD``), so the
# fraction of a float (0.5263157894736842) is no card, and it starts with an issuer's digit,
# 2 to 6 (``is_card_number``), so a thread id (139740653022080) is none either; a Twilio key
# is ``SK`` and 32 hex digits, so ``SKU-1`` or ``TASK`` is none. Digits, spaces, dashes and
# hex digits are never escaped in JSON; a character escaped before a card ends its escape in
# a letter, a quote or a backslash, or in the hex digits of a control character (``\u0001``).
_CARD_SHAPE = re.compile(rb"(?:(?<![0-9.])|(?<=\\u00[01][0-9a-f]))[2-6](?:[ \-]?[0-9]){12,18}")
# ``://`` (``_URL_AUTH`` and the url-password format): a URL is only acted on when a password
# follows, ``scheme://user:password@``; a plain link (``https://api.example.com/v2``) or a
# port (``http://host:8080/``) is none. Every character of the user and the password that
# JSON escapes (a quote, a backslash, a control character) becomes at most six characters of
# the same classes, hence the bounds six times the rule's 256.
_URL_PASSWORD_SHAPE = re.compile(rb"://[^:/?#@\s]{0,1536}:[^@/?#\s]{1,1536}@")
# ``auth`` (lower-cased text): the key pattern takes any key holding it, an object's key (the
# string followed by ``":``) or a pair's first item (``["...``); the ``key=value`` rule
# (``_EMBEDDED_KV``) takes it followed by word characters, an optional quote (escaped in
# JSON), at most three spaces (a tab, a newline or a control space is escaped: ``\t``,
# ``\u001c``...) and ``=`` or ``:``. So prose (``authorisation failed``, ``the author``) and a
# value that merely holds the word are no hit.
_JSON_STRING_REST = rb'(?:[^"\\]|\\.)*'
_AUTH_SHAPE = re.compile(
    rb"auth" + _JSON_STRING_REST + rb'":'
    rb'|\["' + _JSON_STRING_REST + rb"auth"
    rb"|auth(?!or(?!iz))[\w.\-]{0,40}(?:\\?[\"'])?(?:\s|\\[tnfr]|\\u00(?:0b|1[c-f])){0,3}[=:]"
)
_SHAPES = {b"SK": re.compile(rb"SK[0-9a-f]{32}"), b"://": _URL_PASSWORD_SHAPE, b"auth": _AUTH_SHAPE}
_SSN_RUN = b"000-00-0000"
_IBAN_HEAD = b"AA00"  # country code and check digits


class ContainerScan(NamedTuple):
    """What a container's JSON text tells the scrubber."""

    needs_walk: bool  # some rule could act on a key or a value inside
    # At least its levels of nesting, to MAX_SCAN_LEVELS + 1 (an empty container inside may
    # add one more): its brackets, or below that many its levels counted.
    levels: int


# The scrubber's depth limit: what the levels are counted to.
MAX_SCAN_LEVELS = 64
# Decisions are cached by JSON text: an error that repeats (the common case: that is what makes
# an issue) repeats its frames, so most checks become one hash and one lookup. Texts up to
# 16 KB are kept, 4 MiB of them at most (exact-size copies: orjson's own bytes hold more).
_CACHED_TEXT_BYTES = 16 * 1024
SCAN_DECISIONS: BoundedMemo[ContainerScan] = BoundedMemo(
    4096, max_weight=4 * 1024 * 1024, recency=False
)


def scan_container(encoded: bytes, extra: tuple[bytes, ...]) -> ContainerScan:
    """The scan of a container's JSON text (``extra``: the additional sensitive fields,
    lower-cased)."""
    if len(encoded) > _CACHED_TEXT_BYTES:
        return _container_scan(encoded, extra)
    key = (encoded, extra)
    found = SCAN_DECISIONS.get(key)
    if found is None:
        found = _container_scan(encoded, extra)
        weight = ENTRY_BYTES + approx_bytes(key) + approx_bytes(found)
        SCAN_DECISIONS.put((compact(encoded), extra), found, weight)
    return found


def _container_scan(encoded: bytes, extra: tuple[bytes, ...]) -> ContainerScan:
    if _scan(encoded, extra):
        return ContainerScan(True, 0)
    brackets = encoded.count(b"[") + encoded.count(b"{")
    if brackets < MAX_SCAN_LEVELS:
        return ContainerScan(False, brackets)
    # 60 tags are 61 lists in two levels: counted on the text read back, so the levels are
    # those its brackets make.
    return ContainerScan(False, nesting(orjson.loads(encoded), MAX_SCAN_LEVELS))


def _scan(encoded: bytes, extra: tuple[bytes, ...]) -> bool:
    lowered = encoded.lower()
    for needle in extra:
        if needle in lowered:
            return True
    for needle in _NEEDLES:
        if needle in lowered and _confirmed(needle, lowered):
            return True
    for needle in _CASED_NEEDLES:
        if needle in encoded and _confirmed(needle, encoded):
            return True
    digits = encoded.translate(_NO_SEPARATORS, b" -")
    if _CARD_RUN in digits and _CARD_SHAPE.search(encoded) is not None:
        return True
    skeleton = encoded.translate(_SKELETON)
    return _SSN_RUN in skeleton or _IBAN_HEAD in skeleton


def _confirmed(needle: bytes, text: bytes) -> bool:
    """Whether the hit of ``needle`` in ``text`` could be acted on (no shape: always)."""
    shape = _SHAPES.get(needle)
    return shape is None or shape.search(text) is not None


# Sentry's server-side key pattern plus the names the Python SDK's EventScrubber filters
# (session, cookie, csrf...).
_KEY_TERMS = (
    r"password|passwd|secret|api[-_]?key|auth|credentials|mysql_pwd|private[-_]?key"
    r"|token|session|cookie|csrf|xsrf|^otp$|^two[-_]factor$"
)
_EXACT_SENSITIVE_KEYS = frozenset(
    {"phpsessid", "connect.sid", "symfony", "sentrysid", "_vercel_jwt"}
)
_SENSITIVE_KEY = re.compile(f"(?i)(?:{_KEY_TERMS})")


def is_sensitive_key(lowered: str) -> bool:
    """Whether a (lower-cased) key names a secret: Sentry's ``@password`` rule. Cached for keys
    up to ``CACHED_KEY_CHARS`` (8,192 of them: at most about 2.5 MB)."""
    if len(lowered) <= CACHED_KEY_CHARS:
        return _cached_is_sensitive_key(lowered)
    return _is_sensitive_key(lowered)


def _is_sensitive_key(lowered: str) -> bool:
    return _SENSITIVE_KEY.search(lowered) is not None or lowered in _EXACT_SENSITIVE_KEYS


CACHED_KEY_CHARS = 256
_cached_is_sensitive_key = lru_cache(maxsize=8192)(_is_sensitive_key)


# -- the data types of advanced rules (``@creditcard``, ``@ip``...: processing.pii_config) -----


@dataclass(frozen=True, slots=True)
class DataType:
    """What a built-in advanced rule finds in a string. ``part``: the group redacted (0: the
    whole match; a PEM keeps its BEGIN/END lines, a URL its user and host). ``check``: a match
    must pass it (Luhn for cards, mod-97 for IBANs). ``keep_last``: what ``mask`` leaves."""

    pattern: re.Pattern[str]
    part: int | str = 0
    check: Callable[[str], bool] | None = None
    keep_last: int = 0


def _valid_ip(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (address.version == 6 and address.is_unspecified)


def _valid_imei(text: str) -> bool:
    digits = text.replace("-", "")
    return len(digits) == 15 and luhn_valid(digits)


DATA_TYPES: dict[str, DataType] = {
    "creditcard": DataType(_CARD, check=is_card_number, keep_last=4),
    "iban": DataType(_IBAN, check=_iban_valid),
    "usssn": DataType(_SSN),
    "email": DataType(_EMAIL),
    "ip": DataType(re.compile(f"{_IPV4.pattern}|{_IPV6.pattern}"), check=_valid_ip),
    "mac": DataType(re.compile(r"(?i)(?<![\w:\-])(?:[0-9a-f]{2}[:\-]){5}[0-9a-f]{2}(?![\w:\-])")),
    "uuid": DataType(
        re.compile(r"(?i)(?<![\w\-])[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}(?![\w\-])")
    ),
    "imei": DataType(
        re.compile(r"(?<![\w\-])\d{2}-?\d{6}-?\d{6}-?\d(?![\w\-])"), check=_valid_imei
    ),
    "pemkey": DataType(_PEM, part=2),
    "urlauth": DataType(_URL_AUTH, part=2),
    "userpath": DataType(_HOME, part=2),
    "bearer": DataType(_BEARER, part=2),
    **{
        secret.name: DataType(secret.pattern, "secret" if secret.pattern.groupindex else 0)
        for secret in SECRET_FORMATS
    },
}
