"""Say, for each outside service, whether it is configured and reachable, without showing any secret."""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand

from agent.providers import openai_chat
from knowledge.selectors import embedding_coverage
from scheduling.calendar.google import calendar_check
from voice.providers import deepgram, twilio

SECRETS = ("TWILIO_AUTH_TOKEN", "DEEPGRAM_API_KEY", "OPENAI_API_KEY")


class Command(BaseCommand):
    help = "Check Twilio, Deepgram, OpenAI and Google Calendar: configured? reachable? (exit 1 if one is broken)"

    def handle(self, *args, **options):
        results = [
            ("Twilio", twilio.is_configured(), *twilio.TwilioCalls().check()),
            ("Deepgram", deepgram.is_configured(), *asyncio.run(deepgram.check())),
            ("OpenAI", openai_chat.is_configured(), *asyncio.run(openai_chat.check())),
            ("Google Calendar", bool(settings.GOOGLE_CALENDAR_ID or settings.GOOGLE_SERVICE_ACCOUNT_FILE),
             *calendar_check()),
        ]  # fmt: skip
        broken = False
        for name, configured, ok, detail in results:
            state = "ok" if ok else ("FAIL" if configured else "--")
            broken |= configured and not ok
            self.stdout.write(f"{name:<16} {state:<5} {_scrub(detail)}")
        coverage = embedding_coverage()
        if coverage.model:
            line = f"{coverage.provider}: {coverage.model} ({coverage.dimensions} dimensions), {coverage.not_fresh} " \
                   f"of {coverage.total} passages not fresh"  # fmt: skip
        else:
            line = coverage.error or "none: the knowledge base is searched by text only"
        self.stdout.write(f"{'Embeddings':<16} {'ok' if coverage.model else '--':<5} {_scrub(line)}")
        retiring = openai_chat.retirement_warning()
        if retiring:
            self.stdout.write(f"{'Model':<16} {'WARN':<5} {retiring}")
        if broken:
            self.stderr.write("Some configured services are not reachable.")
            raise SystemExit(1)


def _scrub(text: str) -> str:
    for name in SECRETS:
        secret = getattr(settings, name, "")
        if secret:
            text = text.replace(secret, "***")
    return text
