"""Phone calls as records: the call, what was said turn by turn, what the agent's tools did and changed, and
messages for a callback."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from crm.models import Customer, Vehicle
from scheduling.models import Appointment


class Direction(models.TextChoices):
    INBOUND = "inbound", "inbound"  # a customer called the dealership
    OUTBOUND = "outbound", "outbound"  # the dealership (a reminder) called the customer


class Purpose(models.TextChoices):
    CUSTOMER_CALL = "customer_call", "customer call"  # whatever the caller wants
    REMINDER = "reminder", "appointment reminder"  # an evening reminder call


class CallStatus(models.TextChoices):
    """Twilio's call statuses, as its status callback reports them."""

    QUEUED = "queued", "queued"  # created, not yet dialled
    RINGING = "ringing", "ringing"  # dialling / ringing
    IN_PROGRESS = "in-progress", "in progress"  # answered, audio flowing
    COMPLETED = "completed", "completed"  # ended normally after being answered
    BUSY = "busy", "busy"  # the other side was busy
    FAILED = "failed", "failed"  # Twilio could not place or carry the call
    NO_ANSWER = "no-answer", "no answer"  # nobody answered
    CANCELED = "canceled", "canceled"  # cancelled before it was answered


class Outcome(models.TextChoices):
    """How the conversation ended, from the agent's side."""

    IN_PROGRESS = "", "in progress"  # the call has not ended yet
    COMPLETED = "completed", "completed"  # the agent said goodbye and hung up
    CALLER_HUNG_UP = "caller_hung_up", "caller hung up"  # the caller ended the call
    TRANSFERRED = "transferred", "transferred"  # handed to a person (the transfer number)
    MESSAGE_TAKEN = "message_taken", "message taken"  # nobody answered the transfer; a message was left
    NO_RESPONSE = "no_response", "no response"  # the caller stayed silent (or never answered) and the call ended
    TOO_LONG = "too_long", "too long"  # the maximum call length was reached
    SERVER_RESTART = "server_restart", "ended for a restart"  # a restarting server waited its limit for the call
    VOICEMAIL = "voicemail", "voicemail left"  # a machine answered our call; the agent left its message
    ERROR = "error", "error"  # the call broke (bad input, a crash, a provider outage with no fallback)


class CallResult(models.TextChoices):
    """What the call achieved, worked out from its records when it is summarized (the first that applies)."""

    PENDING = "", "not summarized yet"  # the call is going on, or its summary has not been written yet
    BOOKED = "booked", "booked"  # an appointment was booked
    MOVED = "moved", "moved"  # an appointment was moved to another time
    CANCELLED = "cancelled", "cancelled"  # an appointment was cancelled
    CONFIRMED = "confirmed", "confirmed"  # an appointment was confirmed (a reminder call)
    OPTED_OUT = "opted_out", "opted out"  # the customer asked not to be called again (do-not-call set)
    VOICEMAIL = "voicemail", "voicemail left"  # a machine answered a reminder call and took its message
    ANSWERED = "answered", "answered"  # a question was answered from the knowledge base
    TRANSFERRED = "transferred", "transferred"  # the caller was put through to a person
    MESSAGE_TAKEN = "message_taken", "message taken"  # the caller left a message for a callback
    NOTHING_DONE = "nothing_done", "nothing done"  # none of the above


class AnsweredBy(models.TextChoices):
    """Twilio's answering-machine detection on a call we placed (its AnsweredBy parameter)."""

    HUMAN = "human", "a person"  # a person answered
    MACHINE_START = "machine_start", "a machine (its greeting began)"  # detected early, before the greeting ended
    MACHINE_END_BEEP = "machine_end_beep", "a machine (after the beep)"  # the greeting ended with a beep
    MACHINE_END_SILENCE = "machine_end_silence", "a machine (after silence)"  # the greeting ended in silence
    MACHINE_END_OTHER = "machine_end_other", "a machine (greeting ended)"  # the greeting ended some other way
    FAX = "fax", "a fax machine"  # a fax answered
    UNKNOWN = "unknown", "not known"  # Twilio could not tell


