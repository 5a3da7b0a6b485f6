"""Catalogues are complete in both languages, and user text stays inert."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.actions import handle_command
from bot.core import Core
from bot.i18n import CATALOGUES, PLURAL_FORMS, normalise_locale, plural_form, translate, translator
from bot.ui import Actions, Button, Context, Fields, Heading, Image, Message, Paragraph
from tests.support import member, text_of

ROOT = Path(__file__).resolve().parent.parent


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_same_keys_in_every_language() -> None:
    en, fr = CATALOGUES["en"], CATALOGUES["fr"]
    assert set(en) - set(fr) == set(), "missing in French"
    assert set(fr) - set(en) == set(), "missing in English"


def forms(entry: str | Mapping[str, str]) -> list[str]:
    """The texts of a catalogue entry: one, or one per plural form."""
    return [entry] if isinstance(entry, str) else list(entry.values())


@pytest.mark.parametrize("key", sorted(CATALOGUES["en"]))
def test_same_placeholders_and_no_markup(key: str) -> None:
    en, fr = CATALOGUES["en"][key], CATALOGUES["fr"][key]
    expected = set().union(*(placeholders(text) for text in forms(en)))
    for entry in (en, fr):
        if not isinstance(entry, str):
            assert set(entry) <= set(PLURAL_FORMS) and "other" in entry, "CLDR plural forms"
            assert "count" in expected, "a plural entry is chosen by its count"
        for text in forms(entry):
            # A plural form may leave out {count} ("Send this photo?"), nothing else.
            optional = {"count"} if not isinstance(entry, str) else set()
            assert expected - optional <= placeholders(text) <= expected
            assert text.strip(), "empty translation"
            assert not re.search(r"(?<![\w{])[*_`]\w|<[!@#]|<https?:", text), (
                "catalogues are plain text"
            )
            assert "(s)" not in text, "plural forms, not (s)"


def test_french_uses_the_typographic_apostrophe() -> None:
    straight = [key for key, entry in CATALOGUES["fr"].items() if "'" in "".join(forms(entry))]
    assert straight == []


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("fr", 0, "0 photo approuvée cette semaine. Merci !"),
        ("fr", 1, "1 photo approuvée cette semaine. Merci !"),
        ("fr", 2, "2 photos approuvées cette semaine. Merci !"),
        ("fr", 1_000_000, "1000000 photos approuvées cette semaine. Merci !"),
        ("en", 0, "0 photos approved this week. Thank you!"),
        ("en", 1, "1 photo approved this week. Thank you!"),
        ("en", 2, "2 photos approved this week. Thank you!"),
    ],
)
def test_plural_rules_of_each_language(locale: str, count: int, expected: str) -> None:
    assert translate(locale, "digest.approved", count=count) == expected
    assert translator(locale)("digest.approved", count=count) == expected


def test_plural_form_follows_cldr() -> None:
    assert [plural_form("fr", n) for n in (0, 1, 2)] == ["one", "one", "other"]
    assert [plural_form("en", n) for n in (0, 1, 2)] == ["other", "one", "other"]
    assert translate("fr", "slack.dropped.prompt", count=1) == (
        "Envoyer cette photo ou vidéo à l’équipe communication ?"
    )
    assert translate("fr", "teams.photos_attached", count=3) == "3 photos ou vidéos reçues."


@pytest.mark.parametrize(
    ("word", "stored"),
    [("non", "off"), ("Oui", "on"), ("activé", "on"), ("désactivé", "off"), ("off", "off")],
)
async def test_config_on_off_accepts_french_words(core: Core, word: str, stored: str) -> None:
    cm = await member(core, "cm1", "Carla", locale="fr")
    reply = await handle_command(core, cm, "/relais", f"config nudges {word}")
    assert not reply.failed, text_of(reply.message)  # type: ignore[arg-type]
    assert (await core.config.get(cm.workspace_id)).nudges is (stored == "on")
    assert (await handle_command(core, cm, "/relais", "config nudges peut-être")).failed


def _literal_keys() -> set[str]:
    """Every literal key passed to t(), translate() or an error class in bot/."""
    import bot.errors

    errors = {name for name in dir(bot.errors) if not name.startswith("_")}
    keys: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and path.name == "errors.py":
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
                        keys.add(stmt.value.value)
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = {"t": 0, "translate": 1}.get(node.func.id)
            if position is None and node.func.id in errors:
                position = 0
            if position is not None and len(node.args) > position:
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    keys.add(arg.value)
    return keys


def test_every_key_used_by_the_code_exists() -> None:
    used = _literal_keys()
    assert len(used) > 80, "the scan finds the code's keys"
    assert sorted(used - set(CATALOGUES["en"])) == []


def test_locale_normalisation_and_fallback() -> None:
    assert normalise_locale("fr-FR") == "fr"
    assert normalise_locale("en_US") == "en"
    assert normalise_locale("de-DE", "fr") == "fr"
    assert normalise_locale(None) == "en"
    assert translate("fr", "status.approved") != translate("en", "status.approved")
    assert translate("fr", "no.such.key") == "no.such.key"


MARKUP = "<!channel> <@U123> <https://x|y> *bold* _it_ `code` &amp; {id} {0}"


def test_user_text_passes_through_untouched() -> None:
    """The core never interprets user text: not as markup, not as a format string."""
    message = Message(
        MARKUP,
        (
            Heading(MARKUP),
            Paragraph(MARKUP),
            Image("k", MARKUP),
            Fields(((MARKUP, MARKUP),)),
            Context(MARKUP),
            Actions((Button(MARKUP, "a", MARKUP),)),
        ),
    )
    again = Message.from_json(message.to_json())
    assert again == message
    # A caption containing braces is a parameter, never a template.
    assert MARKUP in translate("en", "card.decision.reason", reason=MARKUP)
