"""The real openai SDK (AsyncOpenAI / OpenAI) against FakeOpenAI."""

import base64
import json
import struct
import time

import openai
import pytest

from standins import Reply
from standins.openai_embeddings import cosine


@pytest.fixture
async def clients(fake_openai):
    """Make AsyncOpenAI clients for the fake server; all are closed after the test."""
    made = []

    def make(**kwargs) -> openai.AsyncOpenAI:
        kwargs.setdefault("api_key", fake_openai.api_key)
        made.append(openai.AsyncOpenAI(base_url=fake_openai.base_url, **kwargs))
        return made[-1]

    yield make
    for client in made:
        await client.close()


USER = [{"role": "user", "content": "When can I bring my car in?"}]


async def test_streaming_text_arrives_at_the_configured_pace(fake_openai, clients):
    fake_openai.first_token_delay = 0.3
    fake_openai.tokens_per_second = 20
    text = "We have an opening on Tuesday at nine in the morning."
    fake_openai.queue_text(text)
    client = clients()

    started = time.monotonic()
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    pieces, arrivals, usage, finish = [], [], None, None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
                arrivals.append(time.monotonic() - started)
            finish = choice.finish_reason or finish

    assert "".join(pieces) == text
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == len(pieces) == 11
    # The stand-in's settings are lower bounds (a busy machine can only add): the first token after 0.3 s,
    # then 10 more at 20/s, so the last no sooner than 0.8 s after the request.
    assert arrivals[0] >= 0.28
    assert arrivals[-1] >= 0.78
    record = await fake_openai.async_wait_for_outcome(0)
    assert record.outcome == "completed" and not record.client_disconnected
    assert record.body["messages"] == USER and record.body["stream"] is True


async def test_per_reply_overrides_and_default_responder(fake_openai, clients):
    fake_openai.first_token_delay = 120.0  # the server's default would outlast the client's timeout...
    fake_openai.queue_reply(Reply(text="Quick.", first_token_delay=0.0, tokens_per_second=None))
    client = clients(max_retries=0, timeout=30)
    reply = await client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert reply.choices[0].message.content == "Quick."  # ...so only the reply's own delay let it through
    fake_openai.first_token_delay = 0.0
    reply = await client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert reply.choices[0].message.content == "Okay. You said: When can I bring my car in?"
    assert reply.choices[0].finish_reason == "stop"


async def test_streamed_tool_calls_reassemble_from_fragments(fake_openai, clients):
    calls = [
        ("find_slots", {"service": "oil change", "date": "2025-03-04"}),
        ("lookup_customer", {"phone": "+15550100", "include_vehicles": True}),
    ]
    fake_openai.queue_tool_calls(calls, text="Let me check.")
    client = clients()
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        stream=True,
        tools=[{"type": "function", "function": {"name": "find_slots"}}],
    )
    text, assembled, fragments, finish = "", {}, 0, None
    async for chunk in stream:
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for call in delta.tool_calls or []:
            fragments += 1
            entry = assembled.setdefault(call.index, {"id": None, "name": None, "arguments": ""})
            entry["id"] = call.id or entry["id"]
            if call.function:
                entry["name"] = call.function.name or entry["name"]
                entry["arguments"] += call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish

    assert text == "Let me check."
    assert finish == "tool_calls"
    assert [(assembled[i]["name"], json.loads(assembled[i]["arguments"])) for i in sorted(assembled)] == calls
    assert all(entry["id"].startswith("call_") for entry in assembled.values())
    assert fragments > 2 * len(calls)  # really fragmented, not one piece per call
    assert "tools" in fake_openai.chat_requests[0].body


async def test_non_streaming_tool_calls(fake_openai, clients):
    fake_openai.queue_tool_calls([("transfer_call", {"reason": "billing"})])
    reply = await clients().chat.completions.create(model="gpt-4o-mini", messages=USER)
    (call,) = reply.choices[0].message.tool_calls
    assert (call.function.name, call.function.arguments) == ("transfer_call", '{"reason":"billing"}')
    assert reply.choices[0].finish_reason == "tool_calls"


async def test_closing_the_stream_early_is_recorded_as_a_client_disconnect(fake_openai, clients):
    fake_openai.tokens_per_second = 20
    fake_openai.queue_text(" ".join(["word"] * 600))  # 30 s of tokens: the close comes long before the end
    stream = await clients().chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    received = 0
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received += 1
            if received == 3:
                break
    await stream.close()
    record = await fake_openai.async_wait_for_outcome(0, timeout=30)
    assert record.outcome == "client_disconnected" and record.client_disconnected
    assert 3 <= record.tokens_sent < 600


