from datetime import date, datetime, timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import router, transaction
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from crm.admin import AuditTrailAdmin, HistoryInline, PhoneSearchMixin
from crm.errors import ServiceError
from scheduling import services
from scheduling.actors import Actor
from scheduling.agenda import day_agenda
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    Bay,
    Closure,
    OpeningBreak,
    OpeningHours,
    ServiceType,
)
from scheduling.selectors import appointments_on, dealership_zone

# Which form field a service error is about (by its code); the rest are shown above the form.
ERROR_FIELDS = {
    "vehicle_not_owned": "vehicle",
    "no_service": "service_types",
    "service_inactive": "service_types",
    "bad_transport": "transport",
    "naive_time": "starts_at",
    "in_the_past": "starts_at",
    "too_soon": "starts_at",
    "closed_day": "starts_at",
    "outside_hours": "starts_at",
    "shop_busy": "starts_at",
    "slot_taken": "starts_at",
}


def calendar_state() -> str:
    """One line on the Google Calendar mirror for the appointment pages."""
    try:
        from scheduling.calendar.google import calendar_status
    except ImportError:
        return "calendar: not configured"
    ok, detail = calendar_status()
    if ok:
        return f"calendar: {detail}" if detail else "calendar: connected"
    return f"calendar: {detail}" if detail else "calendar: not configured"


# --------------------------------------------------------------------------- the service menu and the shop


@admin.register(ServiceType)
class ServiceTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "op_code", "duration", "price_range", "active"]
    list_filter = ["active"]
    search_fields = ["name", "op_code", "aliases"]
    search_help_text = "Name, op code, or what callers call it."
    readonly_fields = ["created_at", "updated_at"]
    fields = [
        "name",
        "op_code",
        "duration_minutes",
        ("price_min", "price_max"),
        "description",
        "aliases",
        "active",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="duration", ordering="duration_minutes")
    def duration(self, obj):
        hours, minutes = divmod(obj.duration_minutes, 60)
        if hours and minutes:
            return f"{hours} h {minutes} min"
        return f"{hours} h" if hours else f"{minutes} min"

    @admin.display(description="price", ordering="price_min")
    def price_range(self, obj):
        if obj.price_min == obj.price_max:
            return f"${obj.price_min:,.2f}"
        return f"${obj.price_min:,.2f} – ${obj.price_max:,.2f}"


@admin.register(Bay)
class BayAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "notes"]
    list_filter = ["active"]
    search_fields = ["name", "notes"]


class OpeningBreakFormSet(BaseInlineFormSet):
    def clean(self):
        # OpeningBreak.clean keeps each break inside its hours; whether breaks
        # overlap is a question about the whole set being saved, so it is here.
        super().clean()
        kept = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            starts, ends = form.cleaned_data.get("starts"), form.cleaned_data.get("ends")
            if starts is None or ends is None:
                continue
            if any(starts < other_ends and other_starts < ends for other_starts, other_ends in kept):
                form.add_error(None, "This break overlaps another break.")
            kept.append((starts, ends))


class OpeningBreakInline(admin.TabularInline):
    model = OpeningBreak
    formset = OpeningBreakFormSet
    extra = 0
    verbose_name_plural = "breaks (no job may run during a break)"


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["weekday", "opens", "closes", "break_list"]
    inlines = [OpeningBreakInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("breaks")

    @admin.display(description="breaks")
    def break_list(self, obj):
        return ", ".join(f"{b.starts:%H:%M}-{b.ends:%H:%M}" for b in obj.breaks.all()) or "-"


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "reason"]
    search_fields = ["reason"]
    date_hierarchy = "date"

    @admin.display(description="weekday")
    def weekday(self, obj):
        return f"{obj.date:%A}"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        booked = appointments_on(obj.date).filter(status__in=ACTIVE_STATUSES).count()
        if booked:
            messages.warning(
                request,
                f"{booked} appointment(s) are still booked on {obj.date:%A, %B %-d}; closing the day does not "
                f"move or cancel them.",
            )


# --------------------------------------------------------------------------- appointments


