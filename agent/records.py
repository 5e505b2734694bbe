"""What the agent hands its driver to keep: each tool call with its result, as plain data.

The agent writes no records itself (it knows nothing of calls or chats); the driver implements
``InvocationRecorder`` and stores these with its own records (the call session, with the call's turns).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agent.events import ToolCall
from agent.tools.base import ToolKind, ToolResult


@dataclass(frozen=True)
class ToolInvocation:
    call: ToolCall
    kind: ToolKind
    result: ToolResult
    started_at: datetime
    duration_ms: float
    round: int  # the model round of the caller's turn (1-4)
    cancelled: bool = False  # a read stopped by the caller's interruption (its result says so)

    @property
    def error(self) -> str:
        return "" if self.result.ok else (self.result.say or str(self.result.data.get("error", "")))


class InvocationRecorder(Protocol):
    def tool_finished(self, invocation: ToolInvocation) -> None:
        """Keep a finished tool call. Called on the event loop: must not block (queue the write)."""
        ...
