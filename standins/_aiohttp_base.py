"""Shared plumbing for the stand-ins that are plain HTTP servers (OpenAI, Twilio REST)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ._background import BackgroundLoop


class ThreadedAiohttpServer:
    """An aiohttp application on 127.0.0.1 (random port) served from a BackgroundLoop.

    Subclasses implement build_app(). Usable as a context manager; start() and
    stop() may be called from any thread that is not the server's own.
    """

    host = "127.0.0.1"

    def __init__(self, name: str) -> None:
        self._background = BackgroundLoop(name)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        # Long-lived handlers (hangs, slow streams) poll this so stop() is quick.
        self.stopping = False

    def build_app(self) -> web.Application:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def origin(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._background.loop is not None
        return self._background.loop

    def start(self):
        if self._runner is not None:
            return self
        self.stopping = False
        self._background.start()
        self._background.run(self._start())
        return self

    async def _start(self) -> None:
        # handler_cancellation stays off (aiohttp's default): handlers notice a
        # client that went away themselves, so they can record it.
        self._runner = web.AppRunner(self.build_app(), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._runner is None:
            return
        self.stopping = True
        try:
            self._background.run(self._runner.cleanup(), timeout=10)
        finally:
            self._runner = None
            self._background.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def peer_gone(request: web.Request) -> bool:
    """True once the client has closed (or reset) its connection."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def sleep_unless_gone(request: web.Request, seconds: float, server: ThreadedAiohttpServer) -> bool:
    """Sleep up to `seconds`; return False early if the client disconnects or the server stops."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        if peer_gone(request) or server.stopping:
            return False
        remaining = deadline - loop.time()
        if remaining <= 0:
            return True
        await asyncio.sleep(min(remaining, 0.01))
