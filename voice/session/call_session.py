"""One phone call's live session: listening, taking turns, answering, speaking, and ending the call.

The consumer hands Twilio's events to the session (``on_media``, ``on_mark``,
``on_dtmf``, ``stop``) and gives it a ``send`` coroutine for Twilio's side of the
socket. Everything else happens in tasks the session owns and cancels together:

    Listener (Deepgram live) -> stt events -> turn taking / barge-in -> agent reply task
    agent text -> SentenceChunker -> speakable -> Speaker (Deepgram Aura) -> tts events -> Pacer -> Twilio
    Twilio marks -> which sentences were heard -> turn saved, call ended or handed over when heard

When the caller pauses, the agent may start answering before the final transcript (a preemptive reply,
voice.session.preemption): its words are held until the final says the same, or it is discarded unheard.

A reminder call (one we placed) also listens for Twilio's answering-machine result from the webhooks
(voice.session.call_events): a machine gets the call's voicemail and a hang-up (voice.session.answering_machine).

Nothing here blocks the event loop: the database through database_sync_to_async,
Twilio's REST client in a thread, Deepgram and OpenAI in their async forms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from agent.events import AgentError, EndCall, Notice, TextDelta, TextDone, ToolFinished, ToolsStarted, Transfer
from agent.interface import Agent
from agent.records import ToolInvocation
from agent.tools.calls import END_CALL, TRANSFER
from operations import draining
from voice import metrics, services
from voice.models import Outcome, Purpose, Speaker as SpeakerRole
from voice.providers import deepgram
from voice.selectors import number_to_ring
from voice.session import answering_machine, handover
from voice.session.answering_machine import MachineAction
from voice.session.call_events import MACHINE_DETECTION, CallEvents
from voice.session.context import answered_by as stored_answered_by
from voice.session.pacer import Pacer
from voice.session.preemption import PauseDetector
from voice.session.records import CallRecords
from voice.session.turn_taking import TurnTaker, interrupting_words, same_words
from voice.speech import SentenceChunker, speakable

logger = logging.getLogger(__name__)

STILL_THERE = "Are you still there?"
NO_RESPONSE_GOODBYE = "I'll let you go for now. Feel free to call us back any time. Goodbye."
TOO_LONG_GOODBYE = "I'm sorry, I have to end our call now. Please call us back if you need anything else. Goodbye."
# A server restart that waited as long as it may for this call (operations.server).
RESTART_GOODBYE = ("I'm sorry, our phone system is restarting and I have to end our call now. "
                   "Please call us back in a minute. Goodbye.")  # fmt: skip
REPEAT_PLEASE = "Sorry, I lost you for a moment. Could you say that again?"
HAND_OFF = "Let me connect you with a service advisor. One moment please."
TAKE_A_MESSAGE = "Our service advisors can't come to the phone right now, so I'll take a message for them."
AGENT_TROUBLE = "I'm sorry, I'm having trouble answering right now."
# The agent asks its model twice, then answers offline: its silence is only cut past this many model limits.
BACKSTOP_TIMEOUTS = 3


@dataclass
class Sentence:
    id: int
    text: str
    mark: str
    heard: bool = False
    filler: bool = False  # our own words while tools run, not the model's


def _confirmed() -> asyncio.Event:
    confirmed = asyncio.Event()
    confirmed.set()
    return confirmed


@dataclass
class AgentTurn:
    """What the agent is saying now, and what of it the caller has heard."""

    interruptible: bool
    # Set when its words may be spoken: at once, but for a preemptive reply only once the final confirms it.
    confirmed: asyncio.Event = field(default_factory=_confirmed)
    started_at: datetime = field(default_factory=timezone.now)
    answers_final_at: float | None = None  # monotonic time of the caller's final transcript it answers
    sentences: list[Sentence] = field(default_factory=list)
    generated: bool = False  # the whole reply is known (no more sentences will come)
    action: str = ""  # END_CALL or TRANSFER once the caller has heard everything
    first_token_at: float | None = None
    first_audio_at: float | None = None
    first_frame_at: float | None = None
    first_mark_at: float | None = None
    # For the server's own time: when the agent was asked, when its request left for the model (marked by
    # the provider, when there is one), when the words that completed the first sentence arrived, and when
    # that sentence went to text-to-speech.
    asked_at: float | None = None
    request_sent: metrics.Moment = field(default_factory=metrics.Moment)
    first_chunk_token_at: float | None = None
    first_say_at: float | None = None
    finished: bool = False
    preemptive: bool = False  # started before the caller's final transcript (and kept: it said the same)
    reply: bool = False  # the agent's reply (its words go back to the agent as heard), not our fixed words
    # Tools run for this reply: each with the number of sentences queued when it finished, so that the
    # caller "heard its answer" when a later sentence of the model's was heard.
    tools: list[tuple[ToolInvocation, int]] = field(default_factory=list)
    tools_running: int = 0
    tools_seconds: float = 0.0  # time spent in tool rounds (database work included): the server's own
    tools_started_at: float | None = None

    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def heard_text(self) -> str:
        return " ".join(s.text for s in self.sentences if s.heard)

    def heard_model_text(self) -> str:
        return " ".join(s.text for s in self.sentences if s.heard and not s.filler)

    def tools_heard(self) -> list[tuple[ToolInvocation, bool]]:
        return [(invocation, any(s.heard and not s.filler for s in self.sentences[queued:]))
                for invocation, queued in self.tools]  # fmt: skip

    def all_heard(self) -> bool:
        return self.generated and all(s.heard for s in self.sentences)

    def timings(self) -> dict:
        if self.answers_final_at is None:
            return {}

        def ms(moment):
            return None if moment is None else round((moment - self.answers_final_at) * 1000)

        return {
            "agent_first_token_ms": ms(self.first_token_at),
            "tts_first_byte_ms": ms(self.first_audio_at),
            "first_frame_ms": ms(self.first_frame_at),
            "first_mark_ms": ms(self.first_mark_at),
            "server_ms": self.server_ms(),
        }

    def server_ms(self) -> float | None:
        """Final transcript to first frame, minus the waits for the model's words and the first audio.

        A preemptive reply's request left, and its words may have come, before the final: only what the server
        did after the final counts.
        """
        sent = self.request_sent.at or self.asked_at  # an agent without a request: from when it was asked
        moments = (self.answers_final_at, sent, self.first_chunk_token_at, self.first_say_at,
                   self.first_audio_at, self.first_frame_at)  # fmt: skip
        if any(moment is None for moment in moments):
            return None
        final, sent, words, said, audio, frame = moments
        own = max(0.0, sent - final) + (said - max(words, final)) + (frame - audio) + self.tools_seconds
        return round(own * 1000, 2)


@dataclass
class Preempted:
    """A reply started on the caller's words before their final transcript, held until the final confirms them."""

    text: str
    turn: AgentTurn


