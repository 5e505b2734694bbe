"""The offline agent's answers that change no appointment: messages, a person, goodbye, "is my car ready?",
"when is my appointment?", the hours, prices and the knowledge base.

Facts come from tools or the conversation's context only: the hours from this week's (the context), prices
from the menu, other answers from a knowledge-base passage that shares words with the question.
"""

from __future__ import annotations

from agent.events import EndCall, Transfer
from agent.offline import phrases
from agent.offline.jobs import MAX_ASKS
from agent.offline.understanding import Intent, intent_of, is_about, phone_in, services_named
from agent.offline.when import understand_when
from agent.tools.calls import END_CALL, TRANSFER


class Answers:
    """Mixed into OfflineAgent: it uses the agent's state, ``_ask``, ``_say``, ``_tool`` and its readers."""

    async def _on_message(self, text: str, intent: Intent | None) -> bool:
        self._state.message = text[:1000]
        number = phone_in(text)
        if number is None and not self._start.caller_phone:
            self._ask("callback_number", phrases.CALLBACK_NUMBER)
            return True
        await self._take_message(number or "")
        return True

    async def _on_callback_number(self, text: str, intent: Intent | None) -> bool:
        number = phone_in(text)
        if number is None:
            if self._state.asked >= MAX_ASKS:
                self._state.message = ""
                self._ask("anything_else", phrases.NO_NUMBER_NO_MESSAGE)
            else:
                self._ask("callback_number", phrases.CALLBACK_NUMBER_AGAIN)
            return True
        await self._take_message(number)
        return True

    async def _take_message(self, callback_number: str) -> None:
        self._done_asking()
        result = await self._tool("take_message", message=self._state.message, callback_number=callback_number)
        if result.ok:
            self._state.message = ""
            self._ask("anything_else", phrases.message_taken(result.data.get("callback_number", "")))
        elif "number" in result.say.lower():
            self._ask("callback_number", result.say)
        else:
            self._state.message = ""
            self._ask("anything_else", result.say)

    async def _goodbye(self, text: str) -> None:
        self._state.job = None
        self._done_asking()
        await self._tool(END_CALL)
        self._say(phrases.goodbye(self._shop.dealership, we_called=self._start.reminder))
        assert self._reply is not None
        self._reply.control = EndCall()

    async def _hand_over(self, text: str) -> None:
        reason = "The caller asked to speak with a person" if intent_of(text) is Intent.PERSON else text
        self._state.job = None
        self._done_asking()
        await self._tool(TRANSFER, reason=reason[:300])
        self._say(phrases.TRANSFERRING)
        assert self._reply is not None
        self._reply.control = Transfer(whisper=self.transfer_whisper(reason), reason=reason)

    async def _ask_message(self, text: str) -> None:
        self._state.job = None
        self._ask("message", phrases.ASK_MESSAGE)

    async def _status(self, text: str) -> None:
        if self.tool_context.customer_id is None:
            self._state.resume = Intent.STATUS
            await self._identify()
            return
        result = await self._tool("vehicle_status")
        self._ask("anything_else", result.say or phrases.SOMETHING_WRONG, phrases.ANYTHING_ELSE)

    async def _upcoming(self, text: str) -> None:
        if self.tool_context.customer_id is None:
            self._state.resume = Intent.UPCOMING
            await self._identify()
            return
        result = await self._tool("get_upcoming_appointments")
        self._ask("anything_else", phrases.upcoming(result.data.get("appointments", []), result.say),
                  phrases.ANYTHING_ELSE)  # fmt: skip

    async def _hours(self, text: str) -> None:
        when = understand_when(text, today=self._today())
        self._ask("anything_else", phrases.hours(self._shop, when.first_day), phrases.ANYTHING_ELSE)

    async def _price(self, text: str) -> None:
        named = services_named(text, await self._service_menu())
        if not named:
            await self._question(text)
            return
        self._ask("anything_else", phrases.prices(named), phrases.ANYTHING_ELSE)

    async def _question(self, text: str) -> None:
        result = await self._tool("search_knowledge", question=text[:500])
        passages = [p for p in result.data.get("passages") or [] if is_about(text, f"{p['title']} {p['text']}")]
        if result.ok and passages:
            self._ask("anything_else", phrases.passage(passages[0]["text"]), phrases.ANYTHING_ELSE)
            return
        self._ask("help_choice", phrases.DO_NOT_KNOW)
