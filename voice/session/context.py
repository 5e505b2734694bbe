"""What a call session needs from the database when the stream starts (read once, in the database thread)."""

from __future__ import annotations

from dataclasses import dataclass

from crm.selectors import dealership_profile
from voice.agent import CallContext, ModelAgent
from voice.models import Call


@dataclass(frozen=True)
class StartingCall:
    call_sid: str
    from_number: str
    caller_name: str
    dealership: str
    greeting: str
    transfer_number: str

    def agent(self):
        return ModelAgent(CallContext(dealership=self.dealership, caller_name=self.caller_name))


def load_call_context(call_sid: str) -> StartingCall:
    call = Call.objects.select_related("customer").filter(call_sid=call_sid).first()
    profile = dealership_profile()
    customer = call.customer if call else None
    return StartingCall(
        call_sid=call_sid,
        from_number=call.from_number if call else "",
        caller_name=customer.full_name if customer else "",
        dealership=profile.name,
        greeting=profile.greeting,
        transfer_number=str(profile.transfer_phone or ""),
    )
