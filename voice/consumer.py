"""The Twilio Media Streams socket: translates Twilio's protocol to and from a CallSession, nothing more.

In: connected, start, media, dtmf, mark, stop. Out (from the session): media, mark, clear.
The upgrade must carry a valid X-Twilio-Signature for our public wss:// URL, and the
start message the short-lived token our incoming-call webhook put in the TwiML for
this CallSid. Anything else is refused. A broken frame closes this call only, marked
with what went wrong, after saving what was said.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from crm.phones import mask_phone
from operations.logging import bind_call_sid
from voice import metrics
from voice.models import Outcome
from voice.security import media_stream_url, stream_token_is_valid
from voice.session.call_session import CallSession
from voice.session.context import load_call_context

logger = logging.getLogger(__name__)

# Twilio's frames are small JSON texts (a 20 ms media frame is about 300 characters).
MAX_MESSAGE_CHARS = 16_000
MAX_AUDIO_BYTES = 4_000


class ProtocolError(Exception):
    """The peer broke the Media Streams protocol; the message says how."""


class MediaStreamConsumer(AsyncWebsocketConsumer):
    # A call talks to nobody else through the channel layer: without one, a Redis hiccup cannot drop calls.
    channel_layer_alias = None
    session: CallSession | None = None
    call_sid: str = ""

    async def __call__(self, scope, receive, send):
        # Channels' own loop (await_many_dispatch) makes a task and an asyncio.wait() for every message, to
        # listen to the channel layer as well; with no layer there is one source, read here directly. At 50
        # frames a second per call that overhead was a large share of a call's steady cost.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message):
        # Channels closes stale database connections (a thread hop) before every message; for a 20 ms media
        # frame that is most of the cost. Our database work goes through database_sync_to_async, which
        # closes old connections itself, so frames skip it; connect and disconnect keep it.
        if message.get("type") == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    async def connect(self):
        signature = dict(self.scope.get("headers", [])).get(b"x-twilio-signature", b"").decode("latin-1")
        if not _signature_ok(signature):
            logger.warning("media stream refused: bad or missing X-Twilio-Signature")
            await self.close()  # before accept: the handshake is refused with 403
            return
        self._start_task: asyncio.Task | None = None
        self._best_offset: float | None = None
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        try:
            await self._handle(text_data, bytes_data)
        except ProtocolError as exc:
            await self._abort(str(exc))
        except Exception as exc:  # never let one call's fault reach the server or another call
            logger.exception("media stream %s failed", self.call_sid or "(not started)")
            await self._abort(f"internal error: {type(exc).__name__}")

    async def disconnect(self, code):
        if self.session is not None:
            await self.session.stop(outcome=Outcome.CALLER_HUNG_UP, reason=f"the stream closed ({code})")

    # ------------------------------------------------------------------ protocol

    async def _handle(self, text_data, bytes_data) -> None:
        if bytes_data is not None:
            raise ProtocolError("binary frame (Twilio sends JSON text)")
        if text_data is None or len(text_data) > MAX_MESSAGE_CHARS:
            raise ProtocolError("oversized frame")
        try:
            message = json.loads(text_data)
        except json.JSONDecodeError:
            raise ProtocolError("malformed JSON") from None
        if not isinstance(message, dict):
            raise ProtocolError("a frame that is not a JSON object")
        event = message.get("event")
        if event == "connected":
            return
        if event == "start":
            await self._on_start(message)
        elif event == "media":
            session = self._require_session()
            audio = _audio_of(message)
            self._measure_lag(message)
            if audio:  # an empty message would end Deepgram's stream
                session.on_media(audio)
        elif event == "mark":
            name = (message.get("mark") or {}).get("name")
            if isinstance(name, str):
                await self._require_session().on_mark(name)
        elif event == "dtmf":
            digit = (message.get("dtmf") or {}).get("digit")
            if isinstance(digit, str) and len(digit) == 1:
                await self._require_session().on_dtmf(digit)
        elif event == "stop":
            if self.session is not None:
                await self.session.stop(outcome=Outcome.CALLER_HUNG_UP, reason="the call ended")
            await self.close()
        else:
            # Not in the protocol today; ignored so that an addition on Twilio's side never drops calls.
            logger.info("media stream %s: ignoring unknown event %r", self.call_sid, str(event)[:40])

    async def _on_start(self, message: dict) -> None:
        if self.session is not None or self.call_sid:
            raise ProtocolError("a second start")
        start = message.get("start")
        if not isinstance(start, dict):
            raise ProtocolError("start without its details")
        call_sid, stream_sid = start.get("callSid"), start.get("streamSid") or message.get("streamSid")
        parameters = start.get("customParameters") or {}
        if not isinstance(call_sid, str) or not isinstance(stream_sid, str) or not isinstance(parameters, dict):
            raise ProtocolError("start without callSid, streamSid or parameters")
        media_format = start.get("mediaFormat") or {}
        if media_format and (media_format.get("encoding"), int(media_format.get("sampleRate") or 0)) != (
            "audio/x-mulaw", 8000
        ):
            raise ProtocolError(f"unexpected media format {media_format!r}")
        if parameters.get("call_sid") != call_sid or not stream_token_is_valid(parameters.get("token", ""), call_sid):
            logger.warning("media stream refused: bad token for call %s", call_sid[-6:])
            await self.close(code=4403)
            return
        self.call_sid = call_sid
        # This connection's task handles every later message and starts the session's tasks, which copy its
        # context: from here on, every record logged for this call carries its CallSid (operations.logging).
        bind_call_sid(call_sid)
        context = await database_sync_to_async(load_call_context)(call_sid)
        logger.info("call %s: stream started, caller %s", call_sid, mask_phone(context.from_number))
        self.session = CallSession(call_sid=call_sid, stream_sid=stream_sid, send=self._send_to_twilio,
                                   make_agent=context.agent, greeting=context.greeting,
                                   transfer_number=context.transfer_number, voicemail=context.voicemail,
                                   answered_by=context.answered_by,
                                   hears_call_events=context.reminder)  # fmt: skip
        self._start_task = asyncio.create_task(self.session.start())
        self._start_task.add_done_callback(self._started)

    def _started(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("call %s: the session could not start", self.call_sid, exc_info=task.exception())
            asyncio.get_running_loop().create_task(self._abort(f"the session could not start: {task.exception()}"))

    def _measure_lag(self, message: dict) -> None:
        """How late this frame is handled, against its own timestamp (ms since the stream's first frame)."""
        try:
            stamp = int(message["media"]["timestamp"]) / 1000
        except (KeyError, TypeError, ValueError):
            return
        # Against the earliest arrival this stream has shown (arrival minus timestamp): the first frame
        # may itself wait behind the start message's database read, and must not set the baseline.
        offset = time.monotonic() - stamp
        if self._best_offset is None or offset < self._best_offset:
            self._best_offset = offset
        metrics.INBOUND_LAG_MS.observe((offset - self._best_offset) * 1000)

    def _require_session(self) -> CallSession:
        if self.session is None:
            raise ProtocolError("media before start")
        return self.session

    async def _send_to_twilio(self, message: dict | None) -> None:
        if message is None:
            await self.close()
        else:
            await self.send(text_data=json.dumps(message))

    async def _abort(self, reason: str) -> None:
        logger.warning("media stream %s closed: %s", self.call_sid or "(not started)", reason)
        if self.session is not None:
            await self.session.stop(outcome=Outcome.ERROR, reason="bad media stream", error=reason)
        elif self.call_sid:
            from voice import services

            await database_sync_to_async(services.call_finish)(
                call_sid=self.call_sid, outcome=Outcome.ERROR, reason="bad media stream", error=reason
            )
        await self.close(code=4400)


def _signature_ok(signature: str) -> bool:
    from voice.providers.twilio import websocket_signature_is_valid

    return bool(signature) and websocket_signature_is_valid(media_stream_url(), signature)


def _audio_of(message: dict) -> bytes:
    media = message.get("media")
    if not isinstance(media, dict):
        raise ProtocolError("media without its payload")
    if media.get("track", "inbound") != "inbound":
        return b""
    payload = media.get("payload")
    if not isinstance(payload, str):
        raise ProtocolError("media without its payload")
    try:
        audio = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("bad base64 in a media frame") from None
    if len(audio) > MAX_AUDIO_BYTES:
        raise ProtocolError("oversized media frame")
    return audio
