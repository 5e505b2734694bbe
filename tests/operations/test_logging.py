"""Logs (operations.logging): one line per event, the CallSid on every record of a call, phone numbers masked.

The formats and the masking are checked on their output; the call's CallSid on the records themselves (pytest's
caplog holds records, not lines), from our loggers and from libraries', in the tasks and threads of a call; and
end to end in a real Daphne process logging JSON while it carries two calls at once.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from operations.logging import (
    JsonFormatter,
    PlainFormatter,
    bind_call_sid,
    call_context,
    current_call_sid,
    mask_phone_numbers,
)
from standins import MediaStreamPeer
from tests.operations.servers import (
    PROCESS_SECONDS,
    ROOT,
    end_server_sessions,
    place_call,
    server_environment,
    terminate,
    until,
)
from tests.standins.fixtures import fake_deepgram, fake_openai, fake_twilio  # noqa: F401
from tests.voice.conftest import call_sid, twilio_post, twilio_webhook_settings  # noqa: F401 - fixtures
from tests.voice.test_call_flow import GREETING, hears, shop  # noqa: F401 - a fixture and a helper
from voice import services
from voice.models import Call, Outcome, Speaker
from voice.tasks import summarize_call
CALL_A = "CA" + "0123456789abcdef" * 2
CALL_B = "CA" + "fedcba9876543210" * 2


@pytest.fixture
def emitted():
    """``emitted(formatter, log)``: the text a handler with ``formatter`` writes for what ``log(logger)`` logs."""
    logger = logging.getLogger("tests.operations.logging")

    def emit(formatter: logging.Formatter, log) -> str:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        try:
            log(logger)
        finally:
            logger.removeHandler(handler)
        return stream.getvalue()

    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield emit
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


# --------------------------------------------------------------------------- formats


def test_json_is_one_object_per_line_whatever_the_message_or_the_traceback(emitted):
    def log(logger):
        logger.info("first line\nsecond line\r\nthird\u2028fourth")
        try:
            raise ValueError("broken\nover two lines")
        except ValueError:
            with call_context(CALL_A):
                logger.exception("it failed")
        logger.warning("done", stack_info=True)

    output = emitted(JsonFormatter(), log)

    lines = output.split("\n")
    assert lines[-1] == "" and len(lines) == 4  # three records, each ending its own line
    multi, failed, done = (json.loads(line) for line in lines[:3])
    assert multi["message"] == "first line\nsecond line\r\nthird\u2028fourth"
    assert output.isascii(), "non-ASCII separators (U+2028) would split a line for some readers"
    assert set(multi) == {"time", "level", "logger", "message", "pid"}  # no call_sid outside a call
    assert (multi["level"], multi["logger"], multi["pid"]) == ("INFO", "tests.operations.logging", os.getpid())
    logged_at = datetime.fromisoformat(multi["time"].replace("Z", "+00:00"))
    assert multi["time"].endswith("Z") and logged_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - logged_at) < timedelta(minutes=5)
    assert failed["call_sid"] == CALL_A and failed["level"] == "ERROR" and failed["message"] == "it failed"
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert failed["exception"].endswith("ValueError: broken\nover two lines")
    assert "test_json_is_one_object_per_line" in done["stack"]


def test_the_plain_line_names_the_call_in_brackets_only_on_a_call_s_lines(emitted):
    def log(logger):
        logger.info("before the call")
        with call_context(CALL_B):
            logger.warning("during the call")
        logger.info("after the call")

    before, during, after = emitted(PlainFormatter(), log).splitlines()

    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO tests\.operations\.logging before the call", before)
    assert during.endswith(f" WARNING tests.operations.logging [{CALL_B}] during the call")
    assert after.endswith(" INFO tests.operations.logging after the call") and "[" not in after


def test_what_is_bound_cannot_break_a_line():
    with call_context("CA12\nFAKE LINE [x]"):
        assert current_call_sid() == "CA12FAKELINEx"
    assert current_call_sid() == ""


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("caller +14805551234", "caller ***1234"),
        ("From=%2B14805551234&To=%2B16025550100", "From=***1234&To=***0100"),
        ("to 4805551234.", "to ***1234."),
        ("(480) 555-1234 or 480.555.1235 or +1 480-555-1236", "***1234 or ***1235 or ***1236"),
        ("tel:14805551234, +442071838750", "tel:***1234, ***8750"),
    ],
)
def test_phone_numbers_keep_only_their_last_four_digits(text, masked):
    assert mask_phone_numbers(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        f"call {CALL_A}",
        "call CA" + "0" * 31 + "1",  # a CallSid whose hex is all digits
        "stream MZ" + "1234567890" * 3 + "ab",
        "appointment 123456 at bay 3",
        "request 123e4567-e89b-12d3-a456-426614174000",  # a UUID ending in twelve digits
        "2026-12-03 08:01:32,869 took 0.2729333629977191s, 0.27293336299771 s",
        "127.0.0.1:46813",
    ],
)
def test_ids_and_other_numbers_are_left_alone(text):
    assert mask_phone_numbers(text) == text


def test_both_formats_mask_the_message_and_the_traceback(emitted):
    def log(logger):
        try:
            raise RuntimeError("no such customer +14805551234")
        except RuntimeError:
            logger.exception("lookup of %s failed", "+14805551234")

    plain = emitted(PlainFormatter(), log)
    line = json.loads(emitted(JsonFormatter(), log))
    assert "4805551234" not in plain and "lookup of ***1234 failed" in plain
    assert plain.endswith("RuntimeError: no such customer ***1234\n")
    assert line["message"] == "lookup of ***1234 failed"
    assert line["exception"].endswith("RuntimeError: no such customer ***1234")


# --------------------------------------------------------------------------- the call on every record


async def test_every_record_of_a_call_s_tasks_and_threads_carries_its_call_sid(caplog):
    """As the media-stream consumer does: one task per connection binds its call on the start message, handles the
    later messages, and starts the session's tasks, which start tasks and threads of their own."""
    caplog.set_level(logging.INFO)

    async def session_task(sid: str) -> None:
        await asyncio.sleep(0)
        logging.getLogger("voice.session.call_session").info("%s: a session task", sid)
        logging.getLogger("httpx").info("%s: a library's logger", sid)
        await asyncio.to_thread(logging.getLogger("openai._base_client").info, "%s: a thread", sid)
        await sync_to_async(logging.getLogger("voice.services").info)("%s: a database thread", sid)
        await asyncio.create_task(_log("agent.failover", f"{sid}: a task of a task"))

    async def connection(sid: str) -> None:
        async def on_start() -> asyncio.Task:
            bind_call_sid(sid)
            return asyncio.create_task(session_task(sid))

        async def on_later_message() -> None:
            logging.getLogger("voice.consumer").info("%s: a later message", sid)

        started = await on_start()
        await on_later_message()
        await started

    outside = asyncio.create_task(_log("voice.consumer", "outside: started before either call"))
    await asyncio.gather(connection(CALL_A), connection(CALL_B), outside)
    logging.getLogger("voice.consumer").info("outside: after both calls")

    seen = {(record.getMessage().split(":")[0], record.call_sid) for record in caplog.records}
    for sid in (CALL_A, CALL_B):
        of_call = [record for record in caplog.records if record.getMessage().startswith(sid)]
        assert len(of_call) == 6
        assert {record.call_sid for record in of_call} == {sid}, seen
    outside_records = [record for record in caplog.records if record.getMessage().startswith("outside")]
    assert len(outside_records) == 2 and {record.call_sid for record in outside_records} == {""}
    assert current_call_sid() == ""


