"""Calls and callback requests in the admin, and a customer's calls on the customer's page.

Calls are records of what happened on the phone line: nobody adds or edits them
here (managers may delete one). A call's page shows the conversation like a
chat, with each of the agent's tool calls after the turn it belongs to, and what
the call changed with links to it; turns and tool calls have no admin of their
own. Callback requests are the messages callers left; advisors work through the
open ones and mark them done.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from django.contrib import admin, messages
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.template.loader import select_template
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from agent.factory import OFFLINE, agent_kind
from crm.admin import PhoneSearchMixin
from crm.models import Customer
from crm.phones import format_phone, phone_digits, try_normalize_phone
from crm.selectors import MIN_PHONE_FRAGMENT_DIGITS
from voice import services
from voice.chat.permissions import may_chat
from voice.chat.views import agent_chat_view
from voice.models import Call, CallbackRequest, CallbackStatus, Direction, Speaker
from voice.providers.twilio import is_configured as twilio_is_configured
from voice.selectors import (
    call_number_search_q,
    call_with_records,
    calls_with_changes,
    describe_change,
    phone_agent_missing_settings,
)

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
    if agent_kind() == OFFLINE:
        return "Phone line: calls are answered by the offline agent (OPENAI_API_KEY is empty)."
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


def _chat_line(turn) -> ChatLine:
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
            ["started before the final transcript"] * turn.preemptive
            + [f"{label} {getattr(turn, name)} ms" for name, label in TIMING_LABELS if getattr(turn, name) is not None]
        )
    return line


@dataclass
class ToolLine:
    """One of the agent's tool calls as the call page shows it, after the turn it belongs to."""

    at: str
    name: str
    kind: str
    arguments: str
    ok: bool
    outcome: str  # the result the model read, or the refusal / error
    duration: str
    heard: bool
    cancelled: bool
    speaker: str = "tool"


def _compact_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str) if value else ""


def tool_line(invocation) -> ToolLine:
    return ToolLine(
        at=_local(invocation.started_at, "%-I:%M:%S %p"),
        name=invocation.name,
        kind=invocation.get_kind_display(),
        arguments=_compact_json(invocation.arguments),
        ok=invocation.ok,
        outcome=_compact_json(invocation.result) if invocation.ok else (invocation.error or "refused"),
        duration="-" if invocation.duration_ms is None else f"{invocation.duration_ms:.0f} ms",
        heard=invocation.heard,
        cancelled=invocation.cancelled,
    )


def conversation_lines(turns, invocations=()) -> list[ChatLine | ToolLine]:
    """The turns in order, each agent turn followed by its tool calls in order. A tool call that belongs to no
    turn (a write that outlived every reply) goes where it started in time."""
    by_turn, loose = defaultdict(list), []
    for invocation in invocations:
        (by_turn[invocation.turn_id] if invocation.turn_id else loose).append(invocation)
    lines = []
    for turn in turns:
        while loose and loose[0].started_at < turn.started_at:
            lines.append(tool_line(loose.pop(0)))
        lines.append(_chat_line(turn))
        lines.extend(tool_line(invocation) for invocation in by_turn.pop(turn.pk, []))
    lines.extend(tool_line(invocation) for invocation in loose)
    lines.extend(tool_line(invocation) for left in by_turn.values() for invocation in left)
    return lines


@dataclass
class ChangeLine:
    """Something the call changed, in words, with links to what it changed."""

    kind: str
    text: str
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (what, its name, its admin page)


_CHANGE_LINKS = [
    ("appointment", "scheduling", "appointment"),
    ("customer", "crm", "customer"),
    ("vehicle", "crm", "vehicle"),
    ("callback", "voice", "callbackrequest"),
]


