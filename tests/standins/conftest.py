"""The stand-ins' own tests use the stand-in fixtures."""

from tests.standins.fixtures import fake_deepgram, fake_openai, fake_twilio  # noqa: F401
