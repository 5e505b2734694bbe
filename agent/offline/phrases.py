"""What the offline agent says: short spoken sentences, one question at a time, every fact from a tool's result
or the conversation's context (the times it offers are the tools' own, read back with the weekday)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from scheduling.selectors import spoken_clock

NOT_CAUGHT = "Sorry, I didn't catch that. Could you say it again?"
NOTHING_CHANGED = "No problem, I haven't changed anything. Is there anything else I can help with?"
ONLY_YOUR_OWN = (
    "I'm sorry, I can only discuss appointments with the customer they belong to. They're welcome to call us "
    "themselves. Is there anything else I can help you with?"
)
WELCOME = "You're welcome! Is there anything else I can help with?"
HOW_CAN_I_HELP = "Hi! How can I help you today?"
HOW_CAN_I_HELP_NOW = "How can I help you today?"
WHAT_I_CAN_DO = (
    "Sorry, I didn't quite get that. I can book, move or cancel a service appointment, check on your car, or "
    "answer questions about the shop. What can I do for you?"
)
CANNOT_HELP = (
    "I'm sorry, I'm having trouble understanding. I can take a message for a service advisor, or put you "
    "through to one. Which would you prefer?"
)
WHAT_ELSE = "Sure, what else can I help with?"
ANYTHING_ELSE = "Is there anything else I can help with?"
MESSAGE_OR_PERSON = "I can take a message for a service advisor, or put you through to one. Which would you prefer?"
DO_NOT_KNOW = (
    "I'm sorry, I don't have an answer to that. I can take a message for a service advisor, or put you "
    "through to one. Which would you prefer?"
)
SOMETHING_WRONG = "Sorry, something went wrong on my side with that."
TRANSFERRING = "Of course. Let me connect you with a service advisor. One moment please."
CALLBACK_NUMBER = "And what number should the advisor call you back on?"
CALLBACK_NUMBER_AGAIN = "Sorry, I didn't get the whole number. Could you say it again, with the area code?"
NO_NUMBER_NO_MESSAGE = (
    "I'm sorry, without a number to call back I can't leave the message. You're welcome to call us again. "
    "Is there anything else I can help with?"
)
ASK_MESSAGE = "Sure. What message would you like me to pass on to the service advisors?"
ASK_NAME = "I can help with that. May I have your first and last name, please?"
ASK_NAME_FOR_STATUS = "I can check on that. May I have your first and last name, please?"
NAME_AGAIN = "Sorry, could you tell me your first and last name?"
PLATE_AGAIN = "Sorry, I didn't get the plate. Could you read me the license plate, letters and numbers?"
PLATE_OR_NEW = "Could you read me the license plate again? If you're new with us, just say so."
NO_MATCH = "I couldn't match that name and plate."
CANNOT_IDENTIFY = "I'm not able to match those details on this call."
WITHHELD_NUMBER = (
    "Your number is withheld, so I can't set up an account on this call. I can take a message for a service "
    "advisor, or put you through to one. Which would you prefer?"
)
OTHER_NUMBER = (
    "No problem. A service advisor can set you up with another number. I can take a message, or put you "
    "through to one. Which would you prefer?"
)
WHICH_SERVICE = (
    "Sure. What would you like us to do: for example an oil change, a tire rotation, brakes, a battery check "
    "or an inspection?"
)
WHICH_CAR_NEW = "Which car is it for? Please tell me the year, make and model."
WHICH_CAR_NEW_AGAIN = "Sorry, could you tell me the year, make and model of the car, like a 2020 Toyota Camry?"
WHEN = "What day and time would suit you? For example, tomorrow morning or Friday afternoon."
WHEN_AGAIN = "Sorry, which day would you like? You can say tomorrow, next Tuesday, or as early as possible."
OTHER_TIME = "Which other day or time would suit you?"
WHAT_TO_CHANGE = "No problem. What day and time would you prefer instead?"
NOTHING_THEN = "I don't see an opening then."
NO_APPOINTMENTS = "I don't see any upcoming appointments for you. Is there anything else I can help with?"

UNCLEAR = {
    "two_days": "Which day would you prefer? Please pick one.",
    "no_such_date": "That date doesn't exist on the calendar. Which day did you mean?",
    "past": "That day has already passed. Which day coming up would suit you?",
    "weekday_mismatch": "That weekday and date don't match on the calendar. Which day did you mean?",
    "two_times": "Which time would you prefer? Please pick one.",
}


def unclear(code: str) -> str:
    return UNCLEAR.get(code, "Sorry, which day and time did you mean?")


def day_words(day: dt.date, *, with_weekday: bool = True) -> str:
    """ "Tuesday, December 8th" (the weekday always, so a read-back can't be misheard as another week)."""
    n = day.day
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{day:%A}, {day:%B} {n}{suffix}" if with_weekday else f"{day:%B} {n}{suffix}"


def _moment(slot: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(slot["start"])


def full_when(slot: dict) -> str:
    moment = _moment(slot)
    return f"{day_words(moment.date())} at {spoken_clock(moment)}"


def clock_words(clock: dt.time) -> str:
    moment = dt.datetime.combine(dt.date(2000, 1, 3), clock)
    return f"{moment:%-I}:{moment:%M} {moment:%p}" if clock.minute else f"{moment:%-I} {moment:%p}"


def or_list(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"


def and_list(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def offer(slots: Sequence[dict], *, earliest: bool = False) -> str:
    """ "On Tuesday, December 8th I have 9 AM, 10:30 AM or 2 PM. Which would you like?" """
    days = {_moment(s).date() for s in slots}
    if len(days) == 1:
        times = or_list([spoken_clock(_moment(s)) for s in slots])
        opening = "The earliest I have is on" if earliest else "On"
        return f"{opening} {day_words(next(iter(days)))} I have {times}. Which would you like?"
    opening = "The earliest openings are" if earliest else "I have"
    return f"{opening} {or_list([full_when(s) for s in slots])}. Which would you like?"


def which_of(slots: Sequence[dict]) -> str:
    if not slots:
        return OTHER_TIME
    return f"Would {or_list([full_when(s) for s in slots])} work for you?"


def not_open_at(clock: dt.time) -> str:
    return f"{clock_words(clock)} isn't open."


def which_day_at(clock: dt.time) -> str:
    return f"Which day would you like at {clock_words(clock)}?"


def which_vehicle(vehicles: Sequence[dict]) -> str:
    return f"Which car is this for: your {or_list([v['name'] for v in vehicles])}?"


def appointment_words(appointment: dict) -> str:
    services = and_list(appointment.get("services") or ["service"])
    return f"{services} on {full_when(appointment)}"


def which_appointment(appointments: Sequence[dict]) -> str:
    return f"Which appointment: {or_list(['the ' + appointment_words(a) for a in appointments])}?"


def move_when(appointment: dict) -> str:
    return f"I have your {appointment_words(appointment)}. What day and time would suit you instead?"


def ask_plate(first: str) -> str:
    return f"Thanks, {first}. What's the license plate on your car? If you're new with us, just say so."


def found_you(first: str) -> str:
    return f"Thanks, {first}, I've found your account."


def confirm_number(spoken_number: str) -> str:
    return f"Welcome! I'll set you up as a new customer. Is {spoken_number} the best number to reach you?"


def welcome_new(first: str) -> str:
    return f"You're all set up, {first}."


def read_back(job, *, again: bool = False) -> str:
    start = "Sorry, just to be sure:" if again else "Just to confirm:"
    if job.kind == "book":
        services = and_list([s["name"] for s in job.services]).lower()
        coming = TRANSPORT_WORDS.get(job.transport or "", "")
        return (f"{start} {services} for your {job.vehicle['name']} on {full_when(job.chosen)}{coming}. "
                "Shall I book that?")  # fmt: skip
    appointment = job.appointment
    if job.kind == "move":
        return (f"{start} move your {appointment_words(appointment)} to {full_when(job.chosen)}. "
                "Shall I go ahead?")  # fmt: skip
    if job.kind == "cancel":
        return f"{start} cancel your {appointment_words(appointment)}. Shall I cancel it?"
    return (f"I have your {appointment_words(appointment)}, for the {appointment.get('vehicle', 'car')}. "
            "Shall I mark it as confirmed?")  # fmt: skip


TRANSPORT_WORDS = {
    "waiter": ", and you'll wait for it",
    "drop_off": ", and you'll drop it off",
    "shuttle": ", with our shuttle",
    "loaner": ", with a loaner car if one is free",
}


def done(job) -> str:
    if job.kind == "book":
        return f"You're all set: {full_when(job.chosen)}."
    if job.kind == "move":
        return f"Done. Your appointment is now {full_when(job.chosen)}."
    if job.kind == "cancel":
        return "Your appointment is cancelled."
    return "Thank you, your appointment is confirmed. We'll see you then."


def done_while_cut(tool: str, data: dict) -> str:
    """A change finished while the caller was talking over its reply."""
    when = f" for {full_when(data)}" if data.get("start") else ""
    return {
        "book_appointment": f"Just so you know, your appointment is booked{when}.",
        "reschedule_appointment": f"Just so you know, your appointment is moved{when}.",
        "cancel_appointment": "Just so you know, that appointment is cancelled.",
        "confirm_appointment": "Just so you know, your appointment is confirmed.",
    }.get(tool, "Just so you know, that's done.")


def message_taken(callback_number: str) -> str:
    to = f" at {callback_number}" if callback_number else ""
    return f"Thanks, I've passed that on. A service advisor will call you back{to}. Anything else I can help with?"


def goodbye(dealership: str, *, we_called: bool = False) -> str:
    if we_called:  # a reminder call: they did not call us
        return "Thank you for your time. Have a great day, goodbye!"
    return f"Thanks for calling {dealership}. Have a great day, goodbye!"


# A reminder call, or a customer calling back about one.
OPTED_OUT = (
    "Of course. I've taken you off our call list, so you won't get any more automated calls from us. Sorry for "
    "the bother, goodbye."
)
MOVE_OR_CANCEL = "No problem. Would you like to move it to another time, or cancel it?"


def reminded(appointment: dict) -> str:
    """A customer calling back about our reminder call: which appointment it was, and what they can do."""
    return (f"Yes, we called about your {appointment_words(appointment)}, for the "
            f"{appointment.get('vehicle') or 'car'}. Would you like to confirm it, move it, or cancel it?")  # fmt: skip


def reminded_inactive(appointment: dict, status: str) -> str:
    return f"We called about your {appointment_words(appointment)}. That appointment is {status.lower()} now."


def upcoming(appointments: Sequence[dict], say: str) -> str:
    if not appointments:
        return say or "I don't see any upcoming appointments for you."
    listed = and_list([f"your {appointment_words(a)}" for a in appointments[:3]])
    return f"I have {listed}."


def hours(shop, day: dt.date | None) -> str:
    """Opening hours from the conversation's context (this week, from today)."""
    lines = list(shop.hours)
    if day is not None:
        offset = (day - shop.now.date()).days
        if 0 <= offset < len(lines):
            return f"{_sentence(lines[offset])}."
        return "I only have this week's hours in front of me."
    return f"{_sentence(lines[0])}, and {lines[1]}." if len(lines) > 1 else f"{_sentence(lines[0])}."


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def prices(services: Sequence[dict]) -> str:
    parts = [f"{s['name']} is {s['price']}" for s in services if s.get("price")]
    return f"{and_list(parts)}." if parts else "I don't have a price for that."


def passage(text: str, *, limit: int = 320) -> str:
    """The first sentences of a knowledge-base passage, short enough to say on the phone."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    said = ""
    for sentence in sentences:
        if said and len(said) + len(sentence) > limit:
            break
        said = f"{said} {sentence}".strip()
    return said[:limit * 2]
