"""Business days skip weekends and the vendor's holidays, in the portal's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from prm.calendar import add_business_days, business_days_between
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
