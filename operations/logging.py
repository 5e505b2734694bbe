"""Logs: one line per event, the call it belongs to on it, phone numbers masked.

- The call: ``call_context(call_sid)`` (or ``bind_call_sid``) binds a call's CallSid to the running context. Every
  record created there, by any logger (ours, Django's, the SDKs'), carries it as ``record.call_sid`` ("" outside a
  call): a record factory stamps it when the record is made, in the thread and asyncio task that logs. asyncio
  tasks and ``asyncio.to_thread``/``sync_to_async`` jobs copy the context they start in, so binding a call before
  its tasks are created covers all of them; a plain ``loop.run_in_executor`` does not copy it. (``call_sid`` is
  thus taken: ``extra={"call_sid": ...}`` raises; bind instead.)
- The format: ``LOG_FORMAT`` picks ``PlainFormatter`` (for people: ``... [CA...] message``) or ``JsonFormatter``
  (for collectors: one JSON object per line, whatever the message or traceback holds).
- Masking: both formatters pass their text through ``mask_phone_numbers``, a safety net for a careless log line;
  code still masks what it logs on purpose (``crm.phones.mask_phone``).

Django applies ``configure`` (settings.LOGGING_CONFIG) with settings.LOGGING in every process that sets Django up:
the server, management commands, tests, and Celery's worker and beat (wired in dealership/celery.py).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from datetime import UTC, datetime

_call_sid: contextvars.ContextVar[str] = contextvars.ContextVar("call_sid", default="")
_UNSAFE = re.compile(r"[^A-Za-z0-9]")


# --------------------------------------------------------------------------- the call of the running context


def current_call_sid() -> str:
    """The CallSid bound to the running context, or ""."""
    return _call_sid.get()


def bind_call_sid(call_sid: str | None) -> contextvars.Token:
    """Bind ``call_sid`` to the running context until it ends (an asyncio task, a thread's run) or is rebound.

    Prefer ``call_context`` wherever the context outlives the work (a pooled thread, a Celery worker): it unbinds.
    Only letters and digits are kept (at most 64), so a bound value can never break a log line.
    """
    return _call_sid.set(_UNSAFE.sub("", str(call_sid or ""))[:64])


@contextlib.contextmanager
def call_context(call_sid: str | None) -> Iterator[None]:
    """Within the block, and in the tasks and threads started from it, log records carry ``call_sid``."""
    token = bind_call_sid(call_sid)
    try:
        yield
    finally:
        _call_sid.reset(token)


def install_record_factory() -> None:
    """Make every log record carry ``call_sid``, whichever logger creates it (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_call_sid", False):
        return

    def record_with_call_sid(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.call_sid = _call_sid.get()
        return record

    record_with_call_sid.stamps_call_sid = True
    logging.setLogRecordFactory(record_with_call_sid)


def configure(logging_settings: dict) -> None:
    """settings.LOGGING_CONFIG: stamp records with the call, apply the dictConfig as Django would, and log
    Python's warnings (logger "py.warnings") instead of printing them over several lines."""
    install_record_factory()
    logging.config.dictConfig(logging_settings)
    logging.captureWarnings(True)


# --------------------------------------------------------------------------- the safety net for phone numbers

_PHONE_NUMBER = re.compile(
    # Each begins a token (not the middle of an id, a word or another number) and ends one.
    r"(?:"
    r"(?<![\w+%])(?:\+|%2[Bb])\d{8,15}"  # E.164, also URL-encoded: +14805551234, %2B14805551234
    r"|(?<![\w+%-])(?<!\d\.)\d{10,15}"  # 10-15 digits alone: 4805551234 (not a UUID's last part, not decimals)
    r"|(?<![\w+%])(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}"  # for people: (480) 555-1234, +1 480.555.1234
    r")"
    r"(?!\w)"
)


def _masked(match: re.Match) -> str:
    return "***" + re.sub(r"\D", "", match.group())[-4:]


def mask_phone_numbers(text: str) -> str:
    """``text`` with everything that looks like a phone number cut to its last four digits ("***1234").

    Ids are left alone (a CallSid's digits follow letters), and so are shorter numbers; a bare run of 10-15
    digits is masked whatever it is (a timestamp in milliseconds too): for a log line, the safe side.
    """
    return _PHONE_NUMBER.sub(_masked, text)


# --------------------------------------------------------------------------- formats

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(call_tag)s%(message)s"


class PlainFormatter(logging.Formatter):
    """``2025-06-02 14:03:07,412 INFO voice.consumer [CA0123...] call CA0123...: stream started, caller ***0111``.

    The ``[CallSid]`` appears only on a call's lines. A multi-line message or a traceback spans several lines,
    as Python's own format does: this one is for people reading a terminal; collectors get LOG_FORMAT=json.
    """

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, style: str = "%", **kwargs) -> None:
        super().__init__(fmt or PLAIN_FORMAT, datefmt, style, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        call_sid = getattr(record, "call_sid", "")
        record.call_tag = f"[{call_sid}] " if call_sid else ""
        return mask_phone_numbers(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (ISO 8601, UTC), level, logger, message, call_sid (on a call's
    records), pid, and exception / stack (the traceback as one string) when there is one.

    ASCII only: line breaks and other separators inside a message are escaped, so no reader can split a record.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),  # fmt: skip
            "level": record.levelname,
            "logger": record.name,
            "message": mask_phone_numbers(record.getMessage()),
        }
        call_sid = getattr(record, "call_sid", "")
        if call_sid:
            entry["call_sid"] = call_sid
        entry["pid"] = record.process
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = mask_phone_numbers(record.exc_text)
        if record.stack_info:
            entry["stack"] = mask_phone_numbers(self.formatStack(record.stack_info))
        return json.dumps(entry)
