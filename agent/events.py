"""What an agent's reply yields to whoever drives it (a call session, the admin's chat, an evaluation).

The model's own stream (agent.providers) yields ``TextDelta`` and ``ToolCall``; the agent's tool loop turns
tool calls into ``ToolsStarted`` / ``ToolFinished`` and, for call control, ``EndCall`` / ``Transfer``: the
agent knows nothing of phones, so hanging up and handing over are left to the driver, which carries them out
only once the caller has heard the reply that asked for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.tools.base import ToolResult


@dataclass(frozen=True)
class TextDelta:
    """Words of the reply, as the model streams them."""

    text: str


@dataclass(frozen=True)
class TextDone:
    """The model's words for this round are over (it is writing tool calls now): a driver that holds back the
    last words until it sees what follows them can say them at once."""


@dataclass(frozen=True)
class ToolCall:
    """One tool call asked for by the model: ``arguments`` as it sent them (None when they were not JSON)."""

    id: str
    name: str
    arguments: dict | None = field(default_factory=dict)
    raw_arguments: str = ""


@dataclass(frozen=True)
class ToolsStarted:
    """A round of tool calls begins; ``filler`` is a short line that fits them, for a driver with dead air."""

    calls: tuple[ToolCall, ...]
    filler: str = ""


@dataclass(frozen=True)
class ToolFinished:
    """One tool call's result (also reported to the driver's recorder, which keeps it)."""

    call: ToolCall
    result: ToolResult


@dataclass(frozen=True)
class EndCall:
    """Hang up once the caller has heard this reply."""


@dataclass(frozen=True)
class Transfer:
    """Hand the caller to a person once they have heard this reply; ``whisper`` is what the person hears first."""

    whisper: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Notice:
    """Something the driver keeps as a system note of the conversation, not said to the caller (the agent went
    on without its model, say)."""

    text: str


AgentEvent = TextDelta | TextDone | ToolsStarted | ToolFinished | EndCall | Transfer | Notice


class AgentError(Exception):
    """The model could not answer (timeout, outage, refusal, malformed output)."""
