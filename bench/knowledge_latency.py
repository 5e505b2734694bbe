"""Knowledge-search latency: the database part of a hybrid search at 1k, 10k and 100k passages.

    DEBUG=1 python bench/knowledge_latency.py [--dimensions 384] [--queries 300]

"Database part" = knowledge.search.run with the question's vector already given:
building the SQL, the one round trip (vector list on the HNSW index, full-text list
on the GIN index, fusion) and reading the hits. It excludes embedding the question,
which the Redis cache removes for repeated questions.

Passages are synthetic, made inside PostgreSQL: vectors around 200 cluster centres
(like topics), 40 words each drawn from a 2,000-word vocabulary with a skewed,
Zipf-like frequency (like language: a few words in most passages, most words in
few). Queries are a passage's vector plus noise and 3 to 8 words drawn the same way.
The word statistics full-text search chooses its terms by are refreshed after each
load, as the worker does after edits. The HNSW
index is dropped and built again at each size, and the build is timed
(maintenance_work_mem 512MB, as an operator would set for a rebuild).

Budgets (DESIGN.md): p95 <= 5 ms at 10k, <= 15 ms at 100k. Everything runs in a
throwaway database (bench_knowledge_latency); development data is never touched.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from knowledge import search  # noqa: E402
from knowledge.lexeme_stats import refresh_lexeme_stats  # noqa: E402
from knowledge.selectors import HYBRID_METHODS  # noqa: E402
from knowledge.vector_index import ensure_vector_index, index_name  # noqa: E402

BENCH_DATABASE = "bench_knowledge_latency"
SIZES = (1_000, 10_000, 100_000)
BUDGET_P95_MS = {10_000: 5.0, 100_000: 15.0}
MODEL = "synthetic"
VOCABULARY = 2_000
CLUSTERS = 200
WARMUP = 30
PASSAGES_PER_DOCUMENT = 1_000


def setup_tables(dimensions: int) -> int:
    """A category, the vocabulary and the cluster centres; returns the category id."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO knowledge_category (name, slug) VALUES ('Synthetic', 'synthetic') RETURNING id")
        category_id = cursor.fetchone()[0]
        cursor.execute(
            "CREATE TEMP TABLE bench_words AS SELECT n, 'w' || n || substr(md5(n::text), 1, 4) AS word "
            "FROM generate_series(1, %s) n",
            [VOCABULARY],
        )
        cursor.execute(
            "CREATE TEMP TABLE bench_centres AS SELECT c, "
            "(SELECT array_agg(random() - 0.5) FROM generate_series(1, %s) WHERE c > 0) AS v "
            "FROM generate_series(1, %s) c",
            [dimensions, CLUSTERS],
        )
    return category_id


def add_passages(category_id: int, start: int, stop: int, dimensions: int) -> float:
    """Insert passages start..stop-1 (in documents of 1,000); returns the seconds it took."""
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for first in range(start, stop, PASSAGES_PER_DOCUMENT):
            cursor.execute(
                "INSERT INTO knowledge_document (slug, title, category_id, body, active, created_at, updated_at) "
                "VALUES (%s, %s, %s, '', true, now(), now()) RETURNING id",
                [f"synthetic-{first}", f"Synthetic {first}", category_id],
            )
            document_id = cursor.fetchone()[0]
            # Word n is picked with probability ~ 1/n (Zipf-like): a few common words, many rare ones.
            cursor.execute(
                f"""
                INSERT INTO knowledge_passage (document_id, position, category_id, active, title, extra, text,
                    content_hash, embedding, embedding_model, embedding_dimensions, embedded_hash, embedding_error)
                SELECT %(document)s, g - %(first)s, %(category)s, random() > 0.02,
                       words.title, '', words.body, 'synthetic',
                       (SELECT array_agg(c.v[i] + (random() - 0.5) * 0.6)
                          FROM generate_series(1, {dimensions}) i)::vector,
                       %(model)s, {dimensions}, 'synthetic', ''
                FROM generate_series(%(first)s, %(last)s) g
                CROSS JOIN LATERAL (SELECT v FROM bench_centres WHERE c = 1 + (g * 7919) %% {CLUSTERS}) c
                CROSS JOIN LATERAL (
                    SELECT string_agg(w.word, ' ') FILTER (WHERE picks.k <= 6) AS title,
                           string_agg(w.word, ' ') FILTER (WHERE picks.k > 6) AS body
                    FROM (SELECT k, greatest(1, least({VOCABULARY}, floor(exp(random() * ln({VOCABULARY})))::int)) AS n
                          FROM generate_series(1, 40) k WHERE g >= 0) picks
                    JOIN bench_words w ON w.n = picks.n
                ) words
                """,
                {
                    "document": document_id,
                    "first": first,
                    "last": min(first + PASSAGES_PER_DOCUMENT, stop) - 1,
                    "category": category_id,
                    "model": MODEL,
                },
            )
        # What autovacuum does soon after a bulk load: statistics, visibility map and hint bits
        # (without it the first reads of each page write to it, which no steady state pays).
        cursor.execute("VACUUM (ANALYZE) knowledge_passage")
    refresh_lexeme_stats()  # as the worker does after edits
    return time.perf_counter() - began


