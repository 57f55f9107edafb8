"""Business-hours arithmetic: how much working time lies between two instants, and
when a given amount of working time will have passed.

A calendar is a time zone, weekly opening hours and holidays. Hours are wall-clock
times in the calendar's zone, so "09:00-17:00" stays 09:00-17:00 across daylight
saving changes; the durations counted are real elapsed seconds (a 00:00-24:00 day
on the night clocks go forward lasts 23 hours).

All datetimes in and out are timezone-aware; results are in UTC.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.models import BusinessCalendar, Holiday

MINUTES_PER_DAY = 24 * 60
ONE_DAY = timedelta(days=1)
ONE_WEEK = timedelta(days=7)

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")

# ISO weekday (1 = Monday) -> sorted, non-overlapping (start, end) minutes after midnight.
WeekSpans = dict[int, list[tuple[int, int]]]


def time_zone_clean(value: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a ValidationError that says what was wrong."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(_("Choose a time zone, for example Europe/Berlin."), code="time_zone")
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("Unknown time zone “%(value)s”; use an IANA name such as America/New_York.")
            % {"value": value},
            code="time_zone",
        ) from None


def _minute_parse(value: Any, *, day: str) -> int:
    match = _TIME_RE.match(value) if isinstance(value, str) else None
    if match:
        hours, minutes = int(match[1]), int(match[2])
        if (hours < 24 and minutes < 60) or (hours == 24 and minutes == 0):
            return hours * 60 + minutes
    raise ValidationError(
        _("Weekday %(day)s: “%(value)s” is not a time; write HH:MM between 00:00 and 24:00.")
        % {"day": day, "value": value},
        code="weekly_hours",
    )


def weekly_hours_spans(weekly_hours: Mapping[Any, Any] | None) -> WeekSpans:
    """Parse and check ``{"1": [["09:00", "17:00"], ...], ...}``.

    An empty mapping means open around the clock. Intervals must start before they end
    (an overnight shift is written as two intervals: ``["22:00", "24:00"]`` on one day
    and ``["00:00", "06:00"]`` on the next); overlapping intervals are rejected and
    touching ones are merged.
    """
    if not weekly_hours:
        return {weekday: [(0, MINUTES_PER_DAY)] for weekday in range(1, 8)}
    if not isinstance(weekly_hours, Mapping):
        raise ValidationError(
            _("Weekly hours must map weekdays 1 (Monday) to 7 (Sunday) to lists of intervals."),
            code="weekly_hours",
        )
    spans: WeekSpans = {weekday: [] for weekday in range(1, 8)}
    for key, intervals in weekly_hours.items():
        day = str(key)
        if day not in {"1", "2", "3", "4", "5", "6", "7"}:
            raise ValidationError(
                _("Unknown weekday “%(day)s”; use 1 (Monday) to 7 (Sunday).") % {"day": day},
                code="weekly_hours",
            )
        if not isinstance(intervals, list | tuple):
            raise ValidationError(
                _("Weekday %(day)s: give a list of [start, end] intervals.") % {"day": day},
                code="weekly_hours",
            )
        parsed: list[tuple[int, int]] = []
        for interval in intervals:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise ValidationError(
                    _('Weekday %(day)s: each interval is a pair like ["09:00", "17:00"].')
                    % {"day": day},
                    code="weekly_hours",
                )
            start, end = (_minute_parse(value, day=day) for value in interval)
            if start >= end:
                raise ValidationError(
                    _(
                        "Weekday %(day)s: the interval %(start)s-%(end)s does not end after it "
                        "starts. Overnight hours are written as two intervals, one ending at "
                        "24:00 and one starting at 00:00 on the next day."
                    )
                    % {"day": day, "start": interval[0], "end": interval[1]},
                    code="weekly_hours",
                )
            parsed.append((start, end))
        parsed.sort()
        merged: list[tuple[int, int]] = []
        for start, end in parsed:
            if merged and start < merged[-1][1]:
                raise ValidationError(
                    _("Weekday %(day)s: intervals overlap.") % {"day": day}, code="weekly_hours"
                )
            if merged and start == merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        spans[int(day)] = merged
    if not any(spans.values()):
        raise ValidationError(
            _("The calendar has no working hours; leave the weekly hours empty for 24x7."),
            code="weekly_hours",
        )
    return spans


def _clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def weekly_hours_canonical(spans: WeekSpans) -> dict[str, list[list[str]]]:
    """The JSON form stored on BusinessCalendar.weekly_hours (string weekday keys)."""
    return {
        str(day): [[_clock_text(start), _clock_text(end)] for start, end in spans[day]]
        for day in range(1, 8)
    }


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("BusinessClock needs timezone-aware datetimes")
    return value.astimezone(UTC)


class BusinessClock:
    """Counts business time of one calendar. Pure: no database access after construction."""

    def __init__(
        self, calendar_tz: str, weekly_hours: Mapping[Any, Any] | None, holidays: Iterable[date]
    ) -> None:
        self.tz = time_zone_clean(calendar_tz)
        self._always_open = not weekly_hours
        self._spans = weekly_hours_spans(weekly_hours)
        self._holidays = sorted(set(holidays))
        self._holiday_set = frozenset(self._holidays)
        # Length of a week without holidays or clock changes: the fast path for long targets.
        self._week = timedelta(
            minutes=sum(end - start for spans in self._spans.values() for start, end in spans)
        )

    @classmethod
    def for_calendar(cls, calendar: BusinessCalendar) -> BusinessClock:
        # .all() so a caller that prefetched holidays pays no query.
        holidays = {holiday.date for holiday in calendar.holidays.all()}
        return cls(calendar.time_zone, calendar.weekly_hours, holidays)

    # -- public API ---------------------------------------------------------------

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant at which ``seconds`` business seconds have passed since ``start``.

        A target that runs out exactly at closing time is due at closing time, not at the
        next opening. ``seconds <= 0`` returns ``start``.
        """
        start = _utc(start)
        if seconds <= 0:
            return start
        remaining = timedelta(seconds=seconds)
        if self._always_open and not self._holidays:
            return start + remaining

        day = start.astimezone(self.tz).date()
        for opens, closes in self._day_intervals(day):
            if closes <= start:
                continue
            opens = max(opens, start)
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        day += ONE_DAY

        # Skip whole weeks while the target lies beyond them; each week costs O(1)
        # unless it holds a holiday or a clock change.
        while remaining > (week := self._week_length(day)):
            remaining -= week
            day += ONE_WEEK
        while True:
            for opens, closes in self._day_intervals(day):
                if remaining <= closes - opens:
                    return opens + remaining
                remaining -= closes - opens
            day += ONE_DAY

    def between(self, start: datetime, end: datetime) -> int:
        """Whole business seconds in [start, end); 0 when end is not after start."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return 0
        if self._always_open and not self._holidays:
            return int((end - start).total_seconds())

        day = start.astimezone(self.tz).date()
        last_day = end.astimezone(self.tz).date()
        total = self._clipped(day, start, end)
        day += ONE_DAY
        while day + ONE_WEEK <= last_day:
            total += self._week_length(day)
            day += ONE_WEEK
        while day <= last_day:
            total += self._clipped(day, start, end)
            day += ONE_DAY
        return int(total.total_seconds())

    def is_open(self, moment: datetime) -> bool:
        moment = _utc(moment)
        day = moment.astimezone(self.tz).date()
        return any(opens <= moment < closes for opens, closes in self._day_intervals(day))

    # -- internals ------------------------------------------------------------------

    def _clipped(self, day: date, start: datetime, end: datetime) -> timedelta:
        total = timedelta()
        for opens, closes in self._day_intervals(day):
            opens, closes = max(opens, start), min(closes, end)
            if closes > opens:
                total += closes - opens
        return total

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self._holiday_set:
            return []
        result = []
        for start, end in self._spans[day.isoweekday()]:
            opens, closes = self._instant(day, start), self._instant(day, end)
            # A span lying wholly inside a skipped hour (clocks forward) has no length.
            if closes > opens:
                result.append((opens, closes))
        return result

    def _week_length(self, day: date) -> timedelta:
        """Business time in the seven local days starting at ``day``."""
        end = day + ONE_WEEK
        index = bisect.bisect_left(self._holidays, day)
        has_holiday = index < len(self._holidays) and self._holidays[index] < end
        offsets = {self._midnight(day + timedelta(days=n)).utcoffset() for n in range(8)}
        if not has_holiday and len(offsets) == 1:
            return self._week
        return sum(
            (
                closes - opens
                for n in range(7)
                for opens, closes in self._day_intervals(day + timedelta(days=n))
            ),
            timedelta(),
        )

    def _midnight(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz)

    def _instant(self, day: date, minute: int) -> datetime:
        """The first instant at which the calendar's wall clock shows ``minute`` on ``day``.

        A repeated wall time (clocks back) means its first occurrence. A wall time that
        never shows (clocks forward) means the moment of the jump, found by bisection
        between its two possible readings.
        """
        if minute == MINUTES_PER_DAY:
            day, minute = day + ONE_DAY, 0
        local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=self.tz)
        later = local.astimezone(UTC)
        wall = local.replace(tzinfo=None)
        if later.astimezone(self.tz).replace(tzinfo=None) == wall:
            return later
        earlier = local.replace(fold=1).astimezone(UTC)
        low, high = 0, int((later - earlier).total_seconds())
        while low < high:
            middle = (low + high) // 2
            probe = earlier + timedelta(seconds=middle)
            if probe.astimezone(self.tz).replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle + 1
        return earlier + timedelta(seconds=low)


def _holiday_rows(holidays: Iterable[date | tuple[date, str]]) -> dict[date, str]:
    rows: dict[date, str] = {}
    for item in holidays:
        day, name = (item, "") if isinstance(item, date) else (*item, "", "")[:2]
        if not isinstance(day, date) or isinstance(day, datetime) or not isinstance(name, str):
            raise ValidationError(
                _("Holidays are dates, optionally paired with a name."), code="holidays"
            )
        if len(name) > Holiday._meta.get_field("name").max_length:  # type: ignore[operator]
            raise ValidationError(
                _("Holiday name “%(name)s” is too long.") % {"name": name}, code="holidays"
            )
        rows[day] = name
    return rows


@transaction.atomic
def business_calendar_create(
    *,
    name: str,
    time_zone: str,
    weekly_hours: Mapping[Any, Any] | None,
    holidays: Iterable[date | tuple[date, str]] = (),
) -> BusinessCalendar:
    """Create a calendar. ``weekly_hours`` empty means 24x7; holidays are closed all day
    (also on a 24x7 calendar). The caller checks the actor's permission."""
    zone = time_zone_clean(time_zone)
    spans = weekly_hours_spans(weekly_hours)
    calendar = BusinessCalendar(
        name=name,
        time_zone=zone.key,
        weekly_hours=weekly_hours_canonical(spans) if weekly_hours else {},
    )
    # weekly_hours is checked above; the model field lacks blank=True, which would
    # refuse the empty (24x7) week.
    calendar.full_clean(exclude=["weekly_hours"])
    calendar.save()
    Holiday.objects.bulk_create(
        Holiday(calendar=calendar, date=day, name=label)
        for day, label in sorted(_holiday_rows(holidays).items())
    )
    return calendar
