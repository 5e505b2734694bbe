"""What Daphne itself costs per media frame: N Twilio-like streams into an app that does nothing with them.

    .venv/bin/python bench/daphne_floor.py [--sweep 100,200,300] [--seconds 8]

The voice budget asks one server process to carry 200 calls with inbound frame lag p99 under 20 ms. A
call is 50 inbound WebSocket messages a second (Twilio's 20 ms media frames, ~300 characters of JSON).
This script measures the floor under that: Daphne (Twisted, autobahn) serving a bare ASGI app that
receives each frame, notes how late it arrived and drops it, so no Channels, no consumer, no Deepgram.
Whatever the product does per frame comes on top of these figures.

The server runs in a process of its own pinned to one CPU; this process sends every stream's frames from
one clock on the other CPU. Lag is measured in the server against the frame's send time (same machine,
same clock). Prints, per N: frames/s, server CPU, lag p50 / p99 / max, and the CPU time per frame.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

FRAME_SECONDS = 0.02
SLOTS = 10
PAYLOAD = base64.b64encode(b"\xff" * 160).decode()


# --------------------------------------------------------------------------- the server side (in Daphne)


_lags: list[float] = []


async def application(scope, receive, send):
    """A bare ASGI WebSocket app: accept, record each frame's lag, drop it; "report" returns the figures."""
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text") or ""
        if text == "report":
            await send({"type": "websocket.send", "text": json.dumps(_report())})
            continue
        frame = json.loads(text)
        _lags.append(time.time() - frame["media"]["sent"])


def _report() -> dict:
    lags = sorted(_lags)
    _lags.clear()
    user, system = os.times()[:2]

    def at(q: float) -> float | None:
        return round(lags[min(len(lags) - 1, int(q * len(lags)))] * 1000, 2) if lags else None

    return {"frames": len(lags), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0),
            "cpu_seconds": user + system}  # fmt: skip


# --------------------------------------------------------------------------- the load generator


async def run_round(port: int, streams: int, seconds: float) -> dict:
    import websockets

    url = f"ws://127.0.0.1:{port}/"
    control = await websockets.connect(url, compression=None)
    sockets = [await websockets.connect(url, compression=None) for _ in range(streams)]
    await control.send("report")
    before = json.loads(await control.recv())
    loop = asyncio.get_running_loop()
    start, slot, late = loop.time(), 0, []
    # Real streams start at random moments: each 20 ms is cut in SLOTS, and stream n sends in slot n % SLOTS.
    while loop.time() - start < seconds:
        due = start + slot * FRAME_SECONDS / SLOTS
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        late.append(loop.time() - due)
        tick = slot // SLOTS
        for number in range(slot % SLOTS, streams, SLOTS):
            frame = {"event": "media", "sequenceNumber": str(tick + 2), "streamSid": f"MZ{number:032d}",
                     "media": {"track": "inbound", "chunk": str(tick + 1), "timestamp": str(tick * 20),
                               "payload": PAYLOAD, "sent": time.time()}}  # fmt: skip
            await sockets[number].send(json.dumps(frame))
        slot += 1
    await control.send("report")
    after = json.loads(await control.recv())
    for ws in [*sockets, control]:
        await ws.close()
    late.sort()
    after["cpu_percent"] = 100 * (after["cpu_seconds"] - before["cpu_seconds"]) / seconds
    after["send_late_p99_ms"] = round(late[int(0.99 * (len(late) - 1))] * 1000, 2)
    return after


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="100,200,300", help="numbers of streams, e.g. 100,200,300")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of streaming per round")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[-1] if len(cpus) > 1 else None
    port = free_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "daphne_floor:application"]
    if server_cpu is not None:
        command = ["taskset", "-c", str(server_cpu), *command]
        os.sched_setaffinity(0, set(cpus) - {server_cpu})
    here = Path(__file__).resolve().parent
    server = subprocess.Popen(command, cwd=here, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": str(here)})  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"Daphne floor: a bare ASGI app that drops each frame; server on CPU {server_cpu}, "
              f"{args.seconds:g} s per round, {os.cpu_count()} CPUs")  # fmt: skip
        print(f"  {'streams':>7}  {'frames/s':>8}  {'server CPU':>10}  {'CPU us/frame':>12}  "
              f"{'lag p50 / p99 / max ms':>24}  {'send late p99':>13}")  # fmt: skip
        for streams in (int(n) for n in args.sweep.split(",")):
            result = asyncio.run(run_round(port, streams, args.seconds))
            rate = result["frames"] / args.seconds
            per_frame = 10_000 * result["cpu_percent"] / rate if rate else 0
            lag = f"{result['p50_ms']} / {result['p99_ms']} / {result['max_ms']}"
            print(f"  {streams:>7}  {rate:>8.0f}  {result['cpu_percent']:>9.0f}%  {per_frame:>12.0f}  {lag:>24}  "
                  f"{result['send_late_p99_ms']:>10} ms", flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
