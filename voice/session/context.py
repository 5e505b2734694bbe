"""What a call session needs from the database when the stream starts (read once, in the database thread):
the call, the dealership, and what the agent knows before the caller's first word."""

from __future__ import annotations

from dataclasses import dataclass


from agent.context import ConversationStart, caller_facts, shop_facts
from agent.factory import make_agent
from agent.interface import Agent
from crm.selectors import dealership_profile
from voice.models import Call, Purpose
from voice.selectors import open_requests_for


@dataclass(frozen=True)
class StartingCall:
    call_sid: str
    from_number: str
    greeting: str
    transfer_number: str
    conversation: ConversationStart

    def agent(self, *, records=None, recorder=None) -> Agent:
        """The model agent (with the offline one behind it) when a model is configured, else the offline one."""
        return make_agent(self.conversation, records=records, recorder=recorder)


def load_call_context(call_sid: str) -> StartingCall:
    call = Call.objects.select_related("customer").filter(call_sid=call_sid).first()
    profile = dealership_profile()
    customer_id = call.customer_id if call else None
    open_requests = open_requests_for(customer_id)
    from_number = call.from_number if call else ""
    conversation = ConversationStart(
        shop=shop_facts(),
        call_sid=call_sid,
        caller_phone=from_number if from_number.startswith("+") else "",
        caller=caller_facts(customer_id, open_requests=open_requests),
        reminder=bool(call and call.purpose == Purpose.REMINDER),
    )
    return StartingCall(
        call_sid=call_sid,
        from_number=from_number,
        greeting=profile.greeting,
        transfer_number=str(profile.transfer_phone or ""),
        conversation=conversation,
    )
