"""Voice benchmark: N simulated calls at once against ONE server process (not a test: prints figures, exits 0).

    DEBUG=1 .venv/bin/python bench/voice.py                      # the sweep: 25, 50, 100, 150, 200, 300 calls
    DEBUG=1 .venv/bin/python bench/voice.py --calls 100          # one round of 100 calls
    DEBUG=1 .venv/bin/python bench/voice.py --sweep 50,200 --questions 1 --no-pin
    DEBUG=1 .venv/bin/python bench/voice.py --phases mix         # only the realistic mix (no talk peak)
    DEBUG=1 .venv/bin/python bench/voice.py --calls 25 --phases talk,barge   # the talk peak, then barge-ins

The question is how many calls one server process carries with the inbound frame lag p99 under 20 ms,
asked twice: at the talk peak (every agent speaking at once) and at a realistic mix (at any moment about
40% of the agents speaking, the rest listening, or the caller speaking, or nobody). The verdict prints the
largest passing number of calls for each, side by side. A round passes a criterion when that phase's lag
p99 is under the bound and every call was served in it; a mix round also has to have reached, on average,
MIX_SHARE_FLOOR (3/4) of the 40% aimed at (an overloaded server answers late, callers wait longer, and
fewer agents speak: that round was lighter than claimed). Beside the two criteria, the rounds of up to
BARGE_MAX_CALLS (100) calls measure barge-ins: how soon the agent stops when the caller talks over it.

The sweep plays the rounds in order. Each criterion (talk, mix) stops being measured after two rounds in a
row over the lag bound (larger rounds only get worse; the 100-call round, where the per-turn budgets are
judged, always runs the talk peak; --keep-going measures them all), and a round with neither left is
skipped. The barge-in phase is no criterion: it comes along in every round played of at most
BARGE_MAX_CALLS calls (in every round when --phases names it). Then, for each criterion, --narrow (1)
more round halves the gap between the largest N that passed and the smallest that failed (unless they
are --resolution (25) apart or closer); such a round plays only the phase it narrows, without the
arrivals or the barge-ins. A round with both phases lasts about 85 s plus N / RAMP_PER_SECOND (the
ramp), a mix-only round about 45 s plus the ramp, a talk-only one about 40 s plus the ramp; the barge-in
phase adds about 40 s. The default sweep takes 12 to 14 minutes on a quiet machine (six rounds of both
phases, three of them with barge-ins, and no narrowing when everything passes up to 300 calls; more
narrowing, fewer full rounds otherwise); --narrow 0 saves one to two minutes; --phases talk is the
talk-peak-only run, three to six minutes. Each round prints its duration, and the total is printed at
the end.

The server (bench/voice_server.py: Daphne serving dealership.asgi:application) runs in a process of
its own, pinned to one CPU; this process, pinned to the other(s), is the load generator: the callers
(standins.MediaStreamPeer, Twilio's side of each stream) and the stand-ins at fixed latencies
(FakeDeepgram: final transcript 150 ms after speech ends, first TTS byte after 150 ms; FakeOpenAI: first
token after 350 ms, then 40 tokens/s, answering with knowledge-base passages). Each call is placed as
Twilio places one (signed webhook over HTTP, then the stream), hears a short greeting, asks one or two
of the demo FAQs in a caller's words, hears the answers, talks over a few answers, later keeps conversing,
and hangs up at the end.

A round has up to eight phases, each marked in the server's figures:
- "ramp": calls arrive, RAMP_PER_SECOND a second, and hear the greeting (compressed arrivals to keep
  the benchmark short; its figures are shown as they are);
- "listen": all N calls on the line and streaming, nobody speaking: the floor cost of N streams;
- "talk": the talk peak. Within TALK_JITTER_SECONDS every caller asks, then hears the answer (and asks
  its second question), so nearly every call has the agent speaking at the same time;
- "arrivals": the N calls stay on the line, silent, while PROBES more calls arrive, one a second, hear
  the greeting and hang up (200 calls of three minutes bring about one a second);
- "barge": barge-ins. Every caller on the line, starting within BARGE_JITTER_SECONDS (2 s), BARGE_REPEATS
  (2) times: asks a question whose answer lasts BARGE_MIN_ANSWER_SECONDS (4 s) or more (every one of the
  pool does), says another line over the answer once its audio has been arriving for BARGE_AFTER_SECONDS
  (0.6 to 1.5 s, at random), and hears the answer to that line out. A line is an opener of BARGE_OPENERS
  ("Hold on, one more thing.") then another question of the pool: what the stand-in model cannot find in
  the knowledge base it answers with a transfer, which would end the call;
- "mix-lead-in" then "mix": the realistic mix. Every caller loops: ask a random question of the pool,
  hear the whole answer (or, in the share --mix-barge-ins of the exchanges, 0 by default, talk over it as
  in "barge"), pause. The pause is drawn at random, x0.5 to x1.5, around the value that makes
  the agent speak MIX_SHARE (40%) of the caller's cycle: with the answer just heard lasting A seconds of
  audio and the whole exchange (question, waiting, answer, the quiet after it) T seconds, the pause
  P = A / 0.4 - T, so A / (T + P) = 0.4 on average (measured per exchange, so a slower server gets
  shorter pauses). The callers start out of phase, each after a random offset within one cycle; the
  lead-in (the longest exchange expected) lets every cycle get under way, and MIX_SECONDS of steady
  mixing follow, measured;
- "hangup": everyone hangs up, mid-answer or not.
The greeting budget is judged on the arrivals, the inbound-lag budget on "talk" (and the mix is shown
beside it), and the lag is shown for "listen", "arrivals" and "ramp". The caller's own budgets are judged
in the rounds of 25 and 100 calls: the caller waited (below) p50 <= 800 ms, at the talk peak and in the
mix (every answer here is an FAQ's, given without tools), and barge-in speech start -> quiet p50 <= 200 ms,
-> clear p50 <= 400 ms, in the barge phase (nearly every agent speaking: a talk peak) and in the mix.

How many agents speak is measured, not assumed: every SAMPLE_SECONDS the load generator counts the
calls on the line whose peer received agent audio since the last look (its byte count moved; the server
paces audio in real time, so audio arriving is the agent speaking), and prints the share's mean and p95
for the talk peak and the mix.

Figures:
- greeting: stream start -> first greeting frame at the caller (the peer's timeline);
- caller waited: the end of the caller's line -> the first agent audio after it, at the caller;
- first frame: the caller's final transcript -> first agent audio frame sent (Turn.first_frame_ms),
  with the model's first token and the first TTS byte on the same clock;
- server turn: the server's own time in each turn (voice.metrics SERVER_TURN_MS in the server process);
- inbound lag: how late the server handled each caller frame against its timestamp (INBOUND_LAG_MS);
- send lag: how late the load generator sent those frames (MediaStreamPeer.send_lags): the part of the
  inbound lag that is not the server's;
- agents speaking: the share of calls receiving agent audio, sampled as above;
- barge-in, on the load generator's clock from the first frame of the line said over the agent (the peer's
  sent_utterance_start): to quiet, the arrival of the last agent frame before a gap of 100 ms or the
  clear (the server stops sending at Deepgram's SpeechStarted; what had arrived still plays), and to
  Twilio's clear (sent once VOICE_BARGE_IN_MIN_WORDS words that are not listening noises are heard). The
  stand-in speaks 60 ms a character and shows a word once the space after it is heard, so the moment
  that word is spoken is a floor under the clear (printed in the header).
  A line begun after the answer's audio had stopped interrupts nothing and is counted apart;
- preemptive replies: per phase, the server's count of replies started on the caller's words before the
  final transcript, kept (the final said the same) or discarded unheard (voice.metrics PREEMPTIVE_REPLIES).

Everything happens in a throwaway database (bench_voice), dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import os
import random
import re
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
from voice.speech import speakable  # noqa: E402
from bench.standin_model import KnowledgeAnswers  # noqa: E402
from standins.audio_codec import MS_PER_CHAR, SAMPLE_RATE, speech_duration  # noqa: E402
from voice.session.turn_taking import interrupting_words  # noqa: E402
from voice.simulation import BargeInFigures, Endpoint, Latencies, SimulatedCall, Standins, percentile  # noqa: E402

BENCH_DATABASE = "bench_voice"
SWEEP = (25, 50, 100, 150, 200, 300)
GREETING = "Thanks for calling Saguaro Motors."
LATENCIES = Latencies(stt_final=0.15, llm_first_token=0.35, llm_tokens_per_second=40, tts_first_byte=0.15)
RAMP_PER_SECOND = 10  # calls arriving per second while a round fills up
PROBES = 10  # calls arriving, one a second, in the "arrivals" phase
LISTEN_SECONDS = 8.0  # the "listen" phase: every call streaming, nobody speaking yet
WEBHOOKS_IN_FLIGHT = 4  # Django serves each webhook in a thread with its own database connection
TALK_JITTER_SECONDS = 2.0  # callers start asking at random within this, so they are not in lockstep
QUESTION_POOL = 8  # the demo FAQs with the shortest answers, asked in a caller's words
MIX_SHARE = 0.4  # the realistic mix: the share of agents speaking at any moment
MIX_SECONDS = 20.0  # the measured stretch of the mix (after its lead-in)
MIX_PAUSE_SPREAD = (0.5, 1.5)  # each pause is the 40% value times a factor drawn from this range
MIX_SHARE_FLOOR = 0.75  # a mix round whose measured share is under this fraction of MIX_SHARE does not count
SAMPLE_SECONDS = 0.1  # how often the share of agents speaking is sampled
EXCHANGE_OVERHEAD_SECONDS = 1.5  # in an exchange besides the words: STT, model, TTS, the quiet after the answer
BARGE_JITTER_SECONDS = 2.0  # barge-in callers start within this, out of phase
BARGE_REPEATS = 2  # answers each caller talks over
BARGE_AFTER_SECONDS = (0.6, 1.5)  # how long the answer's audio has been arriving when the caller talks over it
BARGE_MIN_ANSWER_SECONDS = 4.0  # an answer this long is still playing when the interruption's words are known
BARGE_MAX_CALLS = 100  # unless --phases names it, the barge-in phase runs in rounds of at most this many calls
# Said over an answer, each followed by another question of the pool (the stand-in model answers a line it
# cannot find in the knowledge base with a transfer, which would end the call).
BARGE_OPENERS = ("Sorry to cut in.", "Hold on, one more thing.", "Wait, before you go on.",
                 "Wait, actually I have a different question.")  # fmt: skip
CRITERIA = ("talk", "mix")  # judged by the lag bound; "arrivals" (the greeting) comes with the talk peak
PHASES = ("talk", "barge", "mix")  # what --phases chooses from, in the order a round plays them
BUDGETS = {"greeting_p95_ms": 300, "first_frame_p95_ms": 700, "server_turn_p95_ms": 20, "lag_p99_ms": 20,
           "calls": 100, "judged_at": 100, "caller_wait_p50_ms": 800, "barge_quiet_p50_ms": 200,
           "barge_clear_p50_ms": 400, "caller_judged_at": (25, 100)}  # fmt: skip
LABELS = {"talk": "talk peak (every agent speaking at once)",
          "mix": f"realistic mix (about {MIX_SHARE:.0%} of agents speaking)"}  # fmt: skip


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


@dataclass(frozen=True)
class Pool:
    """The questions callers ask, and what their exchanges are expected to last (before any is measured)."""

    questions: list[str]
    answer_seconds: float  # mean length of an answer's audio
    longest_exchange_seconds: float  # question, waiting, answer and the quiet after it, the longest of the pool
    long_answered: list[str]  # the questions whose answer lasts BARGE_MIN_ANSWER_SECONDS or more
    interruptions: list[str]  # lines said over an answer: an opener of BARGE_OPENERS, then a question

    @property
    def cycle_seconds(self) -> float:
        """A mix caller's expected cycle: the agent speaks MIX_SHARE of it."""
        return self.answer_seconds / MIX_SHARE