def rebuild_vector_index(dimensions: int) -> float:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {index_name(dimensions)}")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        began = time.perf_counter()
        ensure_vector_index(dimensions)
        seconds = time.perf_counter() - began
        cursor.execute("RESET maintenance_work_mem")
    return seconds


def make_queries(count: int, rng: random.Random) -> list[tuple[str, list[float]]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT embedding::text FROM knowledge_passage ORDER BY random() LIMIT %s", [count])
        vectors = [[float(x) for x in row[0].strip("[]").split(",")] for row in cursor.fetchall()]
        cursor.execute("SELECT word FROM bench_words ORDER BY n")
        words = [row[0] for row in cursor.fetchall()]
    queries = []
    for vector in vectors:
        noisy = [x + rng.uniform(-0.1, 0.1) for x in vector]
        # Words drawn as the passages' words are: common ones often, rare ones seldom.
        picks = [min(VOCABULARY, max(1, int(math.exp(rng.random() * math.log(VOCABULARY))))) for _ in range(8)]
        text = " ".join(words[n - 1] for n in picks[: rng.randint(3, 8)])
        queries.append((text, noisy))
    return queries


def time_searches(queries) -> list[float]:
    timings = []
    for index, (text, vector) in enumerate(queries):
        began = time.perf_counter()
        hits = search.run(text, vector=vector, model_name=MODEL, k=3, methods=HYBRID_METHODS)
        elapsed = (time.perf_counter() - began) * 1000
        if index >= WARMUP:
            timings.append(elapsed)
        assert hits, "a hybrid search over synthetic passages found nothing"
    return sorted(timings)


def uses_hnsw(dimensions: int, query) -> bool:
    text, vector = query
    literal = "[" + ",".join(repr(x) for x in vector) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN SELECT id FROM knowledge_passage p WHERE p.embedding_dimensions = {dimensions} "
            f"AND p.embedding_model = %s AND p.active "
            f"ORDER BY (p.embedding::vector({dimensions})) <=> %s::vector({dimensions}) LIMIT 20",
            [MODEL, literal],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return index_name(dimensions) in plan


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dimensions", type=int, default=384, help="vector size (384 = all-MiniLM-L6-v2)")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()

    settings.DEBUG = False
    connections["default"].settings_dict["TEST"]["NAME"] = BENCH_DATABASE
    old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    rng = random.Random(20261121)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        print(f"Knowledge-search latency - PostgreSQL {version}, {args.dimensions} dimensions, "
              f"{args.queries} queries per size ({WARMUP} warm-up not counted), k=3, "
              f"fusion {HYBRID_METHODS}")  # fmt: skip
        print(f"{'passages':>9} {'insert':>8} {'HNSW build':>11} {'index used':>10} {'p50':>8} {'p95':>8} "
              f"{'p99':>8} {'budget p95':>11}")  # fmt: skip
        category_id = setup_tables(args.dimensions)
        loaded = 0
        for size in SIZES:
            insert_seconds = add_passages(category_id, loaded, size, args.dimensions)
            loaded = size
            build_seconds = rebuild_vector_index(args.dimensions)
            queries = make_queries(args.queries + WARMUP, rng)
            timings = time_searches(queries)
            budget = BUDGET_P95_MS.get(size)
            p95 = percentile(timings, 0.95)
            verdict = "-" if budget is None else f"{budget:.0f} ms {'ok' if p95 <= budget else 'OVER'}"
            print(f"{size:>9,} {insert_seconds:>7.1f}s {build_seconds:>10.2f}s "
                  f"{'yes' if uses_hnsw(args.dimensions, queries[0]) else 'no':>10} "
                  f"{statistics.median(timings):>5.2f} ms {p95:>5.2f} ms {percentile(timings, 0.99):>5.2f} ms "
                  f"{verdict:>11}")  # fmt: skip
    finally:
        connections.close_all()
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
