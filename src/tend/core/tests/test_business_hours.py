from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from tend.core.business_hours import BusinessClock, business_calendar_create
from tend.core.models import BusinessCalendar

HOUR = 3600
OFFICE = {str(day): [["09:00", "17:00"]] for day in range(1, 6)}  # Mon-Fri 9-5


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# -- weekdays, weekends, holidays ------------------------------------------------------


def test_time_within_one_day_is_added_during_opening_hours() -> None:
    clock = BusinessClock("UTC", OFFICE, set())
    # 2024-06-03 is a Monday.
    assert clock.add(utc(2024, 6, 3, 10), 2 * HOUR) == utc(2024, 6, 3, 12)


def test_time_left_at_closing_carries_over_to_the_next_morning() -> None:
    clock = BusinessClock("UTC", OFFICE, set())
    assert clock.add(utc(2024, 6, 3, 16), 2 * HOUR) == utc(2024, 6, 4, 10)


def test_a_target_that_runs_out_at_closing_time_is_due_at_closing_time() -> None:
    clock = BusinessClock("UTC", OFFICE, set())
    assert clock.add(utc(2024, 6, 3, 9), 8 * HOUR) == utc(2024, 6, 3, 17)


def test_weekends_are_skipped() -> None:
    clock = BusinessClock("UTC", OFFICE, set())
    friday_afternoon, saturday = utc(2024, 6, 7, 16), utc(2024, 6, 8, 12)
    assert clock.add(friday_afternoon, 2 * HOUR) == utc(2024, 6, 10, 10)
    assert clock.add(saturday, HOUR) == utc(2024, 6, 10, 10)
    assert clock.between(friday_afternoon, utc(2024, 6, 10, 10)) == 2 * HOUR


def test_holidays_are_closed_all_day() -> None:
    clock = BusinessClock("UTC", OFFICE, {date(2024, 6, 10)})
    assert clock.add(utc(2024, 6, 7, 16), 2 * HOUR) == utc(2024, 6, 11, 10)
    assert not clock.is_open(utc(2024, 6, 10, 12))


def test_several_intervals_a_day_leave_the_lunch_break_out() -> None:
    clock = BusinessClock("UTC", {"1": [["13:00", "17:00"], ["09:00", "12:00"]]}, set())
    assert clock.add(utc(2024, 6, 3, 11), 2 * HOUR) == utc(2024, 6, 3, 14)
    assert clock.between(utc(2024, 6, 3, 0), utc(2024, 6, 4, 0)) == 7 * HOUR


def test_an_empty_week_means_around_the_clock() -> None:
    clock = BusinessClock("Europe/Berlin", {}, set())
    assert clock.add(utc(2024, 6, 8, 23), 5 * HOUR) == utc(2024, 6, 9, 4)
    # Holidays still close a 24x7 calendar.
    with_holiday = BusinessClock("UTC", {}, {date(2024, 6, 9)})
    assert with_holiday.add(utc(2024, 6, 8, 23), 2 * HOUR) == utc(2024, 6, 10, 1)


def test_zero_seconds_is_the_start_and_between_backwards_is_zero() -> None:
    clock = BusinessClock("UTC", OFFICE, set())
    assert clock.add(utc(2024, 6, 8, 12), 0) == utc(2024, 6, 8, 12)
    assert clock.between(utc(2024, 6, 4), utc(2024, 6, 3)) == 0


def test_naive_datetimes_are_refused() -> None:
    clock = BusinessClock("UTC", OFFICE, set())
    with pytest.raises(ValueError):
        clock.add(datetime(2024, 6, 3, 10), HOUR)


