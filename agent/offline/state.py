"""What the offline agent knows of a conversation so far: the job under way and the question it asked."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.offline.understanding import CarSaid, Intent
from agent.offline.when import TimeRequest


@dataclass
class Job:
    """What the caller wants done and what is known of it so far."""

    kind: str  # "book" | "move" | "cancel" | "confirm"
    services: list[dict] = field(default_factory=list)  # from list_services: {"id", "name", ...}
    vehicle: dict | None = None  # {"id", "name"}
    when: TimeRequest = field(default_factory=TimeRequest)
    offered: list[dict] = field(default_factory=list)  # {"start", "spoken"} as the tools gave them
    chosen: dict | None = None
    appointment: dict | None = None  # from get_upcoming_appointments
    choices: list[dict] = field(default_factory=list)  # appointments to choose from
    transport: str | None = None  # waiter, drop_off, shuttle or loaner, when the caller says


@dataclass
class Dialogue:
    job: Job | None = None
    awaiting: str = ""  # the question the caller is answering
    asked: int = 0  # times in a row the same question was asked
    readback_heard: bool = True
    # A caller not known by their number, as far as they said: who they are, and how to prove it.
    name: tuple[str, str] | None = None
    plate: str | None = None
    new_customer: bool = False
    number_confirmed: bool = False
    car: CarSaid | None = None  # a car the caller described ("a 2020 Toyota Camry")
    resume: Job | Intent | None = None  # what to go on with once the caller is identified
    message: str = ""  # a message for the advisors, waiting for a number to call back
