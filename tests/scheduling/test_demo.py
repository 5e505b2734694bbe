"""The scheduling demo: a believable shop and two weeks of bookings, added once."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from crm import demo as crm_demo
from scheduling import demo
from scheduling.models import Appointment, AppointmentEvent, Bay, Closure, OpeningHours, ServiceType


@pytest.mark.parametrize(
    ("year", "expected"), [(2024, date(2024, 11, 28)), (2026, date(2026, 11, 26)), (2030, date(2030, 11, 28))]
)
def test_thanksgiving_is_the_fourth_thursday_of_november(year, expected):
    assert demo.thanksgiving(year) == expected


def test_holidays_are_the_next_ones():
    assert demo.upcoming_holidays(date(2026, 11, 27)) == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2027, 1, 1), "New Year's Day"),
        (date(2027, 11, 25), "Thanksgiving Day"),
    ]
    assert demo.upcoming_holidays(date(2026, 11, 26))[0] == (date(2026, 11, 26), "Thanksgiving Day")


@pytest.mark.django_db
def test_the_demo_books_two_weeks_once(settings):
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""
    settings.GOOGLE_CALENDAR_ID = ""
    crm_demo.load()
    first = demo.load()
    assert first["service types"] == ServiceType.objects.count() == 13
    assert Bay.objects.count() == 4
    assert sorted(OpeningHours.objects.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4, 5]
    assert Closure.objects.count() == 3
    assert 40 <= first["appointments"] == Appointment.objects.count() <= 110
    today = timezone.localdate()
    for appointment in Appointment.objects.all():
        assert today <= timezone.localdate(appointment.starts_at) <= today + timedelta(days=demo.DAYS_AHEAD)
        assert appointment.source == "other"
    assert AppointmentEvent.objects.filter(action="booked", actor_kind="system").count() == first["appointments"]

    ServiceType.objects.filter(op_code="LOF-SYN").update(price_max=139)
    OpeningHours.objects.filter(weekday=5).delete()  # the shop stopped opening on Saturdays
    assert demo.load() == {"service types": 0, "bays": 0, "opening days": 0, "closures": 0, "appointments": 0}
    assert Appointment.objects.count() == first["appointments"]
    assert ServiceType.objects.get(op_code="LOF-SYN").price_max == 139
    assert not OpeningHours.objects.filter(weekday=5).exists()