class CallSession:
    """``make_agent(records=, recorder=)`` builds the call's agent, given what the session keeps for it.

    A reminder call passes ``voicemail`` (its message for a machine), ``answered_by`` (a machine detection that
    came before the stream) and ``hears_call_events`` (listen for the detection while the call goes on).
    """

    def __init__(self, *, call_sid: str, stream_sid: str, send, make_agent, greeting: str,
                 transfer_number: str = "", voicemail: str = "", answered_by: str = "",
                 hears_call_events: bool = False):  # fmt: skip
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self._send_to_twilio = send
        self._agent: Agent = make_agent(records=CallRecords(call_sid), recorder=self)
        self._greeting = greeting
        self._transfer_number = transfer_number
        self._ring: str | None = None  # where a hand-over rings, once decided
        self._whisper = ""  # what the advisor hears first on a transfer the agent asked for
        self._stt_events: asyncio.Queue = asyncio.Queue()
        self._tts_events: asyncio.Queue = asyncio.Queue()
        self._records: asyncio.Queue = asyncio.Queue()
        self._listener = deepgram.Listener(self._stt_events)
        self._speaker = deepgram.Speaker(self._tts_events)
        self._pacer = Pacer(self._send, stream_sid, lead_seconds=settings.VOICE_PLAYBACK_LEAD_MS / 1000,
                            on_first_frame=self._on_first_frame)  # fmt: skip
        self._turns = TurnTaker()
        self._pause = PauseDetector(settings.VOICE_PREEMPT_SILENCE_MS / 1000) if (
            settings.VOICE_PREEMPTIVE_REPLIES and self._agent.preemptive) else None  # fmt: skip
        self._preempted: Preempted | None = None  # a reply started before the caller's final words
        self._waiting: list[tuple[str, float]] = []  # caller turns said over words that cannot be interrupted
        self._current: AgentTurn | None = None
        self._reply_task: asyncio.Task | None = None
        self._tasks: list[asyncio.Task] = []
        self._sentence_ids = 0
        self._by_mark: dict[str, tuple[AgentTurn, Sentence]] = {}
        self._started = time.monotonic()
        self._last_activity = time.monotonic()
        self._silence_prompts = 0
        self._ending = False
        self._end_requested = False  # the server process asked us to end politely (a restart's drain limit)
        self._holding: asyncio.Task | None = None  # sending held while the caller makes a sound (barge-in?)
        self._hold_until = 0.0
        self._closed = asyncio.Event()
        self._outcome = ""
        # Set just before the call is given to Twilio's TwiML (a transfer, a message): that ends the media
        # stream, and its stop must not read as the caller hanging up; Twilio's webhooks record the outcome.
        self._handed_over = False
        self._end_reason = ""  # why the call ends once the agent's last words are heard, if not a goodbye
        self._voicemail = voicemail
        self._detected = ""  # the machine detection acted on: Twilio sends one, and it is acted on once
        self._pending_detection = answered_by  # one that came before the session could speak
        self._can_speak = False
        self._call_events = (CallEvents(call_sid, self._on_call_event, on_quiet=self._check_stored_detection)
                             if hears_call_events else None)  # fmt: skip
        self.done = asyncio.Event()
        self._live = metrics.LiveCall(Purpose.REMINDER if hears_call_events else Purpose.CUSTOMER_CALL)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open the speech sockets and speak the greeting at once (no model round trip)."""
        await _mark_stream_started(call_sid=self.call_sid, stream_sid=self.stream_sid)
        draining.register(self)  # a restart of this process waits for the call to end
        self._live.begin()
        self._spawn(self._recorder(), "recorder")
        self._spawn(self._pacer.run(), "pacer")
        self._spawn(self._listener.run(), "listener")
        self._spawn(self._handle_stt(), "stt")
        self._spawn(self._watch_the_clock(), "clock")
        if self._call_events is not None:
            self._spawn(self._hear_call_events(), "call-events")
        try:
            await self._speaker.open()
        except deepgram.SpeakerError as exc:
            await self._speech_failed(str(exc), unsaid=self._greeting)
            return
        self._spawn(self._handle_tts(), "tts-events")
        self._can_speak = True
        pending, self._pending_detection = self._pending_detection, ""
        if pending:
            await self.on_machine_detection(pending)
            if self._ending:  # a machine: its voicemail instead of the greeting
                return
        await self._say_fixed(self._greeting, interruptible=False)

    def request_end(self) -> None:
        """End politely at the next tick of the clock: goodbye, then hang up (a server restart's limit)."""
        self._end_requested = True

    def on_media(self, audio: bytes) -> None:
        self._listener.send_audio(audio)
        if self._pause is not None and self._pause.on_frame(audio, time.monotonic()):
            self._start_preemptive_reply()

    async def on_mark(self, name: str) -> None:
        found = self._by_mark.pop(name, None)
        if found is None:
            return  # a mark of audio cleared by a barge-in: Twilio echoes those too, unheard
        turn, sentence = found
        sentence.heard = True
        self._last_activity = time.monotonic()
        if turn.first_mark_at is None:
            turn.first_mark_at = time.monotonic()
        if turn is self._current and turn.all_heard():
            # In a task of its own: hanging up or handing over calls Twilio, which must not hold up the socket.
            self._spawn(self._finish_turn(turn), "finish-turn")

    async def on_dtmf(self, digit: str) -> None:
        self._record_system(f"The caller pressed {digit}.")
        if digit == "0" and not self._ending:
            await self._interrupt_agent()
            await self._hand_over()

    async def on_machine_detection(self, answered_by: str) -> None:
        """Twilio's answering-machine result: a person (or not known) changes nothing; a machine stops the agent
        at once (audio cleared, its reply cancelled), then gets the voicemail and a hang-up, or only the hang-up."""
        if self._closed.is_set() or self._detected:
            return
        if not self._can_speak:
            self._pending_detection = self._pending_detection or answered_by
            return
        self._detected = answered_by
        action = answering_machine.action_for(answered_by)
        self._record_system(answering_machine.note_for(answered_by, action))
        if action is MachineAction.CARRY_ON:
            return
        self._ending = True
        self._waiting.clear()  # the machine's greeting, transcribed: nobody to answer
        await self._discard_preemptive_reply()
        if self._current is None or self._current.finished:
            await self._send({"event": "clear", "streamSid": self.stream_sid})  # nothing of ours may still play
            self._pacer.clear()
        await self._interrupt_agent()
        if self._reply_task and not self._reply_task.done() and self._reply_task is not asyncio.current_task():
            self._reply_task.cancel()
        self._outcome = answering_machine.outcome_for(action)
        if action is MachineAction.VOICEMAIL and self._voicemail:
            self._end_reason = "left a voicemail"
            await self._say_fixed(self._voicemail, interruptible=False, action=END_CALL)
        else:
            await self._end_call(self._outcome, "a machine answered")

    async def _hear_call_events(self) -> None:
        """Join the call's group; then read the detection once more, in case it came before we were listening."""
        if await self._call_events.join():
            await self._check_stored_detection()

    async def _check_stored_detection(self) -> None:
        """Act on a detection stored on the call that no message brought (voice.session.call_events says why)."""
        if self._detected or self._closed.is_set():
            return
        try:
            stored = await _stored_answered_by(self.call_sid)
        except Exception:  # the listening goes on; the next check may read it
            logger.warning("call %s: could not read the machine detection", self.call_sid, exc_info=True)
            return
        if stored:
            self._spawn(self.on_machine_detection(stored), "machine-detection")

    async def _on_call_event(self, message: dict) -> None:
        if message.get("type") == MACHINE_DETECTION and isinstance(message.get("answered_by"), str):
            # In a task of the session's own: the hang-up ends the session, which stops the listener.
            self._spawn(self.on_machine_detection(message["answered_by"]), "machine-detection")

    async def stop(self, *, outcome: str | None = Outcome.CALLER_HUNG_UP, reason: str = "the caller hung up",
                   error: str = "") -> None:  # fmt: skip
        """End the session (Twilio's stop, a closed socket, or a fault): save what was said, close everything.

        ``outcome`` None leaves the outcome to whoever has the call next (a transfer's webhooks).
        """
        if self._closed.is_set():
            return
        self._closed.set()
        self._live.end()  # out of the calls in progress now, however the rest goes
        turn = self._current
        if turn is not None and not turn.finished:
            self._save_agent_turn(turn, interrupted=not turn.all_heard())
        self._listener.close()
        running = asyncio.current_task()
        for task in [*self._tasks, self._reply_task, self._holding]:
            if task is not None and task is not running and task.get_name() != "recorder":
                task.cancel()
        await self._speaker.close()
        if self._call_events is not None:
            with contextlib.suppress(Exception):  # a slow Redis must not hold up the call's records
                await asyncio.wait_for(self._call_events.leave(), timeout=5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._agent.aclose(), timeout=30)  # writes still running land first
        final_outcome = None if self._handed_over else (self._outcome or outcome)
        self._live.count_outcome(final_outcome)
        if final_outcome:
            self._records.put_nowait(("finish", {"outcome": final_outcome, "reason": reason, "error": error}))
        self._records.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._task("recorder")), timeout=10)
        draining.unregister(self)
        self.done.set()
        if running in self._tasks or running is self._reply_task:
            # Ended from inside one of our own tasks: that task goes too, once this returns.
            asyncio.get_running_loop().call_soon(running.cancel)

    def _spawn(self, coroutine, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        task.add_done_callback(self._task_ended)
        self._tasks.append(task)

    def _task(self, name: str) -> asyncio.Task:
        return next(task for task in self._tasks if task.get_name() == name)

    def _task_ended(self, task: asyncio.Task) -> None:
        if task.cancelled() or self._closed.is_set():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("call %s: %s task failed", self.call_sid, task.get_name(), exc_info=exc)
            asyncio.get_running_loop().create_task(self._fault(f"{task.get_name()} failed: {exc}"))

    async def _fault(self, error: str) -> None:
        await self.stop(outcome=Outcome.ERROR, reason="internal error", error=error)
        await self._send_close()

    async def _send(self, message: dict) -> None:
        if not self._closed.is_set():
            await self._send_to_twilio(message)

    async def _send_close(self) -> None:
        with contextlib.suppress(Exception):
            await self._send_to_twilio(None)  # the consumer closes the socket

    # ------------------------------------------------------------------ listening

    async def _handle_stt(self) -> None:
        while not self._closed.is_set():
            event = await self._stt_events.get()
            if isinstance(event, deepgram.Transcript):
                await self._on_transcript(event)
            elif isinstance(event, deepgram.UtteranceEnd):
                text = self._turns.on_utterance_end()
                if text is None and self._turns.has_unfinished_speech():
                    self._listener.finalize()  # only interim words: ask for their final
                elif text:
                    await self._caller_said(text, event.at)
            elif isinstance(event, deepgram.SpeechStarted):
                self._last_activity = event.at
                self._hold_for_caller()
            elif isinstance(event, deepgram.ListenerReconnected):
                self._record_system("Speech recognition reconnected.")
                if not self._ending and self._current is None:
                    await self._say_fixed(REPEAT_PLEASE, interruptible=True)
            elif isinstance(event, deepgram.ListenerFailed):
                self._record_system(f"Speech recognition failed: {event.reason}.")
                await self._interrupt_agent()
                await self._hand_over(apology=AGENT_TROUBLE)

    def _hold_for_caller(self) -> None:
        """The caller started to make a sound while the agent talks: stop sending new audio at once, before any word
        is known. Words that interrupt then clear the rest (``_interrupt_agent``); a cough or an "mm-hmm" does
        not, and sending goes on from where it stopped once VOICE_BARGE_IN_PAUSE_SECONDS pass without one."""
        turn = self._current
        if turn is None or turn.finished or not turn.interruptible or self._ending:
            return
        self._pacer.pause()
        self._hold_until = time.monotonic() + settings.VOICE_BARGE_IN_PAUSE_SECONDS
        if self._holding is None or self._holding.done():
            self._holding = asyncio.create_task(self._resume_unless_interrupted(), name="hold")

    async def _resume_unless_interrupted(self) -> None:
        while self._pacer.paused and time.monotonic() < self._hold_until:  # more sound moves the end further
            await asyncio.sleep(self._hold_until - time.monotonic())
        self._pacer.resume()  # a barge-in has already cleared it: then this changes nothing

    async def _on_transcript(self, transcript: deepgram.Transcript) -> None:
        if transcript.text:
            self._last_activity = transcript.at
        turn = self._current
        text = self._turns.on_transcript(transcript)
        if text is None and transcript.text:
            await self._more_words()
        speaking = turn is not None and not turn.finished
        if speaking and turn.interruptible and not self._ending:
            heard = text if text is not None else self._turns.heard_so_far()
            if interrupting_words(heard) >= settings.VOICE_BARGE_IN_MIN_WORDS:
                await self._interrupt_agent()
        if text:
            current = self._current
            if current is not None and not current.finished:
                if current.interruptible:
                    # A listening noise ("okay", "mm-hmm") while the agent talks: noted, not answered.
                    self._record(SpeakerRole.CALLER, text, started_at=timezone.now())
                    return
                # Said over the greeting or a hand-off: answered once the agent has finished.
                self._waiting.append((text, transcript.at))
                return
            await self._caller_said(text, transcript.at)

    async def _caller_said(self, text: str, final_at: float) -> None:
        """A whole caller turn: save it and answer it (or let the reply begun on it go on)."""
        self._listener.finalize()
        self._silence_prompts = 0
        self._record(SpeakerRole.CALLER, text, started_at=timezone.now())
        if self._pause is not None:
            self._pause.next_turn()
        if self._preempted is not None:
            if same_words(self._preempted.text, text) and not self._ending:
                self._keep_preemptive_reply(final_at)
                return
            await self._discard_preemptive_reply()
        self._agent.hear(text)
        if self._ending:
            return
        previous = self._reply_task
        if previous and not previous.done() and previous is not asyncio.current_task():
            # A reply still thinking (nothing said yet): it gives way to one that answers everything said.
            await self._cancel_reply()
            if self._current is not None and self._current.reply and not self._current.finished:
                self._save_agent_turn(self._current, interrupted=True)
                self._current = None
        turn = AgentTurn(interruptible=True, answers_final_at=final_at, reply=True)
        self._reply_task = asyncio.create_task(self._reply(turn), name="reply")

    async def _cancel_reply(self) -> None:
        """Stop the reply task and wait until it has closed the agent's reply."""
        reply = self._reply_task
        if reply is None or reply.done() or reply is asyncio.current_task():
            return
        reply.cancel()
        try:
            await reply
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise  # this task is being stopped too (the call is ending), not only the reply
        except Exception:  # the reply handles its own failures; nothing to add here
            pass

    # ------------------------------------------------------------------ preemptive replies

    async def _more_words(self) -> None:
        """The caller's turn grew: a reply begun on fewer words goes; a pause after them may begin one."""
        if self._preempted is not None and not same_words(self._preempted.text, self._turns.heard_so_far()):
            await self._discard_preemptive_reply()
        if self._pause is not None and self._pause.on_words(time.monotonic()):
            self._start_preemptive_reply()

    def _start_preemptive_reply(self) -> None:
        """The caller paused after words that are not final yet: start the reply on them, its words held back."""
        text = self._turns.heard_so_far()
        current, reply = self._current, self._reply_task
        # The agent may have stopped saving time this way during the call (gone on offline).
        if (not text or self._ending or self._waiting or self._preempted is not None or not self._agent.preemptive
                or (current is not None and not current.finished) or (reply is not None and not reply.done())):  # fmt: skip
            return
        self._pause.used()
        turn = AgentTurn(interruptible=True, reply=True, preemptive=True, confirmed=asyncio.Event())
        self._preempted = Preempted(text, turn)
        self._agent.hear_tentatively(text)
        self._reply_task = asyncio.create_task(self._reply(turn), name="reply")

    def _keep_preemptive_reply(self, final_at: float) -> None:
        """The final transcript says what the reply was begun on: it goes on, and its words may be spoken."""
        turn = self._preempted.turn
        self._preempted = None
        turn.answers_final_at = final_at
        self._agent.confirm()
        self._current = turn
        turn.confirmed.set()
        metrics.preemptive_reply(metrics.KEPT)

    async def _discard_preemptive_reply(self) -> None:
        """The caller went on, or the final says something else: the reply begun early goes, unheard."""
        preempted, self._preempted = self._preempted, None
        if preempted is None:
            return
        await self._cancel_reply()
        self._agent.withdraw()
        for invocation, _ in preempted.turn.tools:  # the reads it ran are kept with the call all the same
            self._records.put_nowait(("tool", {"invocation": invocation}))
        metrics.preemptive_reply(metrics.DISCARDED)

    # ------------------------------------------------------------------ answering

    async def _reply(self, turn: AgentTurn) -> None:
        if turn.confirmed.is_set():
            self._current = turn  # a preemptive reply becomes the current turn once confirmed
        chunker = SentenceChunker()
        # The agent bounds its model's silence itself (agent.failover: ask again, then go on offline); this is
        # the backstop for an agent that hangs all the same.
        timeout = settings.VOICE_AGENT_TIMEOUT_SECONDS * BACKSTOP_TIMEOUTS
        metrics.REQUEST_SENT.set(turn.request_sent)  # this task's own context: the mark lands on this turn
        stream = self._agent.reply()
        filler: asyncio.Task | None = None
        try:
            turn.asked_at = time.monotonic()
            while True:
                try:
                    # The model's silence is bounded; tools have their own time limit inside the agent.
                    async with asyncio.timeout(None if turn.tools_running else timeout):
                        event = await anext(stream)
                except StopAsyncIteration:
                    break
                arrived = time.monotonic()
                if isinstance(event, TextDelta):
                    if turn.first_token_at is None:
                        turn.first_token_at = arrived
                    for chunk in chunker.feed(event.text):
                        if turn.first_chunk_token_at is None:
                            turn.first_chunk_token_at = arrived
                        await self._speak(turn, chunk)
                elif isinstance(event, (TextDone, ToolsStarted)):
                    # The preface ("Let me check Tuesday.") is said as soon as its words are over, while the model
                    # still writes the tool calls and the tools run.
                    for chunk in chunker.flush():
                        if turn.first_chunk_token_at is None:
                            turn.first_chunk_token_at = arrived
                        await self._speak(turn, chunk)
                    if isinstance(event, TextDone):
                        continue
                    turn.tools_running, turn.tools_started_at = len(event.calls), arrived
                    if filler is None and not turn.sentences:
                        filler = asyncio.create_task(self._filler(turn, event), name="filler")
                elif isinstance(event, ToolFinished):
                    turn.tools_running = max(0, turn.tools_running - 1)
                    if not turn.tools_running and turn.tools_started_at is not None:
                        turn.tools_seconds += arrived - turn.tools_started_at
                        turn.tools_started_at = None
                elif isinstance(event, Notice):
                    self._record_system(event.text)
                elif isinstance(event, EndCall):
                    turn.action = END_CALL
                elif isinstance(event, Transfer):
                    turn.action, self._whisper = TRANSFER, event.whisper
            for chunk in chunker.flush():
                if turn.first_chunk_token_at is None:
                    turn.first_chunk_token_at = time.monotonic()  # a reply shorter than one chunk
                await self._speak(turn, chunk)
        except (TimeoutError, AgentError) as exc:
            await turn.confirmed.wait()  # a hand-over only on the caller's final words
            logger.warning("call %s: the agent failed: %s", self.call_sid, exc)
            self._record_system(f"The agent failed: {exc or 'no answer in time'}.")
            turn.generated = True
            await self._interrupt_agent()
            await self._hand_over(apology=AGENT_TROUBLE)
            return
        except deepgram.SpeakerError as exc:
            await self._speech_failed(str(exc), unsaid=turn.text())
            return
        finally:
            if filler is not None:
                filler.cancel()
            # Closed here, in this task, also when it is cancelled: the agent's conversation takes in the
            # reply's last words before the driver says which of them were heard.
            with contextlib.suppress(Exception):
                await stream.aclose()
        turn.generated = True
        await turn.confirmed.wait()
        if not turn.sentences:
            await self._finish_turn(turn)
        elif turn.all_heard():
            await self._finish_turn(turn)

    async def _filler(self, turn: AgentTurn, started: ToolsStarted) -> None:
        """Tools still running about a second after the caller's words, and nothing said yet: a short filler."""
        await turn.confirmed.wait()
        due = (turn.answers_final_at or time.monotonic()) + settings.AGENT_FILLER_AFTER_SECONDS
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        if turn is self._current and not turn.finished and not turn.sentences and turn.tools_running:
            with contextlib.suppress(deepgram.SpeakerError):
                await self._speak(turn, self._agent.filler(started.calls), filler=True)

    async def _speak(self, turn: AgentTurn, text: str, *, filler: bool = False) -> None:
        await turn.confirmed.wait()  # a preemptive reply says nothing before the final confirms it
        self._sentence_ids += 1
        sentence = Sentence(id=self._sentence_ids, text=text, mark=f"s{self._sentence_ids}", filler=filler)
        turn.sentences.append(sentence)
        self._by_mark[sentence.mark] = (turn, sentence)
        await self._speaker.say(sentence.id, speakable(text))
        if turn.first_say_at is None and not filler:  # the model's words: a filler has none to wait for
            turn.first_say_at = time.monotonic()

    async def _say_fixed(self, text: str, *, interruptible: bool, action: str = "") -> None:
        """Speak our own words (greeting, prompts, goodbyes) as an agent turn."""
        turn = AgentTurn(interruptible=interruptible, action=action)
        self._current = turn
        chunker = SentenceChunker()
        try:
            for chunk in [*chunker.feed(text), *chunker.flush()]:
                await self._speak(turn, chunk)
        except deepgram.SpeakerError as exc:
            await self._speech_failed(str(exc), unsaid=text)
            return
        turn.generated = True

    async def _handle_tts(self) -> None:
        while not self._closed.is_set():
            event = await self._tts_events.get()
            if isinstance(event, deepgram.SpeechLost):
                unsaid = " ".join(s.text for s in (self._current.sentences if self._current else []) if not s.heard)
                await self._speech_failed(event.error, unsaid=unsaid)
                continue
            found = self._sentence(event.sentence)
            if found is None:
                continue  # audio of a sentence cut by a barge-in
            turn, sentence = found
            if isinstance(event, deepgram.SpeechAudio):
                if turn.first_audio_at is None:
                    turn.first_audio_at = time.monotonic()
                self._pacer.add_audio(sentence.id, event.audio)
            elif isinstance(event, deepgram.SpeechDone):
                self._pacer.add_mark(sentence.mark)

    def _sentence(self, sentence_id: int) -> tuple[AgentTurn, Sentence] | None:
        turn = self._current
        if turn is None:
            return None
        for sentence in turn.sentences:
            if sentence.id == sentence_id and sentence.mark in self._by_mark:
                return turn, sentence
        return None

    def _on_first_frame(self, sentence_id: int) -> None:
        found = self._sentence(sentence_id)
        if found and found[0].first_frame_at is None:
            turn = found[0]
            turn.first_frame_at = time.monotonic()
            final = turn.answers_final_at  # the same moments as the turn's saved timings
            metrics.observe_turn(server_ms=turn.server_ms(),
                                 first_audio_ms=None if final is None else (turn.first_frame_at - final) * 1000)

    async def _finish_turn(self, turn: AgentTurn) -> None:
        """Everything the agent said was heard: keep it, then do what it asked (hang up, hand over)."""
        if turn.finished:
            return
        self._save_agent_turn(turn, interrupted=False)
        self._last_activity = time.monotonic()
        if turn is self._current:
            self._current = None
        if turn.action == END_CALL:
            await self._end_call(self._outcome or Outcome.COMPLETED, self._end_reason or "the agent said goodbye")
        elif turn.action == TRANSFER:
            await self._transfer()
        elif self._waiting:
            said, final_at = " ".join(text for text, _ in self._waiting), self._waiting[-1][1]
            self._waiting.clear()
            await self._caller_said(said, final_at)

    def _save_agent_turn(self, turn: AgentTurn, *, interrupted: bool) -> None:
        turn.finished = True
        heard = turn.heard_text()
        if turn.reply:
            self._agent.heard(turn.heard_model_text())
        else:
            self._agent.said(heard)
        if not turn.sentences and not turn.tools:
            return
        self._record(SpeakerRole.AGENT, turn.text(), heard_text=heard, interrupted=interrupted,
                     preemptive=turn.preemptive, started_at=turn.started_at, timings=turn.timings(),
                     tools=turn.tools_heard())  # fmt: skip

    def tool_finished(self, invocation: ToolInvocation) -> None:
        """The agent's recorder: a tool call is kept with the reply it belongs to, or alone once that reply is
        saved (a write the caller talked over lands after it, perhaps while the next reply is under way)."""
        turn = self._preempted.turn if self._preempted is not None else self._current
        if turn is not None and turn.reply and not turn.finished and invocation.started_at >= turn.started_at:
            turn.tools.append((invocation, len(turn.sentences)))
        else:
            self._records.put_nowait(("tool", {"invocation": invocation}))

    async def _interrupt_agent(self) -> None:
        """Barge-in: stop the audio at Twilio and at the TTS, stop the model, keep only what was heard."""
        turn = self._current
        if turn is None or turn.finished:
            return
        if self._reply_task and not self._reply_task.done() and asyncio.current_task() is not self._reply_task:
            self._reply_task.cancel()
        await self._send({"event": "clear", "streamSid": self.stream_sid})
        self._pacer.clear()
        for sentence in turn.sentences:
            self._by_mark.pop(sentence.mark, None)  # their echoes after the clear prove nothing
        with contextlib.suppress(deepgram.SpeakerError):
            await self._speaker.clear()
        self._save_agent_turn(turn, interrupted=True)
        self._current = None

    # ------------------------------------------------------------------ ending

    async def _watch_the_clock(self) -> None:
        """Silence: ask if the caller is still there, then end politely. Length: end at the maximum."""
        while not self._closed.is_set():
            await asyncio.sleep(0.25)
            now = time.monotonic()
            if self._ending:
                continue
            if self._end_requested or now - self._started > settings.VOICE_MAX_CALL_SECONDS:
                await self._interrupt_agent()
                self._outcome = Outcome.SERVER_RESTART if self._end_requested else Outcome.TOO_LONG
                goodbye = RESTART_GOODBYE if self._end_requested else TOO_LONG_GOODBYE
                await self._say_fixed(goodbye, interruptible=False, action=END_CALL)
                self._ending = True
                continue
            quiet = self._current is None and not self._turns.heard_so_far() and self._pacer.idle()
            if quiet and now - self._last_activity > settings.VOICE_SILENCE_SECONDS:
                self._silence_prompts += 1
                self._last_activity = now
                if self._silence_prompts == 1:
                    await self._say_fixed(STILL_THERE, interruptible=True)
                else:
                    self._outcome = Outcome.NO_RESPONSE
                    self._ending = True
                    await self._say_fixed(NO_RESPONSE_GOODBYE, interruptible=False, action=END_CALL)

    async def _end_call(self, outcome: str, reason: str) -> None:
        self._ending = True
        self._outcome = outcome
        await handover.hang_up(self.call_sid)
        await self.stop(outcome=outcome, reason=reason)

    async def _hand_over(self, apology: str = "") -> None:
        """Say the hand-off sentence; once heard, the call is transferred (or a message taken)."""
        self._ending = True
        number = await self._ring_number()
        sentence = HAND_OFF if number else TAKE_A_MESSAGE
        await self._say_fixed(f"{apology} {sentence}".strip(), interruptible=False, action=TRANSFER)

    async def _ring_number(self) -> str:
        """Where a hand-over rings (voice.selectors.number_to_ring), decided once per call so that the hand-off
        sentence and the transfer agree even when the department closes in between."""
        if self._ring is None:
            self._ring = await _number_to_ring(self._transfer_number)
        return self._ring

    async def _transfer(self) -> None:
        """Hand the call to Twilio's TwiML: the transfer-result and message webhooks record how it ends."""
        number = await self._ring_number()
        self._record_system(f"Handed over to {number}." if number else "Asked the caller to leave a message.")
        self._handed_over = True
        await handover.transfer(self.call_sid, number, whisper=self._whisper or self._agent.transfer_whisper())
        await self.stop(outcome=None, reason="handed over")

    async def _speech_failed(self, error: str, *, unsaid: str) -> None:
        """Text-to-speech is down: Twilio says the rest with <Say> and hands the caller to a person."""
        if self._closed.is_set():
            return
        logger.warning("call %s: text-to-speech failed, falling back to Twilio <Say>: %s", self.call_sid, error)
        self._record_system(f"Text-to-speech failed ({error}); Twilio spoke instead.")
        self._ending = True
        number = await self._ring_number()
        self._handed_over = True
        await handover.say_then_transfer(self.call_sid, unsaid, number)
        await self.stop(outcome=None, reason="text-to-speech failed", error=error)

    # ------------------------------------------------------------------ records

    def _record(self, speaker: str, text: str, *, heard_text: str = "", interrupted: bool = False,
                preemptive: bool = False, started_at: datetime, timings: dict | None = None,
                tools=()) -> None:  # fmt: skip
        metrics.turn_saved(speaker, interrupted=interrupted)
        self._records.put_nowait(("turn", {
            "speaker": speaker, "text": text, "heard_text": heard_text, "interrupted": interrupted,
            "preemptive": preemptive,
            "started_at": started_at, "ended_at": timezone.now(), "timings": timings or {}, "tools": list(tools),
        }))  # fmt: skip

    def _record_system(self, text: str) -> None:
        self._record(SpeakerRole.SYSTEM, text, started_at=timezone.now())

    async def _recorder(self) -> None:
        """Writes turns one at a time, in order, so that a slow database never holds up the call."""
        while True:
            item = await self._records.get()
            if item is None:
                return
            kind, fields = item
            try:
                if kind == "turn":
                    await _turn_record(call_sid=self.call_sid, **fields)
                elif kind == "tool":
                    await _tool_invocation_record(call_sid=self.call_sid, **fields)
                else:
                    await _call_finish(call_sid=self.call_sid, **fields)
            except Exception:
                logger.exception("call %s: could not save a %s", self.call_sid, kind)


# The voice services, callable from the event loop (each runs in Django's database thread).
_mark_stream_started = database_sync_to_async(services.call_mark_stream_started)
_turn_record = database_sync_to_async(services.turn_record)
_tool_invocation_record = database_sync_to_async(services.tool_invocation_record)
_call_finish = database_sync_to_async(services.call_finish)
_number_to_ring = database_sync_to_async(number_to_ring)
_stored_answered_by = database_sync_to_async(stored_answered_by)
