"""The conversation as the model reads it: OpenAI-style messages, kept well formed whatever happens.

Two rules the model's API enforces, and that other voice agents broke at an interruption (a model then
re-issued the same tool call over and over): an assistant message with ``tool_calls`` is followed by exactly
one ``tool`` message per call, and no other message comes between them. Here a tool round is appended whole,
its results filled in place as they arrive (a read stopped by an interruption reads "cancelled"; a write is
never stopped and its result always lands), so the pair is complete before the next request is built.

Only what the caller heard stays as the agent's words: after a reply ends or is cut, ``settle_heard`` trims
that reply's assistant text to the words the driver says were heard (tool calls and results stay).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from agent.events import ToolCall

PENDING = object()  # a tool message whose result has not arrived yet
CANCELLED_READ = json.dumps({"ok": False, "cancelled": True, "error": "stopped: the caller interrupted"})


class Conversation:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self._reply_from: int | None = None  # index of the first message of the reply in progress

    # --------------------------------------------------------------- the caller and the driver's own words

    def add_user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})

    def add_said(self, text: str) -> None:
        """Words the driver spoke itself (a greeting, "are you still there?") that the caller heard."""
        if text:
            self.messages.append({"role": "assistant", "content": text})

    def add_note(self, text: str) -> None:
        """Something the model must know before it answers next (a late tool result)."""
        self.messages.append({"role": "system", "content": text})

    # --------------------------------------------------------------- a reply

    def begin_reply(self) -> None:
        self._reply_from = len(self.messages)

    def add_text(self, text: str) -> None:
        if text:
            self.messages.append({"role": "assistant", "content": text})

    def add_tool_round(self, text: str, calls: Sequence[ToolCall]) -> dict[str, dict]:
        """The assistant's tool calls and one pending tool message per call; returns those by call id."""
        self.messages.append({
            "role": "assistant",
            "content": text or None,
            "tool_calls": [{"id": call.id, "type": "function",
                            "function": {"name": call.name, "arguments": _arguments_json(call)}} for call in calls],
        })  # fmt: skip
        results = {}
        for call in calls:
            message = {"role": "tool", "tool_call_id": call.id, "content": PENDING}
            self.messages.append(message)
            results[call.id] = message
        return results

    @staticmethod
    def fill(message: dict, content: str) -> None:
        if message["content"] is PENDING:
            message["content"] = content

    def pending(self) -> bool:
        return any(m.get("content") is PENDING for m in self.messages)

    def for_model(self, system_prompt: str) -> list[dict]:
        """The request's messages. Every tool message must have its result by now."""
        assert not self.pending(), "a tool result is still pending"
        return [{"role": "system", "content": system_prompt}, *self.messages]

    def withdraw(self, start: int) -> None:
        """Forget every message from ``start`` on (a caller turn that was not final, and the reply begun on it),
        except the notes the model must still read (a late write's result)."""
        self.messages[start:] = [m for m in self.messages[start:] if m["role"] == "system"]
        self._reply_from = None

    def settle_heard(self, heard: str) -> None:
        """Keep of the last reply's words only the first ``len(heard.split())``, the ones the caller heard."""
        if self._reply_from is None:
            return
        budget = len(heard.split())
        kept: list[dict] = []
        for message in self.messages[self._reply_from :]:
            if message["role"] != "assistant" or not message.get("content"):
                kept.append(message)
                continue
            words = message["content"].split()
            if budget >= len(words):
                budget -= len(words)
                kept.append(message)
                continue
            text = " ".join(words[:budget])
            budget = 0
            if message.get("tool_calls"):
                kept.append({**message, "content": text or None})
            elif text:
                kept.append({**message, "content": text})
        self.messages[self._reply_from :] = kept
        self._reply_from = None


def _arguments_json(call: ToolCall) -> str:
    if call.arguments is None:  # not JSON: sent back as empty, and the tool's result says what was wrong
        return "{}"
    return json.dumps(call.arguments, separators=(",", ":"))
