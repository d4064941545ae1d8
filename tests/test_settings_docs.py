"""docs/configuration.md documents every setting (and nothing that no longer exists)."""

from __future__ import annotations

import re
from pathlib import Path

from vedette.settings import Settings

DOC = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text()


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`VEDETTE_([A-Z_]+)`", DOC))
    fields = {name.upper() for name in Settings.model_fields}
    assert documented == fields


def test_every_setting_has_a_description() -> None:
    assert all(field.description for field in Settings.model_fields.values())
