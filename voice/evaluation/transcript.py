"""One evaluated conversation as plain data: the caller's lines, the agent's replies and every tool it ran."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from agent.events import AgentEvent, EndCall, Notice, TextDelta, Transfer
from agent.records import ToolInvocation


@dataclass(frozen=True)
class ToolStep:
    name: str
    arguments: dict | None
    ok: bool
    data: dict
    say: str = ""
    changed: bool = False  # the call changed the CRM (its result lists what)

    @classmethod
    def of(cls, invocation: ToolInvocation) -> ToolStep:
        result = invocation.result
        return cls(name=invocation.call.name, arguments=invocation.call.arguments, ok=result.ok,
                   data=dict(result.data), say=result.say, changed=bool(result.changes))  # fmt: skip


@dataclass
class Turn:
    """A caller's line and the agent's whole reply to it."""

    caller: str
    words: list[str] = field(default_factory=list)
    steps: list[ToolStep] = field(default_factory=list)
    ended: bool = False
    transferred: bool = False
    transfer_reason: str = ""
    notices: list[str] = field(default_factory=list)

    @property
    def reply(self) -> str:
        return "".join(self.words).strip()

    def take(self, event: AgentEvent) -> None:
        if isinstance(event, TextDelta):
            self.words.append(event.text)
        elif isinstance(event, EndCall):
            self.ended = True
        elif isinstance(event, Transfer):
            self.transferred, self.transfer_reason = True, event.reason
        elif isinstance(event, Notice):
            self.notices.append(event.text)
        # Tool events are kept through the recorder, which also hears of writes that finish late.


@dataclass
class Transcript:
    greeting: str = ""
    turns: list[Turn] = field(default_factory=list)
    lines_left: int = 0  # caller lines never said: the call was over before them
    failure: str = ""  # the agent could not go on (its model failed, or it crashed)
    crash: str = ""  # the traceback of a crash, for --verbose
    identified_customer_id: int | None = None  # whom the caller proved to be, or the account opened for them

    def begin(self, line: str) -> Turn:
        self.turns.append(Turn(caller=line))
        return self.turns[-1]

    def tool_finished(self, invocation: ToolInvocation) -> None:
        """The agent's recorder: every tool call that ran, in the turn under way when it finished."""
        if invocation.cancelled or not self.turns:
            return
        self.turns[-1].steps.append(ToolStep.of(invocation))

    @property
    def over(self) -> bool:
        """The agent ended the call or handed the caller to a person: nothing more is said to it."""
        return any(turn.ended or turn.transferred for turn in self.turns)

    @property
    def ended(self) -> bool:
        return any(turn.ended for turn in self.turns)

    @property
    def transferred(self) -> bool:
        return any(turn.transferred for turn in self.turns)

    def steps(self) -> Iterator[tuple[int, ToolStep]]:
        """(turn index, step) in the order the tools finished."""
        for index, turn in enumerate(self.turns):
            for step in turn.steps:
                yield index, step

    def replies(self) -> list[str]:
        return [turn.reply for turn in self.turns]

    def tools_used(self) -> list[str]:
        """Each tool once, in the order first used, with how often when more than once."""
        counts = Counter(step.name for _, step in self.steps())
        names = dict.fromkeys(step.name for _, step in self.steps())
        return [name if counts[name] == 1 else f"{name}x{counts[name]}" for name in names]
