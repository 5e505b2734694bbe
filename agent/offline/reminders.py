"""The offline agent on a reminder call, with a customer calling back about one, and with "stop calling me".

On a reminder call the session has already said the opening (agent.reminders.opening): the appointment with
its weekday and time, and "Can you confirm you'll be there?". That is the read-back of a confirmation, so the
dialogue starts awaiting its answer: a "yes" confirms, once the opening was heard whole (like any read-back);
a "no" asks whether to move or cancel it; a day or time said instead moves it there (offering real openings).

A customer calling back after a reminder call (or its voicemail) who says so ("you called me about my
appointment", "I got your message") hears which appointment it was about, and is asked whether to confirm,
move or cancel it; each of those then goes through its own read-back.

"Stop calling me" needs no read-back: do-not-call is set on the spot and the call ends politely.
"""

from __future__ import annotations

import re

from agent import reminders
from agent.context import AppointmentFacts
from agent.events import EndCall
from agent.offline import phrases
from agent.offline.state import Job
from agent.offline.understanding import Intent, is_no, is_yes, words_of
from agent.offline.when import understand_when
from agent.tools.calls import END_CALL
from agent.tools.opt_out import STOP_CALLING
from scheduling.models import AppointmentStatus

# Appointment states a reminder's answer can still change (AppointmentFacts carries the status's label).
_CHANGEABLE = {AppointmentStatus.BOOKED.label, AppointmentStatus.CONFIRMED.label}
_ANOTHER_TIME = r"\b(move|change|another|different|other|later|earlier)\b.*\b(it|time|day|date)\b|\breschedule\b"
_KEEP = r"\b(confirm|keep it|keep the|i'll be there|i will be there|we'll be there)\b"


def job_appointment(facts: AppointmentFacts) -> dict:
    """An appointment as the jobs know one (the shape get_upcoming_appointments gives)."""
    return {"appointment_id": facts.id, "start": facts.start, "spoken": facts.spoken,
            "services": list(facts.service_names), "vehicle": facts.vehicle}  # fmt: skip


class Reminders:
    """Mixed into OfflineAgent: it uses the agent's state, ``_ask``, ``_say``, ``_tool`` and ``_advance``."""

    _opening_unheard = False  # a reminder call whose opening the driver has not reported as said yet

    def _begin_reminder_call(self) -> None:
        """A reminder call starts awaiting the answer to its opening."""
        if not self._start.reminder:
            return
        self._opening_unheard = True
        appointment = self._start.appointment
        if appointment is None or appointment.status not in _CHANGEABLE:
            self._state.awaiting = "reminder_choice"  # the opening asked to confirm, move or cancel
            return
        self._state.job = Job(kind="confirm", appointment=job_appointment(appointment))
        self._state.awaiting = "readback"
        self._state.readback_heard = False  # until the driver says the opening was heard to its end

    def _opening_said(self, heard: str) -> None:
        """The driver's first words on a reminder call are the opening: a yes counts only if it was heard whole."""
        if not self._opening_unheard:
            return
        self._opening_unheard = False
        if self._state.awaiting == "readback":
            self._state.readback_heard = reminders.heard_whole_opening(heard, self._start)

    def _reminded_facts(self) -> AppointmentFacts | None:
        return self._caller.reminded_about if self._caller is not None else None

    def _reminded_id(self) -> int | None:
        facts = self._reminded_facts()
        return facts.id if facts is not None else None

    def _about_reminder(self, job: Job) -> bool:
        return job.appointment is not None and job.appointment.get("appointment_id") == self._reminded_id()

    # --------------------------------------------------------------- answers

    async def _on_reminder_choice(self, text: str, intent: Intent | None) -> bool:
        """The answer to "would you like to confirm it, move it, or cancel it?"."""
        said = words_of(text)
        when = understand_when(text, today=self._today())
        if intent is Intent.CANCEL:
            kind = "cancel"
        elif intent is Intent.MOVE or re.search(_ANOTHER_TIME, said) or when.said_anything:
            kind = "move"
        elif intent is Intent.CONFIRM or re.search(_KEEP, said) or is_yes(text):
            kind = "confirm"
        elif is_no(text):
            self._ask("anything_else", phrases.NOTHING_CHANGED)
            return True
        else:
            return False
        self._done_asking()
        facts = self._reminded_facts()
        self._state.job = Job(kind=kind, appointment=job_appointment(facts) if facts is not None else None)
        await self._absorb(text)
        await self._advance()  # each of them through its own read-back
        return True

    async def _reminder_readback_answer(self, text: str, intent: Intent | None) -> bool | None:
        """The reminder's own "can you confirm?" answered with something else than yes: no, another time, or
        another job. None when the answer is not about the reminder (the read-back's usual rules apply)."""
        job = self._state.job
        if job is None or job.kind != "confirm" or not self._about_reminder(job) or is_yes(text):
            return None
        if intent in {Intent.MOVE, Intent.CANCEL}:
            self._state.job = None  # a new job on the same appointment (the reminded one is preferred)
            return False
        when = understand_when(text, today=self._today())
        if when.said_anything:  # "can we do Thursday instead?": a move, offered at real openings
            self._state.job = Job(kind="move", appointment=job.appointment)
            await self._absorb(text)
            await self._advance()
            return True
        if is_no(text):
            self._state.job = None
            self._ask("reminder_choice", phrases.MOVE_OR_CANCEL)
            return True
        return None

    async def _reminded(self, text: str) -> None:
        """ "You called me about my appointment": which one, and what they would like to do."""
        facts = self._reminded_facts()
        if self.tool_context.customer_id is None or facts is None:
            await self._upcoming(text)  # no reminder call we know of: their appointments, after identifying them
            return
        if facts.status not in _CHANGEABLE:
            self._ask("anything_else", phrases.reminded_inactive(job_appointment(facts), facts.status),
                      phrases.ANYTHING_ELSE)  # fmt: skip
            return
        self._ask("reminder_choice", phrases.reminded(job_appointment(facts)))

    async def _stop_calling(self, text: str) -> None:
        """Do-not-call at once, then a polite goodbye (nothing to read back: nothing is booked or changed)."""
        self._state.job = None
        self._done_asking()
        result = await self._tool(STOP_CALLING, said=text[:200])
        if not result.ok:
            self._ask("anything_else", result.say or phrases.SOMETHING_WRONG, phrases.ANYTHING_ELSE)
            return
        await self._tool(END_CALL)
        self._say(phrases.OPTED_OUT)
        assert self._reply is not None
        self._reply.control = EndCall()