class AppointmentForm(forms.ModelForm):
    """Books or moves the appointment through the services while the form is validated.

    A refused booking (slot taken, outside opening hours...) thus becomes a form
    error. The service runs in a savepoint, so a refusal leaves nothing behind.
    """

    actor: Actor | None = None  # set for each request by AppointmentAdmin.get_form

    class Meta:
        model = Appointment
        fields = ["customer", "vehicle", "service_types", "starts_at", "transport", "notes"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned  # a field is missing or malformed: nothing to book yet
        if self.actor is None:
            raise ImproperlyConfigured("AppointmentForm needs an actor (AppointmentAdmin.get_form sets it).")
        try:
            with transaction.atomic():
                if self.instance.pk is None:
                    self.instance = services.appointment_book(
                        customer=cleaned["customer"],
                        vehicle=cleaned["vehicle"],
                        service_types=list(cleaned["service_types"]),
                        start=cleaned["starts_at"],
                        actor=self.actor,
                        transport=cleaned["transport"],
                        notes=cleaned["notes"],
                    )
                elif {"starts_at", "service_types"} & set(self.changed_data):
                    self.instance = services.appointment_reschedule(
                        appointment=self.instance,
                        start=cleaned["starts_at"],
                        service_types=list(cleaned["service_types"]),
                        actor=self.actor,
                    )
        except ServiceError as error:
            field = ERROR_FIELDS.get(error.code)
            self.add_error(field if field in self.fields else None, error.message)
        return cleaned


class AppointmentEventInline(HistoryInline):
    model = AppointmentEvent
    fields = ["at", "action", "status_change", "actor", "change_list", "note"]
    verbose_name_plural = "history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user")

    @admin.display(description="status")
    def status_change(self, event):
        if event.from_status and event.from_status != event.to_status:
            return f"{event.get_from_status_display()} → {event.get_to_status_display()}"
        return event.get_to_status_display()

    @admin.display(description="who")
    def actor(self, event):
        return event.actor

    @admin.display(description="what changed")
    def change_list(self, event):
        return format_html_join(
            "\n",
            "<div>{}: {} → {}</div>",
            ((name, _readable(before), _readable(after)) for name, (before, after) in (event.changes or {}).items()),
        )


def _readable(value) -> str:
    """A value of an event's changes as staff read it: times local, lists joined."""
    if value is None or value == "":
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            return f"{timezone.localtime(moment):%a %b %-d %Y %-I:%M %p}"
    return str(value)


