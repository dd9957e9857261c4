"""The deadline rule (states.deadline) on real State Council schedules and on hand-made calendars.

Expected dates are counted by hand from the State Council's yearly notices
(国务院办公厅关于…年部分节假日安排的通知), quoted above each case; they are never derived from
the code under test. Rule (docs/design.md §3): day 1 is the first working day after the calendar day
of publication in Asia/Shanghai; due at 23:59:59 of day 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from states.deadline import (
    DueDate,
    add_working_days,
    compute_due,
    is_late,
    reminder_at,
    working_days_between,
    working_days_overdue,
)
from tests.conftest import shanghai
from workflow.kernel.calendar import Calendar, package_calendar

D = date.fromisoformat


def due(published: datetime, days: int = 3) -> DueDate:
    return compute_due(published, package_calendar(), days=days, tz="Asia/Shanghai")


def assert_due(result: DueDate, due_day: str, counted: list[str], provisional: bool = False) -> None:
    y, m, d = map(int, due_day.split("-"))
    assert result.due_local == shanghai(y, m, d, 23, 59, 59)
    assert result.due_local.isoformat() == f"{due_day}T23:59:59+08:00"
    assert result.due_at == shanghai(y, m, d, 23, 59, 59)
    assert result.due_at.tzinfo == UTC
    assert result.counted_days == tuple(D(c) for c in counted)
    assert result.provisional is provisional


# ── 2019 National Day ────────────────────────────────────────────────────────────────────────
# 2019 notice: 国庆节 10月1日至7日放假调休,共7天。9月29日(星期日)、10月12日(星期六)上班。


def test_2019_national_day_counts_the_make_up_sunday() -> None:
    # Fri 09-27 → Sat 28 off; Sun 29 make-up = day 1; Mon 30 = day 2; 1–7 Oct off; Tue 10-08 = day 3.
    assert_due(due(shanghai(2019, 9, 27, 10, 0)), "2019-10-08", ["2019-09-29", "2019-09-30", "2019-10-08"])


def test_published_on_a_make_up_working_day() -> None:
    # Published Sun 2019-09-29 (a working day): day 1 = Mon 30; 1–7 Oct off; Tue 8, Wed 9.
    assert_due(due(shanghai(2019, 9, 29, 15, 0)), "2019-10-09", ["2019-09-30", "2019-10-08", "2019-10-09"])


def test_published_on_a_holiday() -> None:
    # Published Thu 2019-10-03 (National Day holiday): Tue 8, Wed 9, Thu 10.
    assert_due(due(shanghai(2019, 10, 3, 9, 0)), "2019-10-10", ["2019-10-08", "2019-10-09", "2019-10-10"])


# ── Spring Festival 2024 ─────────────────────────────────────────────────────────────────────
# 2024 notice: 春节 2月10日至17日放假调休,共8天。2月4日(星期日)、2月18日(星期日)上班。
# (除夕 Fri 02-09 is a working day: the notice only encourages units to let staff rest.)


def test_2024_spring_festival() -> None:
    # Fri 02-09 → 10–17 off; Sun 18 make-up = day 1; Mon 19 = day 2; Tue 20 = day 3.
    assert_due(due(shanghai(2024, 2, 9, 10, 0)), "2024-02-20", ["2024-02-18", "2024-02-19", "2024-02-20"])


@pytest.mark.parametrize("hour, minute", [(0, 1), (23, 59)])
def test_time_of_publication_does_not_matter(hour: int, minute: int) -> None:
    assert_due(
        due(shanghai(2024, 2, 9, hour, minute)), "2024-02-20", ["2024-02-18", "2024-02-19", "2024-02-20"]
    )


def test_day_boundary_is_midnight_in_shanghai_not_utc() -> None:
    # Thu 2024-02-08 23:59 local → day 1 = Fri 02-09, then Sun 18, Mon 19.
    assert_due(due(shanghai(2024, 2, 8, 23, 59)), "2024-02-19", ["2024-02-09", "2024-02-18", "2024-02-19"])
    # 2024-02-08T16:01Z is already Fri 02-09 00:01 in Shanghai although still the 8th in UTC.
    assert_due(
        due(datetime(2024, 2, 8, 16, 1, tzinfo=UTC)), "2024-02-20", ["2024-02-18", "2024-02-19", "2024-02-20"]
    )


# ── Spring Festival 2025 ─────────────────────────────────────────────────────────────────────
# 2025 notice: 春节 1月28日(农历除夕、周二)至2月4日(农历正月初七、周二)放假调休,共8天。
# 1月26日(周日)、2月8日(周六)上班。


def test_2025_spring_festival_before_the_holiday() -> None:
    # Fri 01-24 → Sat 25 off; Sun 26 make-up = day 1; Mon 27 = day 2; 28 Jan–4 Feb off; Wed 02-05.
    assert_due(due(shanghai(2025, 1, 24, 16, 30)), "2025-02-05", ["2025-01-26", "2025-01-27", "2025-02-05"])


def test_2025_spring_festival_ends_on_the_make_up_saturday() -> None:
    # Thu 02-06 → Fri 7 = day 1; Sat 8 make-up = day 2; Sun 9 off; Mon 10 = day 3.
    assert_due(due(shanghai(2025, 2, 6, 11, 0)), "2025-02-10", ["2025-02-07", "2025-02-08", "2025-02-10"])


# ── Spring Festival 2026 ─────────────────────────────────────────────────────────────────────
# 2026 notice: 春节 2月15日(腊月二十八、周日)至23日(正月初七、周一)放假调休,共9天。
# 2月14日(周六)、2月28日(周六)上班。


def test_2026_spring_festival() -> None:
    # Thu 02-12 → Fri 13 = day 1; Sat 14 make-up = day 2; 15–23 off; Tue 24 = day 3.
    assert_due(due(shanghai(2026, 2, 12, 10, 0)), "2026-02-24", ["2026-02-13", "2026-02-14", "2026-02-24"])


def test_2026_published_during_spring_festival() -> None:
    # Wed 02-18 is a holiday → Tue 24, Wed 25, Thu 26.
    assert_due(due(shanghai(2026, 2, 18, 10, 0)), "2026-02-26", ["2026-02-24", "2026-02-25", "2026-02-26"])


def test_2026_due_on_the_make_up_saturday_after_spring_festival() -> None:
    # Wed 02-25 → Thu 26, Fri 27, Sat 28 (make-up) = day 3: due on a Saturday.
    assert_due(due(shanghai(2026, 2, 25, 10, 0)), "2026-02-28", ["2026-02-26", "2026-02-27", "2026-02-28"])


# ── Labour Day 2026 ──────────────────────────────────────────────────────────────────────────
# 2026 notice: 劳动节 5月1日(周五)至5日(周二)放假调休,共5天。5月9日(周六)上班。


def test_2026_labour_day() -> None:
    # Thu 04-30 → 1–5 May off; Wed 6, Thu 7, Fri 8.
    assert_due(due(shanghai(2026, 4, 30, 17, 0)), "2026-05-08", ["2026-05-06", "2026-05-07", "2026-05-08"])


def test_2026_labour_day_make_up_saturday_is_day_three() -> None:
    # Wed 05-06 → Thu 7, Fri 8, Sat 9 (make-up).
    assert_due(due(shanghai(2026, 5, 6, 9, 30)), "2026-05-09", ["2026-05-07", "2026-05-08", "2026-05-09"])


# ── Mid-Autumn and National Day 2026 ─────────────────────────────────────────────────────────
# 2026 notice: 中秋节 9月25日(周五)至27日(周日)放假,共3天。国庆节 10月1日(周四)至7日(周三)
# 放假调休,共7天。9月20日(周日)、10月10日(周六)上班。


def test_2026_national_day_make_up_sunday_before() -> None:
    # Fri 09-18 → Sat 19 off; Sun 20 make-up = day 1; Mon 21; Tue 22.
    assert_due(due(shanghai(2026, 9, 18, 10, 0)), "2026-09-22", ["2026-09-20", "2026-09-21", "2026-09-22"])


def test_2026_mid_autumn_friday_is_off() -> None:
    # Thu 09-24 → Fri 25 Mid-Autumn, 26–27 off; Mon 28, Tue 29, Wed 30.
    assert_due(due(shanghai(2026, 9, 24, 10, 0)), "2026-09-30", ["2026-09-28", "2026-09-29", "2026-09-30"])


def test_2026_national_day() -> None:
    # Wed 09-30 → 1–7 Oct off; Thu 8, Fri 9, Sat 10 (make-up).
    assert_due(due(shanghai(2026, 9, 30, 23, 59)), "2026-10-10", ["2026-10-08", "2026-10-09", "2026-10-10"])


# ── Into a year without an announced schedule ────────────────────────────────────────────────
# The 2027 notice is not in the packages: weekends plus the statutory New Year's Day (Fri
# 2027-01-01) are all that is known, so anything that counts a 2027 day is provisional.


def test_deadline_inside_2026_is_official() -> None:
    # Mon 12-28 → Tue 29, Wed 30, Thu 31: all in 2026.
    assert_due(due(shanghai(2026, 12, 28, 10, 0)), "2026-12-31", ["2026-12-29", "2026-12-30", "2026-12-31"])


def test_deadline_crossing_into_2027_is_provisional() -> None:
    # Wed 12-30 → Thu 31 = day 1; Fri 01-01 New Year's Day; weekend; Mon 4; Tue 5.
    assert_due(
        due(shanghai(2026, 12, 30, 10, 0)),
        "2027-01-05",
        ["2026-12-31", "2027-01-04", "2027-01-05"],
        provisional=True,
    )
    # Thu 12-31 23:59 → Mon 4, Tue 5, Wed 6.
    assert_due(
        due(shanghai(2026, 12, 31, 23, 59)),
        "2027-01-06",
        ["2027-01-04", "2027-01-05", "2027-01-06"],
        provisional=True,
    )


def test_package_calendar_knows_which_years_are_official() -> None:
    cal = package_calendar()
    assert cal.is_official(2004) and cal.is_official(2026)
    assert not cal.is_official(2027) and not cal.is_official(2003)
    assert "chinesecalendar" in cal.source(2026) and "holidays" in cal.source(2027)


def test_number_of_days_is_a_parameter() -> None:
    # 2024: Fri 02-09 → day 1 Sun 18 (make-up); 5 days: 18, 19, 20, 21, 22.
    assert_due(due(shanghai(2024, 2, 9, 10, 0), days=1), "2024-02-18", ["2024-02-18"])
    assert_due(
        due(shanghai(2024, 2, 9, 10, 0), days=5),
        "2024-02-22",
        ["2024-02-18", "2024-02-19", "2024-02-20", "2024-02-21", "2024-02-22"],
    )


# ── The rule itself, on hand-made calendars ──────────────────────────────────────────────────


@dataclass
class Toy:
    """Monday–Friday, minus ``off``, plus ``on``; ``unofficial`` years are estimates."""

    off: set[date] = field(default_factory=set)
    on: set[date] = field(default_factory=set)
    unofficial: set[int] = field(default_factory=set)

    def is_working_day(self, d: date) -> bool:
        return d in self.on or (d.weekday() < 5 and d not in self.off)

    def is_official(self, year: int) -> bool:
        return year not in self.unofficial


def test_add_working_days_skips_weekends_and_never_counts_the_start() -> None:
    cal = Toy()
    assert add_working_days(D("2030-01-04"), 1, cal) == D("2030-01-07")  # Fri → Mon
    assert add_working_days(D("2030-01-05"), 1, cal) == D("2030-01-07")  # Sat → Mon
    assert add_working_days(D("2030-01-07"), 3, cal) == D("2030-01-10")  # Mon → Thu
    with pytest.raises(ValueError):
        add_working_days(D("2030-01-07"), 0, cal)


def test_a_calendar_with_no_working_days_does_not_loop_for_ever() -> None:
    class Never:
        def is_working_day(self, d: date) -> bool:
            return False

        def is_official(self, year: int) -> bool:
            return True

    with pytest.raises(ValueError, match="no working day"):
        add_working_days(D("2030-01-01"), 1, Never())


def test_working_days_between_is_half_open() -> None:
    cal = Toy(off={D("2030-01-08")})
    assert working_days_between(D("2030-01-07"), D("2030-01-07"), cal) == 0
    assert working_days_between(D("2030-01-07"), D("2030-01-10"), cal) == 2  # 9, 10 (8 off)
    assert working_days_between(D("2030-01-10"), D("2030-01-07"), cal) == 0


def test_provisional_only_if_the_span_reaches_an_unofficial_year() -> None:
    cal = Toy(unofficial={2031})
    # Published on 2030-12-31 itself: day 1 is already in 2031.
    assert compute_due(shanghai(2030, 12, 31, 10, 0), cal).provisional is True
    assert compute_due(shanghai(2030, 12, 20, 10, 0), cal).provisional is False
    # Published in an unofficial year, the span also is: provisional.
    assert compute_due(datetime(2031, 3, 3, 2, tzinfo=UTC), cal).provisional is True


def test_naive_instants_and_unknown_zones_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        compute_due(datetime(2024, 2, 9, 10, 0), Toy())
    with pytest.raises(ValueError, match="time zone"):
        compute_due(shanghai(2024, 2, 9, 10, 0), Toy(), tz="Mars/Olympus")


def test_other_zone_counts_days_there() -> None:
    # 2030-01-07 (Mon) 20:00 UTC is Tue 08 in Shanghai but still Mon 07 in London.
    instant = datetime(2030, 1, 7, 20, 0, tzinfo=UTC)
    assert compute_due(instant, Toy(), tz="Europe/London").due_local.date() == D("2030-01-10")
    assert compute_due(instant, Toy(), tz="Asia/Shanghai").due_local.date() == D("2030-01-11")


# ── Late, overdue, reminder: the escalation ladder's inputs ──────────────────────────────────
# Published Tue 2024-02-27 → Wed 28, Thu 29, Fri 03-01: due Fri 2024-03-01 23:59:59 (+08:00).

DUE_FRI = shanghai(2024, 3, 1, 23, 59, 59)


def test_the_whole_last_second_is_on_time() -> None:
    assert due(shanghai(2024, 2, 27, 9, 0)).due_at == DUE_FRI
    assert not is_late(DUE_FRI, DUE_FRI + timedelta(microseconds=999_999))
    assert is_late(DUE_FRI, DUE_FRI + timedelta(seconds=1))


def test_working_days_overdue() -> None:
    cal = package_calendar()
    tz = "Asia/Shanghai"
    assert working_days_overdue(DUE_FRI, shanghai(2024, 3, 1, 23, 0), cal, tz) == 0
    assert working_days_overdue(DUE_FRI, shanghai(2024, 3, 2, 10, 0), cal, tz) == 0  # Sat: late, 0 days
    # Whole working days passed since Fri 1: none by Mon 4 00:00 (Sat, Sun are not working
    # days); Mon 4 and Tue 5 by Wed 6 midday; Mon 4 once Tue 5 00:00 comes.
    assert working_days_overdue(DUE_FRI, shanghai(2024, 3, 4, 0, 0), cal, tz) == 0  # Mon
    assert working_days_overdue(DUE_FRI, shanghai(2024, 3, 4, 23, 59, 59), cal, tz) == 0
    assert working_days_overdue(DUE_FRI, shanghai(2024, 3, 5, 0, 0), cal, tz) == 1  # Mon 4 passed
    assert working_days_overdue(DUE_FRI, shanghai(2024, 3, 6, 12, 0), cal, tz) == 2  # Mon 4, Tue 5


def test_overdue_counts_a_make_up_saturday() -> None:
    # Due Fri 2026-05-08 (Labour Day case above); Sat 05-09 is a make-up working day: still 0
    # during it, 1 once it is over (Sun 05-10 00:00), still 1 on Mon 05-11 (Sun is a day off).
    due_at = due(shanghai(2026, 4, 30, 17, 0)).due_at
    cal, tz = package_calendar(), "Asia/Shanghai"
    assert working_days_overdue(due_at, shanghai(2026, 5, 9, 8, 0), cal, tz) == 0
    assert working_days_overdue(due_at, shanghai(2026, 5, 10, 0, 0), cal, tz) == 1
    assert working_days_overdue(due_at, shanghai(2026, 5, 11, 23, 0), cal, tz) == 1


def test_reminder_is_nine_in_the_morning_of_the_due_day() -> None:
    at = reminder_at(shanghai(2024, 2, 20, 23, 59, 59), "Asia/Shanghai")
    assert at == datetime(2024, 2, 20, 1, 0, tzinfo=UTC)
    assert at.tzinfo == UTC


def test_loaded_year_overrides_the_packages() -> None:
    from workflow.kernel.calendar import YearSchedule

    # Pretend a correction makes Mon 2024-02-19 a holiday too: the 2024 case then ends Wed 21.
    fixed = YearSchedule(
        year=2024,
        holidays={**package_calendar().schedule(2024).holidays, D("2024-02-19"): "test"},
        workdays=package_calendar().schedule(2024).workdays,
        official=True,
        source="test",
    )
    result = compute_due(shanghai(2024, 2, 9, 10, 0), Calendar([fixed]))
    assert result.counted_days == (D("2024-02-18"), D("2024-02-20"), D("2024-02-21"))


# ── The packages, cross-checked ──────────────────────────────────────────────────────────────


def test_2005_make_up_saturday_missing_from_chinesecalendar_is_corrected() -> None:
    # 2006 notice (国办发明电〔2005〕35号): 元旦 1月1日—3日放假 … 12月31日(星期六)上班.
    # chinesecalendar 1.11.0 lacks it (chinese-calendar#125). Published Thu 2005-12-29:
    # Fri 30 = day 1; Sat 31 (make-up) = day 2; 1–3 Jan off; Wed 2006-01-04 = day 3.
    assert_due(due(shanghai(2005, 12, 29, 10, 0)), "2006-01-04", ["2005-12-30", "2005-12-31", "2006-01-04"])
    assert "corrections 2005-12-31" in package_calendar().source(2005)


def test_the_two_packages_agree_on_every_day_of_the_announced_years() -> None:
    """A package upgrade that brings a discrepancy must be looked at, not silently used."""
    from workflow.kernel.calendar.sources import chinesecalendar_year, chinesecalendar_years, holidays_year

    differ = []
    for year in chinesecalendar_years():
        ours, theirs = chinesecalendar_year(year), holidays_year(year)
        assert ours is not None
        day = date(year, 1, 1)
        while day.year == year:
            if ours.is_working_day(day) != theirs.is_working_day(day):
                differ.append(day)
            day += timedelta(days=1)
    assert differ == []
