"""manage.py simulate_call: whole simulated calls through the real server, against the stand-ins.

Daphne's reactor starts once per test process, so the in-process tests hand the command the session's
server (the stealth option ``server_port``) instead of letting it start its own; the command still
starts its own stand-ins and points the settings at them. The --url test plays against that same
server as a remote one, configured by the ``voice_live`` fixture.
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from twilio.request_validator import RequestValidator

from crm.selectors import dealership_profile
from knowledge import services as knowledge_services
from voice.management.commands.simulate_call import AGENT_CONTINUES, is_hang_up, parse_line
from voice.models import Call, Speaker
from agent.offline import phrases
from voice.simulation import twilio_form_signature
from tests.standins.fixtures import fake_deepgram, fake_openai, fake_twilio  # noqa: F401
from tests.voice.live import voice_live  # noqa: F401

GREETING = "Thanks for calling Saguaro Motors."
SHUTTLE = "Yes, our free shuttle takes you home or to work within five miles while we service your car."


@pytest.fixture(scope="session")
def daphne_port(django_db_setup, django_db_blocker):
    """The test process's Daphne (``voice_live`` asks for it by this name).

    Importing tests.voice.live's fixture here would make a second instance of it, whose Daphne cannot
    start (the reactor is already running once another module has one). So: the port of the Daphne
    already serving this process if there is one, else one started here with voice.simulation.
    """
    from twisted.internet import reactor
    from twisted.internet.threads import blockingCallFromThread

    from voice.simulation import InProcessServer

    django_db_blocker.unblock()  # the server's threads use the test database
    server = None
    if reactor.running:
        port = blockingCallFromThread(reactor, _daphne_port_in, reactor)
    else:
        server = InProcessServer()
        port = server.start()
    yield port
    if server is not None:
        server.stop()
        with connections["default"].cursor() as cursor:  # the server's threads keep their connections
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
    django_db_blocker.restore()


def _daphne_port_in(reactor) -> int:
    from daphne.http_protocol import HTTPFactory

    ports = [r.getHost().port for r in reactor.getReaders() if isinstance(getattr(r, "factory", None), HTTPFactory)]
    assert ports, "a reactor runs in this process, but no Daphne listens in it"
    return ports[0]


@pytest.fixture
def no_real_providers(settings):
    """The command's own stand-ins answer, even on a machine that has real keys."""
    settings.DEEPGRAM_API_KEY = ""
    settings.OPENAI_API_KEY = ""
    settings.VOICE_SILENCE_SECONDS = 30


@pytest.fixture
def shop(db):
    """A short greeting and one FAQ to answer from."""
    profile = dealership_profile()
    profile.name, profile.greeting, profile.transfer_phone = "Saguaro Motors Service", GREETING, "+16025550101"
    profile.save()
    rides = knowledge_services.category_get_or_create(name="Rides and loaners", slug="rides")
    knowledge_services.faq_create(slug="shuttle", category=rides, question="Do you have a shuttle?",
                                  answer=SHUTTLE, phrasings=["Can you give me a ride home?"],
                                  keywords=["shuttle", "ride"])  # fmt: skip
    return profile


def run(**options) -> str:
    out = StringIO()
    call_command("simulate_call", stdout=out, **options)
    return out.getvalue()


# --------------------------------------------------------------------------- whole calls


def agent_lines(output: str) -> list[str]:
    """The agent's replies as printed, each with its continuation lines joined back on."""
    replies = []
    for line in output.splitlines():
        if line.startswith("agent: "):
            replies.append(line)
        elif line.startswith(AGENT_CONTINUES) and line.strip() and replies:
            replies[-1] += " " + line.strip()
    return replies


