"""What users write in feedback goes through the same credential table: a pasted token is
replaced, the words around it and look-alikes are kept."""

from __future__ import annotations

import orjson
import pytest
from tests.privacy.corpus import LOOKALIKES, SECRET_CORES, SECRETS

from vedette.domain.envelope import parse_envelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.processing.scrub import ScrubConfig

RECEIVED = 1_900_000_000.0


def comments_stored(text: str, config: ScrubConfig | None = None) -> str:
    report = {"event_id": "a" * 32, "name": "Ada", "email": "ada@example.com", "comments": text}
    body = orjson.dumps(report)
    envelope = b"{}\n" + orjson.dumps({"type": "user_report", "length": len(body)}) + b"\n" + body
    result = process_envelope(
        parse_envelope(envelope), RECEIVED, None, ProcessingConfig(scrub=config or ScrubConfig())
    )
    [feedback] = result.feedback
    return feedback.comments


@pytest.mark.parametrize("name", list(SECRETS))
def test_a_pasted_credential_is_replaced(name: str) -> None:
    stored = comments_stored(f"it failed after I used {SECRETS[name]} yesterday")
    assert SECRET_CORES[name] not in stored
    assert stored.startswith("it failed after I used ") and stored.endswith(" yesterday")


# A user's comments are free text, scrubbed like a log's body: an email address in them is
# replaced too, so a URL with a user name loses it.
@pytest.mark.parametrize("name", [n for n in LOOKALIKES if n != "url-with-user"])
def test_lookalikes_are_kept(name: str) -> None:
    text = f"see {LOOKALIKES[name]}"
    assert comments_stored(text) == text


def test_turned_off_scrubbing_keeps_the_text() -> None:
    secret = f"token {SECRETS['stripe-key']}"
    assert comments_stored(secret, ScrubConfig(defaults=False)) == secret
