"""The offline agent's jobs that change appointments: book, move, cancel, confirm.

Each job gathers what it needs in a fixed order (who the caller is, which service, which car, which day and
time, which appointment), asking for the first thing missing; offers only the times ``get_available_slots``
returns; reads the change back with the weekday and the time; and makes it only on a yes to that read-back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from agent.offline import phrases
from agent.offline.state import Job
from agent.offline.understanding import (
    Intent,
    car_of,
    is_no,
    is_yes,
    ordinal_choice,
    services_named,
    vehicle_choice,
    words_of,
)
from agent.offline.when import TimeRequest, understand_when

MAX_OFFERED = 3
MAX_RANGE_DAYS = 14
MAX_ASKS = 3  # the same question unanswered this often: offer a person or a message instead
JOBS = {Intent.BOOK, Intent.MOVE, Intent.CANCEL, Intent.CONFIRM}


class Jobs:
    """Mixed into OfflineAgent: it uses the agent's state, ``_ask``, ``_say``, ``_tool`` and its readers."""

    async def _on_service(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None or intent in JOBS | {Intent.QUESTION, Intent.HOURS, Intent.PRICE} and not services_named(
            text, await self._service_menu()
        ):
            return False
        await self._absorb(text)
        await self._advance()
        return True

    async def _on_vehicle(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None:
            return False
        car = car_of(text)
        if car is not None and vehicle_choice(text, self._vehicles()) is None:
            return await self._add_vehicle(car)
        await self._absorb(text)
        if job.vehicle is None and intent in JOBS | {Intent.QUESTION}:
            return False
        await self._advance()
        return True

    async def _on_new_vehicle(self, text: str, intent: Intent | None) -> bool:
        car = car_of(text)
        if car is None:
            if intent is not None and intent not in {Intent.BOOK}:
                return False
            self._ask("new_vehicle", phrases.WHICH_CAR_NEW_AGAIN)
            return True
        return await self._add_vehicle(car)

    async def _add_vehicle(self, car) -> bool:
        result = await self._tool("add_vehicle", year=car.year, make=car.make, model=car.model)
        if not result.ok:
            self._ask("new_vehicle", result.say, phrases.WHICH_CAR_NEW_AGAIN)
            return True
        await self._refresh_facts()
        if self._state.job is not None:
            self._state.job.vehicle = {"id": result.data["vehicle_id"],
                                       "name": result.data.get("name") or f"{car.year} {car.make} {car.model}"}  # fmt: skip
        self._done_asking()
        await self._advance()
        return True

    async def _on_time(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None:
            return False
        when = understand_when(text, today=self._today())
        if not when.said_anything:
            if intent is not None and intent is not Intent.BOOK:
                return False
            await self._absorb(text)
            if self._state.asked >= MAX_ASKS:
                self._ask("help_choice", phrases.CANNOT_HELP)
            else:
                self._ask("time", phrases.WHEN_AGAIN)
            return True
        await self._absorb(text)
        await self._advance()
        return True

    async def _on_choice(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None or not job.offered:
            return False
        picked = self._pick_offered(text, job.offered)
        if picked is not None:
            job.chosen = picked
            self._done_asking()
            await self._advance()
            return True
        when = understand_when(text, today=self._today())
        if when.said_anything:
            job.when = merged(job.when, when) if not when.first_day else when
            job.chosen, job.offered = None, []
            await self._advance()
            return True
        if is_no(text):
            job.when, job.offered = TimeRequest(), []
            self._ask("time", phrases.OTHER_TIME)
            return True
        if intent is not None:
            return False
        self._ask("choice", phrases.which_of(job.offered))
        return True

    async def _on_readback(self, text: str, intent: Intent | None) -> bool:
        state, job = self._state, self._state.job
        if job is None:
            return False
        about_reminder = await self._reminder_readback_answer(text, intent)
        if about_reminder is not None:
            return about_reminder
        if is_yes(text) and not understand_when(text, today=self._today()).clock:
            if not state.readback_heard:
                self._read_back()
                return True
            self._done_asking()
            await self._carry_out()
            return True
        when = understand_when(text, today=self._today())
        if when.said_anything and job.kind in {"book", "move"}:
            job.when = when if when.first_day else merged(job.when, when)
            job.chosen, job.offered = None, []
            await self._advance()
            return True
        if is_no(text):
            if job.kind in {"book", "move"}:
                job.chosen, job.offered, job.when = None, [], TimeRequest()
                self._ask("time", phrases.WHAT_TO_CHANGE)
            else:
                state.job = None
                self._ask("anything_else", phrases.NOTHING_CHANGED)
            return True
        if intent is not None:
            state.job = None
            return False
        self._read_back(again=True)
        return True

    async def _on_which_appointment(self, text: str, intent: Intent | None) -> bool:
        job = self._state.job
        if job is None or not job.choices:
            return False
        picked = self._pick_appointment(text, job.choices)
        if picked is None:
            if intent is not None:
                return False
            self._ask("which_appointment", phrases.which_appointment(job.choices))
            return True
        job.appointment, job.choices = picked, []
        self._done_asking()
        await self._advance()
        return True

    async def _advance(self) -> None:
        """Ask for the first thing the job still needs; with everything known, read it back."""
        state, job = self._state, self._state.job
        if job is None:
            return
        if self.tool_context.customer_id is None:
            state.resume, state.job = job, None
            await self._identify()
            return
        if job.kind == "book":
            await self._advance_booking(job)
        elif job.appointment is None:
            await self._find_appointment(job)
        elif job.kind == "move":
            if not job.when.said_anything and job.chosen is None:
                self._ask("time", phrases.move_when(job.appointment))
                return
            await self._advance_times(job)
        else:
            self._read_back()

    async def _advance_booking(self, job: Job) -> None:
        if not job.services:
            self._ask("service", phrases.WHICH_SERVICE)
            return
        if job.vehicle is None:
            vehicles = self._vehicles()
            if len(vehicles) == 1:
                job.vehicle = vehicles[0]
            elif not vehicles and self._state.car is not None:
                car, self._state.car = self._state.car, None  # said already: added once, not retried
                await self._add_vehicle(car)
                return
            elif not vehicles:
                self._ask("new_vehicle", phrases.WHICH_CAR_NEW)
                return
            else:
                self._ask("vehicle", phrases.which_vehicle(vehicles))
                return
        await self._advance_times(job)

    async def _advance_times(self, job: Job) -> None:
        if job.chosen is not None:
            self._read_back()
            return
        when = job.when
        if when.unclear:
            self._ask("time", phrases.unclear(when.unclear))
            return
        if not when.said_anything:
            self._ask("time", phrases.WHEN)
            return
        if when.clock is not None and when.first_day is None and not when.earliest:
            self._ask("time", phrases.which_day_at(when.clock))
            return
        await self._look_for_times(job)

    async def _look_for_times(self, job: Job) -> None:
        when = job.when
        arguments: dict = {"service_ids": await self._service_ids(job)}
        if when.first_day is not None and not when.earliest or when.first_day and when.last_day:
            last = when.last_day or when.first_day
            last = min(last, when.first_day + dt.timedelta(days=MAX_RANGE_DAYS))
            if last == when.first_day:
                arguments["date"] = when.first_day.isoformat()
            else:
                arguments["from_date"], arguments["to_date"] = when.first_day.isoformat(), last.isoformat()
        if when.part_of_day:
            arguments["part_of_day"] = when.part_of_day
        after = when.after or (when.clock if when.clock is not None else None)
        if after is not None:
            arguments["after"] = after.strftime("%H:%M")
        result = await self._tool("get_available_slots", **arguments)
        if not result.ok:
            options = result.data.get("next_openings") or result.data.get("alternatives") or []
            job.offered = options[:MAX_OFFERED]
            self._ask("choice" if job.offered else "time", result.say,
                      phrases.which_of(job.offered) if job.offered else phrases.OTHER_TIME)  # fmt: skip
            return
        slots = [s for s in result.data.get("slots", []) if _before(s, when.before)]
        if when.clock is not None:
            exact = next((s for s in slots if _clock_of(s) == when.clock), None)
            if exact is not None:
                job.chosen = exact
                self._read_back()
                return
            if slots:
                job.offered = slots[:MAX_OFFERED]
                self._ask("choice", phrases.not_open_at(when.clock), phrases.offer(job.offered))
                return
        if slots:
            job.offered = slots[:MAX_OFFERED]
            self._ask("choice", phrases.offer(job.offered, earliest=when.earliest))
            return
        options = (result.data.get("next_openings") or [])[:MAX_OFFERED]
        job.offered = options
        if options:
            self._ask("choice", result.say or phrases.NOTHING_THEN, phrases.which_of(options))
        else:
            self._ask("time", result.say or phrases.NOTHING_THEN, phrases.OTHER_TIME)

    async def _find_appointment(self, job: Job) -> None:
        result = await self._tool("get_upcoming_appointments")
        movable = [a for a in result.data.get("appointments", []) if a.get("status") in {"booked", "confirmed"}]
        if not movable:
            self._state.job = None
            self._ask("anything_else", phrases.NO_APPOINTMENTS)
            return
        if len(movable) == 1:
            job.appointment = movable[0]
            await self._advance()
            return
        picked = self._pick_appointment(" ".join(self._pending_context()), movable)
        if picked is None:  # none named: the one our reminder call was about, if it is among them
            picked = next((a for a in movable if a["appointment_id"] == self._reminded_id()), None)
        if picked is not None:
            job.appointment = picked
            await self._advance()
            return
        job.choices = movable[:4]
        self._ask("which_appointment", phrases.which_appointment(job.choices))

    def _read_back(self, *, again: bool = False) -> None:
        job = self._state.job
        assert job is not None
        self._state.readback_heard = True
        self._ask("readback", phrases.read_back(job, again=again))

    async def _carry_out(self) -> None:
        state, job = self._state, self._state.job
        assert job is not None
        if job.kind == "book":
            assert job.vehicle is not None and job.chosen is not None
            extra = {"transport": job.transport} if job.transport else {}
            result = await self._tool("book_appointment", vehicle_id=job.vehicle["id"],
                                      service_ids=await self._service_ids(job), start=job.chosen["start"],
                                      **extra)  # fmt: skip
        elif job.kind == "move":
            assert job.appointment is not None and job.chosen is not None
            result = await self._tool("reschedule_appointment", appointment_id=job.appointment["appointment_id"],
                                      start=job.chosen["start"])  # fmt: skip
        elif job.kind == "cancel":
            assert job.appointment is not None
            result = await self._tool("cancel_appointment", appointment_id=job.appointment["appointment_id"])
        else:
            assert job.appointment is not None
            result = await self._tool("confirm_appointment", appointment_id=job.appointment["appointment_id"])
        if result.ok:
            state.job = None
            self._ask("anything_else", phrases.done(job), phrases.ANYTHING_ELSE)
            return
        alternatives = result.data.get("alternatives") or []
        if alternatives and job.kind in {"book", "move"}:
            job.chosen, job.offered = None, alternatives[:MAX_OFFERED]
            self._ask("choice", result.say, phrases.which_of(job.offered))
            return
        state.job = None
        self._ask("help_choice", result.say or phrases.SOMETHING_WRONG, phrases.MESSAGE_OR_PERSON)

    async def _service_ids(self, job: Job) -> list[int]:
        if job.services:
            return [s["id"] for s in job.services]
        names = set((job.appointment or {}).get("services", []))
        return [s["id"] for s in await self._service_menu() if s["name"] in names]

    def _pick_offered(self, text: str, offered: list[dict]) -> dict | None:
        index = ordinal_choice(text, len(offered))
        if index is not None:
            return offered[index]
        when = understand_when(text, today=self._today())
        if when.clock is None:
            return None
        fitting = [s for s in offered if _clock_of(s) == when.clock
                   and (when.first_day is None or _day_of(s) == when.first_day)]  # fmt: skip
        return fitting[0] if len(fitting) == 1 else None

    def _pick_appointment(self, text: str, appointments: list[dict]) -> dict | None:
        if not text:
            return None
        index = ordinal_choice(text, len(appointments))
        if index is not None and "one" in words_of(text):
            return appointments[index]
        when = understand_when(text, today=self._today())
        fitting = appointments
        if when.first_day is not None:
            fitting = [a for a in fitting if _day_of(a) == when.first_day]
        named = services_named(text, self._menu or [])
        if named:
            names = {s["name"] for s in named}
            fitting = [a for a in fitting if names & set(a.get("services", []))]
        if fitting is appointments:
            return None
        return fitting[0] if len(fitting) == 1 else None


def merged(old: TimeRequest, new: TimeRequest) -> TimeRequest:
    """A newer answer refines the time asked for: a new day replaces the day (and its times unless given
    again); a time alone keeps the day."""
    if new.first_day is not None or new.earliest or new.unclear:
        return new
    return replace(old, clock=new.clock or old.clock, part_of_day=new.part_of_day or old.part_of_day,
                   after=new.after or old.after, before=new.before or old.before, unclear=new.unclear)  # fmt: skip


def _moment(slot: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(slot["start"])


def _clock_of(slot: dict) -> dt.time:
    return _moment(slot).time().replace(tzinfo=None)


def _day_of(slot: dict) -> dt.date:
    return _moment(slot).date()


def _before(slot: dict, limit: dt.time | None) -> bool:
    return limit is None or _clock_of(slot) < limit
