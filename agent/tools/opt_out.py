"""A customer who asks us to stop calling them: do-not-call is set at once, with when and how they asked.

Automated calls must honour "stop calling me" on the spot: there is no read-back and nothing to confirm, the
flag is set by the first request (crm.services.customer_set_consent keeps its history), and the agent then
says goodbye and ends the call. The source says where the customer asked: on a reminder call we placed, or on
a call they made.
"""

from __future__ import annotations

from pydantic import Field

from agent.tools.base import Arguments, Change, ChangeKind, Tool, ToolContext, ToolKind, ToolRefused, ToolResult
from agent.tools.customers import NOT_ON_FILE
from crm import services as crm_services
from crm.models import ConsentKind, ConsentSource
from crm.selectors import customer_get

STOP_CALLING = "stop_calling"
DONE = ("the customer is on do-not-call from now on: say you are sorry to have bothered them, then goodbye, "
        "and call end_call")


class StopCallingArguments(Arguments):
    said: str = Field(
        "", max_length=200, description="The customer's words asking not to be called, briefly, for the record."
    )


def _stop_calling(context: ToolContext, arguments: StopCallingArguments) -> ToolResult:
    customer = customer_get(context.customer_id) if context.customer_id is not None else None
    if customer is None:  # an unknown number: there is nobody on file to stop calling
        raise ToolRefused(f"{NOT_ON_FILE} So we won't be calling it.", hint="nothing to change")
    if customer.do_not_call:
        return ToolResult(ok=True, data={"already_do_not_call": True, "done": DONE})
    source = ConsentSource.REMINDER_CALL if context.reminder else ConsentSource.INBOUND_CALL
    where = f"call {context.call_sid}" if context.call_sid else "the phone agent"
    note = f"Asked on {where}: {arguments.said}" if arguments.said else f"Asked on {where}."
    crm_services.customer_set_consent(customer=customer, kind=ConsentKind.DO_NOT_CALL, value=True, source=source,
                                      note=note)  # fmt: skip
    return ToolResult(ok=True, data={"do_not_call": True, "done": DONE},
                      changes=(Change(ChangeKind.OPTED_OUT, customer_id=customer.pk),))  # fmt: skip


stop_calling = Tool(
    name=STOP_CALLING,
    description=(
        "The customer asks not to be called again (\"stop calling me\", \"take me off your list\"): put them on "
        "do-not-call at once, with no read-back. Then apologise briefly, say goodbye and call end_call."
    ),
    arguments=StopCallingArguments,
    kind=ToolKind.WRITE,
    run=_stop_calling,
)

TOOLS = [stop_calling]
