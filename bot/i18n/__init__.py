"""Translations. Every string a person reads goes through ``translate``.

Catalogues are plain dicts (``en.py``, ``fr.py``) with ``str.format`` placeholders;
a test keeps their keys and placeholders identical.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.i18n import en, fr

CATALOGUES: dict[str, dict[str, str]] = {"en": en.MESSAGES, "fr": fr.MESSAGES}
DEFAULT_LOCALE = "en"
log = logging.getLogger(__name__)

Translator = Callable[..., str]


def normalise_locale(locale: str | None, fallback: str = DEFAULT_LOCALE) -> str:
    """Map platform locales (``fr-FR``, ``en_US``, ``fr``) to a catalogue we have."""
    supported = supported_locale(locale)
    if supported:
        return supported
    return fallback if fallback in CATALOGUES else DEFAULT_LOCALE


def supported_locale(locale: str | None) -> str | None:
    """The catalogue for a platform locale, or None when we have no catalogue for it."""
    if not locale:
        return None
    short = locale.replace("_", "-").split("-")[0].lower()
    return short if short in CATALOGUES else None


def translate(locale: str, key: str, /, **params: Any) -> str:
    """The message ``key`` in ``locale``, falling back to English, then to the key itself."""
    catalogue = CATALOGUES.get(normalise_locale(locale))
    template = (catalogue or {}).get(key) or CATALOGUES[DEFAULT_LOCALE].get(key)
    if template is None:
        log.error("missing translation key %r", key)
        return key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        log.exception("bad parameters for translation key %r", key)
        return template


def translator(locale: str) -> Translator:
    """A ``t(key, **params)`` bound to one locale."""
    loc = normalise_locale(locale)

    def t(key: str, /, **params: Any) -> str:
        return translate(loc, key, **params)

    return t
