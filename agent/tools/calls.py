"""Call control: the agent asks, its driver acts once the caller has heard the reply (see agent.events)."""

from __future__ import annotations

from pydantic import Field

from agent.tools.base import Arguments, Tool, ToolContext, ToolKind, ToolResult

END_CALL = "end_call"
TRANSFER = "transfer_to_person"


class EndCallArguments(Arguments):
    pass


class TransferArguments(Arguments):
    reason: str = Field(
        "", max_length=300,
        description="What the caller wants, in one short sentence, for the advisor who picks up.",
    )  # fmt: skip


def _end_call(context: ToolContext, arguments: EndCallArguments) -> ToolResult:
    return ToolResult(ok=True, data={"done": "the call ends once your goodbye has been heard"})


def _transfer(context: ToolContext, arguments: TransferArguments) -> ToolResult:
    return ToolResult(ok=True, data={"done": "the caller is put through once your words have been heard"})


end_call = Tool(
    name=END_CALL,
    description="Hang up. Call it after you have said goodbye, when the caller has nothing more.",
    arguments=EndCallArguments,
    kind=ToolKind.CONTROL,
    run=_end_call,
)

transfer_to_person = Tool(
    name=TRANSFER,
    description="Connect the caller with a service advisor (a person), after telling them you will. "
    "Give the reason so the advisor knows what the caller needs.",
    arguments=TransferArguments,
    kind=ToolKind.CONTROL,
    run=_transfer,
)

TOOLS = [transfer_to_person, end_call]