def _is_model_request(logger: str, message: str) -> bool:
    """The HTTP client's line for a request to the model (the OpenAI SDK's client logs as "httpx" or "httpx2")."""
    return logger.startswith("httpx") and message.startswith("HTTP Request: POST") and "/chat/completions" in message


async def _log(name: str, message: str) -> None:
    await asyncio.sleep(0)
    logging.getLogger(name).info(message)


@pytest.mark.django_db
def test_a_signed_webhook_logs_as_part_of_its_call_and_an_unsigned_one_does_not(twilio_post, caplog):
    caplog.set_level(logging.INFO)
    sid = call_sid(7)
    params = {"CallSid": sid, "From": "+16025550123", "To": "+16025550100", "Direction": "inbound"}

    assert twilio_post("voice:incoming", params).status_code == 200
    (registered,) = [record for record in caplog.records if record.getMessage().startswith("Inbound call")]
    assert registered.name == "voice.services" and registered.call_sid == sid
    assert current_call_sid() == ""  # unbound when the request is answered

    caplog.clear()
    assert twilio_post("voice:incoming", params, signature="forged").status_code == 403
    (refused,) = [record for record in caplog.records if "without a valid Twilio signature" in record.getMessage()]
    assert refused.call_sid == ""


@pytest.mark.django_db
def test_the_summary_task_logs_as_part_of_its_call(fake_openai, settings, caplog):  # noqa: F811
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    sid = call_sid(9)
    call = services.call_register_inbound(call_sid=sid, from_number="+16025550123", to_number="+16025550100")
    now = timezone.now()
    services.turn_record(call_sid=sid, speaker=Speaker.CALLER, text="I need an oil change for my Accord.",
                         started_at=now, ended_at=now + timedelta(seconds=2))  # fmt: skip
    fake_openai.fail_next(2, 500)  # the request and its one retry
    caplog.set_level(logging.INFO)

    assert summarize_call.delay(call.pk).get().startswith(f"call {call.pk}: ")

    fell_back = [record for record in caplog.records if record.name == "agent.summary"]
    asked = [record for record in caplog.records if _is_model_request(record.name, record.getMessage())]
    assert len(fell_back) == 1 and len(asked) == 2
    assert {record.call_sid for record in fell_back + asked} == {sid}
    assert current_call_sid() == ""


