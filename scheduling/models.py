import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone

from crm.models import Customer, Vehicle


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class ServiceType(models.Model):
    """An item of the service menu: what the shop does, how long it takes, what it costs."""

    name = models.CharField(max_length=80, unique=True)
    op_code = models.CharField("op code", max_length=20, unique=True, help_text="The dealer system's operation code.")
    duration_minutes = models.PositiveSmallIntegerField(help_text="Bay time the job needs.")
    price_min = models.DecimalField(max_digits=8, decimal_places=2)
    price_max = models.DecimalField(max_digits=8, decimal_places=2)
    description = models.TextField(blank=True, help_text="What is included, written to be read aloud.")
    aliases = ArrayField(
        models.CharField(max_length=60),
        default=list,
        blank=True,
        help_text='What callers call it, comma-separated: "oil change, lube, LOF".',
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=720), name="service_duration_sane"
            ),
            models.CheckConstraint(condition=Q(price_max__gte=F("price_min")), name="service_price_range_ordered"),
            models.CheckConstraint(condition=Q(price_min__gte=0), name="service_price_not_negative"),
        ]

    def __str__(self):
        return self.name


class Bay(models.Model):
    """A service bay: one appointment at a time. The bays are the shop's capacity."""

    name = models.CharField(max_length=40, unique=True)
    active = models.BooleanField(default=True, help_text="Inactive bays take no new bookings.")
    notes = models.CharField(max_length=200, blank=True, help_text="e.g. alignment rack, EV charger")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class OpeningHours(models.Model):
    """When the service department takes cars on one weekday. A weekday without a row is closed."""

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, unique=True)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday"]
        verbose_name_plural = "opening hours"
        constraints = [models.CheckConstraint(condition=Q(closes__gt=F("opens")), name="hours_close_after_open")]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class OpeningBreak(models.Model):
    """A pause inside a day's hours (e.g. lunch) during which no job may run."""

    hours = models.ForeignKey(OpeningHours, on_delete=models.CASCADE, related_name="breaks")
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["starts"]
        constraints = [models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="break_ends_after_start")]

    def __str__(self):
        return f"break {self.starts:%H:%M}-{self.ends:%H:%M}"

    def clean(self):
        hours = getattr(self, "hours", None)  # unset on a bare form; the inline sets the edited hours
        if hours is None or None in (self.starts, self.ends, hours.opens, hours.closes):
            return
        if not (hours.opens <= self.starts and self.ends <= hours.closes):
            raise ValidationError(
                f"The break must be inside the opening hours ({hours.opens:%H:%M}-{hours.closes:%H:%M})."
            )


class Closure(models.Model):
    """A whole day the shop is closed (holidays, inventory days)."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=120)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.reason}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"  # made, not yet confirmed by the customer
    CONFIRMED = "confirmed", "Confirmed"  # the customer said they are coming (e.g. on a reminder call)
    CHECKED_IN = "checked_in", "Checked in"  # the car is at the shop
    COMPLETED = "completed", "Completed"  # the work is done
    NO_SHOW = "no_show", "No-show"  # the customer did not come
    CANCELLED = "cancelled", "Cancelled"  # called off by the customer or the shop


# Appointments in these states hold their bay; the others free it.
ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.CHECKED_IN)


class Transport(models.TextChoices):
    WAITER = "waiter", "Waiter"  # waits at the dealership
    DROP_OFF = "drop_off", "Drop-off"  # leaves the car and comes back
    SHUTTLE = "shuttle", "Shuttle"  # our shuttle takes them home or to work
    LOANER = "loaner", "Loaner"  # drives one of our loaner cars


class Source(models.TextChoices):
    PHONE_AGENT = "phone_agent", "Phone agent"  # booked by the AI agent on an inbound call
    STAFF = "staff", "Staff"  # booked by an advisor in the CRM
    REMINDER_CALL = "reminder_call", "Reminder call"  # changed or booked during a reminder call
    OTHER = "other", "Other"  # web form, import...


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Appointment(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="appointments")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="appointments")
    service_types = models.ManyToManyField(ServiceType, related_name="appointments", verbose_name="services")
    bay = models.ForeignKey(Bay, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The half-open range [starts_at, ends_at), kept by PostgreSQL itself, so
    # that back-to-back jobs touch without overlapping.
    during = models.GeneratedField(
        expression=TsTzRange(F("starts_at"), F("ends_at"), RangeBoundary(inclusive_lower=True, inclusive_upper=False)),
        output_field=DateTimeRangeField(),
        db_persist=True,
    )
    status = models.CharField(max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    transport = models.CharField(max_length=10, choices=Transport.choices, default=Transport.WAITER)
    source = models.CharField(max_length=15, choices=Source.choices, default=Source.STAFF)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    google_event_id = models.CharField(max_length=64, blank=True, editable=False)
    calendar_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "bay"]
        constraints = [
            # The guarantee against double booking: two active appointments of
            # one bay never overlap, whatever the application does.
            ExclusionConstraint(
                name="appointment_no_double_booking",
                expressions=[("bay", RangeOperators.EQUAL), ("during", RangeOperators.OVERLAPS)],
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="appointment_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["starts_at"], name="appointment_starts_idx"),
            models.Index(fields=["customer", "starts_at"], name="appointment_customer_idx"),
        ]

    def __str__(self):
        local = timezone.localtime(self.starts_at)
        return f"{local:%a %b %-d %-I:%M %p} {self.customer} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class ActorKind(models.TextChoices):
    STAFF = "staff", "Staff user"  # someone in the CRM
    PHONE_AGENT = "phone_agent", "Phone agent"  # the AI agent, on the call named in call_sid
    SYSTEM = "system", "System"  # the product itself (reminder planning, calendar sync)


class AppointmentEvent(models.Model):
    """Who changed an appointment, when, and what changed: one row per change."""

    class Action(models.TextChoices):
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "Marked no-show"
        CANCELLED = "cancelled", "Cancelled"
        EDITED = "edited", "Details changed"
        CALENDAR_SYNCED = "calendar_synced", "Calendar synced"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=20, choices=Action.choices)
    from_status = models.CharField(max_length=12, choices=AppointmentStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=AppointmentStatus.choices, blank=True)
    actor_kind = models.CharField(max_length=12, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call_sid = models.CharField(max_length=64, blank=True, help_text="The phone call the agent acted on.")
    changes = models.JSONField(default=dict, blank=True, help_text="Field: [before, after].")
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["appointment", "at"], name="appointment_event_idx")]

    def __str__(self):
        return f"{self.get_action_display()} by {self.actor}"

    @property
    def actor(self) -> str:
        if self.actor_kind == ActorKind.STAFF and self.actor_user_id:
            return str(self.actor_user)
        if self.actor_kind == ActorKind.PHONE_AGENT:
            return f"phone agent ({self.call_sid})" if self.call_sid else "phone agent"
        return self.get_actor_kind_display()
