"""Who a caller is, when their number does not say: the offline agent's part that asks for it.

A caller on another number proves who they are by name and plate (the lookup tool checks both, and allows
three failed tries per conversation); a new caller gives their name and confirms the number they call from
before an account is made. Callers often say these before they are asked ("this is Dana Whitfield, I've
never been to your shop"), so every caller line is read for them (``_gather_identity``), and only what is
still missing is asked.
"""

from __future__ import annotations

import re

from agent import context as facts
from agent.offline import phrases
from agent.offline.understanding import Intent, car_of, is_no, is_yes, name_of, plate_of, says_new_customer
from agent.tools.customers import MAX_FAILED_IDENTIFICATIONS

# "my name is Dana Whitfield", "this is Nicholas Davis": a name said with its cue, in capitals as transcribed.
_NAME_SAID = re.compile(r"\b(?:my name is|my name's|this is|i'm|i am|it's)\s+([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){1,2})")
_PLATE_SAID = re.compile(r"\b(?:plate|plates|tag)\b(?:\s+(?:number|is|it's|reads))*\s+(.{2,12}?)(?:[.,;!?]|$)",
                         re.IGNORECASE)  # fmt: skip
_NUMBER_IS_MINE = re.compile(
    r"\b(number|phone|cell)\b.*\b(calling from|reach me|is mine|is my (cell|number|phone))\b|"
    r"\breach me (on|at) (it|this|that)\b",
    re.IGNORECASE,
)


class Identification:
    """Mixed into OfflineAgent: it uses the agent's state, ``_ask``, ``_say``, ``_tool`` and ``_advance``."""

    def _gather_identity(self, text: str) -> None:
        """Take what the caller volunteers about who they are (only while nobody is identified)."""
        state = self._state
        car = car_of(text)
        if car is not None:
            state.car = car
        if self.tool_context.customer_id is not None:
            return
        named = _NAME_SAID.search(text)
        if named is not None:
            state.name = name_of(named.group(1)) or state.name
        plate = _PLATE_SAID.search(text)
        if plate is not None:
            state.plate = plate_of(plate.group(1)) or state.plate
        if says_new_customer(text):
            state.new_customer = True
        if _NUMBER_IS_MINE.search(text):
            state.number_confirmed = True

    async def _identify(self) -> None:
        """Ask for what is still missing to know the caller, or look them up, or set them up."""
        state = self._state
        if self.tool_context.failed_identifications >= MAX_FAILED_IDENTIFICATIONS:
            state.resume = None
            self._ask("help_choice", phrases.CANNOT_IDENTIFY, phrases.MESSAGE_OR_PERSON)
            return
        if state.name is None:
            self._ask("name", phrases.ASK_NAME)
            return
        if state.new_customer:
            await self._set_up_new_customer()
            return
        if state.plate is None:
            self._ask("plate", phrases.ask_plate(state.name[0]))
            return
        plate, state.plate = state.plate, None  # tried once; a wrong one is asked again
        result = await self._tool("lookup_customer", name=" ".join(state.name), plate=plate)
        if result.ok and self.tool_context.customer_id is not None:
            await self._refresh_facts()
            first = self._caller.first_name if self._caller else state.name[0]
            self._say(phrases.found_you(first))
            await self._identified()
            return
        if self.tool_context.failed_identifications >= MAX_FAILED_IDENTIFICATIONS:
            state.resume = None
            self._ask("help_choice", result.say or phrases.CANNOT_IDENTIFY, phrases.MESSAGE_OR_PERSON)
            return
        self._ask("plate", result.say or phrases.NO_MATCH, phrases.PLATE_OR_NEW)

    async def _set_up_new_customer(self) -> None:
        state = self._state
        if not self._start.caller_phone:
            state.resume = None
            self._ask("help_choice", phrases.WITHHELD_NUMBER)
            return
        if not state.number_confirmed:
            self._ask("confirm_number", phrases.confirm_number(facts.spoken_number(self._start.caller_phone)))
            return
        result = await self._tool("create_customer", first_name=state.name[0], last_name=state.name[1],
                                  confirm_phone_is_callers_number=True)  # fmt: skip
        if not result.ok:
            state.resume = None
            self._ask("help_choice", result.say, phrases.MESSAGE_OR_PERSON)
            return
        await self._refresh_facts()
        self._say(phrases.welcome_new(state.name[0]))
        await self._identified()

    async def _identified(self) -> None:
        """Go on with what the caller wanted before they were asked who they are."""
        state = self._state
        self._done_asking()
        resume, state.resume = state.resume, None
        if resume is Intent.STATUS:
            await self._status("")
        elif resume is Intent.UPCOMING:
            await self._upcoming("")
        elif resume is not None:
            state.job = resume
            await self._advance()
        else:
            self._ask("anything_else", phrases.HOW_CAN_I_HELP_NOW)

    # --------------------------------------------------------------- answers to its questions

    async def _on_name(self, text: str, intent: Intent | None) -> bool:
        name = self._state.name if _NAME_SAID.search(text) else name_of(text)
        if name is None:
            if intent is not None:
                return False
            self._ask("name", phrases.NAME_AGAIN)
            return True
        self._state.name = name
        await self._identify()
        return True

    async def _on_plate(self, text: str, intent: Intent | None) -> bool:
        state = self._state
        if state.new_customer:
            await self._identify()
            return True
        plate = state.plate or plate_of(text)
        if plate is None:
            if intent is not None and intent is not Intent.QUESTION:
                return False
            self._ask("plate", phrases.PLATE_AGAIN)
            return True
        state.plate = plate
        await self._identify()
        return True

    async def _on_confirm_number(self, text: str, intent: Intent | None) -> bool:
        state = self._state
        if is_yes(text) or state.number_confirmed:
            state.number_confirmed = True
            await self._identify()
            return True
        if is_no(text):
            state.resume = None
            self._ask("help_choice", phrases.OTHER_NUMBER)
            return True
        if intent is not None:
            return False
        self._ask("confirm_number", phrases.confirm_number(facts.spoken_number(self._start.caller_phone)))
        return True
