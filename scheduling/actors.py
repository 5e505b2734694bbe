"""Who is acting on an appointment: a staff user, the phone agent on a call, or the system."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from scheduling.models import ActorKind, Source


@dataclass(frozen=True)
class Actor:
    kind: str
    user: AbstractBaseUser | None = None
    call_sid: str = ""
    # Where a booking made by this actor is said to come from.
    source: str = Source.STAFF

    @classmethod
    def staff(cls, user: AbstractBaseUser | None) -> "Actor":
        return cls(kind=ActorKind.STAFF, user=user, source=Source.STAFF)

    @classmethod
    def phone_agent(cls, call_sid: str = "", *, reminder: bool = False) -> "Actor":
        source = Source.REMINDER_CALL if reminder else Source.PHONE_AGENT
        return cls(kind=ActorKind.PHONE_AGENT, call_sid=call_sid, source=source)

    @classmethod
    def system(cls) -> "Actor":
        return cls(kind=ActorKind.SYSTEM, source=Source.OTHER)

    @property
    def is_staff(self) -> bool:
        return self.kind == ActorKind.STAFF
