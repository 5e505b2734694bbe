"""Every Prometheus metric of the product, in one place, and what a process does for them when it exits.

Any app may record here (``from operations import metrics``); this module imports no app. The figures are served
at ``/metrics`` (``operations.metrics_view``).

Several processes serve one deployment (the web server's processes, the Celery worker's children), so the
figures are kept in prometheus-client's multi-process mode when ``PROMETHEUS_MULTIPROC_DIR`` names a directory
before prometheus-client is first imported: each process writes its values to memory-mapped files there, and
``/metrics``, whichever process answers it, adds up all of them. The directory must be emptied when the
deployment starts (the runner does it), and a supervisor calls ``process_exited(pid)`` when a child process ends,
so that its share of the calls-in-progress gauge leaves the sum. Without the variable (tests, one plain process)
the metrics live in the process's own default registry.

Names carry the ``dealership_`` prefix; durations are in seconds. Label values come from short closed lists
(outcomes, tool and task names, provider error kinds), never from callers' data.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, values

# Which mode prometheus-client took when it was imported (its own decision, read from its value class).
MULTIPROCESS: bool = bool(getattr(values.ValueClass, "_multiprocess", False))

if MULTIPROCESS:
    # A process started without the runner's preparation must not fail on a missing directory.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def registry() -> CollectorRegistry:
    """What to expose: every process's figures added up (multi-process mode), or this process's own."""
    if not MULTIPROCESS:
        from prometheus_client import REGISTRY

        return REGISTRY
    # A fresh registry each time: the collector reads the directory's files when it is collected.
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


def process_exited(pid: int) -> None:
    """A process of this deployment has ended: drop its live gauges (calls in progress) from the sums.

    Its counters and histograms stay: what it counted still happened. Does nothing outside multi-process mode.
    """
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid)


# --------------------------------------------------------------------------- calls (voice)

CALLS_IN_PROGRESS = Gauge(
    "dealership_calls_in_progress",
    "Phone calls whose media session is running now, by purpose (customer_call, reminder).",
    ["purpose"],
    multiprocess_mode="livesum",  # the sum over the processes that are still alive
)
CALLS_ENDED = Counter(
    "dealership_calls_ended",
    "Calls whose media session ended, by purpose and outcome (voice.models.Outcome; handed_over: given to "
    "Twilio for a transfer or a message, whose webhooks record how it ended).",
    ["purpose", "outcome"],
)
CALL_TURNS = Counter(
    "dealership_call_turns",
    "Turns saved in calls, by speaker (caller, agent, system) and whether the caller cut the agent off.",
    ["speaker", "interrupted"],
)
FIRST_AUDIO_SECONDS = Histogram(
    "dealership_voice_first_audio_seconds",
    "The caller's final transcript to the first frame of the agent's answer sent to Twilio (budget 0.7 s).",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0),
)
SERVER_TURN_SECONDS = Histogram(
    "dealership_voice_server_turn_seconds",
    "The server's own time in a turn: final transcript to first frame, minus the waits for the model and the "
    "speech provider (budget: 95% within 0.02 s at 100 calls; 0.05 s for a turn with tools).",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0),
)
PREEMPTIVE_REPLIES = Counter(
    "dealership_voice_preemptive_replies",
    "Replies started before the caller's final transcript, by result: kept (the final said the same) or "
    "discarded unheard (the caller went on, or the final differed).",
    ["result"],
)
INBOUND_LAG_SECONDS = Histogram(
    "dealership_voice_inbound_lag_seconds",
    "How late each caller audio frame (20 ms) was handled against its timestamp: the event loop's own delay "
    "(budget: 99% within 0.02 s).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
)

# --------------------------------------------------------------------------- providers

PROVIDER_ERRORS = Counter(
    "dealership_provider_errors",
    "Failed requests to external services, by provider (deepgram_stt, deepgram_tts, openai, twilio) and kind "
    "(connect, dropped, gave_up, send, timeout, http_4xx, http_5xx, client).",
    ["provider", "kind"],
)

# --------------------------------------------------------------------------- the agent's tools

TOOL_CALLS = Counter(
    "dealership_agent_tool_calls",
    "Tool calls by the agent, by tool and result (ok, refused, error, timeout, cancelled).",
    ["tool", "result"],
)
TOOL_SECONDS = Histogram(
    "dealership_agent_tool_seconds",
    "How long a tool call took as the agent waited for it (database work included), by tool.",
    ["tool"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# --------------------------------------------------------------------------- Celery

TASKS = Counter(
    "dealership_celery_tasks",
    "Celery tasks run, by task name and result (success, failure, retry, ignored, rejected).",
    ["task", "result"],
)
TASK_SECONDS = Histogram(
    "dealership_celery_task_seconds",
    "How long a Celery task ran, by task name.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)


def provider_error(provider: str, kind: str) -> None:
    PROVIDER_ERRORS.labels(provider=provider, kind=kind).inc()


def http_error_kind(status: int) -> str:
    """The error kind of an HTTP error answer: http_5xx for the provider's own failures, else http_4xx."""
    return "http_5xx" if status >= 500 else "http_4xx"


# --------------------------------------------------------------------------- Celery's signals

# task_postrun's state, as a result label. None: an exception left the task's tracer (a task run eagerly that
# propagates its error, or Celery's own internal error): a failure all the same.
_TASK_RESULTS = {"SUCCESS": "success", "FAILURE": "failure", "RETRY": "retry", "IGNORED": "ignored",
                 "REJECTED": "rejected", None: "failure"}  # fmt: skip
# Start times of the tasks running in this process, by task id (a task retried eagerly runs inside itself).
_task_started: dict[str, list[float]] = {}


def _task_prerun(sender=None, task_id=None, **kwargs) -> None:
    _task_started.setdefault(task_id, []).append(time.monotonic())


def _task_postrun(sender=None, task_id=None, state=None, **kwargs) -> None:
    name = getattr(sender, "name", None) or "unknown"
    TASKS.labels(task=name, result=_TASK_RESULTS.get(state, str(state).lower())).inc()
    started = _task_started.get(task_id)
    if started:
        TASK_SECONDS.labels(task=name).observe(time.monotonic() - started.pop())
        if not started:
            del _task_started[task_id]


def _worker_process_shutdown(pid=None, **kwargs) -> None:
    process_exited(pid or os.getpid())


def _worker_shutdown(**kwargs) -> None:
    process_exited(os.getpid())  # the worker's main process (it runs tasks itself with the solo pool)


def connect_celery() -> None:
    """Count every task run by this process's Celery, and leave the sums when a worker process ends.

    Connected in every process that sets Django up (operations.apps), the Celery worker included: Celery's
    Django fix-up sets Django up in the worker's main process before its pool's children are forked, so they
    inherit the connections. Idempotent.
    """
    from celery import signals

    signals.task_prerun.connect(_task_prerun, weak=False, dispatch_uid="operations.metrics.task_prerun")
    signals.task_postrun.connect(_task_postrun, weak=False, dispatch_uid="operations.metrics.task_postrun")
    signals.worker_process_shutdown.connect(_worker_process_shutdown, weak=False,
                                            dispatch_uid="operations.metrics.worker_process_shutdown")  # fmt: skip
    signals.worker_shutdown.connect(_worker_shutdown, weak=False, dispatch_uid="operations.metrics.worker_shutdown")
