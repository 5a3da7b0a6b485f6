"""docs/configuration.md and .env.example are what ``python -m relais.config_doc`` writes
from the settings class: a setting added without them (or without a description) fails."""

from __future__ import annotations

import re

from bot.settings import Settings
from relais import config_doc


def test_configuration_reference_is_generated_from_the_settings() -> None:
    committed = config_doc.MARKDOWN.read_text(encoding="utf-8")
    assert committed == config_doc.markdown(), (
        "docs/configuration.md is out of date: run `python -m relais.config_doc`"
    )


def test_env_example_lists_every_setting() -> None:
    committed = config_doc.ENV_EXAMPLE.read_text(encoding="utf-8")
    assert committed == config_doc.env_example(), (
        ".env.example is out of date: run `python -m relais.config_doc`"
    )
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", committed, flags=re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields <= listed, sorted(fields - listed)
    # Nothing stale: every name is a setting, or the compose file's own.
    assert listed - fields == {name for name, _, _ in config_doc.COMPOSE_ONLY}


def test_every_setting_is_in_the_reference_with_its_default() -> None:
    doc = config_doc.markdown()
    for name, info in Settings.model_fields.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{name.upper()}` |"))
        assert info.description and info.description in row
    assert "| `PORT` | `3000` |" in doc
    assert "| `RELAIS_TEAMS_EMULATOR` | `false` |" in doc
    assert "| `RELAIS_MAX_PHOTO_MB` | `20` |" in doc