def question_pool(answers: KnowledgeAnswers) -> Pool:
    """Caller phrasings of the demo FAQs with the shortest answers, kept when the stand-in answers them."""
    from knowledge.demo_content import FAQS

    questions, answer_seconds, exchange_seconds = [], [], []
    for entry in sorted(FAQS, key=lambda faq: len(faq["answer"])):
        for question in [*entry.get("phrasings", ()), entry["question"]]:
            if answers.answer(question).text == entry["answer"]:  # also warms the stand-in's cache
                questions.append(question)
                answer_seconds.append(speech_duration(speakable(entry["answer"])))
                exchange_seconds.append(speech_duration(question) + answer_seconds[-1] + EXCHANGE_OVERHEAD_SECONDS)
                break
        if len(questions) == QUESTION_POOL:
            long_answered = [q for q, a in zip(questions, answer_seconds) if a >= BARGE_MIN_ANSWER_SECONDS]
            return Pool(questions, sum(answer_seconds) / len(answer_seconds), max(exchange_seconds), long_answered,
                        interrupting_lines(answers, questions))  # fmt: skip
    raise SystemExit(f"only {len(questions)} demo questions are answered from the knowledge base")


def interrupting_lines(answers: KnowledgeAnswers, questions: list[str]) -> list[str]:
    """Each opener followed by each question, kept when the stand-in answers it as it answers the question."""
    pairs = [(f"{opener} {question}", question) for opener in BARGE_OPENERS for question in questions]
    kept = [line for line, question in pairs if answers.answer(line).text == answers.answer(question).text]
    if not kept:
        raise SystemExit("no interrupting line is answered from the knowledge base")
    return kept


