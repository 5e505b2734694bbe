"""Every change to a reminder call goes through here, with the event row that says who or what made it.

Its own module so that planning, dispatching and the services all use it without importing each other.
"""

from __future__ import annotations

from django.db import transaction

from reminders.models import ReminderCall, ReminderEvent
from scheduling.actors import Actor


@transaction.atomic
def reminder_transition(reminder: ReminderCall, *, to_status: str, actor: Actor, note: str = "",
                        call_sid: str = "", **fields) -> ReminderCall:  # fmt: skip
    """Move ``reminder`` (a row the caller has locked or just made) to ``to_status``, setting ``fields`` too,
    and record the change. A transition to the same status with nothing else changed writes nothing."""
    from_status = reminder.status
    changed = [name for name, value in fields.items() if getattr(reminder, name) != value]
    if from_status == to_status and not changed:
        return reminder
    for name in changed:
        setattr(reminder, name, fields[name])
    reminder.status = to_status
    reminder.save(update_fields=["status", *changed, "updated_at"])
    ReminderEvent.objects.create(
        reminder=reminder, from_status=from_status, to_status=to_status, actor_kind=actor.kind,
        actor_user=actor.user if actor.user is not None and actor.user.is_authenticated else None,
        call_sid=call_sid or actor.call_sid, note=note[:255],
    )  # fmt: skip
    return reminder
