"""Who may try the agent, and who may let it make real changes.

Opening the page and chatting (dry runs) needs what reading calls needs, plus reading customers: the agent
tells the caller their records. A chat whose changes are kept books, moves and cancels appointments and adds
customers and vehicles in the phone agent's name, so it also needs the permissions to do those by hand.
"""

from __future__ import annotations

CHAT = ("voice.view_call", "crm.view_customer")
REAL_CHANGES = (
    "scheduling.add_appointment",
    "scheduling.change_appointment",
    "crm.add_customer",
    "crm.change_customer",
    "crm.add_vehicle",
)


def may_chat(user) -> bool:
    """Reads the user's permissions: call it in the database thread."""
    return bool(user is not None and user.is_active and user.is_staff and user.has_perms(CHAT))


def may_keep_changes(user) -> bool:
    return may_chat(user) and user.has_perms(REAL_CHANGES)