def known_to_interrupt_ms(line: str) -> float:
    """How far into ``line`` the server can know it interrupts: the end of its VOICE_BARGE_IN_MIN_WORDS-th word
    that is not a listening noise (the stand-in Deepgram shows a word once the space after it is spoken)."""
    for word in re.finditer(r"\S+\s", line):
        if interrupting_words(line[: word.end()]) >= settings.VOICE_BARGE_IN_MIN_WORDS:
            return word.end() * MS_PER_CHAR
    return speech_duration(line) * 1000


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
class Exchange:
    """One question and the answer heard in full, as the caller lived it."""

    phase: str
    line: simulation.CallerLine
    seconds: float  # start of the question -> the answer over (its audio stopped, then quiet)
    answer_seconds: float  # the answer's audio, from the bytes received (8000 a second)
    pause_seconds: float = 0.0  # the pause that followed (the mix)


@dataclass
class Round:
    calls: int
    ran: tuple[str, ...] = ()  # of "talk", "arrivals", "barge", "mix"
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    failed: dict[str, int] = field(default_factory=dict)  # phase -> callers that went wrong in it
    greeting_ms: list[float] = field(default_factory=list)  # the N calls, during the ramp
    probe_greeting_ms: list[float] = field(default_factory=list)  # calls arriving during "arrivals"
    caller_wait_ms: dict[str, list[float]] = field(default_factory=dict)  # phase -> per exchange
    send_lags_ms: dict[str, list[float]] = field(default_factory=dict)  # phase -> the load generator's lags
    speaking: dict[str, list[float]] = field(default_factory=dict)  # phase -> share of calls hearing the agent
    exchanges: list[Exchange] = field(default_factory=list)
    mix_cut: int = 0  # agent utterances cut off during the mix other than by its barge-ins (a stalled answer)
    barge_ins: dict[str, list[BargeInFigures]] = field(default_factory=dict)  # phase ("barge", "mix") -> figures
    turns: list[Turn] = field(default_factory=list)  # the talk peak's agent turns
    mix_turns: list[Turn] = field(default_factory=list)
    phases: dict[str, dict] = field(default_factory=dict)  # the server's figures, by phase
    seconds: float = 0.0

    def measured_barge_ins(self, phase: str = "barge") -> list[BargeInFigures]:
        """The barge-ins of a phase said while the agent's audio was still arriving (the others interrupted
        nothing)."""
        return [b for b in self.barge_ins.get(phase, []) if b.over_agent]

    def turn_values(self, name: str, turns: list[Turn] | None = None) -> list[float]:
        turns = self.turns if turns is None else turns
        return [getattr(t, name) for t in turns if getattr(t, name) is not None]

    def lag_p99(self, phase: str) -> float | None:
        return self.phases.get(phase, {}).get("inbound_lag_ms", {}).get("p99")

    def mean_share(self, phase: str) -> float | None:
        shares = self.speaking.get(phase)
        return sum(shares) / len(shares) if shares else None

    def under_lag_bound(self, phase: str) -> bool:
        """This round passes the criterion: lag p99 under the bound, every call served, (mix) the share reached."""
        lag = self.lag_p99(phase)
        if phase not in self.ran or lag is None or lag >= BUDGETS["lag_p99_ms"]:
            return False
        if self.failed.get("ramp") or self.failed.get(phase):
            return False
        share = self.mean_share(phase)
        return phase != "mix" or (share is not None and share >= MIX_SHARE * MIX_SHARE_FLOOR)


class Caller:
    """One simulated caller: arrive and hear the greeting, ask (talk), converse (mix), hang up when told."""

    def __init__(self, call: SimulatedCall, questions: list[str], pool: Pool, rng: random.Random,
                 mix_barge_share: float = 0.0):  # fmt: skip
        self.call, self.questions, self.pool, self.rng = call, questions, pool, rng
        self.mix_barge_share = mix_barge_share  # in the mix, the share of answers this caller talks over
        self.greeted = False
        self.errors: dict[str, str] = {}  # phase -> what went wrong first
        self.exchanges: list[Exchange] = []
        self.barge_ins: dict[str, list[BargeInFigures]] = {}  # phase -> figures
        self.send_lag_marks: dict[str, int] = {}

    @property
    def on_line(self) -> bool:
        """Greeted and still connected (a caller whose talk went wrong still takes part in the mix)."""
        return self.greeted and not self.call.ended

    async def arrive(self, after: float, gate: asyncio.Semaphore) -> None:
        await asyncio.sleep(after)
        try:
            async with gate:
                await self.call.start()
            self.greeted = await self.call.wait_for_agent(self.call.connected_at, quiet=0.5)
            if not self.greeted:
                self.errors["ramp"] = "the greeting was not heard"
        except Exception as exc:  # counted and shown, never hidden
            self.errors["ramp"] = f"{type(exc).__name__}: {exc}"
        if not self.greeted:
            await self.call.close()

    async def talk(self) -> None:
        """The talk peak: ask within TALK_JITTER_SECONDS of everyone else, hear each answer."""
        await asyncio.sleep(self.rng.uniform(0, TALK_JITTER_SECONDS))
        for question in self.questions:
            if await self.exchange("talk", question) is None:
                return

    async def converse(self, offset: float) -> None:
        """The mix, until cancelled: ask, hear the whole answer, pause so the agent speaks MIX_SHARE of the time."""
        await asyncio.sleep(offset)
        while True:
            exchange = None
            if self.rng.random() < self.mix_barge_share:
                started, received = time.monotonic(), self.call.peer.outbound_media_bytes
                if not await self.barge_in("mix"):
                    return
                answer_seconds = (self.call.peer.outbound_media_bytes - received) / SAMPLE_RATE
                seconds = time.monotonic() - started
            else:
                exchange = await self.exchange("mix", self.rng.choice(self.pool.questions))
                if exchange is None:
                    return
                answer_seconds, seconds = exchange.answer_seconds, exchange.seconds
            pause = max(0.0, answer_seconds / MIX_SHARE - seconds) * self.rng.uniform(*MIX_PAUSE_SPREAD)
            if exchange is not None:
                exchange.pause_seconds = pause
            await asyncio.sleep(pause)

    async def barge(self) -> None:
        """The barge-in phase: BARGE_REPEATS times, ask, talk over the answer, hear the answer to that."""
        await asyncio.sleep(self.rng.uniform(0, BARGE_JITTER_SECONDS))
        for _ in range(BARGE_REPEATS):
            if not await self.barge_in("barge"):
                return

    async def barge_in(self, phase: str) -> bool:
        """Ask a question with a long answer, say another line BARGE_AFTER_SECONDS into its audio and hear the
        answer to that line out (so that the next question is not said over it); False if it went wrong."""
        question = self.rng.choice(self.pool.long_answered)
        other_questions = [line for line in self.pool.interruptions if not line.endswith(question)]
        interruption = self.rng.choice(other_questions or self.pool.interruptions)
        try:
            asked = await self.call.say(question)
            answer_began = await self.call.wait_for_audio(asked.ended_at) if asked else None
            if answer_began is None:
                self.errors.setdefault(phase, f"no answer to {question!r}")
                return False
            await asyncio.sleep(answer_began + self.rng.uniform(*BARGE_AFTER_SECONDS) - time.monotonic())
            line = await self.call.say(interruption)
            if line is None or not await self.call.wait_for_agent(line.ended_at, quiet=0.5):
                self.errors.setdefault(phase, f"no answer to {interruption!r}")
                return False
        except Exception as exc:
            self.errors.setdefault(phase, f"{type(exc).__name__}: {exc}")
            return False
        figures = simulation.barge_in_figures(self.call.peer, line)
        if figures is not None:
            self.barge_ins.setdefault(phase, []).append(figures)
        return True

    async def exchange(self, phase: str, question: str) -> Exchange | None:
        peer = self.call.peer
        try:
            received = peer.outbound_media_bytes
            line = await self.call.say(question)
            if line is None or not await self.call.wait_for_agent(line.ended_at, quiet=0.5):
                self.errors.setdefault(phase, f"no answer to {question!r}")
                return None
        except Exception as exc:
            self.errors.setdefault(phase, f"{type(exc).__name__}: {exc}")
            return None
        exchange = Exchange(phase, line, time.monotonic() - line.started_at,
                            (peer.outbound_media_bytes - received) / SAMPLE_RATE)  # fmt: skip
        self.exchanges.append(exchange)
        return exchange

    def mark_send_lags(self, phase: str) -> None:
        if self.call.peer is not None:
            self.send_lag_marks[phase] = len(self.call.peer.send_lags)

    def send_lags(self, start: str, end: str | None) -> list[float]:
        if self.call.peer is None:
            return []
        lags = self.call.peer.send_lags
        first = self.send_lag_marks.get(start, 0)
        last = self.send_lag_marks.get(end, len(lags)) if end else len(lags)
        return [lag * 1000 for lag in lags[first:last]]