async def test_server_errors_are_retried_by_the_sdk(fake_openai, clients):
    fake_openai.fail_next(2, 500, retry_after_ms=10)
    fake_openai.queue_text("Recovered.")
    reply = await clients(max_retries=2).chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert reply.choices[0].message.content == "Recovered."
    assert [r.status for r in fake_openai.chat_requests] == [500, 500, 200]
    assert [r.headers.get("x-stainless-retry-count") for r in fake_openai.chat_requests] == ["0", "1", "2"]


@pytest.mark.parametrize("status, error", [(429, openai.RateLimitError), (503, openai.InternalServerError)])
async def test_errors_surface_as_sdk_exceptions_when_retries_run_out(fake_openai, clients, status, error):
    fake_openai.fail_next(1, status)
    with pytest.raises(error) as raised:
        await clients(max_retries=0).chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert raised.value.status_code == status


async def test_hang_until_the_client_times_out(fake_openai, clients):
    fake_openai.hang_next()
    client = clients(max_retries=0, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    assert time.monotonic() - started >= 0.45  # the client's own timeout ended it; the stand-in never answers
    record = await fake_openai.async_wait_for_outcome(0)
    assert record.outcome == "hung" and record.client_disconnected


async def test_stall_after_first_chunk_times_out_while_reading(fake_openai, clients):
    fake_openai.stall_next()
    client = clients(max_retries=0, timeout=1.0)  # long enough for the headers on a busy machine
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    with pytest.raises(openai.APITimeoutError):
        async for _ in stream:
            pass


async def test_dropped_stream_raises_a_connection_error(fake_openai, clients):
    fake_openai.drop_next(after_tokens=2)
    fake_openai.queue_text("one two three four five six")
    stream = await clients(max_retries=0).chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    got = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "one two"
    assert fake_openai.chat_requests[0].outcome == "dropped"


async def test_wrong_key_gets_401(fake_openai, clients):
    client = clients(api_key="sk-wrong")
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert fake_openai.chat_requests[0].outcome == "unauthorized"


async def test_embeddings_float_base64_and_batches(fake_openai, clients):
    client = clients()
    texts = ["oil change appointment", "book an oil change", "tire rotation price"]

    default = await client.embeddings.create(model="text-embedding-3-small", input=texts)  # SDK asks for base64
    floats = await client.embeddings.create(model="text-embedding-3-small", input=texts, encoding_format="float")
    small = await client.embeddings.create(model="text-embedding-3-small", input=texts[0], dimensions=256)
    raw = await client.embeddings.create(model="text-embedding-3-small", input=[texts[1]], encoding_format="base64")

    vectors = [d.embedding for d in floats.data]
    assert [len(v) for v in vectors] == [1536] * 3
    assert [d.index for d in floats.data] == [0, 1, 2]
    for decoded, plain in zip((d.embedding for d in default.data), vectors):
        assert decoded == pytest.approx(plain, abs=1e-6)
    assert sum(x * x for x in vectors[0]) == pytest.approx(1.0)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    assert len(small.data[0].embedding) == 256
    unpacked = struct.unpack("<1536f", base64.b64decode(raw.data[0].embedding))
    assert list(unpacked) == pytest.approx(vectors[1], abs=1e-6)

    records = fake_openai.embedding_requests
    assert [r.batch_size for r in records] == [3, 3, 1, 1]
    assert [r.encoding_format for r in records] == ["base64", "float", "base64", "base64"]
    assert records[2].dimensions == 256


async def test_embedding_failures_are_injectable(fake_openai, clients):
    fake_openai.fail_next(1, 429, endpoint="embeddings", retry_after_ms=5)
    result = await clients().embeddings.create(model="text-embedding-3-small", input=["hello"])
    assert len(result.data) == 1
    assert [r.status for r in fake_openai.embedding_requests] == [429, 200]


def test_sync_client_and_models_list(fake_openai):
    with openai.OpenAI(api_key=fake_openai.api_key, base_url=fake_openai.base_url) as client:
        assert "gpt-4o-mini" in [m.id for m in client.models.list()]
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).startswith("Okay. You said:")
