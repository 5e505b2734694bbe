"""The reminder calls in the admin, and the services behind "Call now" and "Skip".

Fixtures (tests/reminders/conftest.py): ``planned`` has the rows for maria (queued), dev (no consent), ann
(do-not-call), lee (no number) and sam (confirmed), all on ``plan_day``, planned at ``evening``.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from crm import services as crm_services
from crm.models import ConsentKind, ConsentSource
from crm.roles import SERVICE_ADVISOR
from reminders.admin import summary_counts
from reminders.models import ReminderCall, ReminderEvent, ReminderResult, ReminderStatus, SkipReason
from reminders.services import ReminderError, reminder_queue_now, reminder_skip
from scheduling import services as scheduling_services
from scheduling.models import ActorKind, Appointment

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/reminders/remindercall/"
SUMMARY = "/admin/reminders/remindercall/summary/"


def row(appointment: Appointment) -> ReminderCall:
    return ReminderCall.objects.get(appointment=appointment)


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {reminder.appointment_id for reminder in response.context["cl"].result_list}


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --------------------------------------------------------------------------- the list and the page


def test_the_changelist_shows_each_row_with_its_customer_and_outcome(admin_client, planned, appointments):
    response = admin_client.get(CHANGELIST)
    assert listed(response) == {a.pk for a in vars(appointments).values()}
    page = response.content.decode()
    assert "Maria Lopez" in page and "Customer is on do-not-call" in page
    assert reverse("admin:reminders_remindercall_summary") in page


def test_the_changelist_reads_a_fixed_number_of_queries(admin_client, planned, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):  # session, user, count, page, filters... not one per row
        assert admin_client.get(CHANGELIST).status_code == 200


@pytest.mark.parametrize("term", ["Lopez", "maria", "602 555 0100", "(602) 555-0100", "0100"])
def test_search_by_customer_name_or_any_spelling_of_the_number(admin_client, planned, appointments, term):
    assert listed(admin_client.get(CHANGELIST, {"q": term})) == {appointments.called.pk}


def test_filters_by_status_reason_and_appointment_day(admin_client, planned, appointments, people, place, plan_day,
                                                      at, evening):  # fmt: skip
    from reminders.planning import plan_reminders

    other_day = plan_day + timedelta(days=1)
    place(people.maria, at(other_day, "10:00"))
    plan_reminders(other_day, now=evening)
    assert len(listed(admin_client.get(CHANGELIST, {"day": plan_day.isoformat()}))) == 5
    assert len(listed(admin_client.get(CHANGELIST, {"day": other_day.isoformat()}))) == 1
    assert listed(admin_client.get(CHANGELIST, {"status__exact": "queued", "day": plan_day.isoformat()})) == {
        appointments.called.pk
    }
    assert listed(admin_client.get(CHANGELIST, {"skip_reason__exact": "no_number"})) == {appointments.no_number.pk}


def test_the_change_page_shows_the_row_and_its_events_read_only(admin_client, reminder):
    response = admin_client.get(reverse("admin:reminders_remindercall_change", args=[reminder.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "(602) 555-0100" in page and "planned" in page and "System" in page
    assert 'name="_save"' not in page
    assert response.context["adminform"].form.fields == {}  # nothing editable


def test_nobody_adds_or_deletes_rows_here(admin_client, reminder):
    assert admin_client.get("/admin/reminders/remindercall/add/").status_code == 403
    assert admin_client.get(reverse("admin:reminders_remindercall_delete", args=[reminder.pk])).status_code == 403


def test_staff_without_the_reminder_permissions_see_nothing(client, planned):
    user = get_user_model().objects.create_user("nobody", "n@example.com", "pw", is_staff=True)
    client.force_login(user)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(SUMMARY).status_code == 403


# --------------------------------------------------------------------------- the actions


def act(admin_client, action: str, *appointments):
    pks = [row(appointment).pk for appointment in appointments]
    return admin_client.post(CHANGELIST, {"action": action, "_selected_action": pks}, follow=True)


def test_skip_skips_a_queued_row_for_the_staff_user(admin_client, staff_user, appointments, reminder):
    response = act(admin_client, "skip", appointments.called)
    assert "1 reminder call skipped." in shown_messages(response)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.skip_reason, reminder.next_attempt_at) == (
        ReminderStatus.SKIPPED, SkipReason.STAFF, None
    )
    event = reminder.events.latest("id")
    assert (event.actor_kind, event.actor_user, event.from_status) == (ActorKind.STAFF, staff_user, "queued")


def test_skip_says_which_rows_it_could_not_skip(admin_client, appointments, reminder):
    response = act(admin_client, "skip", appointments.called, appointments.do_not_call)
    assert "1 reminder call skipped." in shown_messages(response)
    assert "Ann Kim: Only a queued reminder can be skipped; this one is skipped." in shown_messages(response)


def test_call_now_queues_a_row_that_got_no_answer(admin_client, staff_user, appointments, reminder):
    ReminderCall.objects.filter(pk=reminder.pk).update(status=ReminderStatus.NO_ANSWER, attempts=1,
                                                       next_attempt_at=None)  # fmt: skip
    before = timezone.now()
    response = act(admin_client, "call_now", appointments.called)
    assert "1 reminder call queued to be called now." in shown_messages(response)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.QUEUED
    assert before <= reminder.next_attempt_at <= timezone.now()
    event = reminder.events.latest("id")
    assert (event.from_status, event.to_status, event.actor_user, event.note) == (
        "no_answer", "queued", staff_user, "call now"
    )


def test_call_now_explains_a_refusal(admin_client, appointments, planned):
    response = act(admin_client, "call_now", appointments.do_not_call)
    assert shown_messages(response) == ["Ann Kim: A reminder that is skipped cannot be called again."]
    assert row(appointments.do_not_call).status == ReminderStatus.SKIPPED


# --------------------------------------------------------------------------- the services


def test_reminder_skip_refuses_a_row_being_dialled(reminder, staff):
    ReminderCall.objects.filter(pk=reminder.pk).update(status=ReminderStatus.DIALING)
    with pytest.raises(ReminderError, match="Only a queued reminder"):
        reminder_skip(reminder, actor=staff)
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.DIALING  # the locked, current row decided, not the stale copy


def test_reminder_skip_records_the_reason_given(reminder, staff):
    reminder_skip(reminder, actor=staff, reason=SkipReason.MOVED)
    reminder.refresh_from_db()
    assert (reminder.skip_reason, reminder.events.latest("id").note) == (SkipReason.MOVED, SkipReason.MOVED.label)


@pytest.mark.parametrize("status", [ReminderStatus.BUSY, ReminderStatus.FAILED, ReminderStatus.QUEUED])
def test_call_now_takes_busy_failed_and_queued_rows(reminder, staff, evening, status):
    ReminderCall.objects.filter(pk=reminder.pk).update(status=status, result="")
    later = evening + timedelta(minutes=40)
    reminder = reminder_queue_now(reminder, actor=staff, now=later)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.next_attempt_at, reminder.phone) == (ReminderStatus.QUEUED, later, "+16025550100")


@pytest.mark.parametrize("status", [ReminderStatus.DIALING, ReminderStatus.IN_PROGRESS, ReminderStatus.COMPLETED,
                                    ReminderStatus.VOICEMAIL, ReminderStatus.SKIPPED])  # fmt: skip
def test_call_now_refuses_rows_on_the_line_or_finished(reminder, staff, evening, status):
    ReminderCall.objects.filter(pk=reminder.pk).update(status=status, skip_reason="staff")
    with pytest.raises(ReminderError, match="cannot be called again"):
        reminder_queue_now(reminder, actor=staff, now=evening)


def test_call_now_refuses_a_cancelled_appointment(reminder, appointments, staff, evening):
    scheduling_services.appointment_cancel(appointment=appointments.called, actor=staff)
    with pytest.raises(ReminderError, match="The appointment is cancelled."):
        reminder_queue_now(reminder, actor=staff, now=evening)


def test_call_now_refuses_on_the_appointments_own_day(reminder, staff, plan_day, at):
    with pytest.raises(ReminderError, match="today or past"):
        reminder_queue_now(reminder, actor=staff, now=at(plan_day, "07:00"))
    # A minute before midnight the evening before, it is still tomorrow's.
    assert reminder_queue_now(reminder, actor=staff, now=at(plan_day, "00:00") - timedelta(minutes=1))


def test_call_now_refuses_a_customer_who_opted_out_since_planning(reminder, people, staff, evening):
    crm_services.customer_set_consent(customer=people.maria, kind=ConsentKind.DO_NOT_CALL, value=True,
                                      source=ConsentSource.INBOUND_CALL)  # fmt: skip
    with pytest.raises(ReminderError, match="Maria Lopez cannot be called: customer is on do-not-call."):
        reminder_queue_now(reminder, actor=staff, now=evening)
    crm_services.customer_set_consent(customer=people.maria, kind=ConsentKind.DO_NOT_CALL, value=False,
                                      source=ConsentSource.STAFF)  # fmt: skip
    crm_services.customer_set_consent(customer=people.maria, kind=ConsentKind.REMINDER_CALLS, value=False,
                                      source=ConsentSource.STAFF)  # fmt: skip
    with pytest.raises(ReminderError, match="no reminder-call consent"):
        reminder_queue_now(reminder, actor=staff, now=evening)
    assert reminder.events.count() == 1  # only "planned": refusals change nothing


# --------------------------------------------------------------------------- the nightly summary


def summary(response) -> dict[str, int]:
    assert response.status_code == 200
    return {line["label"]: line["count"] for line in response.context["lines"]}


def test_the_summary_shows_the_latest_planned_day_by_default(admin_client, planned, plan_day):
    response = admin_client.get(SUMMARY)
    assert response.context["day"] == plan_day
    figures = summary(response)
    assert (figures["Planned"], figures["Placed (dialled at least once)"], figures["Skipped"]) == (5, 0, 4)
    assert figures["Still to call or on the line"] == 1
    assert {label: figures[label] for label in SkipReason.labels} == {
        "Customer is on do-not-call": 1, "No reminder-call consent": 1, "No number to call": 1,
        "Already confirmed": 1, "Appointment cancelled": 0, "Appointment moved to another day": 0,
        "Calling window over": 0, "Skipped by staff": 0,
    }  # fmt: skip
    assert f"day={plan_day.isoformat()}&amp;skip_reason__exact=no_number" in response.content.decode()


def test_the_summary_counts_outcomes(admin_client, people, book, plan_day, at, evening):
    from reminders.planning import plan_reminders

    done = ReminderStatus.COMPLETED
    outcomes = [  # status, result, attempts
        (done, ReminderResult.CONFIRMED, 1), (done, ReminderResult.CONFIRMED, 2), (done, ReminderResult.RESCHEDULED, 1),
        (done, ReminderResult.CANCELLED, 1), (done, ReminderResult.OPTED_OUT, 1),
        (ReminderStatus.VOICEMAIL, ReminderResult.NO_RESPONSE, 1), (ReminderStatus.NO_ANSWER, "", 3),
        (ReminderStatus.BUSY, "", 3), (ReminderStatus.FAILED, "", 1), (ReminderStatus.DIALING, "", 1),
    ]  # fmt: skip
    for n, (status, result, attempts) in enumerate(outcomes):
        customer = crm_services.customer_create(first_name=f"C{n}", phone=f"(602) 555-02{n:02d}",
                                                consents={ConsentKind.REMINDER_CALLS: True})  # fmt: skip
        crm_services.vehicle_create(customer=customer, make="Ford")
        appointment = book(customer, at(plan_day, f"{8 + n // 4:02d}:{(n % 4) * 15:02d}"))
        plan_reminders(plan_day, now=evening)
        ReminderCall.objects.filter(appointment=appointment).update(status=status, result=result, attempts=attempts)

    figures = summary(admin_client.get(SUMMARY, {"date": plan_day.isoformat()}))
    assert figures == {**figures, "Planned": 10, "Placed (dialled at least once)": 10, "Confirmed": 2,
                       "Rescheduled": 1, "Cancelled": 1, "Opted out": 1, "Voicemail": 1, "No answer": 1, "Busy": 1,
                       "Failed": 1, "Still to call or on the line": 1, "Skipped": 0}  # fmt: skip


def test_the_summary_is_one_query(planned, plan_day, django_assert_num_queries):
    with django_assert_num_queries(1):
        counts = summary_counts(plan_day)
    assert counts["planned"] == 5


def test_the_summary_of_a_day_without_rows_and_of_no_day(admin_client, planned, plan_day):
    figures = summary(admin_client.get(SUMMARY, {"date": (plan_day + timedelta(days=3)).isoformat()}))
    assert figures["Planned"] == 0
    response = admin_client.get(SUMMARY, {"date": "next tuesday"})
    assert response.context["day"] == plan_day
    assert any("is not a date" in message for message in shown_messages(response))


def test_the_summary_before_any_planning(admin_client, db):
    response = admin_client.get(SUMMARY)
    assert response.status_code == 200
    assert "No reminder calls have been planned yet." in response.content.decode()


# --------------------------------------------------------------------------- the appointment's page


def test_the_appointment_page_shows_its_reminder_history(admin_client, reminder, appointments, staff):
    reminder_skip(reminder, actor=staff)
    response = admin_client.get(reverse("admin:scheduling_appointment_change", args=[appointments.called.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Reminder calls" in page
    assert "planned" in page and "Queued → Skipped" in page and "advisor" in page
    assert reverse("admin:reminders_remindercall_change", args=[reminder.pk]) in page


def test_the_appointment_page_still_saves_with_the_history_shown(admin_client, reminder, appointments):
    response = admin_client.get(reverse("admin:scheduling_appointment_change", args=[appointments.called.pk]))
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        for form in [inline.formset.management_form, *inline.formset.forms]:
            data.update({form.add_prefix(name): form[name].value() or "" for name in form.fields})
    local = timezone.localtime(appointments.called.starts_at)
    data.update(service_types=[s.pk for s in appointments.called.service_types.all()], transport="waiter",
                starts_at_0=local.date().isoformat(), starts_at_1=f"{local:%H:%M}",
                notes="Bring the key fob.")  # fmt: skip
    url = reverse("admin:scheduling_appointment_change", args=[appointments.called.pk])
    response = admin_client.post(url, data)
    assert response.status_code == 302
    appointments.called.refresh_from_db()
    assert appointments.called.notes == "Bring the key fob."
    assert ReminderEvent.objects.filter(reminder=reminder).count() == 1


@pytest.mark.django_db
def test_an_advisor_sees_the_reminder_calls_and_their_summary(client):
    advisor = get_user_model().objects.create_user("sam-advisor", "sam@example.com", "correct-horse-battery",
                                                   is_staff=True)  # fmt: skip
    advisor.groups.add(Group.objects.get(name=SERVICE_ADVISOR))
    client.force_login(advisor)
    assert client.get(reverse("admin:reminders_remindercall_changelist")).status_code == 200
    assert advisor.has_perm("reminders.change_remindercall")
    assert not advisor.has_perm("reminders.delete_remindercall")
