"""Voice benchmark: N simulated calls at once against ONE server process (not a test: prints figures, exits 0).

    DEBUG=1 .venv/bin/python bench/voice.py                      # the sweep: 25, 50, 100, ... 300 calls
    DEBUG=1 .venv/bin/python bench/voice.py --calls 100          # one round of 100 calls
    DEBUG=1 .venv/bin/python bench/voice.py --sweep 50,200 --questions 1 --no-pin

The sweep skips the rest after two rounds in a row over the inbound-lag budget (larger rounds only get
worse; the 100-call round, where per-turn budgets are judged, always runs; --keep-going runs them all),
then plays --narrow (2) more rounds halving the gap between the largest N that passed and the smallest
that failed. A full run takes three to six minutes.

The server (bench/voice_server.py: Daphne serving dealership.asgi:application) runs in a process of
its own, pinned to one CPU; this process, pinned to the other(s), is the load generator: the callers
(standins.MediaStreamPeer, Twilio's side of each stream) and the stand-ins at fixed latencies
(FakeDeepgram: final transcript 150 ms after speech ends, first TTS byte after 150 ms; FakeOpenAI: first
token after 350 ms, then 40 tokens/s, answering with knowledge-base passages). Each call is placed as
Twilio places one (signed webhook over HTTP, then the stream), hears a short greeting, asks one or two
of the demo FAQs in a caller's words, hears the answers, and hangs up once every call has finished.

A round has five phases: "ramp" (calls arrive, RAMP_PER_SECOND a second, and hear the greeting),
"listen" (all N calls on the line and streaming, nobody speaking: the floor cost of N streams), "talk"
(all N calls asking and listening at once: within TALK_JITTER_SECONDS every caller asks, so nearly every
call has the agent speaking at the same time, the peak), "arrivals" (the N calls stay on the line while
PROBES more calls arrive, one a second, hear the greeting and hang up: 200 calls of three minutes bring
about one a second) and "hangup". The greeting budget is judged on the arrivals, the inbound-lag budget
on "talk" and shown for "listen" and "arrivals" (what each arriving call costs the others). The ramp
compresses arrivals to keep the benchmark short; its figures are shown as they are.

Figures:
- greeting: stream start -> first greeting frame at the caller (the peer's timeline);
- first frame: the caller's final transcript -> first agent audio frame sent (Turn.first_frame_ms),
  with the model's first token and the first TTS byte on the same clock;
- server turn: the server's own time in each turn (voice.metrics SERVER_TURN_MS in the server process);
- inbound lag: how late the server handled each caller frame against its timestamp (INBOUND_LAG_MS);
- send lag: how late the load generator sent those frames (MediaStreamPeer.lag_stats): the part of the
  inbound lag that is not the server's.

Everything happens in a throwaway database (bench_voice), dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from dealership.celery import app as celery_app  # noqa: E402
from voice import simulation  # noqa: E402
from voice.models import Speaker, Turn  # noqa: E402
from bench.standin_model import KnowledgeAnswers  # noqa: E402
from voice.simulation import Endpoint, Latencies, SimulatedCall, Standins, percentile  # noqa: E402

BENCH_DATABASE = "bench_voice"
SWEEP = (25, 50, 100, 150, 200, 250, 300)
GREETING = "Thanks for calling Saguaro Motors."
LATENCIES = Latencies(stt_final=0.15, llm_first_token=0.35, llm_tokens_per_second=40, tts_first_byte=0.15)
RAMP_PER_SECOND = 10  # calls arriving per second while a round fills up
PROBES = 10  # calls arriving, one a second, in the "arrivals" phase
LISTEN_SECONDS = 8.0  # the "listen" phase: every call streaming, nobody speaking yet
WEBHOOKS_IN_FLIGHT = 4  # Django serves each webhook in a thread with its own database connection
TALK_JITTER_SECONDS = 2.0  # callers start asking at random within this, so they are not in lockstep
QUESTION_POOL = 8  # the demo FAQs with the shortest answers, asked in a caller's words
BUDGETS = {"greeting_p95_ms": 300, "first_frame_p95_ms": 700, "server_turn_p95_ms": 20, "lag_p99_ms": 20,
           "calls": 200, "judged_at": 100}  # fmt: skip


# --------------------------------------------------------------------------- set-up


def isolate() -> None:
    settings.DEBUG = False  # DEBUG=1 only lets it start without SECRET_KEY; it would keep every query
    settings.KNOWLEDGE_EMBEDDING_PROVIDER = "none"  # no model download or PyTorch in the load generator
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = settings.GOOGLE_CALENDAR_ID = ""
    celery_app.conf.broker_url = "memory://localhost//"  # demo data enqueues embeddings; nobody runs them
    connections["default"].settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    logging.getLogger().setLevel(logging.WARNING)


def load_dealership() -> None:
    from crm import demo as crm_demo
    from crm.selectors import dealership_profile
    from knowledge import demo as knowledge_demo

    crm_demo.load()
    knowledge_demo.load()
    profile = dealership_profile()
    profile.greeting = GREETING  # short: the greeting figure is about the server, not the words
    profile.save()


def question_pool(answers: KnowledgeAnswers) -> list[str]:
    """Caller phrasings of the demo FAQs with the shortest answers, kept when the stand-in answers them."""
    from knowledge.demo_content import FAQS

    pool = []
    for entry in sorted(FAQS, key=lambda faq: len(faq["answer"])):
        for question in [*entry.get("phrasings", ()), entry["question"]]:
            if answers.answer(question).text == entry["answer"]:  # also warms the stand-in's cache
                pool.append(question)
                break
        if len(pool) == QUESTION_POOL:
            return pool
    raise SystemExit(f"only {len(pool)} demo questions are answered from the knowledge base")


def pin_cpus(no_pin: bool) -> tuple[int | None, set[int]]:
    """One CPU for the server, the rest for this process (before any thread starts: threads inherit it)."""
    cpus = sorted(os.sched_getaffinity(0))
    if no_pin or len(cpus) < 2:
        return None, set(cpus)
    server_cpu = cpus[-1]
    os.sched_setaffinity(0, set(cpus) - {server_cpu})
    return server_cpu, set(cpus) - {server_cpu}


class ServerProcess:
    """bench/voice_server.py in a subprocess, driven over its stdin/stdout."""

    def __init__(self, environment: dict[str, str], cpu: int | None):
        command = [sys.executable, str(Path(__file__).with_name("voice_server.py")), "--database", BENCH_DATABASE]
        if cpu is not None:
            command += ["--cpu", str(cpu)]
        self.log = tempfile.NamedTemporaryFile("w+", prefix="bench_voice_server_", suffix=".log", delete=False)
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                        text=True, env={**os.environ, **environment})  # fmt: skip
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            raise SystemExit(f"the server did not start; see {self.log.name}")
        self.port = int(line.split()[1])

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the server stopped; see {self.log.name}")
        return json.loads(line)

    async def ask_async(self, command: str) -> dict:
        return await asyncio.to_thread(self.ask, command)

    def wait_until_idle(self, longest: float = 90.0) -> float:
        """Wait until the server uses under 5% of a CPU (an overloaded round leaves a backlog); returns the wait."""
        began = time.monotonic()
        before = self.ask("cpu")["cpu_seconds"]
        while time.monotonic() - began < longest:
            time.sleep(1.0)
            now = self.ask("cpu")["cpu_seconds"]
            if now - before < 0.05:
                break
            before = now
        return time.monotonic() - began

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


# --------------------------------------------------------------------------- one round


@dataclass
class Round:
    calls: int
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    greeting_ms: list[float] = field(default_factory=list)  # the N calls, during the ramp
    probe_greeting_ms: list[float] = field(default_factory=list)  # calls arriving during "arrivals"
    caller_wait_ms: list[float] = field(default_factory=list)
    talk_send_lags_ms: list[float] = field(default_factory=list)
    ramp_send_lags_ms: list[float] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    phases: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0

    def turn_values(self, name: str) -> list[float]:
        return [getattr(t, name) for t in self.turns if getattr(t, name) is not None]


class Caller:
    """One simulated caller: arrive, hear the greeting, wait for everyone, ask, listen, stay on the line."""

    def __init__(self, call: SimulatedCall, questions: list[str], rng: random.Random):
        self.call, self.questions, self.rng = call, questions, rng
        self.greeted = self.finished = False
        self.error = ""
        self.send_lag_marks: dict[str, int] = {}

    async def run(self, arrive_after: float, gate, talk, hang_up, on_greeted, on_finished) -> None:
        try:
            await asyncio.sleep(arrive_after)
            async with gate:
                await self.call.start()
            self.greeted = await self.call.wait_for_agent(self.call.connected_at, quiet=0.5)
            if not self.greeted:
                self.error = "the greeting was not heard"
        except Exception as exc:  # counted and shown, never hidden
            self.error = f"{type(exc).__name__}: {exc}"
        on_greeted()
        if not self.greeted:
            on_finished()
            await self.call.close()
            return
        await talk.wait()
        self.mark_send_lags("talk")
        try:
            await asyncio.sleep(self.rng.uniform(0, TALK_JITTER_SECONDS))
            for question in self.questions:
                line = await self.call.say(question)
                if line is None or not await self.call.wait_for_agent(line.ended_at, quiet=0.5):
                    self.error = f"no answer to {question!r}"
                    break
            self.finished = not self.error
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        on_finished()
        await hang_up.wait()  # stay on the line: the talk phase has all N calls streaming until it ends
        self.mark_send_lags("hangup")
        await self.call.hang_up()

    def mark_send_lags(self, phase: str) -> None:
        if self.call.peer is not None:
            self.send_lag_marks[phase] = len(self.call.peer.send_lags)

    def send_lags(self, start: str | None, end: str | None) -> list[float]:
        if self.call.peer is None:
            return []
        lags = self.call.peer.send_lags
        first = self.send_lag_marks.get(start, 0) if start else 0
        last = self.send_lag_marks.get(end, len(lags)) if end else len(lags)
        return [lag * 1000 for lag in lags[first:last]]


async def run_round(calls: int, server: ServerProcess, standins: Standins, pool: list[str], questions: int,
                    seed: int) -> Round:  # fmt: skip
    rng = random.Random(seed)
    endpoint = Endpoint.at(f"ws://127.0.0.1:{server.port}/ws/voice/", account_sid=standins.twilio.account_sid,
                           auth_token=standins.twilio.auth_token)  # fmt: skip
    callers = [Caller(SimulatedCall(endpoint, from_number=caller_number(n), twilio=standins.twilio),
                      rng.sample(pool, questions), random.Random(rng.random()))
               for n in range(calls)]  # fmt: skip
    gate, talk, hang_up = asyncio.Semaphore(WEBHOOKS_IN_FLIGHT), asyncio.Event(), asyncio.Event()
    greeted, finished = asyncio.Event(), asyncio.Event()
    counts = {"greeted": 0, "finished": 0}

    def count(name: str, event: asyncio.Event):
        def tick():
            counts[name] += 1
            if counts[name] == calls:
                event.set()

        return tick

    began = time.monotonic()
    await server.ask_async("phase ramp")
    tasks = [asyncio.create_task(c.run(n / RAMP_PER_SECOND, gate, talk, hang_up, count("greeted", greeted),
                                       count("finished", finished)))
             for n, c in enumerate(callers)]  # fmt: skip
    await _wait(greeted, calls / RAMP_PER_SECOND + 30)
    await server.ask_async("phase listen")
    await asyncio.sleep(LISTEN_SECONDS)
    await server.ask_async("phase talk")
    talk.set()
    result = Round(calls=calls)
    await _wait(finished, 120)
    await server.ask_async("phase arrivals")
    await probe_greetings(endpoint, standins, result)
    await server.ask_async("phase hangup")
    hang_up.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    result.seconds = time.monotonic() - began
    result.phases = {phase["name"]: phase for phase in (await server.ask_async("dump"))["phases"]}
    for caller in callers:
        if caller.error:
            result.errors.append(caller.error)
        else:
            result.ok += 1
        if caller.call.peer is None:
            continue
        result.greeting_ms.append(simulation.greeting_ms(caller.call.peer))
        result.caller_wait_ms += [simulation.caller_wait_ms(caller.call.peer, line) for line in caller.call.lines]
        result.ramp_send_lags_ms += caller.send_lags(None, "talk")
        result.talk_send_lags_ms += caller.send_lags("talk", "hangup")
    sids = [c.call.call_sid for c in callers if c.call.call_sid]
    result.turns = await asyncio.to_thread(_answer_turns, sids)
    return result


async def probe_greetings(endpoint: Endpoint, standins: Standins, result: Round) -> None:
    """PROBES calls arrive, one a second, each hears the greeting and hangs up."""

    async def probe(n: int) -> None:
        call = SimulatedCall(endpoint, from_number=caller_number(n), twilio=standins.twilio)
        try:
            await call.start()
            if await call.wait_for_agent(call.connected_at, quiet=0.3, start_within=10):
                result.probe_greeting_ms.append(simulation.greeting_ms(call.peer))
            else:
                result.errors.append("a probe call did not hear the greeting")
        except Exception as exc:
            result.errors.append(f"probe call: {type(exc).__name__}: {exc}")
        finally:
            await call.hang_up()

    tasks = []
    for n in range(PROBES):
        tasks.append(asyncio.create_task(probe(5000 + n)))
        await asyncio.sleep(1.0)
    await asyncio.gather(*tasks, return_exceptions=True)


def caller_number(n: int) -> str:
    """Fictional numbers (555-0100 to 0199 in five Arizona area codes); some are demo customers, like real callers."""
    area = ("602", "480", "623", "520", "928")[n // 100 % 5]
    return f"+1{area}55501{n % 100:02d}"


async def _wait(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        pass  # the calls that did not make it are counted as errors


def _answer_turns(call_sids: list[str]) -> list[Turn]:
    """The agent turns that answered a caller (the greeting has no final transcript, so no first_frame_ms)."""
    try:
        return list(Turn.objects.filter(call__call_sid__in=call_sids, speaker=Speaker.AGENT,
                                        first_frame_ms__isnull=False))  # fmt: skip
    finally:
        connections.close_all()


# --------------------------------------------------------------------------- report


def _f(value, digits=0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pair(values, a=0.5, b=0.95, digits=0) -> str:
    return f"{_f(percentile(values, a), digits)} / {_f(percentile(values, b), digits)}"


def print_header(args, server_cpu, own_cpus, pool) -> None:
    line = "-" * 118
    print(line)
    pinning = (f"server pinned to CPU {server_cpu}, load generator and stand-ins on CPU {sorted(own_cpus)}"
               if server_cpu is not None else "no CPU pinning")  # fmt: skip
    print(f"Voice benchmark - one Daphne process; {pinning}; {os.cpu_count()} CPUs, load average "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} at start")  # fmt: skip
    lat = LATENCIES
    print(f"stand-ins: STT final {lat.stt_final * 1000:.0f} ms after speech, LLM first token "
          f"{lat.llm_first_token * 1000:.0f} ms then {lat.llm_tokens_per_second:g} tokens/s, TTS first byte "
          f"{lat.tts_first_byte * 1000:.0f} ms ({lat.tts_realtime_factor:g}x real time)")  # fmt: skip
    print(f"each call: greeting \"{GREETING}\", {args.questions} question(s) of {len(pool)} demo FAQs in a "
          f"caller's words; calls arrive {RAMP_PER_SECOND}/s in the ramp, then {PROBES} more 1/s after the "
          "talk")  # fmt: skip
    print(line)


def print_tables(rounds: list[Round]) -> None:
    print("Latency per call and turn, ms, p50 / p95. Greeting: stream start -> first frame at the caller, for calls")
    print("arriving 1/s with the N on the line (ramp greeting: the N calls themselves, arriving 10/s). 1st frame,")
    print("1st token, TTS 1st byte: from the caller's final transcript (call records). Server turn: the server's own")
    print("time per turn (its metrics). Caller waited: end of the caller's speech -> first agent audio, at the caller.")
    print(f"  {'calls':>5} {'ok':>4} {'turns':>5}  {'greeting':>11}  {'ramp greeting':>13}  {'1st frame':>11}  "
          f"{'1st token':>11}  {'TTS 1st byte':>12}  {'server turn p50/p95/p99':>23}  "
          f"{'caller waited':>13}")  # fmt: skip
    for r in rounds:
        turn = r.phases.get("talk", {}).get("server_turn_ms", {})
        server = f"{_f(turn.get('p50'), 1)} / {_f(turn.get('p95'), 1)} / {_f(turn.get('p99'), 1)}"
        print(f"  {r.calls:>5} {r.ok:>4} {len(r.turns):>5}  {_pair(r.probe_greeting_ms):>11}  "
              f"{_pair(r.greeting_ms):>13}  "
              f"{_pair(r.turn_values('first_frame_ms')):>11}  {_pair(r.turn_values('agent_first_token_ms')):>11}  "
              f"{_pair(r.turn_values('tts_first_byte_ms')):>12}  {server:>23}  "
              f"{_pair(r.caller_wait_ms):>13}")  # fmt: skip
    print()
    print("Load: inbound frame lag in the server (talk phase, all N calls streaming) against the load generator's own "
          "send lag, ms.")
    print("'server lag' is voice.metrics INBOUND_LAG_MS: each frame against the earliest arrival its stream has shown.")
    print(f"  {'calls':>5}  {'frames/s':>8}  {'server lag p50 / p95 / p99 / max':>33}  "
          f"{'send lag p50 / p99 / max':>25}  {'server CPU':>10}  {'arrivals p99':>12}  "
          f"{'ramp p99':>8}  {'ramp send p99':>13}  {'listen p99, CPU':>15}")  # fmt: skip
    for r in rounds:
        talk = r.phases.get("talk", {})
        lag = talk.get("inbound_lag_ms", {})
        ramp, arrivals = r.phases.get("ramp", {}), r.phases.get("arrivals", {})
        seconds = talk.get("seconds") or 0
        rate = lag.get("count", 0) / seconds if seconds else 0
        cpu = f"{100 * talk['cpu_seconds'] / seconds:.0f}%" if seconds else "-"
        server_lag = f"{_f(lag.get('p50'), 1)} / {_f(lag.get('p95'), 1)} / {_f(lag.get('p99'), 1)} / " \
                     f"{_f(lag.get('max'), 0)}"  # fmt: skip
        send = f"{_pair(r.talk_send_lags_ms, 0.5, 0.99, 1)} / {_f(max(r.talk_send_lags_ms, default=None))}"
        print(f"  {r.calls:>5}  {rate:>8.0f}  {server_lag:>33}  {send:>25}  {cpu:>10}  "
              f"{_phase_p99(arrivals):>12}  {_phase_p99(ramp):>8}  "
              f"{_f(percentile(r.ramp_send_lags_ms, 0.99), 1):>13}  {_listen(r):>15}")  # fmt: skip
    errors = [(r.calls, e) for r in rounds for e in sorted(set(r.errors))[:3]]
    for calls, error in errors:
        print(f"  ({calls} calls) error: {error}")
    print()
    print("Garbage collection in the server, talk phase: collections, total / longest pause in ms (every call on the")
    print("process waits through each; a full collection walks every object the calls hold).")
    print(f"  {'calls':>5}  {'young (gen 0)':>20}  {'middle (gen 1)':>20}  {'full (gen 2)':>20}")
    for r in rounds:
        collections = r.phases.get("talk", {}).get("gc", {})
        print(f"  {r.calls:>5}  " + "  ".join(f"{_collections(collections.get(g)):>20}" for g in "012"))
    print()


def _collections(generation: dict | None) -> str:
    if not generation:
        return "-"
    return f"{generation['count']}: {generation['total_ms']:.0f} / {generation['max_ms']:.1f}"


def _listen(r: Round) -> str:
    listen = r.phases.get("listen", {})
    seconds = listen.get("seconds") or 0
    cpu = f"{100 * listen['cpu_seconds'] / seconds:.0f}%" if seconds else "-"
    return f"{_phase_p99(listen)}, {cpu}"


def _phase_p99(phase: dict) -> str:
    return _f(phase.get("inbound_lag_ms", {}).get("p99"), 1)


def print_verdicts(rounds: list[Round]) -> None:
    judged = next((r for r in rounds if r.calls == BUDGETS["judged_at"]), None) or max(rounds, key=lambda r: r.calls)
    largest = max((r.calls for r in rounds if _under_lag_budget(r)), default=None)
    talk_turn = judged.phases.get("talk", {}).get("server_turn_ms", {})
    rows = [
        (f"greeting, stream start -> first frame, p95 <= {BUDGETS['greeting_p95_ms']} ms ({judged.calls} calls)",
         percentile(judged.probe_greeting_ms, 0.95), BUDGETS["greeting_p95_ms"], "ms"),
        (f"final transcript -> first frame, p95 <= {BUDGETS['first_frame_p95_ms']} ms ({judged.calls} calls)",
         percentile(judged.turn_values("first_frame_ms"), 0.95), BUDGETS["first_frame_p95_ms"], "ms"),
        (f"server's own time per turn, p95 <= {BUDGETS['server_turn_p95_ms']} ms ({judged.calls} calls)",
         talk_turn.get("p95"), BUDGETS["server_turn_p95_ms"], "ms"),
    ]  # fmt: skip
    print("Budgets (DESIGN.md)")
    for label, value, budget, unit in rows:
        verdict = "-" if value is None else ("ok" if value <= budget else "OVER BUDGET")
        print(f"  {label:<72} {_f(value, 1):>8} {unit}   {verdict}")
    tried = ", ".join(str(r.calls) for r in rounds)
    verdict = "ok" if largest is not None and largest >= BUDGETS["calls"] else "UNDER BUDGET"
    print(f"  {'calls with inbound lag p99 < 20 ms, >= 200 (tried ' + tried + ')':<72} "
          f"{_f(largest):>8} calls   {verdict}")  # fmt: skip
    if judged.calls != BUDGETS["judged_at"]:
        print(f"  (no {BUDGETS['judged_at']}-call round: per-turn budgets judged at {judged.calls} calls)")


def _lag_p99(r: Round) -> float | None:
    return r.phases.get("talk", {}).get("inbound_lag_ms", {}).get("p99")


def _under_lag_budget(r: Round) -> bool:
    lag = _lag_p99(r)
    return lag is not None and lag < BUDGETS["lag_p99_ms"] and r.ok == r.calls


# --------------------------------------------------------------------------- main


def sweep(counts: list[int], server: ServerProcess, standins: Standins, pool: list[str], args) -> list[Round]:
    """Run the rounds in order, stop after two in a row over the lag budget, then narrow down where it breaks."""
    rounds: list[Round] = []

    def play(calls: int) -> Round:
        server.wait_until_idle()
        result = asyncio.run(run_round(calls, server, standins, pool, args.questions, seed=len(rounds) + 1))
        print(f"  round of {calls} calls: {result.ok} ok, {result.seconds:.0f} s, inbound lag p99 "
              f"{_f(_lag_p99(result), 1)} ms",
              flush=True)  # fmt: skip
        rounds.append(result)
        return result

    over = 0
    for calls in counts:
        if over >= 2 and not args.keep_going and calls != BUDGETS["judged_at"]:
            print(f"  (two rounds in a row over the lag budget: {calls} calls skipped)")
            continue  # larger rounds only get worse; the round the per-turn budgets are judged at still runs
        over = 0 if _under_lag_budget(play(calls)) else over + 1
    for _ in range(args.narrow if len(counts) > 1 else 0):
        passed = [r.calls for r in rounds if _under_lag_budget(r)]
        failed = [r.calls for r in rounds if not _under_lag_budget(r) and r.calls > max(passed, default=0)]
        if not passed or not failed or min(failed) - max(passed) <= 5:
            break
        play((max(passed) + min(failed)) // 2)
    return sorted(rounds, key=lambda r: r.calls)



def parse_args():
    parser = argparse.ArgumentParser(description="N simulated calls at once against one voice server process.")
    parser.add_argument("--calls", type=int, help="one round of this many calls (instead of the sweep)")
    parser.add_argument("--sweep", default=",".join(map(str, SWEEP)), help="rounds to run, e.g. 25,50,100")
    parser.add_argument("--questions", type=int, choices=(1, 2), default=2, help="questions each caller asks")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and this process to CPUs")
    parser.add_argument("--keep-going", action="store_true",
                        help="run every round of the sweep (default: stop after two rounds over the lag budget)")
    parser.add_argument("--narrow", type=int, default=2,
                        help="extra rounds halving the gap between the largest passing and smallest failing N")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    counts = [args.calls] if args.calls else [int(n) for n in args.sweep.split(",")]
    server_cpu, own_cpus = pin_cpus(args.no_pin)
    sys.setswitchinterval(0.001)  # many threads here (peers' loop, each stand-in's): hand the GIL over promptly
    isolate()
    old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    answers = KnowledgeAnswers()
    server = None
    try:
        load_dealership()
        pool = question_pool(answers)
        with Standins(LATENCIES, responder=answers, use_real_providers=False) as standins:
            environment = {**standins.settings_values(), "DEBUG": "1", "KNOWLEDGE_EMBEDDING_PROVIDER": "none",
                           "VOICE_SILENCE_SECONDS": "300"}  # callers wait silently for the others: no "still there?"
            server = ServerProcess(environment, server_cpu)
            print_header(args, server_cpu, own_cpus, pool)
            rounds = sweep(counts, server, standins, pool, args)
            print()
            print_tables(rounds)
            print_verdicts(rounds)
            print(f"server log: {server.log.name}")
    finally:
        if server is not None:
            server.stop()
        answers.close()
        _end_connections()
        teardown_databases(old_config, verbosity=0)
    return 0


def _end_connections() -> None:
    """The server process is gone; end any connection of ours still open, or the database cannot be dropped."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
    connections.close_all()


if __name__ == "__main__":
    sys.exit(main())