class SpeakingSampler:
    """Every SAMPLE_SECONDS: the share of the calls on the line that received agent audio since the last look."""

    def __init__(self, callers: list[Caller]):
        self.callers = callers
        self.samples: list[tuple[float, float]] = []  # (time.monotonic(), share)

    async def run(self) -> None:
        seen = [0] * len(self.callers)
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            speaking = on_line = 0
            for n, caller in enumerate(self.callers):
                peer = caller.call.peer
                if peer is None or peer.closed:
                    continue
                received = peer.outbound_media_bytes
                on_line += 1
                speaking += received != seen[n]
                seen[n] = received
            if on_line:
                self.samples.append((time.monotonic(), speaking / on_line))

    def between(self, start: float, end: float) -> list[float]:
        return [share for t, share in self.samples if start <= t < end]


class RoundDriver:
    """Plays one round: tells the server and every caller when each phase begins."""

    def __init__(self, server: ServerProcess, callers: list[Caller]):
        self.server, self.callers = server, callers
        self.boundaries: list[tuple[str, float]] = []  # (phase, time.monotonic() it began)
        self.began_at: dict[str, datetime.datetime] = {}  # phase -> when it began, on the call records' clock

    async def enter(self, phase: str) -> None:
        await self.server.ask_async(f"phase {phase}")
        self.boundaries.append((phase, time.monotonic()))
        self.began_at[phase] = datetime.datetime.now(datetime.UTC)
        for caller in self.callers:
            caller.mark_send_lags(phase)

    def windows(self, ended: float):
        """(phase, start, end, next phase) for each phase entered."""
        for n, (phase, start) in enumerate(self.boundaries):
            following = self.boundaries[n + 1] if n + 1 < len(self.boundaries) else (None, ended)
            yield phase, start, following[1], following[0]


