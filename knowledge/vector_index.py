"""One HNSW index per embedding size.

The embedding column has no fixed size, so that switching models needs no schema
change. pgvector indexes only vectors of one size, so each size in use gets a
partial index over ``embedding::vector(N)`` for rows of that size; the search
query uses the same expression and condition, which is how PostgreSQL picks it.
"""

import logging

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

HNSW_M = 16  # pgvector's defaults: a good recall/speed balance for up to millions of rows
HNSW_EF_CONSTRUCTION = 64


def index_name(dimensions: int) -> str:
    return f"knowledge_passage_hnsw_{int(dimensions)}d"


def vector_index_exists(dimensions: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [index_name(dimensions)])
        return cursor.fetchone()[0]


def ensure_vector_index(dimensions: int) -> bool:
    """Create the index for vectors of this size if it is missing. True when it was created."""
    dims = int(dimensions)  # written into the SQL: must be our own integer
    if vector_index_exists(dims):
        return False
    try:
        # A savepoint: without the index search is slower, not wrong, so a failure here must not
        # spoil the caller's transaction.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {index_name(dims)} ON knowledge_passage "
                f"USING hnsw ((embedding::vector({dims})) vector_cosine_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
                f"WHERE embedding_dimensions = {dims}"
            )
    except DatabaseError:
        logger.warning("could not create %s; vector search runs without it", index_name(dims), exc_info=True)
        return False
    return True


def drop_unused_vector_indexes(keep: int) -> list[str]:
    """Drop indexes of sizes no passage has any more (after a switch of model). Returns their names."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'knowledge_passage' AND indexname LIKE %s",
            ["knowledge_passage_hnsw_%d"],
        )
        names = [row[0] for row in cursor.fetchall()]
        dropped = []
        for name in names:
            dims = int(name.removeprefix("knowledge_passage_hnsw_").removesuffix("d"))
            if dims == keep:
                continue
            cursor.execute("SELECT EXISTS (SELECT 1 FROM knowledge_passage WHERE embedding_dimensions = %s)", [dims])
            if not cursor.fetchone()[0]:
                cursor.execute(f"DROP INDEX IF EXISTS {index_name(dims)}")
                dropped.append(name)
    return dropped
