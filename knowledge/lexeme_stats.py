"""Word statistics of the knowledge base, for full-text search.

A caller's question OR-ed word by word matches, in a large knowledge base, most
passages through its common words ("car", "service"), and ranking every match
costs about a millisecond per thousand rows. Search therefore ORs the question's
rarest words first and stops before the passages containing them exceed
MAX_RANKED_ROWS (at most MAX_TERMS words); rare words are also the ones that tell
entries apart. In a small knowledge base that is every word. If even the rarest
word is too common, all the words are AND-ed instead. A word the statistics do
not know yet counts as rare.

The statistics are a materialized view, refreshed after passages change, at most
once per REFRESH_SECONDS, and by the periodic sweep.
"""

import logging

from django.core.cache import cache
from django.db import connection, transaction

logger = logging.getLogger(__name__)

VIEW = "knowledge_lexeme_stats"
MAX_RANKED_ROWS = 1000
MAX_TERMS = 10
REFRESH_SECONDS = 60
_LOCK_KEY = "knowledge:lexeme-stats-refresh-queued"


def refresh_lexeme_stats() -> None:
    """Recount the words of active passages (concurrently: searches keep reading the old counts meanwhile)."""
    with connection.cursor() as cursor:
        cursor.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {VIEW}")


def schedule_refresh() -> None:
    """Queue one refresh after commit; changes within REFRESH_SECONDS share it."""

    def enqueue():
        from knowledge.tasks import refresh_word_statistics

        try:
            if cache.add(_LOCK_KEY, True, timeout=REFRESH_SECONDS):
                refresh_word_statistics.apply_async(countdown=REFRESH_SECONDS)
        except Exception:  # Redis or the broker down: the periodic sweep refreshes them
            logger.warning("could not queue a refresh of the word statistics", exc_info=True)

    transaction.on_commit(enqueue)