async def run_round(calls: int, ran: tuple[str, ...], server: ServerProcess, standins: Standins, pool: Pool,
                    questions: int, seed: int, mix_barge_share: float = 0.0) -> Round:  # fmt: skip
    rng = random.Random(seed)
    endpoint = Endpoint.at(f"ws://127.0.0.1:{server.port}/ws/voice/", account_sid=standins.twilio.account_sid,
                           auth_token=standins.twilio.auth_token)  # fmt: skip
    callers = [Caller(SimulatedCall(endpoint, from_number=caller_number(n), twilio=standins.twilio),
                      rng.sample(pool.questions, questions), pool, random.Random(rng.random()), mix_barge_share)
               for n in range(calls)]  # fmt: skip
    driver, sampler = RoundDriver(server, callers), SpeakingSampler(callers)
    result = Round(calls=calls, ran=ran)
    gate = asyncio.Semaphore(WEBHOOKS_IN_FLIGHT)

    began = time.monotonic()
    sampling = asyncio.create_task(sampler.run())
    await driver.enter("ramp")
    await _play("ramp", [c.arrive(n / RAMP_PER_SECOND, gate) for n, c in enumerate(callers)], callers,
                calls / RAMP_PER_SECOND + 30)  # fmt: skip
    await driver.enter("listen")
    await asyncio.sleep(LISTEN_SECONDS)
    if "talk" in ran:
        await driver.enter("talk")
        talkers = [c for c in callers if c.on_line]
        await _play("talk", [c.talk() for c in talkers], talkers, 120)
    if "arrivals" in ran:
        await driver.enter("arrivals")
        await probe_greetings(endpoint, standins, result)
    if "barge" in ran:
        await driver.enter("barge")
        bargers = [c for c in callers if c.on_line]
        await _play("barge", [c.barge() for c in bargers], bargers, 120)
    if "mix" in ran:
        await driver.enter("mix-lead-in")
        mixers = [c for c in callers if c.on_line]
        conversing = [asyncio.create_task(c.converse(rng.uniform(0, pool.cycle_seconds))) for c in mixers]
        await asyncio.sleep(pool.longest_exchange_seconds)  # every caller's first answer has begun by now
        await driver.enter("mix")
        await asyncio.sleep(MIX_SECONDS)
        await driver.enter("hangup")
        for task in conversing:
            task.cancel()  # mid-answer or not: callers hang up as they do
        await asyncio.gather(*conversing, return_exceptions=True)
    else:
        await driver.enter("hangup")
    sampling.cancel()
    await asyncio.wait_for(asyncio.gather(*(c.call.hang_up() for c in callers), return_exceptions=True), 60)
    ended = time.monotonic()
    result.seconds = ended - began
    result.phases = {phase["name"]: phase for phase in (await server.ask_async("dump"))["phases"]}
    for phase, start, end, following in driver.windows(ended):
        result.speaking[phase] = sampler.between(start, end)
        result.send_lags_ms[phase] = [lag for c in callers for lag in c.send_lags(phase, following)]
        if phase in ("mix-lead-in", "mix"):
            result.mix_cut += sum(1 for c in callers if c.call.peer for e in c.call.peer.timeline
                                  if e.kind == "cut" and start <= e.t < end)  # fmt: skip
    for caller in callers:
        for phase, error in caller.errors.items():
            result.errors.append(f"{phase}: {error}")
            result.failed[phase] = result.failed.get(phase, 0) + 1
        result.ok += not caller.errors
        if caller.call.peer is None:
            continue
        result.greeting_ms.append(simulation.greeting_ms(caller.call.peer))
        for exchange in caller.exchanges:
            wait = simulation.caller_wait_ms(caller.call.peer, exchange.line)
            result.caller_wait_ms.setdefault(exchange.phase, []).append(wait)
        result.exchanges += caller.exchanges
        for phase, figures in caller.barge_ins.items():
            result.barge_ins.setdefault(phase, []).extend(figures)
    # The answers the mix's own barge-ins cut are meant to be cut: only the others say the server fell behind.
    result.mix_cut = max(0, result.mix_cut - len(result.measured_barge_ins("mix")))
    sids = [c.call.call_sid for c in callers if c.call.call_sid]
    turns = await asyncio.to_thread(_answer_turns, sids)
    talk_ended = min((driver.began_at[p] for p in ("barge", "mix-lead-in") if p in driver.began_at), default=None)
    mix_began = driver.began_at.get("mix-lead-in")
    result.turns = [t for t in turns if talk_ended is None or t.started_at < talk_ended]
    result.mix_turns = [t for t in turns if mix_began is not None and t.started_at >= mix_began]
    return result


async def _play(phase: str, work: list, callers: list[Caller], seconds: float) -> None:
    """Run every caller's part of a phase at once; a caller not done within ``seconds`` has gone wrong."""
    tasks = [asyncio.create_task(w) for w in work]
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    for task, caller in zip(tasks, callers):
        if task in pending:
            task.cancel()
            caller.errors.setdefault(phase, f"not done within {seconds:.0f} s")
    await asyncio.gather(*tasks, return_exceptions=True)


async def probe_greetings(endpoint: Endpoint, standins: Standins, result: Round) -> None:
    """PROBES calls arrive, one a second, each hears the greeting and hangs up."""

    async def probe(n: int) -> None:
        call = SimulatedCall(endpoint, from_number=caller_number(n), twilio=standins.twilio)
        try:
            await call.start()
            if await call.wait_for_agent(call.connected_at, quiet=0.3, start_within=10):
                result.probe_greeting_ms.append(simulation.greeting_ms(call.peer))
            else:
                result.errors.append("arrivals: a probe call did not hear the greeting")
        except Exception as exc:
            result.errors.append(f"arrivals: probe call: {type(exc).__name__}: {exc}")
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


def _share(values: list[float] | None) -> str:
    if not values:
        return "-"
    return f"{100 * sum(values) / len(values):.0f}% / {100 * percentile(values, 0.95):.0f}%"


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def print_header(args, server_cpu, own_cpus, pool: Pool) -> None:
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
    print(f"each call: greeting \"{GREETING}\", then {', '.join(args.phases)}: {len(pool.questions)} demo FAQs "
          f"in a caller's words (answers about {pool.answer_seconds:.1f} s); calls arrive {RAMP_PER_SECOND}/s in "
          f"the ramp")  # fmt: skip
    if "talk" in args.phases:
        print(f"talk peak: {args.questions} question(s) each, all asked within {TALK_JITTER_SECONDS:g} s; then "
              f"{PROBES} more calls arrive 1/s")  # fmt: skip
    if "barge" in args.phases:
        where = f" (rounds of at most {BARGE_MAX_CALLS} calls)" if args.barge_max_calls == BARGE_MAX_CALLS else ""
        known = [known_to_interrupt_ms(line) for line in pool.interruptions]
        print(f"barge-in{where}: each caller, starting within {BARGE_JITTER_SECONDS:g} s, talks over {BARGE_REPEATS} "
              f"answers {BARGE_AFTER_SECONDS[0]:g} to {BARGE_AFTER_SECONDS[1]:g} s into them with another question "
              f"({len(pool.interruptions)} lines);")  # fmt: skip
        print(f"  the words that make a line interrupt are spoken {min(known):.0f} to {max(known):.0f} ms into it: "
              "a floor under speech start -> clear")  # fmt: skip
    if "mix" in args.phases:
        print(f"realistic mix: each caller asks, hears the answer, pauses for answer / {MIX_SHARE:g} - exchange "
              f"(x{MIX_PAUSE_SPREAD[0]:g} to x{MIX_PAUSE_SPREAD[1]:g}); {MIX_SECONDS:g} s measured after a "
              f"{pool.longest_exchange_seconds:.0f} s lead-in")  # fmt: skip
    print(line)


def print_tables(rounds: list[Round], mix_barge_share: float) -> None:
    talked = [r for r in rounds if "talk" in r.ran]
    if talked:
        print_talk_tables(talked)
    barged = [r for r in rounds if r.barge_ins]
    if barged:
        print_barge_table(barged, mix_barge_share)
    mixed = [r for r in rounds if "mix" in r.ran]
    if mixed:
        print_mix_table(mixed)
    print_preemptive_table(rounds)
    errors = [(r.calls, e) for r in rounds for e in sorted(set(r.errors))[:3]]
    for calls, error in errors:
        print(f"  ({calls} calls) error: {error}")
    if errors:
        print()


