"""Several server processes on one port (``python -m operations.serve``), their drain, and their restarts.

Real processes: the runner, its Daphne processes, real calls placed as Twilio places them (a signed webhook over
HTTP, then the media stream) against the stand-ins of Deepgram and Twilio running in this test process. No model
key: the offline agent answers. Which process carries a call is read from the operating system (the process
holding the stream's TCP connection), not from anything the product says about itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest

from crm.selectors import dealership_profile
from scheduling.models import OpeningHours
from standins import MediaStreamPeer
from standins._background import WAIT_SECONDS
from tests.operations.servers import (
    PROCESS_SECONDS,
    ROOT,
    end_server_sessions,
    free_port,
    place_call,
    read,
    server_environment,
    until,
)
from tests.standins.fixtures import fake_deepgram, fake_twilio  # noqa: F401
from voice.models import Call, Outcome, Speaker, Turn
from voice.session.call_session import RESTART_GOODBYE

pytestmark = [pytest.mark.django_db(transaction=True)]

GREETING = "Thanks for calling Saguaro Motors service."


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


class Servers:
    """``python -m operations.serve`` in a process of its own, and what it printed."""

    def __init__(self, *, processes: int, deepgram, twilio, redis_url: str, drain_seconds: float = 900):
        self.port = free_port()
        self.twilio = twilio
        self.lines: list[str] = []
        # Logged as JSON: each line names the process that wrote it, and the call.
        environment = server_environment(deepgram=deepgram, twilio=twilio, redis_url=redis_url,
                                         SERVER_DRAIN_SECONDS=str(drain_seconds), LOG_FORMAT="json")  # fmt: skip
        self.runner = subprocess.Popen(
            [sys.executable, "-m", "operations.serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--processes", str(processes)],
            cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_lines("accepts connections", processes)

    def _read(self) -> None:
        for line in self.runner.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_lines(self, text: str, count: int = 1, timeout: float = PROCESS_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < count:
            assert self.runner.poll() is None, f"the runner exited before {count} lines saying {text!r}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {count} lines saying {text!r}:\n{self.output()}"
            time.sleep(0.05)

    def webhook_process(self, call_sid: str) -> int:
        """The server process that answered this call's incoming webhook (its own log line says so)."""
        for line in self.lines:
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("call_sid") == call_sid and record["message"].startswith("Incoming call"):
                    return record["pid"]
        raise AssertionError(f"no process logged the webhook of {call_sid}:\n{self.output()}")

    def output(self) -> str:
        return "\n".join(self.lines[-60:])

    def server_pids(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.runner.pid).children() if child.is_running()}

    def carrier_of(self, peer: MediaStreamPeer) -> int:
        """The server process holding this stream's connection."""
        local_port = peer.ws.local_address[1]
        for pid in self.server_pids():
            with contextlib.suppress(psutil.NoSuchProcess):
                if any(c.raddr and c.raddr.port == local_port for c in psutil.Process(pid).net_connections("tcp")):
                    return pid
        raise AssertionError(f"no server process holds the connection from port {local_port}")

    def signal(self, signum: int) -> None:
        self.runner.send_signal(signum)

    def wait_exit(self, timeout: float = PROCESS_SECONDS) -> int:
        return self.runner.wait(timeout)

    def stop(self) -> None:
        if self.runner.poll() is None:
            for pid in self.server_pids():
                with contextlib.suppress(psutil.NoSuchProcess):
                    psutil.Process(pid).kill()
            self.runner.kill()
            self.runner.wait(30)

    # ------------------------------------------------------------------ calls

    async def answered_call(self) -> MediaStreamPeer:
        """A call whose caller has heard the greeting; its webhook goes to whichever process the kernel picks."""
        peer = await place_call(self.port, self.twilio)
        await peer.connect()
        await peer.wait_for_heard("Saguaro Motors")
        return peer


async def say_goodbye(peer: MediaStreamPeer) -> None:
    await peer.say("that's all, bye")
    await peer.wait_for_heard("goodbye")
    await peer.wait_closed()


def recorded_once(call_sid: str, outcome: str) -> bool:
    call = Call.objects.filter(call_sid=call_sid).first()
    return call is not None and call.outcome == outcome


@pytest.fixture
def dealership(db):
    profile = dealership_profile()
    profile.name, profile.greeting = "Saguaro Motors Service", GREETING
    profile.save()
    for weekday in range(7):
        OpeningHours.objects.create(weekday=weekday, opens="07:00", closes="18:00")


@pytest.fixture
def servers(dealership, fake_deepgram, fake_twilio, private_redis):  # noqa: F811
    started: list[Servers] = []

    def start(**options) -> Servers:
        started.append(Servers(deepgram=fake_deepgram, twilio=fake_twilio, redis_url=private_redis, **options))
        return started[-1]

    yield start
    for server in started:
        server.stop()
    end_server_sessions()  # a process killed mid-call leaves its sessions open for a while


