"""Place a simulated phone call against the voice agent, typed line by line or played from a script.

    manage.py simulate_call                          # interactive: "caller> ", Ctrl-D or "bye" hangs up
    manage.py simulate_call --script call.txt        # one caller line per line; prints a latency table
    manage.py simulate_call --from +16025550111      # caller ID (default: a demo customer)
    manage.py simulate_call --url ws://127.0.0.1:8000/ws/voice/   # against a server that is already running

Without --url the command serves the project itself (Daphne in this process, on this database) and
answers the call with loopback stand-ins: Twilio's REST API always, Deepgram when DEEPGRAM_API_KEY is
empty. The agent is the product's own: the model when OPENAI_API_KEY is set, else the offline agent. With
a real Deepgram the caller's lines are spoken by Aura, and what the agent said is read from the call's
Turn rows, since real audio cannot be decoded here.

With --url the server uses its own providers, and:
- its incoming-call webhook must be on the same host (http[s]://host:port/voice/incoming/);
- this command must run with the server's PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN (it signs like Twilio);
- the caller speaks with Aura when this process has DEEPGRAM_API_KEY, else as text in audio, which only
  a server whose Deepgram is the stand-in understands;
- the server's Twilio has never heard of the call: its hang-ups and transfers reach nobody, so the
  stream goes on until the script ends or you hang up;
- latencies per turn appear only when this process shares the server's database.

Script lines: blank lines and "# comments" are skipped, "[wait 2]" waits two seconds, "bye" hangs up.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from voice import simulation
from voice.models import Call, Outcome
from voice.selectors import phone_agent_missing_settings
from voice.simulation import (
    CallReport,
    Endpoint,
    InProcessServer,
    Latencies,
    SimulatedCall,
    SimulationError,
    Standins,
)

DEFAULT_CALLER = "+16025550111"  # a customer of the demo dealership
HANG_UP_WORDS = {"bye", "goodbye", "bye bye"}
URL_LIMITS = __doc__[__doc__.index("With --url") :].strip()
WAIT = re.compile(r"^\[\s*wait\s+(\d+(?:\.\d+)?)\s*s?\s*\]$", re.IGNORECASE)


def parse_line(raw: str) -> str | float | None:
    """A caller line (str), a pause in seconds (float), or None for a blank line or a comment."""
    line = raw.strip()
    if not line or line.startswith("#"):
        return None
    wait = WAIT.match(line)
    return float(wait.group(1)) if wait else line


def is_hang_up(line: str) -> bool:
    return line.lower().strip(" .!") in HANG_UP_WORDS


class Command(BaseCommand):
    help = "Place a simulated call against the phone agent: type the caller's lines, or play a --script."
    # For tests: a Daphne already serving this process (Twisted's reactor starts once per process).
    stealth_options = ("server_port",)

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = _KeepLineBreaks
        parser.epilog = URL_LIMITS
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--script", type=Path, help="a file with one caller line per line")
        parser.add_argument("--from", dest="from_number", default=DEFAULT_CALLER, help="the caller's number")
        parser.add_argument("--url", help="ws:// address of the media-stream socket of a running server")
        defaults = Latencies()
        parser.add_argument("--stt-final-ms", type=float, default=defaults.stt_final * 1000,
                            help="stand-in Deepgram: end of speech -> final transcript")
        parser.add_argument("--tts-first-byte-ms", type=float, default=defaults.tts_first_byte * 1000,
                            help="stand-in Deepgram: text -> first audio byte")  # fmt: skip

    def handle(self, *args, **options):
        script = self._read_script(Path(options["script"])) if options["script"] else None
        self.interactive = script is None
        self.quiet = options["verbosity"] < 2
        self.undo_quiet = lambda: None
        self.read = simulation.DatabaseReader()
        try:
            if options["url"]:
                report = self._against(options["url"], options, script)
            else:
                report = self._in_process(options, script)
        except SimulationError as exc:
            raise CommandError(str(exc)) from None
        finally:
            self.undo_quiet()
            self.read.close()
            connections.close_all()
        if report is not None and not self.interactive:
            self._print_table(report)

    def _read_script(self, path: Path) -> list[str | float]:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read the script {path}: {exc.strerror}") from None
        return [item for item in map(parse_line, text.splitlines()) if item is not None]

    # ------------------------------------------------------------------ the two ways to run

    def _in_process(self, options, script):
        _require_migrated()
        latencies = Latencies(stt_final=options["stt_final_ms"] / 1000,
                              tts_first_byte=options["tts_first_byte_ms"] / 1000)  # fmt: skip
        from dealership import asgi  # noqa: F401  (sets up Django's logging again: import it before quieting)

        self._quiet_logs()
        server = None
        try:
            with Standins(latencies) as standins, \
                    simulation.overridden_settings(standins.settings_values()):  # fmt: skip
                missing = phone_agent_missing_settings()
                if missing:
                    raise CommandError(f"The phone agent cannot run: {', '.join(missing)} empty.")
                port = options.get("server_port")
                if port is None:
                    server = InProcessServer()
                    port = server.start()
                database = connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]
                self.stdout.write(f"Simulated call from {options['from_number']}: Daphne in this process on "
                                  f"127.0.0.1:{port}, database {database}")  # fmt: skip
                for line in standins.describe():
                    self.stdout.write(f"  {line}")
                endpoint = Endpoint.at(f"ws://127.0.0.1:{port}/ws/voice/", account_sid=standins.twilio.account_sid,
                                       auth_token=standins.twilio.auth_token)  # fmt: skip
                call = SimulatedCall(endpoint, from_number=options["from_number"], twilio=standins.twilio,
                                     voice="text" if standins.deepgram is not None else "aura")  # fmt: skip
                return asyncio.run(self._converse(call, script))
        finally:
            if server is not None:
                server.stop()

    def _against(self, url, options, script):
        if not settings.TWILIO_AUTH_TOKEN:
            raise CommandError("--url needs the server's TWILIO_AUTH_TOKEN in this environment (to sign as Twilio).")
        from standins.twilio_calls import new_sid

        endpoint = Endpoint.at(url, account_sid=settings.TWILIO_ACCOUNT_SID or new_sid("AC"),
                               auth_token=settings.TWILIO_AUTH_TOKEN)  # fmt: skip
        voice = "aura" if settings.DEEPGRAM_API_KEY else "text"
        self._quiet_logs()
        self.stdout.write(f"Simulated call from {options['from_number']} to the server at {url}")
        self.stdout.write("  the server answers with its own speech and model providers")
        self.stdout.write("  the caller speaks " + ("with Deepgram Aura" if voice == "aura" else
                                                   "as text in audio (only a stand-in Deepgram understands it)"))
        self.stdout.write("  hang-ups and transfers by the agent cannot end this stream (the server's Twilio "
                          "does not know the call)")  # fmt: skip
        call = SimulatedCall(endpoint, from_number=options["from_number"], voice=voice)
        return asyncio.run(self._converse(call, script))

    def _quiet_logs(self) -> None:
        """Per-call INFO lines would bury the conversation (-v 2 keeps them)."""
        if self.quiet:
            self.undo_quiet = simulation.quiet_logs()

    # ------------------------------------------------------------------ the conversation

    async def _converse(self, call: SimulatedCall, script) -> CallReport:
        await call.start()
        self.stdout.write(f"Call {call.call_sid} connected.\n")
        printed = _Printed()
        echo = asyncio.create_task(self._echo_heard(call, printed))
        try:
            await call.wait_for_agent(call.connected_at)  # the greeting
            await self._print_unheard_answer(call, printed)
            lines = iter(script) if script is not None else None
            while not call.ended:
                item = next(lines, None) if lines is not None else await self._prompt()
                if item is None or (isinstance(item, str) and is_hang_up(item)):
                    break
                if isinstance(item, float):
                    await asyncio.sleep(item)
                    continue
                if not self.interactive:
                    self.stdout.write(f"caller: {item}")
                printed.agent_speaking = False
                said = await call.say(item)
                if said is None:
                    break
                await call.wait_for_agent(said.ended_at)
                await self._print_unheard_answer(call, printed)
                if self.interactive:
                    await self._print_turn_latency(call, len(call.lines) - 1)
            ended_by_agent = call.ended
            await call.hang_up()
        finally:
            echo.cancel()
            await call.close()
        told = simulation.twilio_was_told(call.twilio, call.call_sid) if call.twilio is not None else ""
        if ended_by_agent:
            self.stdout.write("The agent ended the stream" + (f": Twilio was told to {told}." if told else "."))
        # The session records the outcome as it closes; after a hand-over, Twilio's later webhooks do.
        record = await self._ended_call(call.call_sid, wait=1.0 if told else 5.0)
        turns = await self.read(simulation.recorded_turns, call.call_sid)
        report = simulation.call_report(call, turns, record)
        if record is None:
            self.stdout.write("(this database has no record of the call)")
        elif record.outcome:
            reason = f" ({report.end_reason})" if report.end_reason else ""
            self.stdout.write(f"Call record: {report.outcome}{reason}")
        else:
            self.stdout.write("Call record: handed over to Twilio; how it ends comes with Twilio's later webhooks.")
        return report

    async def _prompt(self) -> str | float | None:
        """The next line typed after "caller> "; None on Ctrl-D. Skips blank lines and comments."""
        while True:
            raw = await _read_line(self.stdout, "caller> ")
            if raw is None:
                return None
            item = parse_line(raw)
            if item is not None:
                return item

    async def _echo_heard(self, call: SimulatedCall, printed: _Printed) -> None:
        """Print each agent utterance as the caller finishes hearing it (stand-in TTS audio carries its text).

        The agent speaks a reply in pieces (its first words early, then sentence by sentence): the pieces
        of one reply go on lines of their own under the first, so that they read as one answer.
        """
        while True:
            heard = call.peer.heard
            while printed.heard < len(heard):
                prefix = AGENT_CONTINUES if printed.agent_speaking else "agent: "
                self.stdout.write(f"{prefix}{heard[printed.heard]}")
                printed.heard += 1
                printed.agent_speaking = True
            await asyncio.sleep(0.05)

    async def _print_unheard_answer(self, call: SimulatedCall, printed: _Printed) -> None:
        """Real TTS audio cannot be decoded here: print what the agent said from its Turn rows instead."""
        if call.peer.heard:
            return
        turns = await self._settled_turns(call.call_sid)
        for turn in turns[printed.turns :]:
            if turn.speaker == "agent":
                self.stdout.write(f"agent (from the call record): {turn.heard_text or turn.text}")
        printed.turns = len(turns)

    async def _print_turn_latency(self, call: SimulatedCall, index: int) -> None:
        turns = await self._settled_turns(call.call_sid)
        report = simulation.call_report(call, turns)
        if index >= len(report.turns):
            return
        figures = report.turns[index]
        parts = [f"first audio frame {_ms(figures.first_frame_ms)} after the final transcript",
                 f"first token {_ms(figures.first_token_ms)}", f"TTS first byte {_ms(figures.tts_first_byte_ms)}",
                 f"server's own {_ms(figures.server_ms)}", f"you waited {_ms(figures.caller_wait_ms)}"]  # fmt: skip
        self.stdout.write("  [" + " | ".join(parts) + "]")

    async def _ended_call(self, call_sid: str, wait: float = 5.0) -> Call | None:
        """The call's record once the agent's part has ended (None if this database does not know the call).

        Its outcome is set then; ended_at may not be (a transferred call goes on with a person)."""
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            call = await self.read(simulation.call_record, call_sid)
            if call is None or call.outcome != Outcome.IN_PROGRESS or asyncio.get_running_loop().time() > deadline:
                return call
            await asyncio.sleep(0.1)

    async def _settled_turns(self, call_sid: str, wait: float = 2.0) -> list:
        """The call's Turn rows; an answer is saved once its last mark is back, so give the last one a moment."""
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            turns = await self.read(simulation.recorded_turns, call_sid)
            if (turns and turns[-1].speaker == "agent") or asyncio.get_running_loop().time() > deadline:
                return turns
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------------ output

    def _print_table(self, report: CallReport) -> None:
        self.stdout.write("")
        self.stdout.write("Latency of each answer, in ms after the caller's final transcript")
        self.stdout.write("('you waited': from the end of the caller's speech to the first agent audio, at the caller)")
        header = f"  {'#':>2}  {'caller said':<34} {'1st token':>9} {'TTS 1st byte':>12} {'1st frame':>9} " \
                 f"{'1st mark':>8} {'server':>6} {'you waited':>10}"  # fmt: skip
        self.stdout.write(header)
        for number, turn in enumerate(report.turns, 1):
            said = turn.caller if len(turn.caller) <= 34 else turn.caller[:31] + "..."
            self.stdout.write(f"  {number:>2}  {said:<34} {_ms(turn.first_token_ms, ''):>9} "
                              f"{_ms(turn.tts_first_byte_ms, ''):>12} {_ms(turn.first_frame_ms, ''):>9} "
                              f"{_ms(turn.first_mark_ms, ''):>8} {_ms(turn.server_ms, ''):>6} "
                              f"{_ms(turn.caller_wait_ms, ''):>10}")  # fmt: skip
        if report.turns and all(t.first_frame_ms is None for t in report.turns):
            self.stdout.write("  (no call records for this call in this database: only the caller's side is known)")
        self.stdout.write(f"Greeting: stream start -> first audio frame at the caller: {_ms(report.greeting_ms)}")


class _KeepLineBreaks(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The epilog (what --url can and cannot do) keeps its lines."""


AGENT_CONTINUES = " " * len("agent: ")


class _Printed:
    """How much of the agent's speech has been printed: utterances heard, Turn rows shown."""

    heard = 0
    turns = 0
    agent_speaking = False  # the next utterance heard continues the agent's reply (no caller line since)


def _ms(value, unit=" ms") -> str:
    return "-" if value is None else f"{value:.0f}{unit}"


def _require_migrated() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        raise CommandError(f"The database has unapplied migrations ({names}...): run manage.py migrate first.")


async def _read_line(stdout, prompt: str) -> str | None:
    """input() without blocking the call's event loop; in a daemon thread, so Ctrl-C never waits for Enter."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def read():
        stdout.write(prompt, ending="")
        stdout.flush()
        line = sys.stdin.readline()
        loop.call_soon_threadsafe(lambda: future.done() or future.set_result(line or None))

    threading.Thread(target=read, name="caller-input", daemon=True).start()
    return await future


