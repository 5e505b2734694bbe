"""The database part of a knowledge search: ranked lists fused by reciprocal rank fusion, in one round trip.

Each method ranks up to ``CANDIDATES`` active passages on its own:
- vector: cosine distance to the question's embedding, on the partial HNSW index of its dimensions;
- fulltext: PostgreSQL full text, the caller's telling words OR-ed (a spoken question rarely contains
  every word of the entry, so AND would find almost nothing; common words are left out, see
  knowledge.lexeme_stats), ranked with questions weighted above phrasings above answers;
- trigram: similarity of the caller's words to the ways the entry is asked, which survives typos and
  speech-recognition slips that full text cannot match.
A passage's fused score is the sum of weight / (RRF_K + rank) over the lists that found it; the
caller chooses the methods and their weights (knowledge.selectors).
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.db import connection

from knowledge import lexeme_stats
from knowledge.models import SEARCH_CONFIG

RRF_K = 60  # the usual constant: damps the difference between rank 1 and rank 2 of one list
CANDIDATES = 20  # per method
# Bounds on odd input: a rambling caller, or a pasted essay in the admin.
MAX_QUERY_WORDS = 48
MAX_QUERY_CHARS = 1000
# How far the HNSW scan looks (pgvector's default is 40); iterative scans go on when filters remove rows.
EF_SEARCH = 64

# Below the default 0.6: one misspelt word in a short question scores about 0.5.
TRIGRAM_THRESHOLD = 0.3

VECTOR, FULLTEXT, TRIGRAM = "vector", "fulltext", "trigram"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Hit:
    passage_id: int
    faq_id: int | None
    document_id: int | None
    category: str
    title: str
    text: str
    score: float  # the fused score
    ranks: dict[str, int] = field(default_factory=dict)  # method -> rank in that method's list (1 = best)
    scores: dict[str, float] = field(default_factory=dict)  # method -> that method's own score

    @property
    def methods(self) -> list[str]:
        return list(self.ranks)


def normalize_question(text: str) -> str:
    """One spelling per question: what embeddings are cached under and what the lists search for."""
    text = unicodedata.normalize("NFKC", text or "").replace("\x00", " ")
    return " ".join(text.lower().split())[:MAX_QUERY_CHARS]


def fulltext_terms(question: str) -> str:
    """The caller's words joined with OR, in the syntax of websearch_to_tsquery (which never raises)."""
    return " or ".join(_WORD.findall(question)[:MAX_QUERY_WORDS])


def build(question: str, *, vector: list[float] | None, model_name: str = "", k: int = 3,
          category: str | None = None, methods: dict[str, float]) -> tuple[str, dict, list[str]] | None:  # fmt: skip
    """The SQL, its parameters and the list names of a search; None when no method applies."""
    lists, params = [], {"candidates": CANDIDATES, "category": category, "k": k}
    if VECTOR in methods and vector is not None:
        dims = len(vector)  # an int of our own: safe to write into the SQL, as the partial index needs
        lists.append(_vector_list(dims))
        params.update(vector=_vector_literal(vector), model=model_name)
    terms = fulltext_terms(question)
    if FULLTEXT in methods and terms:
        lists.append(_FULLTEXT_LIST)
        params.update(terms=terms, all_terms=" ".join(_WORD.findall(question)[:MAX_QUERY_WORDS]))
    if TRIGRAM in methods and question.strip():
        lists.append(_TRIGRAM_LIST)
        params["question"] = question
    if not lists:
        return None

    names = [name for name, _ in lists]
    sql = (
        f"SET LOCAL hnsw.ef_search = {EF_SEARCH}; SET LOCAL hnsw.iterative_scan = relaxed_order; "
        f"SET LOCAL pg_trgm.word_similarity_threshold = {TRIGRAM_THRESHOLD}; "
        "WITH " + ", ".join(f"{name} AS ({body})" for name, body in lists) + ", "
        "fused AS (SELECT id, sum(weight / (%(rrf_k)s + rank)) AS score, min(rank) AS best FROM ("
        + " UNION ALL ".join(f"SELECT id, rank, %(weight_{name})s::float AS weight FROM {name}" for name in names)
        + ") ranked GROUP BY id), "
        # Only the k winners are joined with their rows.
        "top AS (SELECT id, score, best FROM fused ORDER BY score DESC, best, id LIMIT %(k)s) "
        "SELECT p.id, p.faq_id, p.document_id, c.slug, p.title, p.text, top.score, "
        + ", ".join(f"{name}.rank, {name}.score" for name in names)
        + " FROM top JOIN knowledge_passage p ON p.id = top.id"
        " JOIN knowledge_category c ON c.id = p.category_id "
        + " ".join(f"LEFT JOIN {name} ON {name}.id = top.id" for name in names)
        + " ORDER BY top.score DESC, top.best, top.id"
    )
    params["rrf_k"] = RRF_K
    params.update({f"weight_{name}": float(methods[name]) for name in names})
    return sql, params, names