def print_talk_tables(rounds: list[Round]) -> None:
    print("Talk peak. Latency per call and turn, ms, p50 / p95. Greeting: stream start -> first frame at the caller,")
    print("for calls arriving 1/s with the N on the line (ramp greeting: the N calls themselves, arriving 10/s).")
    print("1st frame, 1st token, TTS 1st byte: from the caller's final transcript (call records). Server turn: the")
    print("server's own time per turn (its metrics). Caller waited: end of the caller's speech -> first agent audio,")
    print("at the caller.")
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
              f"{_pair(r.caller_wait_ms.get('talk', [])):>13}")  # fmt: skip
    print()
    print("Talk peak, load: inbound frame lag in the server (all N calls streaming, nearly every agent speaking)")
    print("against the load generator's own send lag, ms. 'server lag' is voice.metrics INBOUND_LAG_MS: each frame")
    print("against the earliest arrival its stream has shown. Speaking: share of the calls receiving agent audio,")
    print("mean / p95.")
    print(f"  {'calls':>5}  {'frames/s':>8}  {'server lag p50 / p95 / p99 / max':>33}  "
          f"{'send lag p50 / p99 / max':>25}  {'server CPU':>10}  {'speaking':>9}  {'arrivals p99':>12}  "
          f"{'ramp p99':>8}  {'ramp send p99':>13}  {'listen p99, CPU':>15}")  # fmt: skip
    for r in rounds:
        ramp, arrivals = r.phases.get("ramp", {}), r.phases.get("arrivals", {})
        print(f"  {r.calls:>5}  {_load(r, 'talk')}  {_share(r.speaking.get('talk')):>9}  "
              f"{_phase_p99(arrivals):>12}  {_phase_p99(ramp):>8}  "
              f"{_f(percentile(r.send_lags_ms.get('ramp', []), 0.99), 1):>13}  {_listen(r):>15}")  # fmt: skip
    print()
    print("Garbage collection in the server, talk peak: collections, total / longest pause in ms (every call on the")
    print("process waits through each; a full collection walks every object the calls hold).")
    print(f"  {'calls':>5}  {'young (gen 0)':>20}  {'middle (gen 1)':>20}  {'full (gen 2)':>20}")
    for r in rounds:
        collections = r.phases.get("talk", {}).get("gc", {})
        print(f"  {r.calls:>5}  " + "  ".join(f"{_collections(collections.get(g)):>20}" for g in "012"))
    print()


def print_mix_table(rounds: list[Round]) -> None:
    print(f"Realistic mix, the {MIX_SECONDS:g} s after the lead-in: callers ask, hear the whole answer and pause, "
          "out of phase.")  # fmt: skip
    print(f"Speaking: the measured share of calls receiving agent audio (sampled every "
          f"{SAMPLE_SECONDS * 1000:.0f} ms), mean / p95; the aim is {MIX_SHARE:.0%}.")  # fmt: skip
    print("Exchanges: questions answered in the whole mix (barge-ins apart); cut: answers cut off other than by the")
    print("mix's barge-ins (the caller asked again after 0.5 s of silence mid-answer: a server falling behind);")
    print("answer and pause: mean seconds. Server lag and send lag as for the talk peak, ms; 1st frame (p50 / p95)")
    print("and server turn (p95): the turns of the mix, ms. Full GC: count / longest pause, ms.")
    print(f"  {'calls':>5}  {'speaking':>9}  {'exchanges':>9}  {'cut':>4}  {'answer':>6}  {'pause':>5}  "
          f"{'frames/s':>8}  {'server lag p50 / p95 / p99 / max':>33}  {'send lag p50 / p99 / max':>25}  "
          f"{'server CPU':>10}  {'1st frame':>11}  {'turn p95':>8}  {'full GC':>9}")  # fmt: skip
    for r in rounds:
        mixed = [e for e in r.exchanges if e.phase == "mix"]
        turn = r.phases.get("mix", {}).get("server_turn_ms", {})
        full = r.phases.get("mix", {}).get("gc", {}).get("2")
        gc_text = f"{full['count']} / {full['max_ms']:.0f}" if full else "-"
        print(f"  {r.calls:>5}  {_share(r.speaking.get('mix')):>9}  {len(mixed):>9}  {r.mix_cut:>4}  "
              f"{_f(_mean(e.answer_seconds for e in mixed), 1):>6}  "
              f"{_f(_mean(e.pause_seconds for e in mixed), 1):>5}  {_load(r, 'mix')}  "
              f"{_pair(r.turn_values('first_frame_ms', r.mix_turns)):>11}  {_f(turn.get('p95'), 1):>8}  "
              f"{gc_text:>9}")  # fmt: skip
    print()


def print_barge_table(rounds: list[Round], mix_barge_share: float) -> None:
    after, gap_ms = BARGE_AFTER_SECONDS, simulation.AUDIO_STOPPED_GAP * 1000
    print(f"Barge-in: the caller talks over the answer {after[0]:g} to {after[1]:g} s into its audio with another "
          "question and hears")  # fmt: skip
    print(f"the answer to that. 'barge': every caller, {BARGE_REPEATS} times, out of phase (nearly every agent "
          f"speaking); 'mix': {mix_barge_share:.0%} of the")  # fmt: skip
    print("exchanges of the realistic mix (its lead-in included). On the caller's clock, ms from the first frame "
          "of the line said over the")  # fmt: skip
    print(f"agent, p50 / p95: quiet, the arrival of the last agent frame before its audio stopped (a {gap_ms:.0f} ms "
          "gap, or the clear;")  # fmt: skip
    print("what had arrived still plays); clear, Twilio's clear message. No clear: barge-ins that cleared nothing.")
    print("Answer over: lines begun after the answer's audio had stopped (not measured). Server lag: inbound lag p99.")
    print(f"  {'calls':>5}  {'phase':<5}  {'barge-ins':>9}  {'quiet p50 / p95':>15}  {'clear p50 / p95':>15}  "
          f"{'no clear':>8}  {'answer over':>11}  {'server lag':>10}")  # fmt: skip
    for r in rounds:
        for phase in (p for p in ("barge", "mix") if p in r.barge_ins):
            measured = r.measured_barge_ins(phase)
            no_clear = sum(1 for b in measured if b.clear_ms is None)
            print(f"  {r.calls:>5}  {phase:<5}  {len(measured):>9}  {_pair([b.quiet_ms for b in measured]):>15}  "
                  f"{_pair([b.clear_ms for b in measured]):>15}  {no_clear:>8}  "
                  f"{len(r.barge_ins[phase]) - len(measured):>11}  {_phase_p99(r.phases.get(phase, {})):>10}")  # fmt: skip
    print()


def print_preemptive_table(rounds: list[Round]) -> None:
    print("Preemptive replies, the server's count: replies started on the caller's words before the final transcript,")
    print("kept when the final said the same, else discarded unheard (talk peak, barge-in, and the measured mix).")
    print(f"  {'calls':>5}  {'phase':<5}  {'started':>7}  {'kept':>5}  {'discarded':>9}  discarded share")
    for r in rounds:
        for phase in PHASES:
            if phase not in r.ran:
                continue
            replies = r.phases.get(phase, {}).get("preemptive", {})
            kept, discarded = replies.get("kept", 0), replies.get("discarded", 0)
            started = kept + discarded
            share = f"{discarded} / {started} discarded ({discarded / started:.0%})" if started else "none"
            print(f"  {r.calls:>5}  {phase:<5}  {started:>7}  {kept:>5}  {discarded:>9}  {share}")
    print()


