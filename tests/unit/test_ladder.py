"""The ladder as pure rules (states/ladder.py): when each rung fires, across the 2024 holidays,
and that the sweep's hint (next_rung_at) agrees with the per-document rule on every day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from states.deadline import compute_due, working_days_overdue
from states.ladder import DEFAULT_LADDER, LadderError, parse_ladder
from workflow.kernel.calendar import Calendar

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
CAL = Calendar()  # the packages' 2024 schedule (State Council notice)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def schedule(published: datetime) -> dict[str, datetime]:
    due = compute_due(published, CAL, tz=TZ).due_at
    return {r.level: t.astimezone(SH) for r, t in DEFAULT_LADDER.schedule(due, CAL, TZ)}


def test_default_ladder_across_spring_festival() -> None:
    # Published Fri 2024-02-09, due Tue 2024-02-20 (Sun 2024-02-18 is a make-up working day).
    got = schedule(local(2024, 2, 9, 10, 0))
    assert got == {
        "reminder": local(2024, 2, 20, 9, 0),
        "overdue": local(2024, 2, 21, 0, 0),
        "escalated": local(2024, 2, 22, 0, 0),  # Wed 21 was a whole working day overdue
        "escalated_high": local(2024, 2, 24, 0, 0),  # after Wed, Thu and Fri
    }


def test_default_ladder_across_labour_day_with_make_up_days() -> None:
    # Published Thu 2024-04-25: Fri 26, Sun 28 (make-up), Mon 29 → due Mon 2024-04-29.
    # Overdue working days: Tue 30 April, then the 1–5 May holiday, Mon 6, Tue 7 May.
    got = schedule(local(2024, 4, 25, 16, 0))
    assert got == {
        "reminder": local(2024, 4, 29, 9, 0),
        "overdue": local(2024, 4, 30, 0, 0),
        "escalated": local(2024, 5, 1, 0, 0),
        "escalated_high": local(2024, 5, 8, 0, 0),
    }


def test_due_levels_in_order_and_only_missing_ones() -> None:
    due = compute_due(local(2024, 2, 9, 10, 0), CAL, tz=TZ).due_at
    at = local(2024, 2, 26, 10, 0).astimezone(UTC)
    assert [r.level for r in DEFAULT_LADDER.due_levels(due, at, CAL, TZ)] == list(DEFAULT_LADDER.levels)
    assert [r.level for r in DEFAULT_LADDER.due_levels(due, at, CAL, TZ, {"reminder", "overdue"})] == [
        "escalated",
        "escalated_high",
    ]
    assert DEFAULT_LADDER.due_levels(due, local(2024, 2, 20, 8, 59, 59), CAL, TZ) == []


def test_the_whole_deadline_second_is_on_time() -> None:
    due = compute_due(local(2024, 2, 9, 10, 0), CAL, tz=TZ).due_at
    overdue = DEFAULT_LADDER.rung("overdue")
    last = local(2024, 2, 20, 23, 59, 59).replace(microsecond=999_999)
    assert not overdue.is_due(due, last, CAL, TZ)
    assert overdue.is_due(due, last + timedelta(microseconds=1), CAL, TZ)


def test_the_overdue_figure_is_the_ladder_s() -> None:
    """Each rung "N working days overdue" fires at the very instant the one figure
    (states.deadline.working_days_overdue) reaches N, and not a second before."""
    due = compute_due(local(2024, 2, 9, 10, 0), CAL, tz=TZ).due_at
    for rung in DEFAULT_LADDER.rungs:
        n = rung.working_days_overdue
        if not n:
            continue
        at = rung.fires_at(due, CAL, TZ)
        assert working_days_overdue(due, at, CAL, TZ) == n
        assert working_days_overdue(due, at - timedelta(seconds=1), CAL, TZ) == n - 1


def test_working_days_overdue() -> None:
    due = compute_due(local(2024, 2, 9, 10, 0), CAL, tz=TZ).due_at
    assert working_days_overdue(due, local(2024, 2, 20, 23, 0), CAL, TZ) == 0
    assert working_days_overdue(due, local(2024, 2, 21, 0, 0), CAL, TZ) == 0
    assert working_days_overdue(due, local(2024, 2, 21, 23, 59), CAL, TZ) == 0
    assert working_days_overdue(due, local(2024, 2, 22, 0, 0), CAL, TZ) == 1
    assert working_days_overdue(due, local(2024, 2, 24, 0, 0), CAL, TZ) == 3
    assert working_days_overdue(due, local(2024, 2, 26, 12, 0), CAL, TZ) == 3  # weekend
    assert working_days_overdue(due, local(2024, 2, 27, 0, 0), CAL, TZ) == 4


def _instants(first: date, days: int) -> list[datetime]:
    """Around every edge a rung can have: midnight, 09:00, the last second of the day."""
    out = []
    for i in range(days):
        d = first + timedelta(days=i)
        for t in (
            time(0, 0),
            time(8, 59, 59, 999_999),
            time(9, 0),
            time(23, 59, 59),
            time(23, 59, 59, 999_999),
        ):
            out.append(datetime.combine(d, t, tzinfo=SH).astimezone(UTC))
    return out


@pytest.mark.parametrize(
    "text",
    [
        None,
        '[{"level": "reminder", "at": "17:30"},'
        ' {"level": "overdue", "working_days_overdue": 0},'
        ' {"level": "escalated", "working_days_overdue": 2},'
        ' {"level": "escalated_high", "working_days_overdue": 5}]',
    ],
)
def test_the_sweep_hint_agrees_with_the_rule_on_every_day(text: str | None) -> None:
    """For every set of rungs already fired: next_at(due, fired) <= now ⇔ some rung not fired
    is due at now — for every due day and edge instant over the Spring Festival and Labour Day
    2024 (holidays and make-up days). The sweep reads a document exactly when the rule says
    something is due, never later."""
    ladder = parse_ladder(text)
    dues = [
        datetime.combine(date(2024, 1, 20) + timedelta(days=i), time(23, 59, 59), tzinfo=SH).astimezone(UTC)
        for i in range(120)
    ]
    nows = _instants(date(2024, 1, 25), 125)
    levels = ladder.levels
    fired_sets = [set(levels[:k]) for k in range(len(levels) + 1)]
    for due in dues:
        for fired in fired_sets:
            hint = ladder.next_at(due, CAL, TZ, fired)
            assert (hint is None) == (fired == set(levels))
            for now in nows:
                due_now = bool(ladder.due_levels(due, now, CAL, TZ, fired))
                assert due_now == (hint is not None and hint <= now), (sorted(fired), due, now, hint)


def test_parse_ladder_round_trip_and_default() -> None:
    assert parse_ladder(None) is DEFAULT_LADDER
    assert parse_ladder("  ") is DEFAULT_LADDER
    assert parse_ladder(DEFAULT_LADDER.as_json()) == DEFAULT_LADDER
    two = parse_ladder(
        '[{"level": "overdue", "working_days_overdue": 0},'
        ' {"level": "second_notice", "event": "escalated", "working_days_overdue": 2}]'
    )
    assert two.levels == ("overdue", "second_notice")
    assert two.rung("second_notice").event == "escalated"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("not json", "not valid JSON"),
        ("[]", "non-empty"),
        ('[{"level": "x", "event": "party", "working_days_overdue": 0}]', "'event' must be one of"),
        ('[{"level": "reminder"}]', "give 'at'"),
        ('[{"level": "reminder", "at": "9 o\'clock"}]', "is not a time"),
        ('[{"level": "overdue", "working_days_overdue": 0, "at": "09:00"}]', "not both"),
        ('[{"level": "overdue", "working_days_overdue": -1}]', "whole number"),
        (
            '[{"level": "escalated", "working_days_overdue": 3},'
            ' {"level": "overdue", "working_days_overdue": 1}]',
            "order they fire",
        ),
        (
            '[{"level": "overdue", "working_days_overdue": 1},'
            ' {"level": "overdue", "working_days_overdue": 2}]',
            "unique",
        ),
        (
            '[{"level": "overdue", "working_days_overdue": 1}, {"level": "reminder", "at": "09:00"}]',
            "must come first",
        ),
        ('[{"level": "a", "working_days_overdue": 1, "when": "soon"}]', "unknown key"),
        ('[{"level": "' + "x" * 33 + '", "working_days_overdue": 1}]', "1 to 32 characters"),
    ],
)
def test_parse_ladder_refuses_what_cannot_work(text: str, problem: str) -> None:
    with pytest.raises(LadderError, match=problem):
        parse_ladder(text)
