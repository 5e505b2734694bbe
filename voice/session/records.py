"""What a call keeps for its agent: messages for a callback, written with the call (agent.tools.base.Records)."""

from __future__ import annotations

from voice import services


class CallRecords:
    def __init__(self, call_sid: str):
        self.call_sid = call_sid

    def take_message(self, *, customer_id: int | None, phone: str, message: str) -> int:
        """A callback request on this call (in the database thread); the call's customer is the one it names."""
        callback = services.callback_request_create(phone=phone, call_sid=self.call_sid, message=message)
        return callback.pk
