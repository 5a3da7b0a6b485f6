"""Catalogues are complete in both languages, and user text stays inert."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.i18n import CATALOGUES, normalise_locale, translate
from bot.ui import Actions, Button, Context, Fields, Heading, Image, Message, Paragraph

ROOT = Path(__file__).resolve().parent.parent


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_same_keys_in_every_language() -> None:
    en, fr = CATALOGUES["en"], CATALOGUES["fr"]
    assert set(en) - set(fr) == set(), "missing in French"
    assert set(fr) - set(en) == set(), "missing in English"


@pytest.mark.parametrize("key", sorted(CATALOGUES["en"]))
def test_same_placeholders_and_no_markup(key: str) -> None:
    en, fr = CATALOGUES["en"][key], CATALOGUES["fr"][key]
    assert placeholders(en) == placeholders(fr)
    for text in (en, fr):
        assert text.strip(), "empty translation"
        assert not re.search(r"(?<![\w{])[*_`]\w|<[!@#]|<https?:", text), (
            "catalogues are plain text"
        )


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
