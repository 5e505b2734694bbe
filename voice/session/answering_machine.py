"""What a reminder call does with Twilio's answering-machine result (AnsweredBy).

Detection runs alongside the conversation (asynchronous AMD), so the agent has already begun talking when the
result comes. A person, or a result Twilio could not tell, changes nothing. A machine whose result is listed in
``REMINDER_VOICEMAIL_ON`` (default: only ``machine_end_beep``, the one moment a message is surely recorded)
gets one short voicemail, then the call hangs up; any other machine result hangs up without a message.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from django.conf import settings

from voice import callflow, services
from voice.models import AnsweredBy, Outcome
from voice.providers import twilio
from voice.session.context import reminder_voicemail

logger = logging.getLogger(__name__)

# Results that mean a person may be listening: the conversation goes on.
NOT_A_MACHINE = frozenset({AnsweredBy.HUMAN, AnsweredBy.UNKNOWN})


class MachineAction(StrEnum):
    CARRY_ON = "carry_on"  # a person (or not known): the conversation goes on
    VOICEMAIL = "voicemail"  # stop talking, leave the message, hang up
    HANG_UP = "hang_up"  # stop talking and hang up, no message


def voicemail_on() -> frozenset[str]:
    return frozenset(getattr(settings, "REMINDER_VOICEMAIL_ON", (AnsweredBy.MACHINE_END_BEEP,)))


def action_for(answered_by: str) -> MachineAction:
    if not answered_by or answered_by in NOT_A_MACHINE:
        return MachineAction.CARRY_ON
    if answered_by in voicemail_on():
        return MachineAction.VOICEMAIL
    return MachineAction.HANG_UP


def note_for(answered_by: str, action: MachineAction) -> str:
    """The system line the call's record gets: what the detection said and what the call does about it."""
    label = AnsweredBy(answered_by).label if answered_by in AnsweredBy.values else answered_by
    said = f"Answering-machine detection: {label} ({answered_by})."
    return {
        MachineAction.CARRY_ON: f"{said} The conversation goes on.",
        MachineAction.VOICEMAIL: f"{said} Leaving the voicemail, then hanging up.",
        MachineAction.HANG_UP: f"{said} Hanging up without a message.",
    }[action]


def outcome_for(action: MachineAction) -> str:
    return Outcome.VOICEMAIL if action is MachineAction.VOICEMAIL else Outcome.NO_RESPONSE


def act_without_session(call_sid: str, answered_by: str) -> None:
    """The call's session could not be told (the channel layer is down): do the same through Twilio's REST API,
    the voicemail in Twilio's own voice. Sync, in the webhook's thread."""
    action = action_for(answered_by)
    if action is MachineAction.CARRY_ON:
        return
    note = f"{note_for(answered_by, action)} (Through Twilio: the call's session was out of reach.)"
    services.call_add_system_note(call_sid=call_sid, text=note)
    services.call_finish(call_sid=call_sid, outcome=outcome_for(action), reason="A machine answered")
    calls = twilio.TwilioCalls()
    try:
        if action is MachineAction.VOICEMAIL:
            calls.update_twiml(call_sid, callflow.goodbye_twiml(reminder_voicemail(call_sid)))
        else:
            calls.hang_up(call_sid)
    except twilio.TwilioError as error:  # the call may have ended meanwhile
        logger.warning("call %s: could not act on the machine detection: %s", call_sid, error)
