"""The server's own time in a turn counts everything up to the moment the agent's request leaves."""

import asyncio
import time

from tests.standins.fixtures import fake_openai  # noqa: F401
from voice import metrics
from agent.providers.openai_chat import OpenAIChat
from voice.session.call_session import AgentTurn


def answered_turn(*, sent: float | None) -> AgentTurn:
    """A turn answering a final transcript at t=100 s; its first frame went out 652 ms later."""
    turn = AgentTurn(interruptible=True, answers_final_at=100.0)
    turn.asked_at = 100.001
    turn.request_sent.at = sent
    turn.first_chunk_token_at, turn.first_say_at = 100.5, 100.501
    turn.first_audio_at, turn.first_frame_at = 100.65, 100.652
    return turn


def test_the_time_before_the_request_leaves_is_the_servers():
    # 4 ms until the request left, 1 ms to send the sentence to speech, 2 ms to the first frame.
    assert answered_turn(sent=100.004).server_ms() == 7.0


def test_an_agent_without_a_request_counts_from_when_it_was_asked():
    assert answered_turn(sent=None).server_ms() == 4.0


async def test_the_model_provider_marks_when_its_request_leaves(fake_openai, settings):  # noqa: F811
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    fake_openai.first_token_delay = 0.2
    fake_openai.queue_text("Yes, we are open until six.")
    sent = metrics.Moment()
    metrics.REQUEST_SENT.set(sent)
    asked = time.monotonic()
    words = [event.text async for event in OpenAIChat().stream([{"role": "user", "content": "Open today?"}], [])]
    assert "".join(words) == "Yes, we are open until six."
    # After the request was built, before the stand-in had it: the model's 200 ms are not in it.
    assert asked < sent.at <= fake_openai.chat_requests[0].received_at


async def test_each_reply_task_marks_its_own_moment(fake_openai, settings):  # noqa: F811
    """Two replies in flight at once on one shared client: each task's request marks that task's moment only."""
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake_openai.api_key, fake_openai.base_url
    first_held = fake_openai.hold_next()  # the first request stays open until the second has been answered

    async def reply(*, after_first_arrived: bool) -> metrics.Moment:
        if after_first_arrived:
            await fake_openai.async_wait_for_chat_requests(1, timeout=30)
        sent = metrics.Moment()
        metrics.REQUEST_SENT.set(sent)
        async for _ in OpenAIChat().stream([{"role": "user", "content": "Hello?"}], []):
            pass
        if after_first_arrived:
            first_held.set()
        return sent

    first, second = await asyncio.wait_for(
        asyncio.gather(reply(after_first_arrived=False), reply(after_first_arrived=True)), timeout=60
    )
    earlier, later = fake_openai.chat_requests
    # Each moment was marked just before its own request arrived, and the second request left while the
    # first was still open: neither task's mark landed on the other's moment.
    assert first.at is not None and second.at is not None
    assert first.at <= earlier.received_at < second.at <= later.received_at < earlier.finished_at
    assert metrics.REQUEST_SENT.get() is None  # and nothing leaked into the test's own context