def run(question: str, *, vector: list[float] | None, model_name: str = "", k: int = 3,
        category: str | None = None, methods: dict[str, float]) -> list[Hit]:  # fmt: skip
    """The top ``k`` passages for an already normalized question.

    ``methods`` maps each ranking to use to its weight in the fusion: a passage scores
    the sum of weight / (RRF_K + rank) over the lists that found it.
    """
    built = build(question, vector=vector, model_name=model_name, k=k, category=category, methods=methods)
    if built is None:
        return []
    sql, params, names = built
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while cursor.description is None and cursor.nextset():  # step over the SETs
            pass
        rows = cursor.fetchall()
    return [_hit(row, names) for row in rows]


_FILTERS = "p.active AND (%(category)s::text IS NULL OR p.category_id = (SELECT id FROM knowledge_category WHERE slug = %(category)s))"  # noqa: E501


def _vector_list(dims: int) -> tuple[str, str]:
    body = (
        "SELECT id, row_number() OVER (ORDER BY distance, id) AS rank, 1 - distance AS score FROM ("
        f"SELECT p.id, (p.embedding::vector({dims})) <=> %(vector)s::vector({dims}) AS distance"
        " FROM knowledge_passage p"
        f" WHERE p.embedding_dimensions = {dims} AND p.embedding_model = %(model)s AND {_FILTERS}"
        " ORDER BY distance LIMIT %(candidates)s) candidates"
    )
    return VECTOR, body


# The question's telling words, OR-ed: the rarest first, as many as keep the rows to rank within
# lexeme_stats.MAX_RANKED_ROWS (at most lexeme_stats.MAX_TERMS). When even the rarest word is too
# common, all the words AND-ed instead. Lexemes are joined in websearch syntax under the 'simple'
# configuration: they are already stemmed, and websearch_to_tsquery never raises.
_FULLTEXT_QUERY = (
    "SELECT coalesce(("
    "SELECT websearch_to_tsquery('simple', string_agg(lexeme, ' or ')) FROM ("
    "SELECT lexeme, sum(ndoc) OVER (ORDER BY ndoc, lexeme) AS running FROM ("
    "SELECT u.lexeme,"
    f" coalesce((SELECT s.ndoc FROM {lexeme_stats.VIEW} s WHERE s.word = u.lexeme), 0) AS ndoc"
    f" FROM unnest(to_tsvector('{SEARCH_CONFIG}', %(terms)s)) AS u(lexeme, positions, weights)"
    f") counted ORDER BY ndoc, lexeme LIMIT {lexeme_stats.MAX_TERMS}"
    f") chosen WHERE running <= {lexeme_stats.MAX_RANKED_ROWS}"
    f"), websearch_to_tsquery('{SEARCH_CONFIG}', %(all_terms)s)) AS query"
)

_FULLTEXT_LIST = (
    FULLTEXT,
    f"WITH q AS MATERIALIZED ({_FULLTEXT_QUERY}) "
    "SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank, score FROM ("
    "SELECT p.id, ts_rank(p.search_vector, q.query, 1) AS score"
    " FROM knowledge_passage p, q"
    f" WHERE p.search_vector @@ q.query AND {_FILTERS}"
    " ORDER BY score DESC LIMIT %(candidates)s) candidates",
)

_TRIGRAM_LIST = (
    TRIGRAM,
    "SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank, score FROM ("
    "SELECT p.id, word_similarity(%(question)s, p.match_text) AS score"
    " FROM knowledge_passage p"
    f" WHERE %(question)s <%% p.match_text AND {_FILTERS}"
    " ORDER BY score DESC LIMIT %(candidates)s) candidates",
)


def _vector_literal(vector: list[float]) -> str:
    # pgvector stores single-precision floats: seven significant digits say all of it, in half the text.
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def _hit(row, names: list[str]) -> Hit:
    passage_id, faq_id, document_id, category, title, text, score, *per_method = row
    ranks, scores = {}, {}
    for index, name in enumerate(names):
        rank, method_score = per_method[2 * index], per_method[2 * index + 1]
        if rank is not None:
            ranks[name] = int(rank)
            scores[name] = round(float(method_score), 4)
    return Hit(passage_id=passage_id, faq_id=faq_id, document_id=document_id, category=category, title=title,
               text=text, score=float(score), ranks=ranks, scores=scores)  # fmt: skip
