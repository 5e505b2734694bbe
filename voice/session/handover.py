"""Ending or handing over a live call through Twilio's REST API (in a thread: the client is synchronous).

Replacing a call's TwiML ends its media stream: Twilio then plays the new TwiML. On a hand-over the agent's words
for the advisor (the whisper) are stored on the call first: the advisor who answers hears them from the whisper
webhook before being connected, and a message left instead carries them on its callback request.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.db import DatabaseError

from voice import callflow, services
from voice.providers import twilio

logger = logging.getLogger(__name__)

VOICE_TROUBLE = "Sorry, I'm having trouble with my voice."


def handover_twiml(number: str, say: str = "", *, call_sid: str = "") -> str:
    """Ring ``number`` (the transfer number), whispering the call's hand-over summary to whoever answers when
    ``call_sid`` is given; without a number the caller leaves a message for a callback.

    If nobody answers the ring, the transfer-result webhook takes a message too.
    """
    if number:
        return callflow.transfer_twiml(number, say=say, whisper_for=call_sid)
    return callflow.take_message_twiml(f"{say} {callflow.LEAVE_A_MESSAGE}".strip())


async def hang_up(call_sid: str) -> None:
    try:
        await asyncio.to_thread(twilio.TwilioCalls().hang_up, call_sid)
    except twilio.TwilioError as exc:  # the caller may have hung up first
        logger.warning("call %s: hang-up failed: %s", call_sid, exc)


async def transfer(call_sid: str, number: str, whisper: str = "") -> None:
    """Hand the caller to ``number`` (or to a message when it is ""); ``whisper`` is what the advisor is told."""
    await _keep_whisper(call_sid, whisper)
    await _update(call_sid, handover_twiml(number, call_sid=call_sid))


async def say_then_transfer(call_sid: str, text: str, number: str, whisper: str = "") -> None:
    """Text-to-speech failed: Twilio's own voice says what was left unsaid, then hands over."""
    await _keep_whisper(call_sid, whisper)
    await _update(call_sid, handover_twiml(number, say=f"{text} {VOICE_TROUBLE}".strip(), call_sid=call_sid))


async def _keep_whisper(call_sid: str, whisper: str) -> None:
    """Store the words for the advisor; a database problem must not stop the hand-over (they hear a neutral line)."""
    if not whisper.strip():
        return
    try:
        await _set_handover_summary(call_sid=call_sid, summary=whisper)
    except (DatabaseError, services.CallError) as exc:
        logger.error("call %s: could not keep the words for the advisor: %s", call_sid, exc)


async def _update(call_sid: str, twiml: str) -> None:
    try:
        await asyncio.to_thread(twilio.TwilioCalls().update_twiml, call_sid, twiml)
    except twilio.TwilioError as exc:
        logger.error("call %s: could not hand the call over: %s", call_sid, exc)


_set_handover_summary = database_sync_to_async(services.call_set_handover_summary)