def _load(r: Round, phase: str) -> str:
    """frames/s, server lag, send lag, server CPU of one phase."""
    figures = r.phases.get(phase, {})
    lag = figures.get("inbound_lag_ms", {})
    seconds = figures.get("seconds") or 0
    rate = lag.get("count", 0) / seconds if seconds else 0
    cpu = f"{100 * figures['cpu_seconds'] / seconds:.0f}%" if seconds else "-"
    server_lag = f"{_f(lag.get('p50'), 1)} / {_f(lag.get('p95'), 1)} / {_f(lag.get('p99'), 1)} / " \
                 f"{_f(lag.get('max'), 0)}"  # fmt: skip
    sent = r.send_lags_ms.get(phase, [])
    send = f"{_pair(sent, 0.5, 0.99, 1)} / {_f(max(sent, default=None))}"
    return f"{rate:>8.0f}  {server_lag:>33}  {send:>25}  {cpu:>10}"


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


def print_verdicts(rounds: list[Round], phases: list[str]) -> None:
    talked = [r for r in rounds if "talk" in r.ran]
    if talked:
        print_turn_budgets(talked)
    print_caller_budgets(rounds)
    if phases:
        print_capacity(rounds, phases)


def print_capacity(rounds: list[Round], phases: list[str]) -> None:
    """The largest number of calls passing each criterion (``phases``), and the smallest failing it."""
    print(f"Calls per server process with the inbound lag p99 < {BUDGETS['lag_p99_ms']} ms (every call served; the mix")
    print(f"also has to reach {MIX_SHARE * MIX_SHARE_FLOOR:.0%} of agents speaking on average). Speaking: mean / p95 "
          "share of agents speaking; send p99:")  # fmt: skip
    print("the load generator's own lag (when it is large, the failure is partly the load generator's).")
    print(f"  {'':<44} {'largest passing':^28}  {'smallest failing':^24}".rstrip())
    print(f"  {'':<44} {'calls':>5}  {'lag p99':>7}  {'speaking':>12}  {'calls':>5}  {'lag p99':>7}  {'send p99':>8}"
          f"  budget")  # fmt: skip
    for phase in phases:
        tried = [r for r in rounds if phase in r.ran]
        passed = [r for r in tried if r.under_lag_bound(phase)]
        best = max(passed, key=lambda r: r.calls, default=None)
        failing = min((r for r in tried if not r.under_lag_bound(phase) and r.calls > (best.calls if best else 0)),
                      key=lambda r: r.calls, default=None)  # fmt: skip
        if phase == "talk":
            ok = best is not None and best.calls >= BUDGETS["calls"]
            budget = f">= {BUDGETS['calls']} calls: {'ok' if ok else 'UNDER BUDGET'}"
        else:
            budget = "(no budget: shown)"
        passing = (f"{best.calls:>5}  {_f(best.lag_p99(phase), 1):>7}  {_share(best.speaking.get(phase)):>12}"
                   if best else f"{'-':>5}  {'-':>7}  {'-':>12}")  # fmt: skip
        failed = (f"{failing.calls:>5}  {_f(failing.lag_p99(phase), 1):>7}  "
                  f"{_f(percentile(failing.send_lags_ms.get(phase, []), 0.99), 1):>8}"
                  if failing else f"{'-':>5}  {'-':>7}  {'-':>8}")  # fmt: skip
        print(f"  {LABELS[phase]:<44} {passing}  {failed}  {budget}")
        print(f"  {'':<44} (tried {', '.join(str(r.calls) for r in tried) or 'none'})")
    print()


def print_turn_budgets(rounds: list[Round]) -> None:
    rounds = [r for r in rounds if "arrivals" in r.ran] or rounds  # narrowing rounds have no arrivals
    judged = next((r for r in rounds if r.calls == BUDGETS["judged_at"]), None) or max(rounds, key=lambda r: r.calls)
    talk_turn = judged.phases.get("talk", {}).get("server_turn_ms", {})
    rows = [
        (f"greeting, stream start -> first frame, p95 <= {BUDGETS['greeting_p95_ms']} ms ({judged.calls} calls)",
         percentile(judged.probe_greeting_ms, 0.95), BUDGETS["greeting_p95_ms"], "ms"),
        (f"final transcript -> first frame, p95 <= {BUDGETS['first_frame_p95_ms']} ms ({judged.calls} calls)",
         percentile(judged.turn_values("first_frame_ms"), 0.95), BUDGETS["first_frame_p95_ms"], "ms"),
        (f"server's own time per turn, p95 <= {BUDGETS['server_turn_p95_ms']} ms ({judged.calls} calls)",
         talk_turn.get("p95"), BUDGETS["server_turn_p95_ms"], "ms"),
    ]  # fmt: skip
    print("Budgets (DESIGN.md), at the talk peak")
    for label, value, budget, unit in rows:
        verdict = "-" if value is None else ("ok" if value <= budget else "OVER BUDGET")
        print(f"  {label:<72} {_f(value, 1):>8} {unit}   {verdict}")
    if judged.calls != BUDGETS["judged_at"]:
        print(f"  (no {BUDGETS['judged_at']}-call round: per-turn budgets judged at {judged.calls} calls)")
    print()


def print_caller_budgets(rounds: list[Round]) -> None:
    """What the caller lives, on its own clock, in the rounds of BUDGETS["caller_judged_at"] calls."""
    wait, quiet, clear = BUDGETS["caller_wait_p50_ms"], BUDGETS["barge_quiet_p50_ms"], BUDGETS["barge_clear_p50_ms"]
    rows = []
    for r in (r for r in rounds if r.calls in BUDGETS["caller_judged_at"]):
        for phase, name in (("talk", "talk peak"), ("mix", "mix")):
            if phase in r.ran:
                rows.append((f"end of caller audio -> agent audio, {name}, p50 <= {wait} ms ({r.calls} calls)",
                             percentile(r.caller_wait_ms.get(phase, []), 0.5), wait))  # fmt: skip
        for phase, name in (("barge", "barge phase"), ("mix", "mix")):
            measured = r.measured_barge_ins(phase)
            if not measured:
                continue
            rows.append((f"barge-in, {name}: speech start -> quiet, p50 <= {quiet} ms ({r.calls} calls)",
                         percentile([b.quiet_ms for b in measured], 0.5), quiet))  # fmt: skip
            rows.append((f"barge-in, {name}: speech start -> clear, p50 <= {clear} ms ({r.calls} calls)",
                         percentile([b.clear_ms for b in measured], 0.5), clear))  # fmt: skip
    print("Budgets at the caller (the load generator's clock; every answer here is an FAQ's, without tools)")
    for label, value, budget in rows:
        verdict = "-" if value is None else ("ok" if value <= budget else "NOT MET")
        print(f"  {label:<72} {_f(value, 1):>8} ms   {verdict}")
    if not rows:
        judged_at = " or ".join(map(str, BUDGETS["caller_judged_at"]))
        print(f"  (judged in rounds of {judged_at} calls: none ran)")
    print()


