"""What a call session needs from the database when the stream starts (read once, in the database thread):
the call, the dealership, and what the agent knows before the caller's first word.

A call we placed (a reminder) is about an appointment, read from the call's own row: the agent is told it, the
call opens with the reminder's words instead of the inbound greeting, and it keeps the voicemail to leave if a
machine answers. A customer who calls in shortly after a reminder call is told to the agent with the
appointment that reminder was about.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent import reminders
from agent.context import ConversationStart, caller_facts, shop_facts
from agent.factory import make_agent
from agent.interface import Agent
from crm.selectors import dealership_profile
from voice.models import Call, Direction, Purpose
from voice.selectors import open_requests_for, recent_reminder_appointment

# Every call's words are kept as its transcript (the call's turns), which is what the customer's recording
# consent ("recorded and transcribed") covers: so automated calls always say the call may be recorded. The
# dealership profile has no switch for it; the inbound greeting says so in the profile's own words.
CALLS_ARE_RECORDED = True


@dataclass(frozen=True)
class StartingCall:
    call_sid: str
    from_number: str
    greeting: str
    transfer_number: str
    conversation: ConversationStart
    voicemail: str = ""  # a reminder call: the message for an answering machine
    answered_by: str = ""  # Twilio's machine detection, when it came before the stream started

    @property
    def reminder(self) -> bool:
        return self.conversation.reminder

    def agent(self, *, records=None, recorder=None) -> Agent:
        """The model agent (with the offline one behind it) when a model is configured, else the offline one."""
        return make_agent(self.conversation, records=records, recorder=recorder)


def load_call_context(call_sid: str) -> StartingCall:
    call = Call.objects.select_related("customer").filter(call_sid=call_sid).first()
    profile = dealership_profile()
    customer_id = call.customer_id if call else None
    reminder = bool(call and call.purpose == Purpose.REMINDER)
    # The customer's number: the one they call from, or on a call we placed, the one we dialled.
    their_number = (call.to_number if call.direction == Direction.OUTBOUND else call.from_number) if call else ""
    reminded_about = call.appointment_id if reminder else recent_reminder_appointment(customer_id)
    caller = caller_facts(customer_id, open_requests=open_requests_for(customer_id), reminded_about=reminded_about)
    conversation = ConversationStart(
        shop=shop_facts(),
        call_sid=call_sid,
        caller_phone=their_number if their_number.startswith("+") else "",
        caller=caller,
        reminder=reminder,
        appointment=caller.reminded_about if reminder and caller is not None else None,
    )
    return StartingCall(
        call_sid=call_sid,
        from_number=their_number,
        greeting=reminders.opening(conversation, recording=CALLS_ARE_RECORDED) if reminder else profile.greeting,
        transfer_number=str(profile.transfer_phone or ""),
        conversation=conversation,
        voicemail=reminders.voicemail(conversation.shop, conversation.appointment) if reminder else "",
        answered_by=call.answered_by if call else "",
    )


def reminder_voicemail(call_sid: str) -> str:
    """The voicemail of a reminder call, for when its session cannot speak it (Twilio's own voice says it)."""
    call = Call.objects.filter(call_sid=call_sid).values("customer_id", "appointment_id").first() or {}
    caller = caller_facts(call.get("customer_id"), reminded_about=call.get("appointment_id"))
    return reminders.voicemail(shop_facts(), caller.reminded_about if caller is not None else None)


def answered_by(call_sid: str) -> str:
    """Twilio's machine detection stored on the call so far ("" when none came yet)."""
    return Call.objects.filter(call_sid=call_sid).values_list("answered_by", flat=True).first() or ""