class Call(models.Model):
    """One phone call, inbound or outbound, identified by Twilio's CallSid."""

    call_sid = models.CharField("Call SID", max_length=64, unique=True)
    stream_sid = models.CharField("Stream SID", max_length=64, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.CUSTOMER_CALL)
    from_number = models.CharField(max_length=32, blank=True, help_text="As Twilio gave it (E.164, or 'anonymous').")
    to_number = models.CharField(max_length=32, blank=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls",
        help_text="The appointment a reminder call is about.",
    )  # fmt: skip
    answered_by = models.CharField(
        max_length=24, choices=AnsweredBy.choices, blank=True,
        help_text="Who answered a call we placed, by Twilio's answering-machine detection (blank: not reported).",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=CallStatus.choices, default=CallStatus.RINGING)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.IN_PROGRESS, blank=True)
    end_reason = models.CharField(max_length=200, blank=True, help_text="Why the call ended, in a few words.")
    started_at = models.DateTimeField(help_text="When Twilio first told us about the call.")
    answered_at = models.DateTimeField(null=True, blank=True, help_text="When the media stream started.")
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Twilio's billed duration.")
    transfer_target = models.CharField(max_length=32, blank=True)
    summary = models.TextField(blank=True, help_text="The call in two sentences, written when it ended.")
    result = models.CharField(max_length=20, choices=CallResult.choices, default=CallResult.PENDING, blank=True)
    handover_summary = models.TextField(
        blank=True, help_text="What the advisor was told on a transfer (whispered before connecting)."
    )
    error = models.TextField(blank=True, help_text="What went wrong, for support staff.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["-started_at"], name="call_started"),
            models.Index(fields=["from_number"], name="call_from_number"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} call {self.call_sid}"


class Speaker(models.TextChoices):
    CALLER = "caller", "caller"  # what the caller said (the final transcript of one turn)
    AGENT = "agent", "agent"  # what the agent said (and what of it the caller heard)
    SYSTEM = "system", "system"  # something that happened on the line (reconnects, fallbacks, DTMF)


class Turn(models.Model):
    """One turn of the conversation, saved when it ends.

    Agent turns carry the latency of each stage, in milliseconds from the caller's final
    transcript that the turn answers: first token from the model, first audio byte from
    text-to-speech, first audio frame sent to Twilio, first mark back (first audio heard).
    """

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    position = models.PositiveIntegerField()
    speaker = models.CharField(max_length=10, choices=Speaker.choices)
    text = models.TextField(help_text="Everything said (for the agent: everything generated to be said).")
    heard_text = models.TextField(blank=True, help_text="Agent turns: the part the caller actually heard.")
    interrupted = models.BooleanField(default=False, help_text="The caller talked over the agent (barge-in).")
    preemptive = models.BooleanField(
        default=False,
        help_text="Agent turns: the reply was started on the caller's words before their final transcript, "
        "which then said the same (a stage done before that final has no timing).",
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    agent_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    tts_first_byte_ms = models.PositiveIntegerField(null=True, blank=True)
    first_frame_ms = models.PositiveIntegerField(null=True, blank=True)
    first_mark_ms = models.PositiveIntegerField(null=True, blank=True)
    server_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Of that, the server's own time (not waiting for the model or speech)."
    )

    class Meta:
        ordering = ["call", "position"]
        constraints = [models.UniqueConstraint(fields=["call", "position"], name="turn_position_unique")]

    def __str__(self):
        return f"{self.get_speaker_display()}: {self.text[:60]}"


class CallbackStatus(models.TextChoices):
    OPEN = "open", "open"  # waiting for someone to call back
    DONE = "done", "done"  # somebody called back (or it needs nothing)


class CallbackRequest(models.Model):
    """A caller's message for a person: left when a transfer was not answered or the agent could not help."""

    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    phone = models.CharField(max_length=32, help_text="The number to call back.")
    message = models.TextField(blank=True, help_text="What the caller said (transcribed), or a note.")
    handover_summary = models.TextField(
        blank=True, help_text="What the phone agent told the advisors when it handed the caller to the message."
    )
    recording_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=CallbackStatus.choices, default=CallbackStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-status", "-created_at"]  # "open" before "done", newest first
        constraints = [
            models.CheckConstraint(
                condition=Q(status=CallbackStatus.OPEN) | Q(handled_at__isnull=False), name="callback_done_has_time"
            )
        ]

    def __str__(self):
        return f"Call back {self.phone}"


class ToolKind(models.TextChoices):
    """The kinds of agent.tools.base.ToolKind, as stored."""

    READ = "read", "read"  # looked something up
    WRITE = "write", "write"  # changed the CRM
    CONTROL = "control", "call control"  # asked to end or hand over the call


class ToolInvocation(models.Model):
    """One tool call of the phone agent with its result, kept with the agent turn it belongs to.

    ``turn`` is the agent turn whose reply ran the tool (none when a write finished after that turn was saved
    and no agent turn had begun before it). ``heard`` says whether the caller heard the agent's answer after
    the tool (e.g. "You're booked for Tuesday at nine").
    """

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="tool_invocations")
    turn = models.ForeignKey(Turn, null=True, blank=True, on_delete=models.SET_NULL, related_name="tool_invocations")
    position = models.PositiveIntegerField(help_text="Order among the call's tool calls.")
    tool_call_id = models.CharField(max_length=100, blank=True, help_text="The model's id of this tool call.")
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=ToolKind.choices)
    round = models.PositiveSmallIntegerField(default=1, help_text="The model round of the caller's turn.")
    arguments = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="What the model read.")
    ok = models.BooleanField()
    error = models.TextField(blank=True, help_text="The spoken refusal or the error, when it did not work.")
    duration_ms = models.FloatField(null=True, blank=True)
    heard = models.BooleanField(default=False, help_text="The caller heard the agent's answer after it.")
    cancelled = models.BooleanField(default=False, help_text="A read stopped because the caller interrupted.")
    started_at = models.DateTimeField()

    class Meta:
        ordering = ["call", "position"]
        constraints = [models.UniqueConstraint(fields=["call", "position"], name="tool_invocation_position_unique")]

    def __str__(self):
        return f"{self.name} ({'ok' if self.ok else 'refused'})"


