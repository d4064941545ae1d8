"""Well-known credential formats, recognised by their value wherever they turn up.

A key-name denylist misses a Stripe key in a local variable called ``gateway``; the key's own
shape (``sk_live_...``) does not. Each format here is a published, prefixed shape with few
false positives. The false-positive corpus in tests/processing/test_scrub_secrets.py (UUIDs,
hashes, order numbers, base64 images, identifiers) must stay untouched by every entry.

**One table, two users.** The server (``vedette.processing.scrub``) and the client kit
(``vedette.kit.scrub``) both apply this table, so the kit never sends what the server would
remove. The layering forbids either importing the other: the kit may import nothing of the
server, and the kit's package imports ``sentry_sdk``, which a server need not have. So the
table lives in ``vedette.shared``, a leaf both may import, holding standard-library code only
(tests/test_architecture.py checks all three rules). Nothing is generated or copied.

Not here, on purpose: formats with no prefix (an AWS secret access key, a Twilio auth token)
look exactly like a random id or a hash; the key-name rules catch those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FILTERED = "[Filtered]"


@dataclass(frozen=True, slots=True)
class SecretFormat:
    """``pattern`` finds the credential; with a group named ``secret``, only that group is
    replaced (``https://hooks.slack.com/services/[Filtered]`` keeps what it pointed at).
    ``hints``: substrings every match contains (lower-cased when ``ignore_case``), a cheap test
    before the regex runs, and what the server's JSON-text pre-scan looks for."""

    name: str
    pattern: re.Pattern[str]
    hints: tuple[str, ...]
    ignore_case: bool = False

    @property
    def rule_id(self) -> str:
        """The rule named in Sentry's ``_meta`` remarks: ``@stripe-key:filter``."""
        return f"@{self.name}:filter"

    def hinted(self, text: str, lowered: str) -> bool:
        haystack = lowered if self.ignore_case else text
        return any(hint in haystack for hint in self.hints)


# Characters of a token; a match must not be part of a longer word of them.
_EDGE = r"(?<![A-Za-z0-9_\-])"
_END = r"(?![A-Za-z0-9_\-])"

SECRET_FORMATS: tuple[SecretFormat, ...] = (
    SecretFormat(
        "aws-access-key-id",
        re.compile(rf"{_EDGE}(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{{16}}{_END}"),
        ("AKIA", "ASIA", "ABIA", "ACCA"),
    ),
    SecretFormat(
        "stripe-key",
        re.compile(
            rf"{_EDGE}(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{{16,247}}|whsec_[0-9A-Za-z]{{32,}})"
            rf"{_END}"
        ),
        ("sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"),
    ),
    SecretFormat(
        "github-token",
        re.compile(rf"{_EDGE}(?:gh[pousr]_[A-Za-z0-9]{{36,251}}|github_pat_\w{{22,242}}){_END}"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    SecretFormat(
        "gitlab-token",
        re.compile(rf"{_EDGE}gl(?:pat|dt|rt|ptt|cbt|soat|ft|imt|agent|oas)-[\w\-]{{20,}}"),
        tuple(
            f"gl{kind}-"
            for kind in ("pat", "dt", "rt", "ptt", "cbt", "soat", "ft", "imt", "agent", "oas")
        ),
    ),
    SecretFormat(
        "slack-token",
        re.compile(
            rf"{_EDGE}(?:xox[abposre]-[A-Za-z0-9\-]{{10,250}}|xapp-\d-[A-Za-z0-9\-]{{20,}})"
        ),
        ("xox", "xapp-"),
    ),
    SecretFormat(
        "slack-webhook",
        re.compile(
            r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9_/\-]{8,})"
        ),
        ("hooks.slack.com",),
    ),
    SecretFormat(
        "google-api-key",
        re.compile(rf"{_EDGE}AIza[0-9A-Za-z_\-]{{35}}{_END}"),
        ("AIza",),
    ),
    SecretFormat(
        "jwt",
        re.compile(
            rf"{_EDGE}eyJ[A-Za-z0-9_\-]{{8,}}\.eyJ[A-Za-z0-9_\-]{{8,}}\.[A-Za-z0-9_\-]*{_END}"
        ),
        ("eyJ",),
    ),
    SecretFormat(
        # The body goes even when the END line was cut off (a trimmed value, a log line).
        "private-key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
            r"(?P<secret>.+?)(?=-----END|\Z)",
            re.DOTALL,
        ),
        ("PRIVATE KEY",),
    ),
    SecretFormat(
        "url-password",
        re.compile(
            r"\b[a-zA-Z][a-zA-Z0-9+.\-]{0,31}://[^:/?#@\s]{0,256}:"
            r"(?P<secret>[^@/?#\s]{1,256})(?=@)"
        ),
        ("://",),
    ),
    SecretFormat(
        # ADO.NET/ODBC/JDBC property lists: Server=db;User Id=app;Password=...;
        "connection-string-password",
        re.compile(
            r"(?i)(?<![\w.])[\w.]{0,40}?(?:password|passwd|pwd)\s{0,3}=\s{0,3}"
            r"(?P<secret>[^;&'\"\s]+)"
        ),
        ("password", "passwd", "pwd"),
        ignore_case=True,
    ),
    SecretFormat(
        "npm-token",
        re.compile(rf"{_EDGE}npm_[A-Za-z0-9]{{36}}{_END}"),
        ("npm_",),
    ),
    SecretFormat(
        "pypi-token",
        re.compile(rf"{_EDGE}pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[\w\-]{{50,}}"),
        ("pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"),
    ),
    SecretFormat(
        "sendgrid-key",
        re.compile(rf"{_EDGE}SG\.[\w\-]{{22}}\.[\w\-]{{43}}{_END}"),
        ("SG.",),
    ),
    SecretFormat(
        "twilio-key",
        re.compile(r"(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])"),
        ("SK",),
    ),
)

# What the server's pre-scan of a container's JSON text looks for (see processing.scrub).
LOWERED_HINTS: tuple[str, ...] = tuple(
    hint for f in SECRET_FORMATS if f.ignore_case for hint in f.hints
)
CASED_HINTS: tuple[str, ...] = tuple(
    hint for f in SECRET_FORMATS if not f.ignore_case for hint in f.hints
)


# What a redaction leaves behind ("[Filtered]", "[pemkey]"): never redacted again.
_PLACEHOLDER = re.compile(r"\[[\w\- ]{1,40}\]")


def replace_secret(found: re.Match[str], replacement: str) -> str:
    """The match with its secret (the group ``secret``, else all of it) replaced."""
    if "secret" not in found.re.groupindex:
        start, end = found.span()
    else:
        start, end = found.span("secret")
    if _PLACEHOLDER.fullmatch(found.string, start, end):
        return found.group(0)
    whole, offset = found.group(0), found.start()
    return f"{whole[: start - offset]}{replacement}{whole[end - offset :]}"


def redact_secrets(text: str, replacement: str = FILTERED) -> tuple[str, tuple[str, ...]]:
    """``text`` with every credential found replaced, and the rule ids of the formats found."""
    lowered = text.lower()
    found: list[str] = []
    for secret_format in SECRET_FORMATS:
        if not secret_format.hinted(text, lowered):
            continue
        changed = secret_format.pattern.sub(lambda match: replace_secret(match, replacement), text)
        if changed != text:
            found.append(secret_format.rule_id)
            text = changed
    return text, tuple(found)


def may_hold_secret(text: str) -> bool:
    """Whether any format's hint occurs: False means ``redact_secrets`` changes nothing."""
    lowered = text.lower()
    return any(secret_format.hinted(text, lowered) for secret_format in SECRET_FORMATS)
