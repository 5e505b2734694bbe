"""The TwiML of the call's paths around the agent, with our public callback URLs filled in.

Used by the webhooks, and by the call session when it hands a caller to a person
(``TwilioCalls().update_twiml(call_sid, transfer_twiml(number, say=..., whisper_for=call_sid))``).
What is said lives here, in one place.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from crm.selectors import dealership_profile
from voice.providers import twilio
from voice.security import make_stream_token, media_stream_url, public_url
from voice.selectors import number_to_ring

AGENT_UNAVAILABLE = "Sorry, our automated assistant is not available right now."
PUT_THROUGH = "Let me put you through to the service team."
LEAVE_A_MESSAGE = "Please leave your name and a short message after the tone, and we will call you back."
NOBODY_AVAILABLE = (
    "Sorry, nobody could take your call right now. Please leave your name and a short message after the tone, "
    "and we will call you back."
)
MESSAGE_RECEIVED = "Thank you, we got your message. Someone from the service team will call you back. Goodbye."
CANNOT_TAKE_CALLS = "Sorry, we cannot take your call right now. Please call again later. Goodbye."
# What the advisor hears before a transfer connects when the agent left no words for them (or the call is unknown).
NEUTRAL_WHISPER = "A caller from the phone assistant. Connecting you now."


def transfer_ring_seconds() -> int:
    return int(getattr(settings, "VOICE_TRANSFER_RING_SECONDS", 20))


def message_max_seconds() -> int:
    return int(getattr(settings, "VOICE_MESSAGE_MAX_SECONDS", 120))


def _url(name: str, **query: str) -> str:
    path = reverse(f"voice:{name}")
    if query:
        path += "?" + urlencode(query)
    return public_url(path)


def stream_twiml(call_sid: str) -> str:
    """Connect the call to our media-stream socket, with the CallSid and a fresh token for it."""
    return twilio.connect_stream(media_stream_url(), {"call_sid": call_sid, "token": make_stream_token(call_sid)})


def transfer_twiml(number: str, *, say: str = "", whisper_for: str = "") -> str:
    """Ring ``number``; the result comes to the transfer-result webhook, which knows the number from its URL.

    With ``whisper_for`` (the CallSid being handed over), the advisor who answers first hears the call's hand-over
    summary from the whisper webhook, before the two are connected; the caller does not hear it.
    """
    whisper_url = _url("whisper", call=whisper_for) if whisper_for else ""
    return twilio.transfer(number, say=say, action_url=_url("transfer_result", to=number),
                           timeout=transfer_ring_seconds(), whisper_url=whisper_url)  # fmt: skip


def whisper_twiml(text: str) -> str:
    """What the advisor hears on answering a transfer (Twilio then connects the call). Only <Say>: a <Hangup>
    here would refuse the call."""
    return twilio.say_only(text or NEUTRAL_WHISPER)


def take_message_twiml(say: str = NOBODY_AVAILABLE) -> str:
    """Record a message for a callback (the recording and its transcript come to our webhooks)."""
    return twilio.take_message(
        say,
        action_url=_url("message"),
        transcribe_callback_url=_url("message_transcript"),
        max_length=message_max_seconds(),
    )


def fallback_twiml() -> str:
    """The agent cannot answer: apologise, then ring the dealership's transfer number during opening hours
    (as the agent's own hand-over does), or take a message."""
    profile = dealership_profile()
    name = profile.name.strip()
    apology = f"Thanks for calling {name}. {AGENT_UNAVAILABLE}" if name else AGENT_UNAVAILABLE
    number = number_to_ring(profile.transfer_phone)
    return twilio.apology_and_transfer(
        apology=f"{apology} {PUT_THROUGH}" if number else apology,
        number=number,
        dial_action_url=_url("transfer_result", to=number) if number else "",
        message_prompt=LEAVE_A_MESSAGE,
        record_action_url=_url("message"),
        transcribe_callback_url=_url("message_transcript"),
        timeout=transfer_ring_seconds(),
        max_length=message_max_seconds(),
    )


def goodbye_twiml(text: str = MESSAGE_RECEIVED) -> str:
    return twilio.say_and_hang_up(text)


def end_twiml() -> str:
    """An empty response: nothing more to do, the call ends (e.g. after a transfer that was answered)."""
    return twilio.empty_response()