@pytest.mark.django_db(transaction=True)
def test_a_script_in_process_is_answered_by_the_offline_agent_without_a_model_key(shop, no_real_providers,
                                                                                  daphne_port, tmp_path):
    script = tmp_path / "call.txt"
    script.write_text("# a caller with two questions, then a person\n\ndo you have a shuttle\n[wait 0.3]\n"
                      "what is the capital of france\na person please\nthis line is never said\n")  # fmt: skip

    output = run(script=str(script), server_port=daphne_port, from_number="+16025550142")

    assert "the offline agent (OPENAI_API_KEY is empty)" in output
    said = "\n".join(agent_lines(output))
    assert f"agent: {GREETING}" in said
    assert "caller: do you have a shuttle" in output
    assert "our free shuttle takes you home" in said
    # Nothing in the knowledge base about it: the agent says so, offers a message or a person, and hands over.
    assert "I don't have an answer to that" in said
    assert "The agent ended the stream: Twilio was told to" in output
    assert "this line is never said" not in output
    call = Call.objects.get(from_number="+16025550142")
    turns = list(call.turns.order_by("position"))
    assert [(t.speaker, t.text) for t in turns if t.speaker != Speaker.SYSTEM] == [
        (Speaker.AGENT, GREETING),
        (Speaker.CALLER, "do you have a shuttle"),
        (Speaker.AGENT, f"{SHUTTLE} {phrases.ANYTHING_ELSE}"),
        (Speaker.CALLER, "what is the capital of france"),
        (Speaker.AGENT, phrases.DO_NOT_KNOW),
        (Speaker.CALLER, "a person please"),
        (Speaker.AGENT, phrases.TRANSFERRING),
    ]
    answer = turns[2]
    assert 0 < answer.agent_first_token_ms <= answer.tts_first_byte_ms <= answer.first_frame_ms
    assert [i.name for i in call.tool_invocations.order_by("position")][-1] == "transfer_to_person"
    # The latency table has a row per caller line, with the figures of its Turn row.
    row = next(line for line in output.splitlines() if line.strip().startswith("1  do you have a shuttle"))
    assert str(answer.first_frame_ms) in row.split()
    assert "Greeting: stream start -> first audio frame at the caller:" in output


@pytest.mark.django_db(transaction=True)
def test_bye_hangs_up_and_the_settings_come_back(shop, no_real_providers, daphne_port, tmp_path, settings):
    script = tmp_path / "call.txt"
    script.write_text("bye\n")

    output = run(script=str(script), server_port=daphne_port)

    assert "Call record: caller hung up" in output
    assert settings.OPENAI_API_KEY == "" and settings.DEEPGRAM_API_KEY == "", "stand-in settings were undone"


@pytest.mark.django_db(transaction=True)
def test_url_plays_against_a_running_server_with_its_own_providers(voice_live, shop, tmp_path):  # noqa: F811
    # The server's Deepgram has a key, so the caller's line is spoken through Deepgram's speak socket
    # (voice.providers.deepgram.synthesize); the stand-in's "speech" is text its STT can hear.
    script = tmp_path / "call.txt"
    script.write_text("do you have loaner cars\n")

    output = run(script=str(script), url=f"ws://127.0.0.1:{voice_live.port}/ws/voice/")

    assert "the caller speaks with Deepgram Aura" in output
    # The stand-in's default responder:
    assert "You said: do you have loaner cars" in "\n".join(agent_lines(output))
    assert voice_live.deepgram.final_transcripts == ["do you have loaner cars"]
    speak_sockets = voice_live.deepgram.of_kind("speak")
    assert len(speak_sockets) == 2, "the call's own TTS socket and the one that spoke the caller's line"
    call = Call.objects.get(from_number="+16025550111")
    assert call.turns.filter(speaker=Speaker.CALLER, text="do you have loaner cars").exists()


@pytest.mark.django_db(transaction=True)
def test_url_needs_the_servers_auth_token(settings):
    settings.TWILIO_AUTH_TOKEN = ""
    with pytest.raises(CommandError, match="TWILIO_AUTH_TOKEN"):
        run(url="ws://127.0.0.1:9/ws/voice/")


# --------------------------------------------------------------------------- pieces


def test_script_lines():
    assert parse_line("  are you open  ") == "are you open"
    assert parse_line("") is None and parse_line("   # a comment") is None
    assert parse_line("[wait 2]") == 2.0 and parse_line("[ WAIT 0.5s ]") == 0.5
    assert parse_line("[wait a bit]") == "[wait a bit]"
    assert is_hang_up("Bye!") and is_hang_up("goodbye") and not is_hang_up("bye the way, one more thing")


def test_the_webhook_signature_is_twilios():
    url = "https://crm.example.com/voice/incoming/"
    params = {"CallSid": "CA" + "1" * 32, "From": "+16025550111", "To": "+16025550100", "Direction": "inbound"}
    signature = twilio_form_signature(url, params, "secret-token")
    assert RequestValidator("secret-token").validate(url, params, signature)
    assert not RequestValidator("another-token").validate(url, params, signature)
