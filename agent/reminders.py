"""Reminder calls, the agent's side: the first words when the dealership calls a customer about an appointment,
and the message it leaves on an answering machine.

Both agents share these (the call session speaks the opening before either answers), so what the customer
hears first does not depend on which agent takes the call. The opening carries what an automated call must
say at its start: who is calling, why, that it is an automated assistant, and that the call may be recorded
when it is; then it asks the one question the call is for. It names the weekday and the time, so it is a
read-back: a "yes" to it confirms the appointment.
"""

from __future__ import annotations

import datetime as dt

from agent.context import AppointmentFacts, ConversationStart, ShopFacts
from crm.phones import format_phone
from scheduling.selectors import spoken_clock

CONFIRM_QUESTION = "Can you confirm you'll be there?"
CHOICE_QUESTION = "Would you like to confirm it, move it, or cancel it?"
RECORDED = "This call may be recorded."
OPT_OUT_OFFER = "You can ask us to stop these calls at any time."


def appointment_when(appointment: AppointmentFacts, shop: ShopFacts) -> str:
    """ "tomorrow, Tuesday, December 8th at 9 AM": the weekday and the time always, "tomorrow" or "today" when
    it is, in the dealership's zone."""
    moment = dt.datetime.fromisoformat(appointment.start)
    day = moment.date()
    dated = f"{weekday_and_date(day)} at {spoken_clock(moment)}"
    relative = {0: "today", 1: "tomorrow"}.get((day - shop.now.date()).days)
    return f"{relative}, {dated}" if relative else f"on {dated}"


def weekday_and_date(day: dt.date) -> str:
    """ "Tuesday, December 8th"."""
    n = day.day
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{day:%A}, {day:%B} {n}{suffix}"


def services_words(appointment: AppointmentFacts) -> str:
    """ "oil change and tire rotation" (as said in a sentence)."""
    names = [name.lower() for name in (appointment.service_names or (appointment.services,)) if name]
    if not names:
        return "service"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def opening(start: ConversationStart, *, recording: bool) -> str:
    """What the agent says first on a reminder call, before the customer says anything."""
    shop, appointment = start.shop, start.appointment
    who = f"Hello, this is the automated assistant at {shop.dealership}"
    if appointment is None:  # the call's appointment is not known: it can still be found with the customer
        why, question = "calling about your upcoming service appointment.", CHOICE_QUESTION
    else:
        known_car = appointment.vehicle and appointment.vehicle != "your vehicle"  # a car with no details on file
        car = f", for your {appointment.vehicle}" if known_car else ""
        why = (f"calling to remind you of your {services_words(appointment)} appointment "
               f"{appointment_when(appointment, shop)}{car}.")  # fmt: skip
        question = CONFIRM_QUESTION
    # Recording is disclosed only when the call is recorded: a line about nothing would teach people to ignore it.
    disclosure = f"{RECORDED} {OPT_OUT_OFFER}" if recording else OPT_OUT_OFFER
    return f"{who}, {why} {disclosure} {question}"


def voicemail(shop: ShopFacts, appointment: AppointmentFacts | None) -> str:
    """The one message left on an answering machine: the dealership, the appointment's day and time, the number
    to call back. Nothing more personal (whoever plays the machine may not be the customer)."""
    about = (f"your service appointment {appointment_when(appointment, shop)}" if appointment is not None
             else "your upcoming service appointment")  # fmt: skip
    number = f" at {format_phone(shop.main_phone)}" if shop.main_phone else ""
    return (f"Hello, this is an automated reminder from {shop.dealership} about {about}. "
            f"To confirm, move or cancel it, please call us{number}. Thank you, goodbye.")  # fmt: skip


def heard_whole_opening(heard: str, start: ConversationStart) -> bool:
    """Whether what the customer heard of the opening holds the appointment's weekday and time and ends with
    the question: only then is a "yes" an answer to that read-back."""
    if start.appointment is None:
        return False
    heard = " ".join(heard.split())
    return appointment_when(start.appointment, start.shop) in heard and heard.endswith(CONFIRM_QUESTION)
