"""The "Try the agent" page's socket: translates its JSON messages to and from an AgentChat, nothing more.

In: ``{"type": "start", "customer": id|null, "phone": "...", "dry_run": bool}`` once, then
``{"type": "say", "text": "..."}``. Out: ``ready``, ``caller``, ``delta``, ``agent``, ``tools``, ``tool_result``,
``notice``, ``end_call``, ``transfer``, ``reply_done`` and ``error`` (voice.chat.conversation).

Signed-in staff only (the admin session, through dealership.routing's staff stack), with the permissions the
page asks for; anyone else is refused with 4403. A message the chat cannot take gets an error back and changes
nothing; the socket stays open.
"""

from __future__ import annotations

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from voice.chat.conversation import AgentChat, ChatError
from voice.chat.forms import setup_from_message
from voice.chat.permissions import may_chat

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS = 16_000  # a say message is at most 2,000 characters of text


class AgentChatConsumer(AsyncJsonWebsocketConsumer):
    # A chat talks to nobody else through the channel layer: without one, a Redis hiccup cannot break it.
    channel_layer_alias = None
    chat: AgentChat | None = None

    async def connect(self):
        if not await database_sync_to_async(may_chat)(self.scope.get("user")):
            await self.close(code=4403)
            return
        await self.accept()

    async def disconnect(self, code):
        if self.chat is not None:
            await self.chat.close()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            await self._error("Binary frames are not understood: send JSON text.")
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self._error("That message is too long.")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self._error("That message is not JSON.")
            return
        if not isinstance(message, dict):
            await self._error("A message must be a JSON object with a type.")
            return
        await self.receive_json(message)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        try:
            if kind == "start":
                await self._start(content)
            elif kind == "say":
                if self.chat is None:
                    raise ChatError("Start a chat first.")
                self.chat.say(content.get("text"))
            else:
                raise ChatError(f"Unknown message type {str(kind)[:40]!r}: use start or say.")
        except ChatError as exc:
            await self._error(str(exc))
        except Exception as exc:  # one chat's fault never reaches the server or another chat
            logger.exception("agent chat: a %s message failed", str(kind)[:40])
            await self._error(f"That failed: {type(exc).__name__}.")

    async def _start(self, content: dict) -> None:
        if self.chat is not None:
            raise ChatError("This chat has started already: reload the page for another.")
        try:
            setup = await database_sync_to_async(setup_from_message)(content, self.scope.get("user"))
        except ValueError as exc:
            raise ChatError(str(exc)) from None
        chat = AgentChat(setup, self.send_json)
        try:
            await chat.open()
        except Exception as exc:
            logger.exception("agent chat: the agent could not start")
            await chat.close()
            raise ChatError(f"The agent could not start: {type(exc).__name__}: {exc}") from None
        self.chat = chat

    async def _error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})
