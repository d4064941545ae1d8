"""Log attributes go through the same credential table as events (processing.logs uses the
value rules of processing.value_rules): every format under a harmless key is filtered, every
look-alike kept."""

from __future__ import annotations

import pytest
from tests.privacy.corpus import LOOKALIKES, SECRET_CORES, SECRETS

from vedette.processing.logs import scrub_attributes
from vedette.processing.scrub import ScrubConfig


@pytest.mark.parametrize("name", list(SECRETS))
def test_each_credential_leaves_log_attributes(name: str) -> None:
    attributes = {"gateway": {"type": "string", "value": f"calling with {SECRETS[name]}"}}
    value = scrub_attributes(attributes, ScrubConfig())["gateway"]["value"]
    assert SECRET_CORES[name] not in value and "[Filtered]" in value


def test_lookalikes_stay_in_log_attributes() -> None:
    attributes = {name: {"type": "string", "value": value} for name, value in LOOKALIKES.items()}
    assert scrub_attributes(attributes, ScrubConfig()) == attributes
