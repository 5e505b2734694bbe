"""What a call keeps for its agent: messages for a callback, written with the call (agent.tools.base.Records)."""

from __future__ import annotations

from voice import services


class CallRecords:
    def __init__(self, call_sid: str):
        self.call_sid = call_sid

    def take_message(self, *, customer_id: int | None, phone: str, message: str) -> int:
        """A callback request on this call (in the database thread), for the customer the caller proved to be."""
        callback = services.callback_request_create(phone=phone, call_sid=self.call_sid, message=message,
                                                    customer_id=customer_id)  # fmt: skip
        return callback.pk

    def caller_identified(self, *, customer_id: int) -> None:
        """The call belongs to this customer from now on (a caller from another number, or a new customer)."""
        services.call_identify_customer(call_sid=self.call_sid, customer_id=customer_id)


class RecordsWithoutCall:
    """What a conversation outside a phone call keeps (the admin's chat, the evaluation): messages become
    callback requests of their own; an identification changes no call, so it is only remembered."""

    def __init__(self) -> None:
        self.identified_customer_id: int | None = None

    def take_message(self, *, customer_id: int | None, phone: str, message: str) -> int:
        callback = services.callback_request_create(phone=phone, message=message, customer_id=customer_id)
        return callback.pk

    def caller_identified(self, *, customer_id: int) -> None:
        self.identified_customer_id = customer_id