class ChangeKind(models.TextChoices):
    """What a tool changed in the CRM (the values of agent.tools.base.ChangeKind)."""

    BOOKED = "booked", "booked"  # an appointment was booked
    MOVED = "moved", "moved"  # an appointment was moved to another time
    CANCELLED = "cancelled", "cancelled"  # an appointment was cancelled
    CONFIRMED = "confirmed", "confirmed"  # the customer confirmed an appointment
    CUSTOMER_CREATED = "customer_created", "customer created"  # a new customer was added
    VEHICLE_ADDED = "vehicle_added", "vehicle added"  # a vehicle was added to a customer
    MESSAGE_TAKEN = "message_taken", "message taken"  # a callback request was left for the advisors
    OPTED_OUT = "opted_out", "opted out"  # the customer asked not to be called again: do-not-call set


class CallChange(models.Model):
    """Something a call changed in the CRM, linked to what it changed (links go blank if that is deleted)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="changes")
    invocation = models.ForeignKey(ToolInvocation, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="changes")  # fmt: skip
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="call_changes")  # fmt: skip
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="call_changes")  # fmt: skip
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="call_changes")  # fmt: skip
    callback = models.ForeignKey(CallbackRequest, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="call_changes")  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "id"]

    def __str__(self):
        return self.get_kind_display()
