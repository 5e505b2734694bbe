"""Calls and callback requests in the admin.

Calls are records of what happened on the phone line: nobody adds or edits them
here (managers may delete one). A call's page shows the conversation like a
chat; turns have no admin of their own. Callback requests are the messages callers left; advisors work through
the open ones and mark them done.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin, messages
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from crm.admin import PhoneSearchMixin
from crm.phones import format_phone, phone_digits, try_normalize_phone
from crm.selectors import MIN_PHONE_FRAGMENT_DIGITS
from voice import services
from voice.models import Call, CallbackRequest, CallbackStatus, Direction, Speaker
from voice.providers.twilio import is_configured as twilio_is_configured
from voice.selectors import call_number_search_q, call_with_conversation, phone_agent_missing_settings

# Turn timing fields, in the order they happen, with the words staff read them by.
TIMING_LABELS = [
    ("agent_first_token_ms", "first token"),
    ("tts_first_byte_ms", "first audio"),
    ("first_frame_ms", "first frame"),
    ("first_mark_ms", "heard"),
    ("server_ms", "of which the server"),
]


def _local(moment, pattern: str = "%a %b %-d, %-I:%M %p") -> str:
    return f"{timezone.localtime(moment):{pattern}}" if moment else "-"


def _customer_link(customer):
    if customer is None:
        return "-"
    url = reverse("admin:crm_customer_change", args=[customer.pk])
    return format_html('<a href="{}">{}</a>', url, customer)


def _duration_text(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}"


def phone_line_state() -> str:
    """One line for the call list: whether calls reach the agent, and if not, why."""
    problems = []
    if not twilio_is_configured():
        problems.append("Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN): webhooks are refused")
    missing = phone_agent_missing_settings()
    if missing:
        problems.append(f"the phone agent is not configured ({', '.join(missing)} empty): calls go to the fallback")
    if problems:
        return "Phone line: " + "; ".join(problems) + "."
    return "Phone line: calls are answered by the phone agent."


@dataclass
class ChatLine:
    """One turn as the call page shows it."""

    speaker: str
    at: str
    text: str
    heard: str = ""
    unheard: str = ""
    interrupted: bool = False
    timings: str = ""


def conversation_lines(turns) -> list[ChatLine]:
    lines = []
    for turn in turns:
        line = ChatLine(speaker=turn.speaker, at=_local(turn.started_at, "%-I:%M:%S %p"), text=turn.text)
        if turn.speaker == Speaker.AGENT:
            if turn.interrupted:
                heard = turn.heard_text
                line.heard = heard
                line.unheard = turn.text.removeprefix(heard).strip()
                line.interrupted = True
            else:
                line.heard = turn.text
            line.timings = " · ".join(
                f"{label} {getattr(turn, field)} ms"
                for field, label in TIMING_LABELS
                if getattr(turn, field) is not None
            )
        lines.append(line)
    return lines


# --------------------------------------------------------------------------- calls


class CallbackRequestInline(admin.TabularInline):
    model = CallbackRequest
    fk_name = "call"
    extra = 0
    can_delete = False
    fields = ["created_local", "phone_number", "message", "recording", "status", "handled_by", "open_link"]
    readonly_fields = fields
    verbose_name_plural = "callback requests"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("handled_by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="left")
    def created_local(self, obj):
        return _local(obj.created_at)

    @admin.display(description="call back on")
    def phone_number(self, obj):
        return format_phone(obj.phone)

    @admin.display(description="recording")
    def recording(self, obj):
        return format_html('<a href="{}">listen</a>', obj.recording_url) if obj.recording_url else "-"

    @admin.display(description="")
    def open_link(self, obj):
        url = reverse("admin:voice_callbackrequest_change", args=[obj.pk])
        return format_html('<a href="{}">open</a>', url)


@admin.register(Call)
class CallAdmin(PhoneSearchMixin, admin.ModelAdmin):
    customer_lookup = "customer__"
    list_display = [
        "started", "direction", "purpose", "number", "customer_link", "status", "outcome", "duration", "turn_count",
    ]  # fmt: skip
    list_filter = ["direction", "purpose", "status", "outcome"]
    list_select_related = ["customer"]
    date_hierarchy = "started_at"
    search_fields = ["customer__first_name", "customer__last_name", "call_sid"]
    search_help_text = "Any spelling of the caller's number, the customer's name, or the call SID."
    inlines = [CallbackRequestInline]
    fieldsets = [
        (None, {"fields": ["call_sid", "direction", "purpose", "caller", "called", "customer_link"]}),
        ("How it went", {"fields": ["status", "outcome", "end_reason", "summary", "transfer_to", "error"]}),
        ("Times", {"fields": ["started_local", "answered_local", "ended_local", "duration", "stream_sid"]}),
    ]
    readonly_fields = [
        "call_sid", "direction", "purpose", "caller", "called", "customer_link", "status", "outcome", "end_reason",
        "summary", "transfer_to", "error", "started_local", "answered_local", "ended_local", "duration", "stream_sid",
    ]  # fmt: skip

    # Calls are written only by the phone line.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer").annotate(turn_total=Count("turns"))

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        q = call_number_search_q(search_term)
        if q is not None:
            results = results | queryset.filter(q)
        return results, may_have_duplicates

    def changelist_view(self, request, extra_context=None):
        extra_context = {"phone_line_state": phone_line_state(), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        call = call_with_conversation(object_id) if str(object_id).isdigit() else None
        extra_context = {
            "conversation": conversation_lines(call.turns.all()) if call else [],
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # ----------------------------------------------------------------- columns and fields

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return _local(obj.started_at)

    @admin.display(description="number")
    def number(self, obj):
        """The other party: the caller on an inbound call, the number we rang on an outbound one."""
        raw = obj.to_number if obj.direction == Direction.OUTBOUND else obj.from_number
        return format_phone(raw) or "-"

    @admin.display(description="customer", ordering="customer__last_name")
    def customer_link(self, obj):
        return _customer_link(obj.customer)

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, obj):
        return _duration_text(obj.duration_seconds)

    @admin.display(description="turns", ordering="turn_total")
    def turn_count(self, obj):
        return obj.turn_total

    @admin.display(description="from")
    def caller(self, obj):
        return format_phone(obj.from_number) or "-"

    @admin.display(description="to")
    def called(self, obj):
        return format_phone(obj.to_number) or "-"

    @admin.display(description="transferred to")
    def transfer_to(self, obj):
        return format_phone(obj.transfer_target) or "-"

    @admin.display(description="started")
    def started_local(self, obj):
        return _local(obj.started_at, "%a %b %-d %Y, %-I:%M:%S %p")

    @admin.display(description="answered")
    def answered_local(self, obj):
        return _local(obj.answered_at, "%-I:%M:%S %p")

    @admin.display(description="ended")
    def ended_local(self, obj):
        return _local(obj.ended_at, "%-I:%M:%S %p")


# --------------------------------------------------------------------------- callback requests


@admin.register(CallbackRequest)
class CallbackRequestAdmin(PhoneSearchMixin, admin.ModelAdmin):
    customer_lookup = "customer__"
    list_display = ["created", "phone_number", "customer_link", "call_link", "short_message", "status", "handled"]
    list_filter = ["status", "created_at"]
    list_select_related = ["call", "customer", "handled_by"]
    search_fields = ["customer__first_name", "customer__last_name", "message", "call__call_sid"]
    search_help_text = "Any spelling of the number, the customer's name, words of the message, or the call SID."
    actions = ["mark_done"]
    fields = ["phone_number", "customer_link", "call_link", "message", "recording", "status", "created", "handled"]
    readonly_fields = ["phone_number", "customer_link", "call_link", "recording", "status", "created", "handled"]

    def has_add_permission(self, request):
        return False  # callers leave them; the phone line writes them

    def save_model(self, request, obj, form, change):
        # Only the message can be edited here (to correct the transcript or add a note).
        if "message" in form.changed_data:
            services.callback_request_set_transcript(callback=obj, message=form.cleaned_data["message"])

    def get_ordering(self, request):
        # Open ones first (the longest waiting at the top of the day's work), then the most recent done.
        open_first = Case(
            When(status=CallbackStatus.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return [open_first.asc(), "-created_at"]

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        q = Q()
        number = try_normalize_phone(search_term)
        if number:
            q |= Q(phone=number)
        digits = phone_digits(search_term)
        if len(digits) >= MIN_PHONE_FRAGMENT_DIGITS:
            q |= Q(phone__contains=digits)
        if q:
            results = results | queryset.filter(q)
        return results, may_have_duplicates

    @admin.display(description="left", ordering="created_at")
    def created(self, obj):
        return _local(obj.created_at)

    @admin.display(description="call back on", ordering="phone")
    def phone_number(self, obj):
        return format_phone(obj.phone)

    @admin.display(description="customer", ordering="customer__last_name")
    def customer_link(self, obj):
        return _customer_link(obj.customer)

    @admin.display(description="call")
    def call_link(self, obj):
        if obj.call_id is None:
            return "-"
        url = reverse("admin:voice_call_change", args=[obj.call_id])
        return format_html('<a href="{}">{}</a>', url, _local(obj.call.started_at))

    @admin.display(description="message")
    def short_message(self, obj):
        return Truncator(obj.message).chars(80) or "-"

    @admin.display(description="recording")
    def recording(self, obj):
        if not obj.recording_url:
            return "-"
        return format_html('<a href="{}">listen</a> (Twilio may ask you to sign in)', obj.recording_url)

    @admin.display(description="done", ordering="handled_at")
    def handled(self, obj):
        if obj.status != CallbackStatus.DONE:
            return "-"
        who = obj.handled_by.get_username() if obj.handled_by else "someone"
        return f"{_local(obj.handled_at)} by {who}"

    @admin.action(description="Mark selected requests done (called back)", permissions=["change"])
    def mark_done(self, request, queryset):
        done = 0
        for callback in queryset.filter(status=CallbackStatus.OPEN):
            services.callback_request_mark_done(callback=callback, user=request.user)
            done += 1
        noun = "request" if done == 1 else "requests"
        messages.success(request, f"{done} callback {noun} marked done.")
