"""What ``agent_eval`` prints: one row per scenario, and with --verbose each conversation as it went."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Sequence

from voice.evaluation.runner import Outcome

HEADERS = ("scenario", "passed", "turns", "tools used", "why it failed")
MIN_WIDTH, MAX_WIDTH = 100, 200


def table(outcomes: Sequence[Outcome], *, width: int | None = None) -> str:
    """A plain-text table whose last two columns wrap to fit the terminal."""
    width = width or min(max(shutil.get_terminal_size((140, 24)).columns, MIN_WIDTH), MAX_WIDTH)
    name_width = max(len(HEADERS[0]), *(len(o.scenario.name) for o in outcomes))
    fixed = name_width + len(HEADERS[1]) + len(HEADERS[2]) + 4 * 2  # three narrow columns and the gaps
    tools_width = max(24, (width - fixed) * 2 // 5)
    why_width = max(24, width - fixed - tools_width)
    widths = (name_width, len(HEADERS[1]), len(HEADERS[2]), tools_width, why_width)

    def row(cells: Sequence[str]) -> list[str]:
        wrapped = [textwrap.wrap(cell, w) or [""] for cell, w in zip(cells, widths)]
        height = max(len(lines) for lines in wrapped)
        return ["  ".join(
            (lines[i] if i < len(lines) else "").ljust(w) for lines, w in zip(wrapped, widths)
        ).rstrip() for i in range(height)]  # fmt: skip

    lines = row(HEADERS) + ["  ".join("-" * w for w in widths)]
    for outcome in outcomes:
        lines += row((
            outcome.scenario.name,
            "yes" if outcome.passed else "NO",
            str(len(outcome.transcript.turns)),
            ", ".join(outcome.transcript.tools_used()) or "-",
            "; ".join(outcome.failures),
        ))  # fmt: skip
    return "\n".join(lines)


def summary(outcomes: Sequence[Outcome]) -> str:
    passed = sum(outcome.passed for outcome in outcomes)
    return f"{passed} of {len(outcomes)} scenarios passed"


def conversation(outcome: Outcome) -> str:
    """The scenario's conversation: caller lines, agent replies, and each tool call with its result."""
    scenario, transcript = outcome.scenario, outcome.transcript
    lines = [f"=== {scenario.name}: {scenario.about}", f"    caller: {scenario.caller.describe()}"]
    if transcript.greeting:
        lines.append(f"agent:  {transcript.greeting}")
    for turn in transcript.turns:
        lines.append(f"caller: {turn.caller}")
        for step in turn.steps:
            arguments = json.dumps(step.arguments, separators=(",", ":"), default=str)
            result = json.dumps({"ok": step.ok, **step.data, **({"say": step.say} if step.say else {})},
                                separators=(",", ":"), default=str)  # fmt: skip
            lines.append(f"  tool  {step.name} {arguments}")
            lines.append(f"     -> {result}")
        for notice in turn.notices:
            lines.append(f"  note  {notice}")
        lines.append(f"agent:  {turn.reply}")
        if turn.transferred:
            lines.append(f"  (handed to a person{': ' + turn.transfer_reason if turn.transfer_reason else ''})")
        if turn.ended:
            lines.append("  (call ended)")
    if transcript.crash:
        lines.append(transcript.crash.rstrip())
    lines.append("passed" if outcome.passed else "FAILED: " + "; ".join(outcome.failures))
    return "\n".join(lines)
