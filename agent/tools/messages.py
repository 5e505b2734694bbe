"""Messages for the advisors: a callback request with what the caller wants and where to call them back."""

from __future__ import annotations

from pydantic import Field

from agent.tools.base import Arguments, Change, ChangeKind, Tool, ToolContext, ToolKind, ToolRefused, ToolResult
from crm.phones import format_phone, try_normalize_phone


class TakeMessageArguments(Arguments):
    message: str = Field(
        min_length=3, max_length=1000,
        description="What the caller wants the advisors to know or do, in a sentence or two, with any details "
        "they gave (vehicle, dates, names).",
    )  # fmt: skip
    callback_number: str = Field(
        "", max_length=30,
        description="The number to call back, only if the caller gives one other than the one they are calling "
        "from (digits as said, e.g. 602 555 0199).",
    )  # fmt: skip


def _take_message(context: ToolContext, arguments: TakeMessageArguments) -> ToolResult:
    if context.records is None:
        raise ToolRefused(
            "Sorry, I can't take a message on this line; please call back during opening hours.",
            error="this conversation keeps no records",
        )
    if arguments.callback_number:
        phone = try_normalize_phone(arguments.callback_number)
        if phone is None:
            raise ToolRefused("Sorry, I didn't get the whole number; could you say it again?", error="invalid number")
    else:
        phone = try_normalize_phone(context.caller_phone)
        if phone is None:
            raise ToolRefused(
                "What number should the advisor call you back on?", hint="call again with callback_number"
            )
    callback_id = context.records.take_message(
        customer_id=context.customer_id, phone=phone, message=arguments.message
    )
    return ToolResult(
        ok=True,
        data={"callback_id": callback_id, "callback_number": format_phone(phone)},
        changes=(Change(ChangeKind.MESSAGE_TAKEN, customer_id=context.customer_id, callback_id=callback_id),),
    )


take_message = Tool(
    name="take_message",
    description=(
        "Leave a message for the service advisors, who call the caller back. Use it when the caller asks for "
        "a callback, or wants something you cannot do. Read the callback number back to them."
    ),
    arguments=TakeMessageArguments,
    kind=ToolKind.WRITE,
    run=_take_message,
)

TOOLS = [take_message]
