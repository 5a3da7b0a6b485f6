"""Small pieces the action handlers share: reading values, and errors as replies."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot import cards
from bot.errors import InvalidInput, NotFound, RelaisError
from bot.i18n import Translator
from bot.ui import Reply
from domain import Status

_DURATION = re.compile(r"^(\d{1,3})\s*([dwj]|days?|weeks?|jours?|semaines?|sem)$")


#: The largest id a database column holds (PostgreSQL ``integer``).
MAX_ID = 2**31 - 1


def int_or_none(value: Any) -> int | None:
    """``"12"`` -> 12; anything else (not a number, or no id a database holds) -> None."""
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is None or -MAX_ID <= number <= MAX_ID else None


def flag(value: Any) -> bool:
    """A checkbox or a typed yes/no (English or French) as a bool."""
    return value is True or str(value).lower() in ("true", "1", "yes", "on", "y", "o", "oui")


def card_ref(value: str) -> tuple[int, int | None]:
    """``"12:2"`` (submission 12 as shown at revision 2) or ``"12"`` -> (12, 2 | None)."""
    id_text, _, revision_text = value.partition(":")
    number = int_or_none(id_text)
    if number is None or number <= 0:
        raise NotFound("error.submission_not_found", id=value[:40])
    return number, int_or_none(revision_text)


def parse_duration(text: str) -> timedelta | None:
    """``2w``, ``10d``, ``3 semaines`` -> a timedelta; None when unreadable."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    days = amount * (7 if unit[0] in "ws" else 1)
    return timedelta(days=days) if days > 0 else None


def render_error(t: Translator, err: RelaisError, tz: str) -> str:
    """A person-readable sentence for an error, in the member's language."""
    params: dict[str, Any] = {}
    for name, value in err.params.items():
        if isinstance(value, Status):
            params[name] = t(f"status.{value.value}")
        elif isinstance(value, datetime):
            params[name] = cards.when(value, tz, t)
        else:
            params[name] = value
    return t(err.key, **params)


def error_reply(t: Translator, err: RelaisError, tz: str) -> Reply:
    """An ephemeral reply for an error; form errors are attached to their field."""
    text = render_error(t, err, tz)
    errors = {err.field: text} if isinstance(err, InvalidInput) else {}
    return Reply(message=cards.notice(text), errors=errors, failed=True)
