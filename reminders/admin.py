"""Reminder calls in the admin: the list with outcomes, "Call now" and "Skip", the nightly summary, and each
appointment's reminder history on the appointment's own page.

Rows and events are written only by planning, the dispatcher and the call itself: here every field is
read-only, and the two actions go through reminders.services like every other change.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Prefetch, Q
from django.db.models.functions import TruncDate
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from crm.admin import HistoryInline, PhoneSearchMixin
from crm.phones import format_phone
from reminders.models import ReminderCall, ReminderEvent, ReminderResult, ReminderStatus, SkipReason
from reminders.planning import day_bounds
from reminders.services import ReminderError, reminder_queue_now, reminder_skip
from scheduling.actors import Actor
from scheduling.models import Appointment
from scheduling.selectors import dealership_zone

DAY_PARAMETER = "day"  # the appointment-day filter's query parameter, shared with the summary's links


def _local(moment, pattern: str = "%a %b %-d, %-I:%M %p") -> str:
    return f"{timezone.localtime(moment, dealership_zone()):{pattern}}" if moment else "-"


def _who(event: ReminderEvent) -> str:
    if event.actor_user is not None:
        return event.actor_user.get_username()
    return event.get_actor_kind_display()


def _status_change(event: ReminderEvent) -> str:
    if event.from_status and event.from_status != event.to_status:
        return f"{event.get_from_status_display()} → {event.get_to_status_display()}"
    return event.get_to_status_display()


def _parse_day(raw: str | None) -> date | None:
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return day if date(1900, 1, 2) <= day <= date(9998, 12, 30) else None  # its neighbours exist too


class AppointmentDayFilter(admin.SimpleListFilter):
    """The appointment's day in the dealership's zone: the days that have reminder rows, latest first."""

    title = "appointment day"
    parameter_name = DAY_PARAMETER
    shown_days = 14

    def lookups(self, request, model_admin):
        days = (
            ReminderCall.objects.annotate(day=TruncDate("appointment__starts_at", tzinfo=dealership_zone()))
            .values_list("day", flat=True).distinct().order_by("-day")[: self.shown_days]
        )  # fmt: skip
        return [(day.isoformat(), f"{day:%a %b %-d, %Y}") for day in days]

    def queryset(self, request, queryset):
        day = _parse_day(self.value())
        if day is None:
            return queryset
        start, end = day_bounds(day)
        return queryset.filter(appointment__starts_at__gte=start, appointment__starts_at__lt=end)


class ReminderEventInline(HistoryInline):
    model = ReminderEvent
    fields = ["at", "status_change", "who", "call_sid", "note"]
    verbose_name_plural = "history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user")

    @admin.display(description="status")
    def status_change(self, event):
        return _status_change(event)

    @admin.display(description="who")
    def who(self, event):
        return _who(event)


@admin.register(ReminderCall)
class ReminderCallAdmin(PhoneSearchMixin, admin.ModelAdmin):
    customer_lookup = "appointment__customer__"
    list_display = ["appointment_time", "customer_link", "status", "result", "attempts", "next_attempt",
                    "skip_reason"]  # fmt: skip
    list_filter = ["status", "result", "skip_reason", "kind", AppointmentDayFilter]
    list_select_related = ["appointment__customer"]
    search_fields = ["appointment__customer__first_name", "appointment__customer__last_name", "call_sid"]
    search_help_text = "Customer name, any spelling of their phone number, or the call SID."
    actions = ["call_now", "skip"]
    inlines = [ReminderEventInline]
    fieldsets = [
        (None, {"fields": ["appointment_link", "customer_link", "kind", "status", "skip_reason", "result"]}),
        ("Calling", {"fields": ["number", "attempts", "next_attempt", "dialing_since", "call_sid", "call_link",
                                "answered_by"]}),  # fmt: skip
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "appointment_link", "customer_link", "kind", "status", "skip_reason", "result", "number", "attempts",
        "next_attempt", "dialing_since", "call_sid", "call_link", "answered_by", "created_at", "updated_at",
    ]  # fmt: skip

    # Rows come from planning and stay as the history of what was called; nobody adds or deletes them here.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("appointment__customer", "call")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only (the change permission is for the actions): no buttons that save nothing.
        buttons = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**buttons, **(extra_context or {})})

    def changelist_view(self, request, extra_context=None):
        extra_context = {"summary_url": reverse("admin:reminders_remindercall_summary"), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    # ----------------------------------------------------------------- columns and fields

    @admin.display(description="appointment", ordering="appointment__starts_at")
    def appointment_time(self, obj):
        return _local(obj.appointment.starts_at)

    @admin.display(description="appointment")
    def appointment_link(self, obj):
        url = reverse("admin:scheduling_appointment_change", args=[obj.appointment_id])
        return format_html('<a href="{}">{}</a>', url, obj.appointment)

    @admin.display(description="customer", ordering="appointment__customer__last_name")
    def customer_link(self, obj):
        customer = obj.appointment.customer
        return format_html('<a href="{}">{}</a>', reverse("admin:crm_customer_change", args=[customer.pk]), customer)

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj):
        return _local(obj.next_attempt_at)

    @admin.display(description="number dialled")
    def number(self, obj):
        return format_phone(obj.phone) or "-"

    @admin.display(description="call")
    def call_link(self, obj):
        if obj.call_id is None:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:voice_call_change", args=[obj.call_id]),
                           _local(obj.call.started_at))  # fmt: skip

    # ----------------------------------------------------------------- actions

    def _apply(self, request, queryset, change, done: str) -> None:
        actor = Actor.staff(request.user)
        succeeded = 0
        for reminder in queryset.select_related("appointment__customer"):
            try:
                change(reminder, actor=actor)
            except ReminderError as error:
                messages.error(request, f"{reminder.appointment.customer}: {error.message}")
            else:
                succeeded += 1
        if succeeded:
            noun = "reminder call" if succeeded == 1 else "reminder calls"
            messages.success(request, f"{succeeded} {noun} {done}.")

    @admin.action(description="Call now (inside the calling window)", permissions=["change"])
    def call_now(self, request, queryset):
        self._apply(request, queryset, reminder_queue_now, "queued to be called now")

    @admin.action(description="Skip (do not call)", permissions=["change"])
    def skip(self, request, queryset):
        self._apply(request, queryset, reminder_skip, "skipped")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # ----------------------------------------------------------------- the nightly summary

    def get_urls(self):
        summary = path("summary/", self.admin_site.admin_view(self.summary_view),
                       name="reminders_remindercall_summary")  # fmt: skip
        # Before the default URLs, whose "<object_id>/" would take "summary/".
        return [summary, *super().get_urls()]

    def summary_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        asked = request.GET.get("date")
        day = _parse_day(asked) or latest_planned_day()
        if asked and _parse_day(asked) is None:
            messages.warning(request, f"“{asked}” is not a date; showing the latest planned day.")
        changelist = reverse("admin:reminders_remindercall_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Reminder calls for {day:%A, %B %-d, %Y}" if day else "Reminder calls: nightly summary",
            "day": day,
            "lines": summary_lines(day, changelist) if day else [],
            "changelist_url": changelist,
            "previous_day": day - timedelta(days=1) if day else None,
            "next_day": day + timedelta(days=1) if day else None,
        }
        return TemplateResponse(request, "admin/reminders/summary.html", context)


# --------------------------------------------------------------------------- the summary's figures

# (label, count's key, the changelist filter that lists those rows); "placed" has no filter of its own.
OUTCOMES = [
    ("Planned", "planned", ""),
    ("Placed (dialled at least once)", "placed", ""),
    ("Confirmed", "confirmed", f"result__exact={ReminderResult.CONFIRMED}"),
    ("Rescheduled", "rescheduled", f"result__exact={ReminderResult.RESCHEDULED}"),
    ("Cancelled", "cancelled", f"result__exact={ReminderResult.CANCELLED}"),
    ("Opted out", "opted_out", f"result__exact={ReminderResult.OPTED_OUT}"),
    ("Voicemail", "voicemail", f"status__exact={ReminderStatus.VOICEMAIL}"),
    ("No answer", "no_answer", f"status__exact={ReminderStatus.NO_ANSWER}"),
    ("Busy", "busy", f"status__exact={ReminderStatus.BUSY}"),
    ("Failed", "failed", f"status__exact={ReminderStatus.FAILED}"),
    ("Still to call or on the line", "pending", ""),
]


def latest_planned_day() -> date | None:
    """The latest appointment day that has reminder rows (usually tomorrow, once the evening planning ran)."""
    latest = ReminderCall.objects.aggregate(latest=Max("appointment__starts_at"))["latest"]
    return timezone.localtime(latest, dealership_zone()).date() if latest else None


def summary_counts(day: date) -> dict[str, int]:
    """Every figure of the summary for the appointments of ``day``, in one aggregate query."""
    start, end = day_bounds(day)
    pending = [ReminderStatus.QUEUED, ReminderStatus.DIALING, ReminderStatus.IN_PROGRESS]
    figures = {
        "planned": Count("pk"),
        "placed": Count("pk", filter=Q(attempts__gt=0)),
        "pending": Count("pk", filter=Q(status__in=pending)),
        **{key: Count("pk", filter=Q(result=key)) for key in ("confirmed", "rescheduled", "cancelled", "opted_out")},
        **{key: Count("pk", filter=Q(status=key)) for key in ("voicemail", "no_answer", "busy", "failed")},
        **{f"skipped_{reason}": Count("pk", filter=Q(status=ReminderStatus.SKIPPED, skip_reason=reason))
           for reason in SkipReason.values},
    }  # fmt: skip
    rows = ReminderCall.objects.filter(appointment__starts_at__gte=start, appointment__starts_at__lt=end)
    return rows.aggregate(**figures)


def summary_lines(day: date, changelist_url: str) -> list[dict]:
    """The summary's table: label, count and, where a filter exists, a link to those rows."""
    counts = summary_counts(day)
    on_day = f"{DAY_PARAMETER}={day.isoformat()}"

    def line(label: str, count: int, query: str = "", indent: bool = False) -> dict:
        url = f"{changelist_url}?{on_day}&{query}" if query else f"{changelist_url}?{on_day}"
        return {"label": label, "count": count, "url": url, "indent": indent}

    lines = [line(label, counts[key], query) for label, key, query in OUTCOMES]
    skipped = sum(counts[f"skipped_{reason}"] for reason in SkipReason.values)
    lines.append(line("Skipped", skipped, f"status__exact={ReminderStatus.SKIPPED}"))
    lines += [
        line(reason.label, counts[f"skipped_{reason.value}"], f"skip_reason__exact={reason.value}", indent=True)
        for reason in SkipReason
    ]
    return lines


