"""Business days skip weekends and the vendor's holidays, in the portal's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from prm.calendar import add_business_days, business_days_ahead, business_days_between
from prm.models import Holiday

pytestmark = pytest.mark.django_db

# Friday 2027-04-02 15:00 in the portal's time zone; Monday 2027-04-05 is Easter Monday.
FRIDAY = timezone.make_aware(datetime(2027, 4, 2, 15, 0))
EASTER_MONDAY = date(2027, 4, 5)


def test_without_holidays_two_business_days_from_friday_is_tuesday() -> None:
    assert add_business_days(FRIDAY, 2) == FRIDAY + timedelta(days=4)


def test_a_holiday_is_skipped_like_a_weekend() -> None:
    Holiday.objects.create(date=EASTER_MONDAY, name="Easter Monday")
    due = add_business_days(FRIDAY, 2)
    assert due == FRIDAY + timedelta(days=5)  # Wednesday
    assert due.time() == FRIDAY.time()
    assert business_days_between(FRIDAY, due) == 2
    assert business_days_between(due, FRIDAY) == -2


def test_many_holidays_in_a_row_are_all_skipped() -> None:
    # A closed fortnight (longer than the first window the function reads) after the Friday.
    for offset in range(3, 45):
        Holiday.objects.create(date=FRIDAY.date() + timedelta(days=offset), name="Closure")
    due = add_business_days(FRIDAY, 2)
    assert due.date() == date(2027, 5, 18)  # Mon 17 May is the first day back, then Tue 18
    assert business_days_between(FRIDAY, due) == 2


# --- at midnight ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "due"),
    [
        # The last second of a Friday is still Friday: due the last second of Tuesday.
        (datetime(2027, 4, 9, 23, 59, 59), datetime(2027, 4, 13, 23, 59, 59)),
        # The first second of a Monday: two business days later is Wednesday's first second.
        (datetime(2027, 4, 12, 0, 0, 0), datetime(2027, 4, 14, 0, 0, 0)),
        # Thursday night before Easter Monday: Friday, then Tuesday.
        (datetime(2027, 4, 1, 23, 59, 59), datetime(2027, 4, 6, 23, 59, 59)),
        # Across a month end and a year end.
        (datetime(2027, 12, 30, 23, 59, 59), datetime(2028, 1, 3, 23, 59, 59)),
        (datetime(2028, 2, 28, 12, 0, 0), datetime(2028, 3, 1, 12, 0, 0)),  # over the leap day
    ],
)
def test_due_times_keep_the_time_of_day_at_the_edges_of_the_day(start: datetime, due: datetime) -> None:
    Holiday.objects.create(date=EASTER_MONDAY, name="Easter Monday")
    assert add_business_days(timezone.make_aware(start), 2) == timezone.make_aware(due)


# --- business days ahead (dates) -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("today", "day", "ahead"),
    [
        (date(2027, 3, 1), date(2027, 3, 15), 10),  # Monday to Monday two weeks on
        (date(2027, 3, 2), date(2027, 3, 15), 9),
        (date(2027, 3, 6), date(2027, 3, 15), 5),  # a Saturday counts nothing
        (date(2027, 3, 5), date(2027, 3, 6), 1),  # Friday for Saturday: Friday itself
        (date(2027, 3, 15), date(2027, 3, 15), 0),
        (date(2027, 3, 15), date(2027, 3, 1), -10),
        (date(2027, 3, 29), date(2027, 4, 12), 9),  # Easter Monday is a holiday
    ],
)
def test_business_days_ahead_counts_today_but_not_the_day_itself(today: date, day: date, ahead: int) -> None:
    Holiday.objects.create(date=EASTER_MONDAY, name="Easter Monday")
    assert business_days_ahead(today, day) == ahead
