"""Celery tasks of the knowledge base: thin, idempotent, given IDs."""

from celery import shared_task

from knowledge.services import KnowledgeError


class EmbeddingFailed(Exception):
    """Raised so Celery retries: the provider failed for some passages."""


@shared_task(
    autoretry_for=(EmbeddingFailed,),
    retry_backoff=10,  # 10 s, 20 s, 40 s... capped below
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=6,
    acks_late=True,
)
def embed_passages(passage_ids: list[int]) -> str:
    """Embed the passages that are not fresh; fresh ones are skipped, so running twice is harmless."""
    from knowledge.services import passages_embed

    try:
        report = passages_embed(passage_ids=passage_ids)
    except KnowledgeError as exc:  # no provider configured: nothing to do until one is
        return exc.message
    if report.failed:
        raise EmbeddingFailed(report.error)
    return f"embedded {report.embedded}, skipped {report.skipped}"


@shared_task(acks_late=True)
def refresh_word_statistics() -> str:
    """Recount the words full-text search chooses from (queued, at most once a minute, after edits)."""
    from knowledge.lexeme_stats import refresh_lexeme_stats

    refresh_lexeme_stats()
    return "word statistics refreshed"


@shared_task(acks_late=True)
def embed_pending() -> str:
    """Catch up on passages whose embedding was never queued (a broker outage) or ran out of retries.

    Also recounts the word statistics, which a lost refresh task would otherwise leave behind.
    """
    from knowledge.lexeme_stats import refresh_lexeme_stats
    from knowledge.services import knowledge_reindex

    refresh_lexeme_stats()
    try:
        report = knowledge_reindex()
    except KnowledgeError as exc:
        return exc.message
    return f"embedded {report.embedded}, failed {report.failed}, already fresh {report.already_fresh}"
