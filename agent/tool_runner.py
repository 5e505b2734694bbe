"""Running one tool call for an agent, the same way for every agent: in the database thread, within its time
limit, reported to the driver's recorder, and a write never cancelled once started.

A read that the caller interrupts is stopped and reported as cancelled. A write is shielded from both the
time limit and an interruption: when it overruns the limit the agent hears "still running", and once it does
finish, ``on_late_write`` tells the agent how it ended (the model agent notes it in the conversation).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from agent import metrics
from agent.events import ToolCall
from agent.records import InvocationRecorder, ToolInvocation
from agent.tools.base import ToolContext, ToolKind, ToolResult
from agent.tools.registry import SOMETHING_WENT_WRONG, TOOLS, run_tool

TOO_SLOW = "Sorry, that's taking longer than it should on my side."
# Results after which the caller's facts (name, vehicles, appointments) are read again.
IDENTIFYING = frozenset({"lookup_customer"})


class ToolRunner:
    def __init__(self, context: ToolContext, *, database, recorder: InvocationRecorder | None = None,
                 on_late_write: Callable[[ToolCall, ToolResult], None] | None = None):  # fmt: skip
        self.context = context
        self._database = database
        self._recorder = recorder
        self._on_late_write = on_late_write
        self.stale = False  # something changed the caller's facts since they were last read

    async def invoke(self, call: ToolCall, round_number: int = 1) -> ToolInvocation:
        tool = TOOLS.get(call.name)
        kind = tool.kind if tool else ToolKind.READ
        started_at, started = timezone.now(), time.monotonic()
        work = asyncio.ensure_future(self._database.run(run_tool, self.context, call))
        moment = (started_at, started, round_number)
        timed_out = False
        try:
            # A write is shielded: neither the time limit nor an interruption stops it once it has started.
            result = await asyncio.wait_for(asyncio.shield(work), timeout=settings.AGENT_TOOL_TIMEOUT_SECONDS)
        except TimeoutError:
            timed_out = True
            if kind is ToolKind.WRITE:
                work.add_done_callback(lambda done: self._late_result(call, done, moment))
            else:
                work.cancel()
            result = ToolResult.refused(TOO_SLOW, error="timed out", still_running=kind is ToolKind.WRITE)
        except asyncio.CancelledError:
            if kind is not ToolKind.WRITE:
                work.cancel()
                result = ToolResult.refused("", cancelled=True, error="stopped: the caller interrupted")
                self._report(call, kind, result, moment, cancelled=True)
                raise
            result = await work  # a write finishes, whatever happens around it
            self._report(call, kind, result, moment)
            raise
        return self._report(call, kind, result, moment, timed_out=timed_out)

    def _report(self, call: ToolCall, kind: ToolKind, result: ToolResult, moment, *,
                cancelled: bool = False, timed_out: bool = False, late: bool = False) -> ToolInvocation:  # fmt: skip
        started_at, started, round_number = moment
        if result.ok and (kind is ToolKind.WRITE or call.name in IDENTIFYING):
            self.stale = True
        invocation = ToolInvocation(call=call, kind=kind, result=result, started_at=started_at,
                                    duration_ms=(time.monotonic() - started) * 1000, round=round_number,
                                    cancelled=cancelled)  # fmt: skip
        if not late:  # a late write was counted when it overran its limit
            metrics.tool_call_finished(call.name if call.name in TOOLS else "unknown",
                                       _result_label(result, cancelled=cancelled, timed_out=timed_out),
                                       invocation.duration_ms / 1000)  # fmt: skip
        if self._recorder is not None:
            self._recorder.tool_finished(invocation)
        return invocation

    def _late_result(self, call: ToolCall, done: asyncio.Future, moment) -> None:
        """A write that overran its time limit finished after all: kept as it really ended."""
        if done.cancelled() or done.exception() is not None:
            return
        result = done.result()
        self._report(call, ToolKind.WRITE, result, moment, late=True)
        if self._on_late_write is not None:
            self._on_late_write(call, result)


def _result_label(result: ToolResult, *, cancelled: bool, timed_out: bool) -> str:
    if cancelled:
        return "cancelled"
    if timed_out:
        return "timeout"
    if result.ok:
        return "ok"
    # run_tool's own failures (an exception in the tool, a tool that does not exist) say this sentence.
    return "error" if result.say == SOMETHING_WENT_WRONG else "refused"