async def test_calls_spread_over_two_processes_and_each_is_recorded_once(servers):
    two = await asyncio.to_thread(servers, processes=2)
    carriers: dict[str, int] = {}  # the process that carried each call's media stream
    split = False  # a call whose webhook one process answered and whose stream another carried
    for _ in range(10):  # rounds of four calls at once, until both happened; the kernel picks the process
        peers = await asyncio.gather(*(two.answered_call() for _ in range(4)))
        carriers.update({peer.call_sid: two.carrier_of(peer) for peer in peers})
        await asyncio.gather(*(say_goodbye(peer) for peer in peers))
        split = split or any(two.webhook_process(peer.call_sid) != carriers[peer.call_sid] for peer in peers)
        if len(set(carriers.values())) == 2 and split:
            break
    assert len(set(carriers.values())) == 2, f"every call landed on one process: {carriers}"
    assert split, "no call had its webhook and its stream on different processes"

    for call_sid in carriers:
        await until(lambda: recorded_once(call_sid, Outcome.COMPLETED))
    greetings = await read(lambda: sorted(
        Turn.objects.filter(call__call_sid__in=carriers, speaker=Speaker.AGENT, text=GREETING)
        .values_list("call__call_sid", flat=True)))  # fmt: skip
    assert greetings == sorted(carriers), "each call's greeting is recorded exactly once"
    assert await read(Call.objects.filter(call_sid__in=carriers).count) == len(carriers)


async def test_a_process_that_dies_leaves_the_other_process_s_calls_alone_and_is_replaced(servers):
    two = await asyncio.to_thread(servers, processes=2)
    peers: dict[int, MediaStreamPeer] = {}
    for _ in range(12):  # until each process carries a call, kept on the line
        peer = await two.answered_call()
        carrier = two.carrier_of(peer)
        if carrier in peers:
            await say_goodbye(peer)
        else:
            peers[carrier] = peer
        if len(peers) == 2:
            break
    assert len(peers) == 2, "the calls never reached both processes"
    doomed, survivor = sorted(peers)

    os.kill(doomed, signal.SIGKILL)
    await peers[doomed].wait_closed()
    await say_goodbye(peers[survivor])  # the other process's call goes on to its end
    await until(lambda: recorded_once(peers[survivor].call_sid, Outcome.COMPLETED))

    await asyncio.to_thread(two.wait_for_lines, "accepts connections", 3)
    assert doomed not in two.server_pids() and survivor in two.server_pids() and len(two.server_pids()) == 2
    again = await two.answered_call()  # still two processes serving
    await say_goodbye(again)


async def test_sigterm_lets_a_call_in_progress_finish_and_refuses_new_connections(servers):
    one = await asyncio.to_thread(servers, processes=1)
    peer = await one.answered_call()

    one.signal(signal.SIGTERM)
    await asyncio.to_thread(one.wait_for_lines, "draining")
    deadline = time.monotonic() + WAIT_SECONDS
    while not await asyncio.to_thread(refuses_connections, one.port):
        assert time.monotonic() < deadline, "new connections were still accepted while draining"
        await asyncio.sleep(0.1)

    await peer.say("what time do you close today?")  # the call in progress is served as usual
    await peer.wait_for_heard(lambda text: "6" in text or "six" in text.lower())
    assert one.runner.poll() is None, "the server stopped under a live call"
    await say_goodbye(peer)
    assert await asyncio.to_thread(one.wait_exit) == 0
    await until(lambda: recorded_once(peer.call_sid, Outcome.COMPLETED))
    turns = await read(lambda: list(Turn.objects.filter(call__call_sid=peer.call_sid)
                                    .values_list("speaker", flat=True)))  # fmt: skip
    assert turns.count(Speaker.CALLER) == 2 and turns.count(Speaker.AGENT) >= 3  # all of it saved


async def test_a_call_still_going_at_the_drain_limit_hears_a_goodbye_before_the_process_exits(servers):
    one = await asyncio.to_thread(servers, processes=1, drain_seconds=1)
    peer = await one.answered_call()

    one.signal(signal.SIGTERM)
    await peer.wait_for_heard("phone system is restarting")
    await peer.wait_closed()
    assert await asyncio.to_thread(one.wait_exit) == 0
    await until(lambda: recorded_once(peer.call_sid, Outcome.SERVER_RESTART))
    assert RESTART_GOODBYE in await read(lambda: list(
        Turn.objects.filter(call__call_sid=peer.call_sid).values_list("text", flat=True)))  # fmt: skip


async def test_sighup_replaces_every_process_while_the_old_one_finishes_its_call(servers):
    one = await asyncio.to_thread(servers, processes=1)
    peer = await one.answered_call()
    old = one.carrier_of(peer)

    one.signal(signal.SIGHUP)
    await asyncio.to_thread(one.wait_for_lines, "accepts connections", 2)
    fresh = await one.answered_call()  # a new call reaches the new process
    assert one.carrier_of(fresh) != old
    await peer.say("what time do you close today?")  # the old process still serves its call
    await peer.wait_for_heard(lambda text: "6" in text or "six" in text.lower())
    await say_goodbye(peer)
    await asyncio.to_thread(one.wait_for_lines, f"server process {old} drained and exited")
    await say_goodbye(fresh)
    for call_sid in (peer.call_sid, fresh.call_sid):
        await until(lambda: recorded_once(call_sid, Outcome.COMPLETED))