# --------------------------------------------------------------------------- a real server, logging JSON


class JsonLoggingServer:
    """``python -m daphne`` serving the project in a process of its own with LOG_FORMAT=json, and what it logged."""

    def __init__(self, *, deepgram, openai, twilio, redis_url: str):
        self.twilio = twilio
        self.lines: list[str] = []
        environment = server_environment(deepgram=deepgram, twilio=twilio, openai=openai, redis_url=redis_url,
                                         LOG_FORMAT="json", LOG_LEVEL="INFO")  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "0", "dealership.asgi:application"],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(self.wait_for(r"Listening on TCP address 127\.0\.0\.1:(\d+)").group(1))

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str) -> re.Match:
        deadline = time.monotonic() + PROCESS_SECONDS
        while True:
            found = next(filter(None, (re.search(pattern, line) for line in list(self.lines))), None)
            if found:
                return found
            assert self.process.poll() is None, "the server exited:\n" + "\n".join(self.lines[-40:])
            assert time.monotonic() < deadline, f"the server never logged {pattern!r}:\n" + "\n".join(self.lines[-40:])
            time.sleep(0.05)

    async def call(self, caller: str) -> MediaStreamPeer:
        """A call from ``caller`` placed as Twilio places it; its stream not connected yet."""
        return await place_call(self.port, self.twilio, caller=caller)

    def stop(self) -> list[str]:
        """Stop the process as a service manager does and return every line it wrote to stderr."""
        terminate(self.process)
        self._reader.join(30)
        return list(self.lines)


@pytest.fixture
def json_server(shop, fake_deepgram, fake_openai, fake_twilio, private_redis):  # noqa: F811
    server = JsonLoggingServer(deepgram=fake_deepgram, openai=fake_openai, twilio=fake_twilio,
                               redis_url=private_redis)  # fmt: skip
    yield server
    server.stop()
    end_server_sessions()


def ended(*sids: str) -> bool:
    return Call.objects.filter(call_sid__in=sids).exclude(outcome=Outcome.IN_PROGRESS).count() == len(sids)


@pytest.mark.django_db(transaction=True)
async def test_a_server_logging_json_puts_each_call_s_sid_on_each_of_its_lines(json_server, fake_openai):  # noqa: F811
    callers = ["+16025550111", "+16025550122"]
    one, two = await json_server.call(callers[0]), await json_server.call(callers[1])
    first, second = one.call_sid, two.call_sid
    fake_openai.fail_next(1, 500)  # the first call's first reply: the model fails once, then answers
    fake_openai.queue_text("We are open Saturdays from eight to two.")
    fake_openai.queue_text("Yes, we rotate tires.")
    async with one, two:
        await hears(one, GREETING)
        await hears(two, GREETING)
        await one.send_raw(json.dumps({"event": "not-in-the-protocol"}))  # a later message of the first stream
        await one.say("are you open on saturday")
        await hears(one, "We are open Saturdays from eight to two.")
        await two.say("do you rotate tires")
        await hears(two, "Yes, we rotate tires.")
    # Both callers hung up and their calls were recorded to their end (queueing summaries for nobody: the Redis is
    # the tests' own), so the lines hold the whole of each call.
    await until(lambda: ended(first, second))
    lines = await asyncio.to_thread(json_server.stop)

    records = [json.loads(line) for line in lines]  # every line is one whole JSON object
    assert all({"time", "level", "logger", "message", "pid"} <= set(record) for record in records)

    def one_of(logger: str, text: str, sid: str | None = None) -> dict:
        (found,) = [r for r in records if r["logger"] == logger and text in r["message"] and (sid or "") in r["message"]]
        return found

    for sid in (first, second):
        assert one_of("voice.services", "Inbound call", sid).get("call_sid") == sid  # the webhook
        assert one_of("voice.consumer", "stream started", sid).get("call_sid") == sid  # the start message
    assert one_of("voice.consumer", "ignoring unknown event", first).get("call_sid") == first  # a later message
    assert one_of("agent.failover", "the model failed").get("call_sid") == first  # the session's reply task
    asked = [r.get("call_sid") for r in records if _is_model_request(r["logger"], r["message"])]
    assert asked == [first, first, second]  # the SDK's requests, from inside each call's tasks
    for record in records:
        for sid in (first, second):
            if sid in record["message"]:
                assert record.get("call_sid") == sid, record
    assert "call_sid" not in one_of("daphne.server", "Listening on TCP address")
    for caller in callers:
        assert not [line for line in lines if caller[2:] in line], f"{caller} logged in full"
