"""What an agent's reply stream yields."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict = field(default_factory=dict)


class AgentError(Exception):
    """The model could not answer (timeout, outage, refusal)."""
