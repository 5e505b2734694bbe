"""Ending or handing over a live call through Twilio's REST API (in a thread: the client is synchronous).

Replacing a call's TwiML ends its media stream: Twilio then plays the new TwiML.
"""

from __future__ import annotations

import asyncio
import logging

from voice import callflow
from voice.providers import twilio

logger = logging.getLogger(__name__)

VOICE_TROUBLE = "Sorry, I'm having trouble with my voice."


def handover_twiml(number: str, say: str = "") -> str:
    """Ring ``number`` (the transfer number); without one the caller leaves a message for a callback.

    If nobody answers the ring, the transfer-result webhook takes a message too.
    """
    if number:
        return callflow.transfer_twiml(number, say=say)
    return callflow.take_message_twiml(f"{say} {callflow.LEAVE_A_MESSAGE}".strip())


async def hang_up(call_sid: str) -> None:
    try:
        await asyncio.to_thread(twilio.TwilioCalls().hang_up, call_sid)
    except twilio.TwilioError as exc:  # the caller may have hung up first
        logger.warning("call %s: hang-up failed: %s", call_sid, exc)


async def transfer(call_sid: str, number: str) -> None:
    await _update(call_sid, handover_twiml(number))


async def say_then_transfer(call_sid: str, text: str, number: str) -> None:
    """Text-to-speech failed: Twilio's own voice says what was left unsaid, then hands over."""
    await _update(call_sid, handover_twiml(number, say=f"{text} {VOICE_TROUBLE}".strip()))


async def _update(call_sid: str, twiml: str) -> None:
    try:
        await asyncio.to_thread(twilio.TwilioCalls().update_twiml, call_sid, twiml)
    except twilio.TwilioError as exc:
        logger.error("call %s: could not hand the call over: %s", call_sid, exc)