@admin.register(Appointment)
class AppointmentAdmin(PhoneSearchMixin, admin.ModelAdmin):
    customer_lookup = "customer__"
    form = AppointmentForm
    list_display = ["local_start", "customer", "vehicle", "service_list", "bay", "status", "transport", "source"]
    list_filter = ["status", "bay", "service_types", "source", "transport"]
    list_select_related = ["customer", "vehicle", "bay"]
    date_hierarchy = "starts_at"
    search_fields = ["customer__first_name", "customer__last_name", "vehicle__vin", "vehicle__plate"]
    search_help_text = "Customer name, any spelling of their phone number, the end of a VIN, or a plate."
    autocomplete_fields = ["customer", "vehicle", "service_types"]
    actions = ["confirm", "check_in", "complete", "mark_no_show", "cancel"]
    inlines = [AppointmentEventInline]
    EDITABLE = ["customer", "vehicle", "service_types", "starts_at", "transport", "notes"]
    COMPUTED = ["ends_at", "bay", "status"]
    RECORD = ["source", "created_by", "created_at", "updated_at", "calendar_mirror", "uuid"]

    def has_delete_permission(self, request, obj=None):
        # Cancel instead: a deleted appointment would lose its history and
        # leave its event on the mirrored calendar.
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("service_types")

    # ----------------------------------------------------------------- the list

    @admin.display(description="starts", ordering="starts_at")
    def local_start(self, obj):
        return f"{timezone.localtime(obj.starts_at):%a %b %-d, %-I:%M %p}"

    @admin.display(description="services")
    def service_list(self, obj):
        return ", ".join(s.name for s in obj.service_types.all())

    def changelist_view(self, request, extra_context=None):
        extra_context = {"calendar_state": calendar_state(), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    # ----------------------------------------------------------------- the form

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            description = (
                f"The time is the dealership's ({dealership_zone().key}). The bay and the end time are assigned "
                f"on saving, with the same checks as every other booking."
            )
            return [(None, {"fields": self.EDITABLE, "description": description})]
        return [
            (None, {"fields": ["customer", "vehicle", "service_types", "starts_at", *self.COMPUTED]}),
            ("Visit", {"fields": ["transport", "notes"]}),
            ("Record", {"fields": self.RECORD, "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Moving is done by changing the time or the services; the status
        # changes through the actions; the owner and the car stay as booked.
        return ["customer", "vehicle", *self.COMPUTED, *self.RECORD]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        return type(base.__name__, (base,), {"actor": Actor.staff(request.user)})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        # The booking happens while the form is validated; if the page comes
        # back with errors anyway (e.g. a broken inline), undo it.
        with transaction.atomic(using=router.db_for_write(self.model)):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if getattr(response, "context_data", None) and response.context_data.get("errors"):
                transaction.set_rollback(True)
            return response

    def save_model(self, request, obj, form, change):
        # Booking or moving happened in the form's clean(); a change of the
        # other details goes through its own service, which records it.
        if change and {"transport", "notes"} & set(form.changed_data):
            services.appointment_update_details(
                appointment=obj,
                actor=Actor.staff(request.user),
                transport=form.cleaned_data["transport"],
                notes=form.cleaned_data["notes"],
            )

    def save_related(self, request, form, formsets, change):
        # The services set the services (m2m) themselves.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.display(description="Google Calendar")
    def calendar_mirror(self, obj):
        if obj.calendar_synced_at:
            return f"synced {timezone.localtime(obj.calendar_synced_at):%Y-%m-%d %H:%M} ({obj.google_event_id or '-'})"
        return f"not synced ({calendar_state()})"

    # ----------------------------------------------------------------- actions

    def _apply(self, request, queryset, service, done: str):
        actor = Actor.staff(request.user)
        succeeded = 0
        for appointment in queryset.select_related("customer"):
            try:
                service(appointment=appointment, actor=actor)
            except ServiceError as error:
                messages.error(request, f"{appointment}: {error.message}")
            else:
                succeeded += 1
        if succeeded:
            noun = "appointment" if succeeded == 1 else "appointments"
            messages.success(request, f"{succeeded} {noun} {done}.")

    @admin.action(description="Confirm selected appointments", permissions=["change"])
    def confirm(self, request, queryset):
        self._apply(request, queryset, services.appointment_confirm, "confirmed")

    @admin.action(description="Check in selected appointments", permissions=["change"])
    def check_in(self, request, queryset):
        self._apply(request, queryset, services.appointment_check_in, "checked in")

    @admin.action(description="Mark selected appointments completed", permissions=["change"])
    def complete(self, request, queryset):
        self._apply(request, queryset, services.appointment_complete, "completed")

    @admin.action(description="Mark selected appointments as no-show", permissions=["change"])
    def mark_no_show(self, request, queryset):
        self._apply(request, queryset, services.appointment_mark_no_show, "marked as no-show")

    @admin.action(description="Cancel selected appointments", permissions=["change"])
    def cancel(self, request, queryset):
        self._apply(request, queryset, services.appointment_cancel, "cancelled")

    # ----------------------------------------------------------------- the day agenda

    def get_urls(self):
        agenda = path(
            "agenda/",
            self.admin_site.admin_view(self.agenda_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_agenda",
        )
        # Before the default URLs, whose "<object_id>/" would take "agenda/".
        return [agenda, *super().get_urls()]

    def agenda_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        day = _parse_day(request.GET.get("date"))
        if day is None:
            day = today
            if request.GET.get("date"):
                messages.warning(request, f"“{request.GET['date']}” is not a date; showing today.")
        show_cancelled = request.GET.get("cancelled") == "1"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Agenda for {day:%A, %B %-d, %Y}",
            "agenda": day_agenda(day, show_cancelled=show_cancelled),
            "day": day,
            "today": today,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "show_cancelled": show_cancelled,
            "changelist_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            "add_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_add"),
            "has_add_permission": self.has_add_permission(request),
            "calendar_state": calendar_state(),
        }
        return TemplateResponse(request, "admin/scheduling/agenda.html", context)


def _parse_day(raw: str | None) -> date | None:
    """A YYYY-MM-DD date from the query string, or None (also for dates whose neighbours do not exist)."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return day if date(1900, 1, 1) <= day <= date(9998, 12, 31) else None


# --------------------------------------------------------------------------- the history


@admin.register(AppointmentEvent)
class AppointmentEventAdmin(AuditTrailAdmin):
    """Who changed which appointment and when: read-only, written only by scheduling.services."""

    customer_lookup = "appointment__customer__"
    list_display = ["at", "appointment_link", "action", "from_status", "to_status", "actor", "note"]
    list_filter = ["action", "actor_kind", "at"]
    list_select_related = ["appointment__customer", "actor_user"]
    search_fields = ["appointment__customer__first_name", "appointment__customer__last_name", "call_sid", "note"]
    search_help_text = "Customer name or phone number, call SID, or note."
    date_hierarchy = "at"

    @admin.display(description="appointment", ordering="appointment__starts_at")
    def appointment_link(self, event):
        url = reverse("admin:scheduling_appointment_change", args=[event.appointment_id])
        return format_html('<a href="{}">{}</a>', url, event.appointment)

    @admin.display(description="who")
    def actor(self, event):
        return event.actor

    def has_delete_permission(self, request, obj=None):
        return False  # appointments are cancelled, never deleted, so their history stays
