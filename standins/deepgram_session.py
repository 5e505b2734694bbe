"""Plumbing shared by the fake Deepgram's listen and speak sockets."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from .deepgram_records import DeepgramConnection, DropPlan

log = logging.getLogger(__name__)


class Session:
    """One socket: records what it sends, runs background tasks, can be dropped abruptly."""

    def __init__(self, ws: ServerConnection, record: DeepgramConnection, drop: DropPlan | None) -> None:
        self.ws = ws
        self.record = record
        self.drop_plan = drop or DropPlan()
        self._tasks: set[asyncio.Task] = set()
        self.finished = False

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def send_json(self, message: dict[str, Any]) -> bool:
        if self.finished:
            return False
        try:
            await self.ws.send(json.dumps(message))
        except ConnectionClosed:
            return False
        self.record.sent.append(dict(message, _t=time.monotonic()))
        return True

    async def send_audio(self, chunk: bytes) -> bool:
        if self.finished:
            return False
        try:
            await self.ws.send(chunk)
        except ConnectionClosed:
            return False
        self.record.audio_bytes_sent += len(chunk)
        return True

    def drop(self) -> None:
        """Kill the TCP connection without a close frame, like a network failure."""
        if self.finished:
            return
        self.finished = True
        self.record.closed_by = "dropped"
        self.ws.transport.abort()

    async def close(self, code: int, reason: str, closed_by: str) -> None:
        if self.finished:
            return
        self.finished = True
        self.record.closed_by = closed_by
        await self.ws.close(code, reason)

    async def _drop_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.drop()

    async def run(self) -> None:
        if self.drop_plan.after_seconds is not None:
            self.spawn(self._drop_after(self.drop_plan.after_seconds))
        try:
            await self.on_open()
            async for message in self.ws:
                if self.finished:
                    break
                if isinstance(message, bytes):
                    await self.on_bytes(message)
                else:
                    try:
                        parsed = json.loads(message)
                    except ValueError:
                        parsed = None
                    if not isinstance(parsed, dict):
                        await self.on_bad_text(message)
                        continue
                    self.record.controls.append(dict(parsed, _t=time.monotonic()))
                    await self.on_control(parsed)
                if self.finished:
                    break
        except ConnectionClosed:
            pass
        finally:
            self.finished = True
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.on_finished()

    # Subclass hooks.
    async def on_open(self) -> None: ...

    async def on_bytes(self, data: bytes) -> None: ...

    async def on_control(self, message: dict[str, Any]) -> None: ...

    async def on_bad_text(self, text: str) -> None: ...

    async def on_finished(self) -> None: ...
