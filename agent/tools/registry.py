"""Every tool the agent has, by name, and running one: validate, call, turn refusals into spoken sentences."""

from __future__ import annotations

import functools
import logging

from agent.events import ToolCall
from agent.tools import appointments, calls, customers, knowledge, messages, opt_out
from agent.tools.base import Tool, ToolContext, ToolKind, ToolRefused, ToolResult
from crm.errors import ServiceError

logger = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side with that."

_TOOLS: list[Tool] = [*customers.TOOLS, *appointments.TOOLS, *knowledge.TOOLS, *messages.TOOLS, *opt_out.TOOLS,
                      *calls.TOOLS]  # fmt: skip
TOOLS: dict[str, Tool] = {tool.name: tool for tool in _TOOLS}


@functools.cache
def _schemas() -> tuple[dict, ...]:
    return tuple(tool.schema() for tool in TOOLS.values())


def tool_schemas() -> list[dict]:
    """Every tool's schema for the model's request (generated once: pydantic's schema building is not free)."""
    return list(_schemas())


def kind_of(name: str) -> ToolKind | None:
    tool = TOOLS.get(name)
    return tool.kind if tool else None


def run_tool(context: ToolContext, call: ToolCall) -> ToolResult:
    """Run one tool call (in the database thread). Never raises for bad input or a refusal: the result says it."""
    tool = TOOLS.get(call.name)
    if tool is None:
        return ToolResult.refused(SOMETHING_WENT_WRONG, error=f"there is no tool called {call.name!r}")
    try:
        arguments = tool.validate(call.arguments)
        return tool.run(context, arguments)
    except ToolRefused as refusal:
        return ToolResult.refused(refusal.say, **refusal.data)
    except ServiceError as exc:  # a service's own sentence, fit to be spoken
        return ToolResult.refused(str(exc), code=getattr(exc, "code", ""))
    except Exception:
        logger.exception("call %s: tool %s failed", context.call_sid, call.name)
        return ToolResult.refused(SOMETHING_WENT_WRONG, error="internal error")
