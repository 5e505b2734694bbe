"""What the fake OpenAI says: scripted replies, injected failures, and token splitting."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union


@dataclass
class Reply:
    """One assistant turn: text, tool calls, or both (text streams first).

    tool_calls: [(function_name, arguments_dict), ...].
    The optional fields override the server's defaults for this reply only.
    """

    text: str | None = None
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    first_token_delay: float | None = None
    tokens_per_second: float | None = None
    finish_reason: str | None = None
    model: str | None = None

    @property
    def effective_finish_reason(self) -> str:
        if self.finish_reason:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


Responder = Callable[[list[dict[str, Any]]], Union[Reply, str]]


def as_reply(value: Reply | str | Sequence[tuple[str, dict[str, Any]]]) -> Reply:
    """Accept a Reply, a plain string, or a list of (name, args) tool calls."""
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply(text=value)
    return Reply(tool_calls=[(name, dict(args)) for name, args in value])


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def default_responder(messages: list[dict[str, Any]]) -> Reply:
    """A short deterministic answer derived from the last user message."""
    for message in reversed(messages):
        if message.get("role") == "user":
            heard = " ".join(message_text(message).split())
            return Reply(text=f"Okay. You said: {heard}" if heard else "Okay.")
    return Reply(text="Hello, how can I help you today?")


_TOKEN = re.compile(r"\s*\S+|\s+$")


def split_tokens(text: str) -> list[str]:
    """Word-ish tokens, each carrying its leading whitespace, so "".join(tokens) == text."""
    return _TOKEN.findall(text) if text else []


def split_arguments(arguments: str, piece: int = 8) -> list[str]:
    """Cut a tool call's JSON arguments into fragments, as the API streams them."""
    return [arguments[i : i + piece] for i in range(0, len(arguments), piece)] or [""]


def arguments_json(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, separators=(",", ":"))


@dataclass
class Failure:
    """An injected failure for one request.

    kind:
      "status" - answer `status` with an OpenAI-style JSON error body
      "hang"   - accept the request and never answer, until the client gives up
      "stall"  - (streams) send headers and the role chunk, then nothing more
      "drop"   - (streams) abort the TCP connection after `after_tokens` tokens
    """

    kind: str
    status: int = 500
    message: str | None = None
    retry_after_ms: int | None = None
    after_tokens: int = 2


_ERROR_TYPES = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind, code, default_message = _ERROR_TYPES.get(status, ("server_error", None, "Error."))
    return {"error": {"message": message or default_message, "type": kind, "param": None, "code": code}}
