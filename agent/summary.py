"""A finished conversation in two sentences, for the advisors (the call's page, the customer's calls).

``summarize`` asks the model (agent.providers.openai_chat.complete, blocking: it runs in Celery, not on a call's
event loop) with the prompt in templates/agent/summary.txt. What was done comes from the records, never from the
model: the actions are given to it as facts. Without a configured model, or when it fails, the two sentences are
built from the caller's own words and the actions, the same every time.
"""

from __future__ import annotations

import logging

from django.template.loader import render_to_string

from agent.events import AgentError
from agent.providers import openai_chat

logger = logging.getLogger(__name__)

SUMMARY_TEMPLATE = "agent/summary.txt"
MAX_TOKENS = 160
MAX_LINES = 120  # a long call: its first and last lines are what the summary needs
MAX_LINE_CHARS = 600
MAX_SUMMARY_CHARS = 600
MAX_QUOTED_WORDS = 25

SPEAKERS = {"caller": "Caller", "agent": "Assistant"}
NOBODY_SPOKE = "Nobody spoke with the phone assistant on this call."
NOTHING_HEARD = "The caller said nothing the phone assistant could make out."
NOTHING_DONE = "Nothing was changed in the CRM."


def summarize(*, lines: list[tuple[str, str]], actions: list[str]) -> str:
    """Two sentences: what the caller wanted, what was done. ``lines`` are (speaker, text) with speaker "caller"
    or "agent" (others are left out); ``actions`` short sentences of what the tools did."""
    lines = [(speaker, " ".join(text.split())) for speaker, text in lines if speaker in SPEAKERS and text.strip()]
    actions = [" ".join(action.split()) for action in actions if action.strip()]
    if not any(speaker == "caller" for speaker, _ in lines) or not openai_chat.is_configured():
        return fallback_summary(lines=lines, actions=actions)
    try:
        text = openai_chat.complete(_messages(lines, actions), max_tokens=MAX_TOKENS)
    except AgentError as exc:
        logger.warning("The call summary fell back to the records: %s", exc)
        return fallback_summary(lines=lines, actions=actions)
    text = _clip(" ".join(text.split()).strip('"“” '), MAX_SUMMARY_CHARS)
    return text or fallback_summary(lines=lines, actions=actions)


def _messages(lines: list[tuple[str, str]], actions: list[str]) -> list[dict]:
    if len(lines) > MAX_LINES:
        half = MAX_LINES // 2
        lines = [*lines[:half], ("agent", "[...]"), *lines[-half:]]
    transcript = "\n".join(f"{SPEAKERS[speaker]}: {_clip(text, MAX_LINE_CHARS)}" for speaker, text in lines)
    instructions = render_to_string(SUMMARY_TEMPLATE, {"actions": actions}).strip()
    return [{"role": "system", "content": instructions}, {"role": "user", "content": transcript}]


def fallback_summary(*, lines: list[tuple[str, str]], actions: list[str]) -> str:
    """The two sentences without a model: the caller's first real request in their words, then the actions."""
    said = [text for speaker, text in lines if speaker == "caller"]
    if not lines and not actions:
        first = NOBODY_SPOKE
    elif not said:
        first = NOTHING_HEARD
    else:
        request = next((text for text in said if len(text.split()) >= 3), said[0])
        words = request.split()
        quoted = " ".join(words[:MAX_QUOTED_WORDS]) + (" …" if len(words) > MAX_QUOTED_WORDS else "")
        first = f"The caller said “{quoted}”" + ("" if quoted[-1] in ".?!…" else ".")
    if not actions:
        return f"{first} {NOTHING_DONE}"
    done = [_lower_first(action.rstrip(". ")) for action in actions]
    listed = done[0] if len(done) == 1 else ", ".join(done[:-1]) + " and " + done[-1]
    return f"{first} The phone assistant {listed}."


def _lower_first(text: str) -> str:
    """"Booked an appointment" -> "booked an appointment"; "FAQs answered" stays as it is."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"
