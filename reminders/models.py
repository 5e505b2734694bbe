"""Reminder calls: one row per appointment and kind of reminder, and every change to it as an event.

A row is planned the evening before (queued, or skipped with the reason), claimed by a dispatcher when it is
due (dialing), and follows its call through Twilio's statuses to one final status and a result. Retries stay
on the same row (``attempts``, ``next_attempt_at``); each attempt's CallSid is in the events.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from scheduling.models import ActorKind, Appointment


class ReminderKind(models.TextChoices):
    DAY_BEFORE = "day_before", "The day before"  # the evening call about tomorrow's appointment


class ReminderStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # planned; dialled once due (next_attempt_at) and inside the calling window
    DIALING = "dialing", "Dialing"  # claimed by a dispatcher; Twilio is asked to place the call
    IN_PROGRESS = "in_progress", "In progress"  # answered: the agent is talking, or leaving a voicemail
    COMPLETED = "completed", "Completed"  # a person answered and the call ended
    VOICEMAIL = "voicemail", "Voicemail"  # a machine answered; a message was left (or not, as configured)
    NO_ANSWER = "no_answer", "No answer"  # rang out after the last attempt
    BUSY = "busy", "Busy"  # busy after the last attempt
    FAILED = "failed", "Failed"  # Twilio could not place it, after the last attempt
    SKIPPED = "skipped", "Skipped"  # not called, for skip_reason


FINAL_STATUSES = {
    ReminderStatus.COMPLETED, ReminderStatus.VOICEMAIL, ReminderStatus.NO_ANSWER, ReminderStatus.BUSY,
    ReminderStatus.FAILED, ReminderStatus.SKIPPED,
}  # fmt: skip


class SkipReason(models.TextChoices):
    DO_NOT_CALL = "do_not_call", "Customer is on do-not-call"  # no automated calls at all
    NO_CONSENT = "no_consent", "No reminder-call consent"  # the customer never agreed to reminder calls
    NO_NUMBER = "no_number", "No number to call"  # no phone number that can be dialled
    CONFIRMED = "confirmed", "Already confirmed"  # the customer confirmed before the call
    CANCELLED = "cancelled", "Appointment cancelled"  # or otherwise no longer active
    MOVED = "moved", "Appointment moved to another day"  # no longer tomorrow's
    WINDOW_CLOSED = "window_closed", "Calling window over"  # never dialled before the window closed
    STAFF = "staff", "Skipped by staff"  # an advisor chose not to call


class ReminderResult(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"  # the customer confirmed the appointment
    RESCHEDULED = "rescheduled", "Rescheduled"  # moved on the call
    CANCELLED = "cancelled", "Cancelled"  # cancelled on the call
    OPTED_OUT = "opted_out", "Opted out"  # asked not to be called again (do-not-call set)
    NO_RESPONSE = "no_response", "No response"  # answered but none of the above, or a machine


class ReminderCall(models.Model):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminder_calls")
    kind = models.CharField(max_length=20, choices=ReminderKind.choices, default=ReminderKind.DAY_BEFORE)
    status = models.CharField(max_length=12, choices=ReminderStatus.choices, default=ReminderStatus.QUEUED)
    skip_reason = models.CharField(max_length=16, choices=SkipReason.choices, blank=True)
    planned_for = models.DateField(
        null=True, blank=True, help_text="The day of the appointment when this reminder was planned for it."
    )
    phone = models.CharField(max_length=32, blank=True, help_text="The number dialled (E.164).")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Calls placed so far.")
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Not dialled before this.")
    dialing_since = models.DateTimeField(null=True, blank=True, help_text="When the current attempt was claimed.")
    call_sid = models.CharField(max_length=64, blank=True, help_text="Twilio's CallSid of the latest attempt.")
    call = models.ForeignKey("voice.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answered_by = models.CharField(max_length=24, blank=True, help_text="Twilio's answering-machine detection.")
    result = models.CharField(max_length=12, choices=ReminderResult.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["appointment", "kind"], name="one_reminder_per_appointment_and_kind"),
            models.CheckConstraint(condition=~Q(status=ReminderStatus.SKIPPED) | ~Q(skip_reason=""),
                                   name="skipped_reminder_has_reason"),  # fmt: skip
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="reminder_due_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} reminder for appointment {self.appointment_id} ({self.get_status_display()})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class ReminderEvent(models.Model):
    """One change to a reminder call, and who or what made it."""

    reminder = models.ForeignKey(ReminderCall, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=12, choices=ReminderStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ReminderStatus.choices)
    actor_kind = models.CharField(max_length=12, choices=ActorKind.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip
    call_sid = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["reminder", "at"], name="reminder_event_idx")]

    def __str__(self):
        return f"{self.from_status or '-'} -> {self.to_status}"
