"""Prometheus metrics: the ``/metrics`` endpoint and its token, what the product counts (tool calls, Celery tasks,
provider errors, whole calls through the media stream), and multi-process mode across real processes.

This test process runs prometheus-client in its single-process mode (no PROMETHEUS_MULTIPROC_DIR), so its figures
are read from the default registry, before and after: other tests count into it too. Whole calls go to a Daphne
process of their own in multi-process mode, read through its ``/metrics`` as a scraper reads it; the aggregation
test runs separate Python processes sharing one metrics directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from agent import database
from agent.events import ToolCall
from agent.providers import openai_chat
from agent.tool_runner import ToolRunner
from agent.tools.base import ToolContext
from dealership.celery import app as celery_app
from standins import MediaStreamPeer
from tests.agent.conftest import agent_database_threads_closed  # noqa: F401
from tests.locks import TableLock, someone_waits_on
from tests.operations.servers import (
    PROCESS_SECONDS,
    ROOT,
    database_url,
    end_server_sessions,
    free_port,
    http_request,
    place_call,
    read,
    server_environment,
    terminate,
    until,
)
from tests.standins.fixtures import fake_deepgram, fake_openai, fake_twilio  # noqa: F401
from tests.voice.test_call_flow import GREETING, hears, shop  # noqa: F401
from voice.models import Outcome, Turn
from voice.providers.twilio import TwilioCalls, TwilioError

TOKEN = "metrics-test-token-0123456789abcdef"


def sample(name: str, **labels: str) -> float:
    """A sample's value in this process's default registry (0 when nothing was counted yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --------------------------------------------------------------------------- the endpoint


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_without_a_configured_token_the_endpoint_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_a_request_without_the_token_is_refused(client, metrics_token):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"dealership_" not in response.content


@pytest.mark.parametrize("authorization", [
    "Bearer wrong-token", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer",
])  # fmt: skip
def test_a_wrong_token_is_refused(client, metrics_token, authorization):
    response = client.get("/metrics", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert b"dealership_" not in response.content


def test_the_token_gets_the_figures_in_prometheus_text_never_cached(client, metrics_token):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "no-store" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    assert families["dealership_calls_in_progress"].type == "gauge"
    assert families["dealership_calls_ended"].type == "counter"
    assert families["dealership_voice_first_audio_seconds"].type == "histogram"
    assert families["dealership_voice_server_turn_seconds"].type == "histogram"
    assert families["dealership_agent_tool_calls"].type == "counter"
    assert families["dealership_celery_tasks"].type == "counter"
    assert families["dealership_provider_errors"].documentation


def test_a_scraper_inside_the_network_reaches_it_by_address_over_plain_http(client, metrics_token, settings):
    settings.SECURE_SSL_REDIRECT = True
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/admin/login/", HTTP_HOST="10.0.0.5:8000").status_code == 400  # the site refuses the host
    response = client.get("/metrics", HTTP_HOST="10.0.0.5:8000", headers=headers)
    assert response.status_code == 200 and b"dealership_calls_in_progress" in response.content
    assert client.get("/metrics", HTTP_HOST="10.0.0.5:8000").status_code == 401  # the token is still needed


def test_only_get_is_answered(client, metrics_token):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/metrics", headers=headers).status_code == 405
    assert client.put("/metrics", headers=headers).status_code == 405


def test_the_endpoint_reports_what_was_counted(client, metrics_token):
    def scraped() -> float:
        body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
        for family in text_string_to_metric_families(body):
            for found in family.samples:
                if found.name == "dealership_provider_errors_total" and found.labels == {
                    "provider": "twilio", "kind": "connect"
                }:  # fmt: skip
                    return found.value
        return 0.0

    before = scraped()
    with pytest.raises(TwilioError):
        TwilioCalls(account_sid="AC" + "0" * 32, auth_token="token", api_base_url=f"http://127.0.0.1:{free_port()}",
                    timeout=5).hang_up("CA" + "0" * 32)  # fmt: skip
    assert scraped() == before + 1


# --------------------------------------------------------------------------- the agent's tool calls


def run_tool_call(name: str, arguments: dict | None):
    """One tool call as an agent makes it, on the calling thread (inside the test's transaction)."""
    runner = ToolRunner(ToolContext(call_sid="CA" + "ef" * 16, caller_phone="+16025550177"),
                        database=database.CALLING_THREAD)  # fmt: skip
    return async_to_sync(runner.invoke)(ToolCall(id="c1", name=name, arguments=arguments))


def server_runner() -> ToolRunner:
    """A runner as on a server process: the tools on the shared database thread, which a table lock can hold up."""
    return ToolRunner(ToolContext(call_sid="CA" + "ef" * 16), database=database.SERVER)


@pytest.mark.django_db
def test_a_tool_call_counts_once_by_tool_and_result_with_its_duration():
    ok_before = sample("dealership_agent_tool_calls_total", tool="list_services", result="ok")
    timed_before = sample("dealership_agent_tool_seconds_count", tool="list_services")
    invocation = run_tool_call("list_services", {})
    assert invocation.result.ok
    assert sample("dealership_agent_tool_calls_total", tool="list_services", result="ok") == ok_before + 1
    assert sample("dealership_agent_tool_seconds_count", tool="list_services") == timed_before + 1


@pytest.mark.django_db
def test_a_refused_tool_call_and_a_tool_that_does_not_exist():
    refused_before = sample("dealership_agent_tool_calls_total", tool="lookup_customer", result="refused")
    unknown_before = sample("dealership_agent_tool_calls_total", tool="unknown", result="error")
    assert not run_tool_call("lookup_customer", {"no_such_argument": 1}).result.ok  # arguments refused
    assert not run_tool_call("make_coffee", {}).result.ok
    assert sample("dealership_agent_tool_calls_total", tool="lookup_customer", result="refused") == refused_before + 1
    # A name the model made up is not a label of its own.
    assert sample("dealership_agent_tool_calls_total", tool="unknown", result="error") == unknown_before + 1
    assert REGISTRY.get_sample_value("dealership_agent_tool_calls_total",
                                     {"tool": "make_coffee", "result": "error"}) is None  # fmt: skip


@pytest.mark.django_db(transaction=True)
async def test_a_tool_over_its_time_limit_counts_as_a_timeout(settings):
    settings.AGENT_TOOL_TIMEOUT_SECONDS = 0.2
    before = sample("dealership_agent_tool_calls_total", tool="list_services", result="timeout")
    with TableLock("scheduling_servicetype", "ACCESS EXCLUSIVE"):  # even reads wait, until released
        invocation = await server_runner().invoke(ToolCall(id="c1", name="list_services", arguments={}))
    assert invocation.result.data.get("error") == "timed out"
    assert sample("dealership_agent_tool_calls_total", tool="list_services", result="timeout") == before + 1


@pytest.mark.django_db(transaction=True)
async def test_a_read_the_caller_interrupts_counts_as_cancelled():
    before = sample("dealership_agent_tool_calls_total", tool="list_services", result="cancelled")
    with TableLock("scheduling_servicetype", "ACCESS EXCLUSIVE") as lock:
        invoke = asyncio.create_task(server_runner().invoke(ToolCall(id="c1", name="list_services", arguments={})))
        await someone_waits_on(lock)
        invoke.cancel()
        with pytest.raises(asyncio.CancelledError):
            await invoke
    assert sample("dealership_agent_tool_calls_total", tool="list_services", result="cancelled") == before + 1


# --------------------------------------------------------------------------- Celery tasks


@celery_app.task(name="tests.operations.add")
def add(a, b):
    return a + b


@celery_app.task(name="tests.operations.fail")
def fail():
    raise ValueError("this task always fails")


@celery_app.task(name="tests.operations.retry_once", bind=True, max_retries=3)
def retry_once(self):
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return "second time lucky"


def task_count(task: str, result: str) -> float:
    return sample("dealership_celery_tasks_total", task=task, result=result)


def test_a_task_that_succeeds_counts_by_name_with_its_duration():
    before = task_count("tests.operations.add", "success")
    timed_before = sample("dealership_celery_task_seconds_count", task="tests.operations.add")
    assert add.delay(2, 3).get() == 5  # eager (tests/conftest.py): the worker's own tracer, in this process
    assert task_count("tests.operations.add", "success") == before + 1
    assert sample("dealership_celery_task_seconds_count", task="tests.operations.add") == timed_before + 1
    assert task_count("tests.operations.add", "failure") == 0


def test_a_task_that_fails_counts_as_a_failure_as_a_worker_runs_it_and_when_it_propagates():
    before = task_count("tests.operations.fail", "failure")
    result = fail.apply(throw=False)  # as in a worker: the error is stored, not raised
    assert result.failed()
    assert task_count("tests.operations.fail", "failure") == before + 1
    with pytest.raises(ValueError):
        fail.delay()  # eager and propagating: the tracer never sets a state
    assert task_count("tests.operations.fail", "failure") == before + 2
    assert task_count("tests.operations.fail", "success") == 0


def test_a_task_that_retries_counts_the_retry_then_its_success():
    retries, successes = task_count("tests.operations.retry_once", "retry"), task_count(
        "tests.operations.retry_once", "success")  # fmt: skip
    retry_once.apply(throw=False)
    assert task_count("tests.operations.retry_once", "retry") == retries + 1
    assert task_count("tests.operations.retry_once", "success") == successes + 1


# --------------------------------------------------------------------------- providers


def test_a_model_that_cannot_be_reached_counts_as_an_openai_error(settings):
    settings.OPENAI_API_KEY = "sk-test-key"
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{free_port()}/v1"
    before = sample("dealership_provider_errors_total", provider="openai", kind="connect")
    with pytest.raises(Exception, match="could not be reached"):
        openai_chat.complete([{"role": "user", "content": "hello"}], max_tokens=5)
    assert sample("dealership_provider_errors_total", provider="openai", kind="connect") == before + 1


# --------------------------------------------------------------------------- whole calls, on a server process


class ServerProcess:
    """Daphne serving the project in a process of its own, in multi-process metrics mode, against this test's
    stand-ins; its figures are read from its own ``/metrics`` over HTTP, as a scraper reads them."""

    def __init__(self, directory: Path, *, deepgram, twilio, openai, redis_url: str):
        self.port, self.twilio = free_port(), twilio
        environment = server_environment(deepgram=deepgram, twilio=twilio, openai=openai, redis_url=redis_url,
                                         PROMETHEUS_MULTIPROC_DIR=str(directory), METRICS_TOKEN=TOKEN)  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "dealership.asgi:application"],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + PROCESS_SECONDS
        while True:
            assert self.process.poll() is None, self.process.stderr.read()
            with contextlib.suppress(OSError):
                self.figures()
                return
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def figures(self) -> dict[tuple[str, tuple], float]:
        body = http_request(self.port, "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).decode()
        return {(found.name, tuple(sorted(found.labels.items()))): found.value
                for family in text_string_to_metric_families(body) for found in family.samples}  # fmt: skip

    async def peer(self) -> MediaStreamPeer:
        """A call placed as Twilio places it; its stream not connected yet."""
        return await place_call(self.port, self.twilio)


@pytest.fixture
def server(tmp_path, shop, fake_deepgram, fake_twilio, fake_openai, private_redis):  # noqa: F811
    started = ServerProcess(tmp_path, deepgram=fake_deepgram, twilio=fake_twilio, openai=fake_openai,
                            redis_url=private_redis)  # fmt: skip
    yield started
    terminate(started.process)
    end_server_sessions()  # its sessions end with it; none may hold up the test database's flush


CUSTOMER_CALL = (("purpose", "customer_call"),)
ANSWER = "We are open Saturdays from eight to two."


def figure(figures: dict, name: str, *labels: tuple[str, str]) -> float:
    return figures.get((name, tuple(sorted(labels))), 0.0)


@pytest.mark.django_db(transaction=True)
async def test_a_whole_call_counts_its_outcome_turns_and_turn_times(server, fake_openai):  # noqa: F811
    before = await asyncio.to_thread(server.figures)
    fake_openai.queue_text(ANSWER)
    async with await server.peer() as peer:
        await hears(peer, GREETING)
        during = await asyncio.to_thread(server.figures)
        assert figure(during, "dealership_calls_in_progress", *CUSTOMER_CALL) == 1
        await peer.say("are you open on saturday")
        await hears(peer, ANSWER)
        # Saved once its last mark is back: heard whole, not cut off by the hang-up.
        await until(lambda: Turn.objects.filter(call__call_sid=peer.call_sid).count() == 3)
        await peer.send_stop()
    hung_up = ("dealership_calls_ended_total", *CUSTOMER_CALL, ("outcome", Outcome.CALLER_HUNG_UP))
    await until(lambda: figure(server.figures(), *hung_up) == figure(before, *hung_up) + 1)

    after = await asyncio.to_thread(server.figures)
    assert figure(after, "dealership_calls_in_progress", *CUSTOMER_CALL) == 0

    def added(name: str, *labels) -> float:
        return figure(after, name, *labels) - figure(before, name, *labels)

    assert added("dealership_call_turns_total", ("speaker", "caller"), ("interrupted", "false")) == 1
    assert added("dealership_call_turns_total", ("speaker", "agent"), ("interrupted", "false")) == 2
    # One answer to the caller: one first-audio time and one server time (the greeting answers nobody).
    assert added("dealership_voice_first_audio_seconds_count") == 1
    assert added("dealership_voice_first_audio_seconds_bucket", ("le", "+Inf")) == 1
    assert added("dealership_voice_server_turn_seconds_count") == 1
    assert added("dealership_voice_inbound_lag_seconds_count") > 0  # one for every frame the caller sent
    # The histogram holds the figure the answer's turn saved (whole milliseconds there, seconds here).
    answer = await read(lambda: Turn.objects.get(call__call_sid=peer.call_sid, text=ANSWER))
    assert answer.first_frame_ms is not None
    assert abs(added("dealership_voice_first_audio_seconds_sum") * 1000 - answer.first_frame_ms) <= 0.51


@pytest.mark.django_db(transaction=True)
async def test_a_call_whose_speech_provider_refuses_counts_the_error_and_the_hand_over(server, fake_deepgram):  # noqa: F811
    before = await asyncio.to_thread(server.figures)
    fake_deepgram.refuse_connections(1, kind="speak")
    async with await server.peer() as peer:
        await peer.wait_closed()  # Twilio says the greeting itself and hands the call over
    handed_over = ("dealership_calls_ended_total", *CUSTOMER_CALL, ("outcome", "handed_over"))
    await until(lambda: figure(server.figures(), *handed_over) == figure(before, *handed_over) + 1)
    after = await asyncio.to_thread(server.figures)
    refused = ("dealership_provider_errors_total", ("provider", "deepgram_tts"), ("kind", "connect"))
    assert figure(after, *refused) == figure(before, *refused) + 1
    assert figure(after, "dealership_calls_in_progress", *CUSTOMER_CALL) == 0


# --------------------------------------------------------------------------- several processes


def child_environment(directory: Path) -> dict[str, str]:
    """This test run's settings for a Python process of its own, with the shared metrics directory."""
    return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "METRICS_TOKEN": TOKEN, "DEBUG": "false",
            "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "dealership.settings", "PYTHONPATH": str(ROOT)}  # fmt: skip


def run_python(directory: Path, code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=child_environment(directory),
                          capture_output=True, text=True, timeout=PROCESS_SECONDS)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


COUNTING_PROCESS = """
    import os
    from operations import metrics
    assert metrics.MULTIPROCESS
    metrics.TASKS.labels(task="tests.operations.shared", result="success").inc({amount})
    metrics.TOOL_SECONDS.labels(tool="list_services").observe({seconds})
    metrics.CALLS_IN_PROGRESS.labels(purpose="reminder").inc()
    print(os.getpid())
"""

# The endpoint, as a scraper reaches it, in a process that counted nothing itself.
SCRAPING_PROCESS = """
    import django
    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment
    from operations import metrics
    setup_test_environment()
    for pid in {dead}:
        metrics.process_exited(pid)
    response = Client().get("/metrics", headers={{"Authorization": "Bearer {token}"}})
    assert response.status_code == 200, response.status_code
    print(response.content.decode())
"""


def scrape(directory: Path, *, dead: tuple[int, ...] = ()) -> dict[tuple[str, tuple], float]:
    body = run_python(directory, SCRAPING_PROCESS.format(dead=list(dead), token=TOKEN))
    return {(found.name, tuple(sorted(found.labels.items()))): found.value
            for family in text_string_to_metric_families(body) for found in family.samples}  # fmt: skip


def test_processes_count_into_one_sum_and_a_dead_process_leaves_the_live_gauge(tmp_path):
    first = int(run_python(tmp_path, COUNTING_PROCESS.format(amount=1, seconds=0.02)))
    second = int(run_python(tmp_path, COUNTING_PROCESS.format(amount=2, seconds=0.3)))
    assert first != second
    assert len(list(tmp_path.glob("counter_*.db"))) == 2, "one file of counters per process"

    figures = scrape(tmp_path)
    assert figures[("dealership_celery_tasks_total", (("result", "success"), ("task", "tests.operations.shared")))] == 3
    tool = (("tool", "list_services"),)
    assert figures[("dealership_agent_tool_seconds_count", tool)] == 2
    assert figures[("dealership_agent_tool_seconds_sum", tool)] == pytest.approx(0.32)
    assert figures[("dealership_agent_tool_seconds_bucket", (("le", "0.025"), *tool))] == 1
    assert figures[("dealership_agent_tool_seconds_bucket", (("le", "0.5"), *tool))] == 2
    in_progress = ("dealership_calls_in_progress", (("purpose", "reminder"),))
    assert figures[in_progress] == 2  # neither process was reported gone

    figures = scrape(tmp_path, dead=(first,))
    assert figures[in_progress] == 1, "the process reported gone no longer carries a call"
    assert figures[("dealership_celery_tasks_total", (("result", "success"), ("task", "tests.operations.shared")))] == 3
