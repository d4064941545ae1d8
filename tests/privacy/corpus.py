"""Credentials in every format of vedette.shared.secret_patterns, and values that only look
like them. Shared by the server's, the kit's and the live tests.

The credentials are made up, and assembled from pieces so that no secret scanner takes this
file for a leak.
"""

from __future__ import annotations

from typing import Any

_HEX32 = "0123456789abcdef" * 2
_ALNUM36 = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"

# format name -> a credential of that format
SECRETS: dict[str, str] = {
    "aws-access-key-id": "AKIA" + "IOSFODNN7EXAMPLE",
    "stripe-key": "sk_" + "live_" + "51HxYzAbCdEfGhIjKlMnOpQr",
    "stripe-restricted-key": "rk_" + "live_" + "51HxYzAbCdEfGhIjKlMnOpQrSt",
    "github-token": "gh" + "p_" + _ALNUM36,
    "github-fine-grained-token": "github_" + "pat_" + "11ABCDEFG0123456789_abcdefghijklmnop",
    "gitlab-token": "gl" + "pat-" + "xR4nd0mT0k3nV4lu3zzz",
    "slack-token": "xo" + "xb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "slack-webhook": "https://hooks.slack.com/services/" + "T00000000/B00000000/" + "X" * 24,
    "google-api-key": "AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "jwt": "ey" + "JhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "private-key": "-----BEGIN RSA PRIVATE"
    + " KEY-----\nMIIEpAIBAAKCAQEA7bq\n-----END RSA"
    + " PRIVATE KEY-----",
    "url-password": "postgresql://app:" + "S3cretPassw0rd" + "@db.internal:5432/shop",
    "connection-string-password": "Server=db;User Id=app;" + "Password=" + "Hx9-pl2Qz;",
    "npm-token": "np" + "m_" + _ALNUM36,
    "pypi-token": "pypi-"
    + "AgEIcHlwaS5vcmc"
    + "CJGI0ZTVhYjE3LTk4ZjEtNGQ3Yi1hMjEwLTJk"
    + "NmI2YjU0YjhiZQACKlszLCJm",
    "sendgrid-key": "S" + "G.ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr",
    "twilio-key": "S" + "K" + _HEX32,
}

# The part of each credential that must never be stored, were the rest kept (a URL's host, a
# Slack webhook's host, a PEM's header).
SECRET_CORES: dict[str, str] = {
    **SECRETS,
    "slack-webhook": "XXXXXXXXXXXXXXXXXXXXXXXX",
    "private-key": "MIIEpAIBAAKCAQEA7bq",
    "url-password": "S3cretPassw0rd",
    "connection-string-password": "Hx9-pl2Qz",
}

# Values that must come through untouched.
LOOKALIKES: dict[str, str] = {
    "uuid": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "uuid-hex": "7c9e6679742540de944be07fc1f90ae7",
    "md5": "9e107d9d372bb6826bd81d3542a419d6",
    "sha1": "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
    "sha256": "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
    "git-sha": "6f43025a1c2b3d4e5f60718293a4b5c6d7e8f901",
    "order-number": "ORD-2026-000123",
    "invoice": "INV/2026/12/0042",
    "sku": "SKU-ASIA-PACIFIC-00017",
    "timezone": "Asia/Tokyo",
    "base64-image": (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    ),
    "identifier": "sk_user_preferences",
    "snake-identifier": "github_login",
    "module-path": "vedette.processing.scrub",
    "url": "https://example.com/orders/42?page=2&sort=desc",
    "url-with-user": "https://alice@example.com/repo.git",
    "url-with-port": "http://localhost:8000/api/0/",
    "prose": "Asked the desk to skip the task; the npm install took 3 s",
    "base64-json": "eyJwYWdlIjogMn0=",
    "stripe-id": "ch_3MmlLrLkdIwHu7ix0snN0B15",
    "stripe-publishable": "pk_live_51HxYzAbCdEfGhIjKlMnOpQr",
    "aws-arn": "arn:aws:iam::123456789012:role/app",
    "semver": "2.75.0+build.20261204",
    "extension-number": "+1 (555) 010-9999",
}


def event_carrying(values: dict[str, str]) -> dict[str, Any]:
    """Every value under a harmless key in each part of an event the scrubber walks."""
    pairs = [[f"x-{name}", value] for name, value in values.items()]
    query = "&".join(f"q{i}={value}" for i, value in enumerate(values.values()))
    return {
        "event_id": "a" * 32,
        "timestamp": 1_795_885_543.0,
        "platform": "python",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": " | ".join(values.values()),
                    "stacktrace": {
                        "frames": [
                            {"function": "pay", "filename": "shop.py", "lineno": 3,
                             "vars": {f"local_{n}": f"'{v}'" for n, v in values.items()}}
                        ]
                    },
                }
            ]
        },
        "extra": {f"note_{name}": value for name, value in values.items()},
        "contexts": {"gateway": {f"config_{name}": value for name, value in values.items()}},
        "breadcrumbs": {
            "values": [
                {"category": "http", "message": value, "data": {"url": value}}
                for value in values.values()
            ]
        },
        "request": {
            "url": "https://shop.example/pay",
            "query_string": query,
            "headers": pairs,
            "cookies": [[f"c-{name}", value] for name, value in values.items()],
        },
        "spans": [{"span_id": "b" * 16, "op": "http", "data": {"target": value}}
                  for value in values.values()],
    }  # fmt: skip