# --------------------------------------------------------------------------- main


def sweep(counts: list[int], server: ServerProcess, standins: Standins, pool: Pool, args) -> list[Round]:
    """Run the rounds in order, each criterion until two rounds in a row over the bound, then narrow down each.
    The barge-in phase rides along in the rounds played (those of at most BARGE_MAX_CALLS unless asked for)."""
    rounds: list[Round] = []
    phases = [p for p in args.phases if p in CRITERIA]

    def play(calls: int, ran: list[str]) -> Round:
        server.wait_until_idle()
        order = [p for p in ("talk", "arrivals", "barge", "mix") if p in ran]
        result = asyncio.run(run_round(calls, tuple(order), server, standins, pool, args.questions,
                                       seed=len(rounds) + 1, mix_barge_share=args.mix_barge_ins))  # fmt: skip
        figures = [f"{p} lag p99 {_f(result.lag_p99(p), 1)} ms, {_share(result.speaking.get(p))} speaking"
                   + ("" if result.under_lag_bound(p) else " (over)") for p in order if p in CRITERIA]  # fmt: skip
        if "barge" in order:
            measured = result.measured_barge_ins("barge")
            figures.append(f"barge-in quiet p50 {_f(percentile([b.quiet_ms for b in measured], 0.5))} ms, "
                           f"clear p50 {_f(percentile([b.clear_ms for b in measured], 0.5))} ms")  # fmt: skip
        print(f"  round of {calls} calls ({', '.join(order)}): {result.ok} ok, {result.seconds:.0f} s; "
              f"{'; '.join(figures)}", flush=True)  # fmt: skip
        rounds.append(result)
        return result

    over = dict.fromkeys(phases, 0)
    for calls in counts:
        ran = [p for p in phases if over[p] < 2 or args.keep_going]
        if calls == BUDGETS["judged_at"] and "talk" in phases and "talk" not in ran:
            ran.insert(0, "talk")  # the round the per-turn budgets are judged at still plays the talk peak
        if phases and not ran:
            print(f"  (two rounds in a row over the lag bound for {' and '.join(phases)}: {calls} calls skipped)")
            continue  # larger rounds only get worse
        if "barge" in args.phases and calls <= args.barge_max_calls:
            ran.append("barge")
        result = play(calls, [*ran, "arrivals"] if "talk" in ran else ran)
        for phase in phases:
            if phase in ran:
                over[phase] = 0 if result.under_lag_bound(phase) else over[phase] + 1
    for _ in range(args.narrow if len(counts) > 1 else 0):
        wanted: dict[int, list[str]] = {}
        for phase in phases:
            passed = [r.calls for r in rounds if r.under_lag_bound(phase)]
            failed = [r.calls for r in rounds if phase in r.ran and not r.under_lag_bound(phase)
                      and r.calls > max(passed, default=0)]  # fmt: skip
            if passed and failed and min(failed) - max(passed) > args.resolution:
                wanted.setdefault((max(passed) + min(failed)) // 2, []).append(phase)
        if not wanted:
            break
        for calls, ran in sorted(wanted.items()):
            play(calls, ran)
    return sorted(rounds, key=lambda r: r.calls)


def parse_args():
    parser = argparse.ArgumentParser(description="N simulated calls at once against one voice server process.")
    parser.add_argument("--calls", type=int, help="one round of this many calls (instead of the sweep)")
    parser.add_argument("--sweep", default=",".join(map(str, SWEEP)), help="rounds to run, e.g. 25,50,100")
    parser.add_argument("--phases",
                        help="what is measured, comma-separated: talk (the talk peak, with the arrivals), barge "
                             f"(barge-ins), mix; default: all three, barge only in rounds of at most "
                             f"{BARGE_MAX_CALLS} calls")  # fmt: skip
    parser.add_argument("--questions", type=int, choices=(1, 2), default=2, help="questions each caller asks")
    parser.add_argument("--mix-barge-ins", type=float, default=0.0, metavar="SHARE",
                        help="in the mix, the share of answers the callers talk over (e.g. 0.25), measured like the "
                             "barge phase's; 0 (default) keeps the mix the lag criterion's")  # fmt: skip
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and this process to CPUs")
    parser.add_argument("--keep-going", action="store_true",
                        help="run every round of the sweep (default: stop after two rounds over the lag "
                             "bound)")  # fmt: skip
    parser.add_argument("--narrow", type=int, default=1,
                        help="extra rounds per criterion halving the gap between the largest passing and smallest "
                             "failing N")  # fmt: skip
    parser.add_argument("--resolution", type=int, default=25,
                        help="stop narrowing when passing and failing N are this close")  # fmt: skip
    args = parser.parse_args()
    # Named in --phases, the barge-in phase runs in every round; by default only in the smaller ones.
    args.barge_max_calls = BARGE_MAX_CALLS if args.phases is None else sys.maxsize
    phases = [p.strip() for p in (args.phases or ",".join(PHASES)).split(",") if p.strip()]
    if not phases or set(phases) - set(PHASES):
        parser.error(f"--phases takes {', '.join(PHASES)} (comma-separated)")
    args.phases = [p for p in PHASES if p in phases]
    return args


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
            # Callers wait silently for the others: no "still there?".
            environment = {**standins.settings_values(), "DEBUG": "1", "KNOWLEDGE_EMBEDDING_PROVIDER": "none",
                           "VOICE_SILENCE_SECONDS": "300"}  # fmt: skip
            server = ServerProcess(environment, server_cpu)
            print_header(args, server_cpu, own_cpus, pool)
            began = time.monotonic()
            rounds = sweep(counts, server, standins, pool, args)
            took = time.monotonic() - began
            print(f"  {len(rounds)} round(s) in {took // 60:.0f} min {took % 60:.0f} s")
            print()
            print_tables(rounds, args.mix_barge_ins)
            print_verdicts(rounds, [p for p in args.phases if p in CRITERIA])
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
    connections.close_all()  # a connection of this thread may be stale (the database was restarted): start afresh
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
    connections.close_all()


if __name__ == "__main__":
    sys.exit(main())
