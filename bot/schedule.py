"""When things are due: the weekly digest's slot, working hours, and period keys.

All computations take an aware UTC ``now`` and the workspace's (or a person's)
timezone, so a slot written as ``fri 16:00`` in ``Europe/Paris`` stays at 16:00 local
time across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = {
    "mon": 0, "lun": 0, "tue": 1, "mar": 1, "wed": 2, "mer": 2, "thu": 3, "jeu": 3,
    "fri": 4, "ven": 4, "sat": 5, "sam": 5, "sun": 6, "dim": 6,
}  # fmt: skip
_SLOT = re.compile(r"^\s*([a-z]{3})[a-z]*\.?\s+(\d{1,2})[:h](\d{2})\s*$")
WORK_START, WORK_END = time(9, 0), time(18, 0)
#: The working week by default: Monday to Friday (``RELAIS_WORKING_DAYS``, ``/relais config
#: working_days``: Sunday to Thursday in much of the Middle East, six days in some shops).
WEEKDAYS: frozenset[int] = frozenset(range(5))
_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_WORD = re.compile(r"^([a-z]{3})[a-z]*\.?$")


@dataclass(frozen=True)
class WeeklySlot:
    """A weekday and a local time, e.g. Friday 16:00."""

    weekday: int
    at: time

    def __str__(self) -> str:
        name = next(k for k, v in DAYS.items() if v == self.weekday)
        return f"{name} {self.at:%H:%M}"


def parse_slot(text: str) -> WeeklySlot | None:
    """``fri 16:00``, ``vendredi 16h00`` -> a slot; None when unreadable."""
    match = _SLOT.match(text.lower())
    if not match or match.group(1) not in DAYS:
        return None
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        return None
    return WeeklySlot(DAYS[match.group(1)], time(hour, minute))


def last_occurrence(slot: WeeklySlot, tz: str, now: datetime) -> datetime:
    """The latest moment at or before ``now`` matching ``slot`` in ``tz`` (as UTC)."""
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    days_back = (local_now.weekday() - slot.weekday) % 7
    day = local_now.date() - timedelta(days=days_back)
    moment = datetime.combine(day, slot.at, tzinfo=zone)
    if moment > local_now:
        moment = datetime.combine(day - timedelta(days=7), slot.at, tzinfo=zone)
    return moment.astimezone(UTC)


def previous_occurrence(slot: WeeklySlot, tz: str, occurrence: datetime) -> datetime:
    """The slot one local week before ``occurrence`` (23 or 25 hours shorter or longer
    in UTC across a daylight-saving change, exactly 7 days on the wall clock)."""
    return _weeks_from(slot, tz, occurrence, -1)


def next_occurrence(slot: WeeklySlot, tz: str, occurrence: datetime) -> datetime:
    """The slot one local week after ``occurrence``."""
    return _weeks_from(slot, tz, occurrence, 1)


def _weeks_from(slot: WeeklySlot, tz: str, occurrence: datetime, weeks: int) -> datetime:
    zone = ZoneInfo(tz)
    day = occurrence.astimezone(zone).date() + timedelta(weeks=weeks)
    return datetime.combine(day, slot.at, tzinfo=zone).astimezone(UTC)


def week_key(occurrence: datetime, tz: str) -> str:
    """The ISO week of an occurrence in ``tz``, e.g. ``2026-W47``: the digest's period."""
    year, week, _ = occurrence.astimezone(ZoneInfo(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def _day(word: str) -> int | None:
    match = _DAY_WORD.match(word.strip())
    return DAYS.get(match.group(1)) if match else None


def parse_days(text: str) -> frozenset[int] | None:
    """The working days of ``mon-fri``, ``sun-thu``, ``lun-ven``, ``mon,tue,thu`` or
    ``lundi-samedi`` (a range wraps around the week: ``sun-thu``); None when unreadable
    or empty."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        ends = part.split("-")
        if len(ends) == 1:
            day = _day(ends[0])
            if day is None:
                return None
            days.add(day)
        elif len(ends) == 2:
            first, last = _day(ends[0]), _day(ends[1])
            if first is None or last is None:
                return None
            days.update((first + k) % 7 for k in range((last - first) % 7 + 1))
        else:
            return None
    return frozenset(days) or None


def format_days(days: frozenset[int]) -> str:
    """``mon-fri``, ``sun-thu``, ``mon,wed,fri``: the shortest way ``parse_days`` reads."""
    if len(days) == 7:
        return "mon-sun"
    # A run of consecutive days (around the week) is written as a range.
    for start in sorted(days):
        if (start - 1) % 7 not in days:
            run = [(start + k) % 7 for k in range(len(days))]
            if set(run) == days:
                return f"{_NAMES[run[0]]}-{_NAMES[run[-1]]}" if len(run) > 1 else _NAMES[start]
            break
    return ",".join(_NAMES[d] for d in sorted(days))


def working_hours(now: datetime, tz: str, days: frozenset[int] = WEEKDAYS) -> bool:
    """True on a working day (``days``, Monday to Friday by default) between 9:00 and
    18:00 in ``tz`` (never at night or on days off)."""
    local = now.astimezone(ZoneInfo(tz))
    return local.weekday() in days and WORK_START <= local.time() < WORK_END


def local_day(now: datetime, tz: str) -> date:
    """The calendar day of ``now`` in ``tz``."""
    return now.astimezone(ZoneInfo(tz)).date()


def working_hours_between(
    start: datetime, end: datetime, tz: str, days: frozenset[int] = WEEKDAYS
) -> float:
    """Working hours (9:00-18:00 on working ``days`` in ``tz``) elapsed from ``start`` to
    ``end``."""
    if end <= start:
        return 0.0
    zone = ZoneInfo(tz)
    total = 0.0
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if day.weekday() in days:
            open_at = datetime.combine(day, WORK_START, tzinfo=zone)
            close_at = datetime.combine(day, WORK_END, tzinfo=zone)
            lo, hi = max(open_at, start), min(close_at, end)
            if hi > lo:
                total += (hi - lo).total_seconds() / 3600
        day += timedelta(days=1)
    return total
