"""Translations. Every string a person reads goes through ``translate``.

Catalogues are plain dicts (``en.py``, ``fr.py``) with ``str.format`` placeholders;
a test keeps their keys and placeholders identical. An entry that depends on a number
is a dict of CLDR plural forms (``{"one": ..., "other": ...}``) chosen by its ``count``
parameter with the language's own rule (French treats 0 and 1 as singular, English
only 1). Dates and times are written with Babel in the reader's language and timezone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time

from bot.i18n import en, fr

Entry = str | Mapping[str, str]
CATALOGUES: dict[str, Mapping[str, Entry]] = {"en": en.MESSAGES, "fr": fr.MESSAGES}
DEFAULT_LOCALE = "en"
PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")
log = logging.getLogger(__name__)


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


@cache
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(normalise_locale(locale))


def plural_form(locale: str, count: int) -> str:
    """The CLDR plural category of ``count`` in ``locale``: ``one``, ``other``, ..."""
    return _babel_locale(locale).plural_form(abs(count))


def _pick(locale: str, key: str, entry: Entry, params: Mapping[str, Any]) -> str:
    if isinstance(entry, str):
        return entry
    count = params.get("count")
    if not isinstance(count, int):
        log.error("plural translation key %r needs an integer count", key)
        return entry["other"]
    return entry.get(plural_form(locale, count)) or entry["other"]


def translate(locale: str, key: str, /, **params: Any) -> str:
    """The message ``key`` in ``locale``, falling back to English, then to the key itself."""
    loc = normalise_locale(locale)
    entry = CATALOGUES[loc].get(key)
    if entry is None:
        loc, entry = DEFAULT_LOCALE, CATALOGUES[DEFAULT_LOCALE].get(key)
    if entry is None:
        log.error("missing translation key %r", key)
        return key
    template = _pick(loc, key, entry, params)
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        log.exception("bad parameters for translation key %r", key)
        return template


class Translator:
    """A ``t(key, **params)`` bound to one locale, which it also tells (``t.locale``)
    so dates can be written in the same language."""

    __slots__ = ("locale",)

    def __init__(self, locale: str) -> None:
        self.locale = normalise_locale(locale)

    def __call__(self, key: str, /, **params: Any) -> str:
        return translate(self.locale, key, **params)

    def __repr__(self) -> str:
        return f"Translator({self.locale!r})"


def translator(locale: str) -> Translator:
    """A ``t(key, **params)`` bound to one locale."""
    return Translator(locale)


def locale_of(locale: str | Translator | None) -> str:
    """The catalogue locale of a locale name or a translator."""
    if isinstance(locale, Translator):
        return locale.locale
    return normalise_locale(locale)


def format_when(at: datetime, tz: str, locale: str | Translator | None = DEFAULT_LOCALE) -> str:
    """A moment as people of ``locale`` write it, in timezone ``tz``:
    ``30 nov. 2026 à 10:00`` in French, ``Nov 30, 2026 at 10:00 AM`` in English."""
    name = locale_of(locale)
    local = at.astimezone(ZoneInfo(tz))
    day = format_date(local.date(), "medium", locale=_babel_locale(name))
    time = format_time(local.time(), "short", locale=_babel_locale(name))
    return translate(name, "date.day_at_time", day=day, time=time)


def format_day(
    day: date | datetime, locale: str | Translator | None = DEFAULT_LOCALE, tz: str = "UTC"
) -> str:
    """A calendar day as people of ``locale`` write it (``30 nov. 2026``, ``Nov 30, 2026``);
    a datetime is first moved to timezone ``tz``."""
    if isinstance(day, datetime):
        day = day.astimezone(ZoneInfo(tz)).date()
    return format_date(day, "medium", locale=_babel_locale(locale_of(locale)))
