"""The one rule for instants people type, and how instants are written back (states/instants.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from states.instants import InstantError, localise, parse_instant

TZ = "Asia/Shanghai"


def test_dates_and_times_without_offset_are_read_in_the_working_zone() -> None:
    assert parse_instant("2024-02-09", TZ).isoformat() == "2024-02-09T00:00:00+08:00"
    assert parse_instant(" 2024-02-09 10:30 ", TZ).isoformat() == "2024-02-09T10:30:00+08:00"
    assert parse_instant("2024-02-09T02:30Z", TZ) == datetime(2024, 2, 9, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["1900-01-01", "1999-12-31T23:59:59+08:00", "1999-12-31T15:59:59Z", "2201-01-01"]
)
def test_instants_outside_2000_to_2200_are_refused(text: str) -> None:
    with pytest.raises(InstantError) as err:
        parse_instant(text, TZ, what="--at")
    assert err.value.reason.code == "instant_out_of_range"
    assert "2000" in err.value.reason.text("zh") and "+08:05" not in err.value.reason.text("en")


def test_the_first_second_of_2000_in_the_working_zone_is_accepted() -> None:
    assert parse_instant("2000-01-01T00:00+08:00", TZ).year == 2000
    with pytest.raises(InstantError) as err:
        parse_instant("next tuesday", TZ, what="--now")
    assert err.value.reason.text("en").startswith("--now: 'next tuesday' is not an ISO 8601 date")


def test_localise_writes_every_instant_with_the_working_offset() -> None:
    data = {
        "due_at": datetime(2024, 2, 20, 15, 59, 59, tzinfo=UTC),
        "details": {"after": {"due_at": "2024-02-20T15:59:59+00:00"}, "at": ["2024-02-21T16:00:00Z"]},
        "title": "2024-02-20",  # a date or any other text stays as it is
    }
    assert localise(data, TZ) == {
        "due_at": "2024-02-20T23:59:59+08:00",
        "details": {"after": {"due_at": "2024-02-20T23:59:59+08:00"}, "at": ["2024-02-22T00:00:00+08:00"]},
        "title": "2024-02-20",
    }