def test_results_are_utc_whatever_zone_the_input_is_in() -> None:
    clock = BusinessClock("Asia/Shanghai", OFFICE, set())
    start = datetime(2024, 6, 3, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    due = clock.add(start, HOUR)
    assert due.tzinfo is UTC
    assert due == utc(2024, 6, 3, 3)


# -- daylight saving -------------------------------------------------------------------


def test_office_hours_follow_the_wall_clock_when_new_york_springs_forward() -> None:
    clock = BusinessClock("America/New_York", OFFICE, set())
    friday_4pm_est = local("America/New_York", 2024, 3, 8, 16)
    monday_10am_edt = local("America/New_York", 2024, 3, 11, 10)
    assert clock.add(friday_4pm_est, 2 * HOUR) == monday_10am_edt
    assert monday_10am_edt == utc(2024, 3, 11, 14)
    assert clock.between(friday_4pm_est, monday_10am_edt) == 2 * HOUR


def test_office_hours_follow_the_wall_clock_when_berlin_falls_back() -> None:
    clock = BusinessClock("Europe/Berlin", OFFICE, set())
    friday_4pm_cest = local("Europe/Berlin", 2024, 10, 25, 16)
    assert clock.add(friday_4pm_cest, 2 * HOUR) == local("Europe/Berlin", 2024, 10, 28, 10)
    assert clock.add(friday_4pm_cest, 2 * HOUR) == utc(2024, 10, 28, 9)


def test_round_the_clock_days_last_23_and_25_hours_on_switch_days() -> None:
    every_day = {str(day): [["00:00", "24:00"]] for day in range(1, 8)}
    clock = BusinessClock("Europe/Berlin", every_day, set())
    march_31, april_1 = local("Europe/Berlin", 2024, 3, 31), local("Europe/Berlin", 2024, 4, 1)
    assert clock.between(march_31, april_1) == 23 * HOUR
    assert clock.add(march_31, 23 * HOUR) == april_1
    october_27, october_28 = (
        local("Europe/Berlin", 2024, 10, 27),
        local("Europe/Berlin", 2024, 10, 28),
    )
    assert clock.between(october_27, october_28) == 25 * HOUR


def test_hours_inside_the_skipped_hour_count_only_once_the_clock_shows_them() -> None:
    # New York skips 02:00-03:00 on 2024-03-10 (a Sunday): 02:30-03:30 lasts 30 minutes.
    clock = BusinessClock("America/New_York", {"7": [["02:30", "03:30"]]}, set())
    day = local("America/New_York", 2024, 3, 10)
    assert clock.between(day, day + timedelta(days=1)) == 30 * 60
    assert clock.add(day, 60) == utc(2024, 3, 10, 7, 1)  # 03:01 EDT


def test_hours_spanning_the_repeated_hour_count_real_time() -> None:
    # 01:00-02:00 on 2024-11-03 in New York runs from 01:00 EDT to 02:00 EST: two hours.
    clock = BusinessClock("America/New_York", {"7": [["01:00", "02:00"]]}, set())
    day = local("America/New_York", 2024, 11, 3)
    assert clock.between(day, day + timedelta(days=1)) == 2 * HOUR


# -- long targets ------------------------------------------------------------------------


class CountingClock(BusinessClock):
    """Counts how many days are looked at one by one."""

    days_examined = 0

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        self.days_examined += 1
        return super()._day_intervals(day)


def test_long_targets_skip_whole_weeks() -> None:
    clock = CountingClock("UTC", OFFICE, set())
    start = utc(2024, 1, 1, 9)  # a Monday
    due = clock.add(start, 100 * 40 * HOUR)  # a hundred working weeks
    assert due == utc(2025, 11, 28, 17)  # the Friday of week 100
    assert clock.days_examined < 30


def test_long_targets_count_holidays_and_clock_changes_on_the_way() -> None:
    holidays = {date(2024, 1, 15), date(2024, 5, 27), date(2024, 7, 4), date(2024, 12, 25)}
    clock = BusinessClock("America/New_York", OFFICE, holidays)
    start = local("America/New_York", 2024, 1, 2, 9)  # a Tuesday
    working_days = 262 - 1 - 4  # 2024's weekdays, less 1 January, less the holidays
    due = clock.add(start, working_days * 8 * HOUR)
    assert due == local("America/New_York", 2024, 12, 31, 17)
    assert clock.between(start, due) == working_days * 8 * HOUR


# -- add and between agree with each other and with a minute-by-minute count --------------


def _open_by_wall_clock(
    moment: datetime, zone: ZoneInfo, hours: dict[str, list[list[str]]], holidays: set[date]
) -> bool:
    wall = moment.astimezone(zone)
    if wall.date() in holidays:
        return False
    now = f"{wall.hour:02d}:{wall.minute:02d}"
    return any(start <= now < end for start, end in hours.get(str(wall.isoweekday()), []))


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin"])
def test_between_matches_a_minute_count_and_add_is_its_inverse(zone: str) -> None:
    hours = {
        "1": [["08:00", "12:00"], ["13:00", "18:00"]],
        "2": [["00:00", "24:00"]],
        "3": [["09:00", "17:00"]],
        "4": [["09:00", "17:00"]],
        "5": [["09:00", "15:30"]],
        "7": [["01:00", "04:00"]],  # straddles the switch hour on Sundays
    }
    holidays = {date(2024, 3, 13), date(2024, 10, 30), date(2024, 11, 5)}
    clock = BusinessClock(zone, hours, holidays)
    tz = ZoneInfo(zone)
    rng = random.Random(20240310)
    for window_start in (utc(2024, 3, 4), utc(2024, 10, 21)):  # around each switch
        # Five weeks cover both zones' switch days in spring and in autumn.
        minutes = [window_start + timedelta(minutes=n) for n in range(0, 35 * 24 * 60)]
        open_minutes = [_open_by_wall_clock(m, tz, hours, holidays) for m in minutes]
        for _ in range(25):
            i, j = sorted(rng.sample(range(len(minutes)), 2))
            counted = sum(open_minutes[i:j]) * 60
            assert clock.between(minutes[i], minutes[j]) == counted
            if counted:
                assert clock.between(minutes[i], clock.add(minutes[i], counted)) == counted
                assert clock.add(minutes[i], counted) <= minutes[j]


# -- validation and the calendar service ----------------------------------------------------


@pytest.mark.parametrize(
    ("weekly_hours", "message"),
    [
        ({"8": [["09:00", "17:00"]]}, "Unknown weekday"),
        ({"1": [["9am", "17:00"]]}, "is not a time"),
        ({"1": [["09:00", "24:30"]]}, "is not a time"),
        ({"1": [["22:00", "06:00"]]}, "Overnight hours are written as two intervals"),
        ({"1": [["09:00", "09:00"]]}, "does not end after it starts"),
        ({"1": [["09:00", "13:00"], ["12:00", "17:00"]]}, "intervals overlap"),
        ({"1": [["09:00"]]}, "each interval is a pair"),
        ({"1": "09:00-17:00"}, "give a list"),
        ({"1": [], "2": []}, "no working hours"),
    ],
)
def test_malformed_weekly_hours_are_rejected_with_a_clear_message(
    weekly_hours: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        BusinessClock("UTC", weekly_hours, set())


def test_unknown_time_zones_are_rejected() -> None:
    with pytest.raises(ValidationError, match="Unknown time zone"):
        BusinessClock("Mars/Olympus_Mons", OFFICE, set())


def test_touching_intervals_are_merged() -> None:
    clock = BusinessClock("UTC", {"1": [["09:00", "12:00"], ["12:00", "17:00"]]}, set())
    assert clock.between(utc(2024, 6, 3), utc(2024, 6, 4)) == 8 * HOUR


@pytest.mark.django_db
def test_a_calendar_is_stored_in_canonical_form_with_its_holidays() -> None:
    calendar = business_calendar_create(
        name="Berlin office",
        time_zone="Europe/Berlin",
        weekly_hours={1: [["13:00", "17:00"], ["9:00", "12:00"]]},
        holidays=[date(2024, 12, 25), (date(2024, 12, 26), "Zweiter Weihnachtstag")],
    )
    calendar = BusinessCalendar.objects.get(pk=calendar.pk)
    assert calendar.weekly_hours["1"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert calendar.weekly_hours["6"] == []
    assert set(calendar.holidays.values_list("date", "name")) == {
        (date(2024, 12, 25), ""),
        (date(2024, 12, 26), "Zweiter Weihnachtstag"),
    }
    clock = BusinessClock.for_calendar(calendar)
    assert not clock.is_open(local("Europe/Berlin", 2024, 12, 25, 10))
    assert clock.is_open(local("Europe/Berlin", 2024, 12, 23, 10))


@pytest.mark.django_db
def test_an_around_the_clock_calendar_keeps_its_empty_week() -> None:
    calendar = business_calendar_create(name="24x7", time_zone="UTC", weekly_hours={})
    assert calendar.weekly_hours == {}


@pytest.mark.django_db
def test_a_calendar_with_a_bad_zone_or_taken_name_is_not_created() -> None:
    business_calendar_create(name="Main", time_zone="UTC", weekly_hours=OFFICE)
    with pytest.raises(ValidationError, match="Unknown time zone"):
        business_calendar_create(name="Other", time_zone="Europe/Atlantis", weekly_hours=OFFICE)
    with pytest.raises(ValidationError):
        business_calendar_create(name="Main", time_zone="UTC", weekly_hours=OFFICE)
    assert BusinessCalendar.objects.count() == 1
