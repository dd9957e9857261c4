"""Holiday schedules loaded by administrators: they override the packages for their year."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.kernel.models.base import Base, UTCDateTime

DAY_KINDS = ("holiday", "workday")


class CalendarYear(Base):
    """One year's schedule as loaded, and where it came from.

    A loaded year replaces the package data for that year entirely: days not listed in
    :class:`CalendarDay` follow the Monday–Friday rule. ``official`` is False for a sample or
    an estimate loaded on purpose; deadlines reaching into it stay provisional.
    """

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(Text)
    notice: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    official: Mapped[bool] = mapped_column(Boolean)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[str] = mapped_column(String(64))


class CalendarDay(Base):
    """An exception to the Monday–Friday rule: a holiday, or a make-up working day (调休)."""

    __tablename__ = "calendar_days"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
