"""Embed every passage that is not fresh for the configured embedding model.

Run it after switching provider, model or dimensions, or to catch up after an
outage. Batches commit one by one: stop it at any time and run it again to go on.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from knowledge.selectors import embedding_coverage
from knowledge.services import KnowledgeError, knowledge_reindex

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Embed the knowledge base's passages with the configured provider (resumable, batched)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=64, help="Passages per request (default 64).")
        parser.add_argument("--all", action="store_true", dest="everything",
                            help="Re-embed every passage, fresh ones too.")  # fmt: skip

    def handle(self, *args, batch_size, everything, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        coverage = embedding_coverage()
        if coverage.error:
            raise CommandError(f"The embedding provider ({coverage.provider}) could not start: {coverage.error}")
        if not coverage.model:
            raise CommandError(
                "No embedding provider is configured (KNOWLEDGE_EMBEDDING_PROVIDER): search runs on text only."
            )
        self.stdout.write(f"Embedding with {coverage.model} ({coverage.dimensions} dimensions), "
                          f"provider {coverage.provider}.")  # fmt: skip
        started = time.monotonic()
        try:
            report = knowledge_reindex(batch_size=batch_size, everything=everything, on_progress=self._progress)
        except KnowledgeError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write("")
        seconds = time.monotonic() - started
        self.stdout.write(
            f"{report.total} passages: {report.already_fresh} already fresh, {report.embedded} embedded, "
            f"{report.failed} failed, {report.skipped} skipped, in {seconds:.1f} s."
        )
        for name in report.dropped_indexes:
            self.stdout.write(f"Dropped {name}: no passage has vectors of that size any more.")
        if report.failed:
            raise CommandError(f"The provider failed: {report.error}. Run the command again to resume.")
        self.stdout.write(self.style.SUCCESS("The knowledge base is up to date."))

    def _progress(self, done: int, todo: int) -> None:
        if not todo:
            return
        filled = BAR_WIDTH * done // todo if todo else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        line = f"[{bar}] {done}/{todo}"
        # A terminal gets one bar redrawn in place; a log file gets one line per batch.
        if self.stderr.isatty():
            self.stderr.write(f"\r{line}", ending="")
            self.stderr.flush()
        else:
            self.stderr.write(line)