# --------------------------------------------------------------------------- an appointment's reminders


class ReminderHistoryInline(HistoryInline):
    """The appointment's reminder calls, each with its events, read-only."""

    model = ReminderCall
    fields = ["kind", "status", "result", "skip_reason", "attempts", "reminder_link", "events_list"]
    verbose_name = "reminder call"
    verbose_name_plural = "reminder calls"

    def get_queryset(self, request):
        events = Prefetch("events", queryset=ReminderEvent.objects.select_related("actor_user"))
        return super().get_queryset(request).prefetch_related(events)

    @admin.display(description="details")
    def reminder_link(self, reminder):
        return format_html('<a href="{}">open</a>', reverse("admin:reminders_remindercall_change", args=[reminder.pk]))

    @admin.display(description="history")
    def events_list(self, reminder):
        return format_html_join(
            "\n", "<div>{} · {} · {}{}</div>",
            ((_local(event.at), _status_change(event), _who(event), f" · {event.note}" if event.note else "")
             for event in reminder.events.all()),
        )  # fmt: skip


# scheduling knows nothing of reminders (dependencies point reminders -> scheduling), so the appointment's page
# learns about them from here, as voice does for the customer's calls: take whatever admin scheduling registered
# for Appointment and register a subclass of it that only adds the reminder history inline. Without reminders
# installed the page is simply scheduling's.
_SchedulingAppointmentAdmin = type(admin.site.get_model_admin(Appointment))


class AppointmentWithRemindersAdmin(_SchedulingAppointmentAdmin):
    inlines = [*_SchedulingAppointmentAdmin.inlines, ReminderHistoryInline]


admin.site.unregister(Appointment)
admin.site.register(Appointment, AppointmentWithRemindersAdmin)
