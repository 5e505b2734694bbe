"""pytest fixtures that start and stop the stand-in servers.

Not registered globally. Use them from a conftest.py with

    from tests.standins.fixtures import fake_openai, fake_deepgram, fake_twilio  # noqa: F401

or `pytest_plugins = ["tests.standins.fixtures"]` in the top-level conftest.
Each fixture is function-scoped (a fresh server per test: ~10 ms to start),
so records and injected failures never leak between tests.
"""

from __future__ import annotations

import pytest

from standins import FakeDeepgram, FakeOpenAI, FakeTwilio


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_deepgram():
    with FakeDeepgram() as server:
        yield server


@pytest.fixture
def fake_twilio():
    with FakeTwilio() as server:
        yield server