def change_lines(changes) -> list[ChangeLine]:
    lines = []
    for change in changes:
        line = ChangeLine(kind=change.get_kind_display(), text=describe_change(change))
        for attribute, app_label, model_name in _CHANGE_LINKS:
            target = getattr(change, attribute)
            if target is not None:
                url = reverse(f"admin:{app_label}_{model_name}_change", args=[target.pk])
                label = "callback request" if attribute == "callback" else attribute
                line.links.append((label, str(target), url))
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
        "started", "direction", "purpose", "number", "customer_link", "status", "outcome", "result", "duration",
        "turn_count",
    ]  # fmt: skip
    list_filter = ["direction", "purpose", "status", "outcome", "result"]
    list_select_related = ["customer"]
    date_hierarchy = "started_at"
    search_fields = ["customer__first_name", "customer__last_name", "call_sid"]
    search_help_text = "Any spelling of the caller's number, the customer's name, or the call SID."
    inlines = [CallbackRequestInline]
    fieldsets = [
        (None, {"fields": ["call_sid", "direction", "purpose", "caller", "called", "customer_link", "appointment"]}),
        ("How it went", {"fields": ["status", "answered_by", "outcome", "result", "end_reason", "summary",
                                    "transfer_to", "told_advisor", "error"]}),  # fmt: skip
        ("Times", {"fields": ["started_local", "answered_local", "ended_local", "duration", "stream_sid"]}),
    ]
    readonly_fields = [
        "call_sid", "direction", "purpose", "caller", "called", "customer_link", "appointment", "status",
        "answered_by", "outcome", "result",
        "end_reason", "summary", "transfer_to", "told_advisor", "error", "started_local", "answered_local",
        "ended_local", "duration", "stream_sid",
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
        if may_chat(request.user):
            extra_context.setdefault("agent_chat_url", reverse("admin:voice_call_agent_chat"))
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        chat = path("try-agent/", self.admin_site.admin_view(partial(agent_chat_view, model_admin=self)),
                    name="voice_call_agent_chat")  # fmt: skip
        return [chat, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Turns, tool calls and changes in a fixed number of queries, however long the call was.
        call = call_with_records(object_id) if str(object_id).isdigit() else None
        extra_context = {
            "conversation": conversation_lines(call.turns.all(), call.tool_invocations.all()) if call else [],
            "changes": change_lines(call.changes.all()) if call else [],
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

    @admin.display(description="told the advisor")
    def told_advisor(self, obj):
        return obj.handover_summary or "-"

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
    search_fields = ["customer__first_name", "customer__last_name", "message", "handover_summary", "call__call_sid"]
    search_help_text = "Any spelling of the number, the customer's name, words of the message, or the call SID."
    actions = ["mark_done"]
    fields = ["phone_number", "customer_link", "call_link", "handover_note", "message", "recording", "status",
              "created", "handled"]  # fmt: skip
    readonly_fields = ["phone_number", "customer_link", "call_link", "handover_note", "recording", "status",
                       "created", "handled"]  # fmt: skip

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
        """The caller's words; until their transcript comes, what the phone agent said about the caller."""
        if obj.message:
            return Truncator(obj.message).chars(80)
        if obj.handover_summary:
            return f"Phone agent: {Truncator(obj.handover_summary).chars(80)}"
        return "-"

    @admin.display(description="from the phone agent")
    def handover_note(self, obj):
        return obj.handover_summary or "-"

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


# --------------------------------------------------------------------------- a customer's calls

CUSTOMER_CALLS_SHOWN = 20


@dataclass
class CustomerCallLine:
    """One of a customer's calls as their page lists it."""

    url: str
    started: str
    direction: str
    outcome: str
    result: str
    summary: str
    changes: list[ChangeLine]


def customer_call_lines(customer_id: int) -> tuple[list[CustomerCallLine], int]:
    """The customer's latest calls, newest first, with what each changed; and how many calls they have. A call
    counts when it was theirs or changed their records (e.g. an unknown caller the agent added as them)."""
    concerns = Q(customer_id=customer_id) | Q(changes__customer_id=customer_id) | Q(
        changes__appointment__customer_id=customer_id
    )
    calls = calls_with_changes().filter(concerns).distinct()
    lines = [
        CustomerCallLine(
            url=reverse("admin:voice_call_change", args=[call.pk]),
            started=_local(call.started_at),
            direction=call.get_direction_display(),
            outcome=call.get_outcome_display(),
            result=call.get_result_display(),
            summary=call.summary,
            changes=change_lines(call.changes.all()),
        )
        for call in calls[:CUSTOMER_CALLS_SHOWN]
    ]
    total = len(lines) if len(lines) < CUSTOMER_CALLS_SHOWN else calls.count()
    return lines, total


# crm knows nothing of phones (dependencies point voice -> crm), so the customer's page learns about calls from
# here: voice takes whatever admin crm registered for Customer, and registers a subclass of it that only adds
# a "Calls" section after the form (its template extends the page crm would have shown, and the list comes from
# a context variable). The customer's own fields and inlines stay crm's; without voice installed the page is
# simply crm's.
_CrmCustomerAdmin = type(admin.site.get_model_admin(Customer))


class CustomerWithCallsAdmin(_CrmCustomerAdmin):
    change_form_template = "admin/voice/customer_calls_change_form.html"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["voice_parent_change_form"] = self._crm_change_form()
        if obj is not None and obj.pk is not None and request.user.has_perm("voice.view_call"):
            lines, total = customer_call_lines(obj.pk)
            context.update(voice_calls=lines, voice_call_total=total, voice_calls_url=(
                reverse("admin:voice_call_changelist") + f"?customer__id__exact={obj.pk}"
            ))  # fmt: skip
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _crm_change_form(self):
        """The page crm's admin would render (its own template, else Django's usual choice), for ours to extend."""
        opts = self.opts
        names = [_CrmCustomerAdmin.change_form_template] if _CrmCustomerAdmin.change_form_template else [
            f"admin/{opts.app_label}/{opts.model_name}/change_form.html",
            f"admin/{opts.app_label}/change_form.html",
            "admin/change_form.html",
        ]  # fmt: skip
        return select_template(names).template


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithCallsAdmin)
