"""Short lines for dead air while tools run: one that fits the tools, never the same twice in a row."""

from __future__ import annotations

import random
from collections.abc import Sequence

from agent.events import ToolCall

LINES = {
    "slots": ("Let me look at the schedule.", "One moment while I check what's open.", "Let me see what we have."),
    "booking": ("Okay, I'm putting that in now.", "One moment while I set that up.", "Let me get that booked."),
    "change": ("One moment while I update that.", "Okay, let me take care of that.", "Let me make that change."),
    "knowledge": ("Let me check that for you.", "Good question, one moment.", "Let me look that up."),
    "records": ("Let me pull up your records.", "One moment while I find that.", "Let me take a look."),
    "any": ("One moment please.", "Just a moment.", "Bear with me one second."),
}

_TOPIC_OF = {
    "get_available_slots": "slots",
    "list_services": "slots",
    "book_appointment": "booking",
    "reschedule_appointment": "change",
    "cancel_appointment": "change",
    "confirm_appointment": "change",
    "stop_calling": "change",
    "search_knowledge": "knowledge",
    "lookup_customer": "records",
    "get_upcoming_appointments": "records",
    "vehicle_status": "records",
    "create_customer": "records",
    "add_vehicle": "records",
}


class Fillers:
    """Per conversation: remembers the last line spoken, so the next one differs."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self.last = ""

    def pick(self, calls: Sequence[ToolCall]) -> str:
        topics = [_TOPIC_OF[c.name] for c in calls if c.name in _TOPIC_OF]
        lines = [line for line in LINES[topics[0] if topics else "any"] if line != self.last]
        self.last = self._random.choice(lines)
        return self.last
