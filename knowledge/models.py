"""The knowledge the phone agent may answer from: FAQ entries and longer documents.

Both are split into ``Passage`` rows, the unit of search. A passage carries its
own copy of what search needs (text, category, active flag) so that one query
over one table answers a question, and its embedding together with the name and
dimensions of the model that made it, so that a change of provider is visible
row by row.
"""

import hashlib

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Lower
from pgvector.django import VectorField

# Full-text search reads English; questions outweigh extra phrasings, which outweigh answers.
SEARCH_CONFIG = "english"


class Category(models.Model):
    """A topic the knowledge is sorted by ("Hours and location", "Prices"); search can be limited to one."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Faq(models.Model):
    """A question callers ask and the answer the agent may speak."""

    slug = models.SlugField(max_length=100, unique=True, help_text="A stable name for this entry.")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="faqs")
    question = models.CharField(max_length=300)
    answer = models.TextField(help_text="Written to be spoken: one to three short sentences, no lists or links.")
    phrasings = models.TextField(
        blank=True, help_text="Other ways callers ask this, one per line. They help search find the entry."
    )
    keywords = models.CharField(max_length=300, blank=True, help_text="Comma-separated words callers might use.")
    active = models.BooleanField(default=True, help_text="Inactive entries are never given to callers.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__name", "question"]
        verbose_name = "FAQ"
        verbose_name_plural = "FAQs"

    def __str__(self):
        return self.question

    def phrasing_list(self) -> list[str]:
        return [line.strip() for line in self.phrasings.splitlines() if line.strip()]

    def keyword_list(self) -> list[str]:
        return [word.strip() for word in self.keywords.split(",") if word.strip()]


class Document(models.Model):
    """A longer text (a loaner or warranty policy) that search reads in passages."""

    slug = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="documents")
    body = models.TextField(
        help_text='Paragraphs separated by blank lines; a line starting with "## " starts a section.'
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


class EmbeddingState(models.TextChoices):
    FRESH = "fresh", "fresh"  # embedded from the current text by the configured model
    STALE = "stale", "stale"  # embedded, but the text or the model changed since
    MISSING = "missing", "missing"  # never embedded (or no provider is configured)
    FAILED = "failed", "failed"  # the last attempt failed; see the error


class Passage(models.Model):
    """One searchable piece: a whole FAQ entry, or one section of a document."""

    faq = models.OneToOneField(Faq, null=True, blank=True, on_delete=models.CASCADE, related_name="passage")
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.CASCADE, related_name="passages"
    )
    position = models.PositiveIntegerField(default=0, help_text="Order within its document.")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    title = models.CharField(max_length=300, help_text="The FAQ question, or the document title and section.")
    extra = models.TextField(blank=True, help_text="Phrasings and keywords.")
    text = models.TextField(help_text="The FAQ answer, or the section's text.")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of what is embedded.")

    # Weighted full-text vector, kept by PostgreSQL itself.
    search_vector = models.GeneratedField(
        expression=(
            SearchVector("title", weight="A", config=SEARCH_CONFIG)
            + SearchVector("extra", weight="B", config=SEARCH_CONFIG)
            + SearchVector("text", weight="C", config=SEARCH_CONFIG)
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # What trigram similarity compares with: the ways the question is asked.
    match_text = models.GeneratedField(
        expression=Lower(Concat("title", Value(" "), "extra", output_field=models.TextField())),
        output_field=models.TextField(),
        db_persist=True,
    )

    # No fixed dimensions: the column holds whatever the configured model makes,
    # and each dimension count gets its own partial HNSW index (knowledge.vector_index).
    embedding = VectorField(null=True, blank=True)
    embedding_model = models.CharField(max_length=120, blank=True)
    embedding_dimensions = models.PositiveIntegerField(null=True, blank=True)
    embedded_hash = models.CharField(max_length=64, blank=True, help_text="content_hash when it was embedded.")
    embedded_at = models.DateTimeField(null=True, blank=True)
    embedding_error = models.TextField(blank=True)
    embedding_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["document_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(faq__isnull=False, document__isnull=True) | Q(faq__isnull=True, document__isnull=False)),
                name="passage_has_one_source",
            ),
            models.UniqueConstraint(
                fields=["document", "position"], condition=Q(document__isnull=False), name="passage_document_position"
            ),
            models.CheckConstraint(
                condition=Q(embedding__isnull=True) | Q(embedding_dimensions__isnull=False),
                name="passage_embedding_has_dimensions",
            ),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="passage_search_vector"),
            GinIndex(OpClass("match_text", name="gin_trgm_ops"), name="passage_match_trgm"),
            models.Index(fields=["embedding_model", "embedding_dimensions"], name="passage_embedding_model"),
        ]

    def __str__(self):
        return self.title

    @property
    def source(self):
        return self.faq or self.document

    def embedding_input(self) -> str:
        """Everything search reads of this passage; its hash tells whether the vector is current."""
        return "\n".join(part for part in (self.title, self.extra, self.text) if part)

    def embedding_texts(self) -> list[str]:
        """The texts whose vectors are averaged into this passage's vector.

        An FAQ is asked in several ways: the mean of the question's, each phrasing's and
        the answer's vectors sits near all of them, where one vector of the whole entry
        is pulled towards whichever part is longest. A document section is one text.
        """
        if self.faq_id is None:
            return [self.embedding_input()]
        lines = [line for line in self.extra.splitlines() if line.strip()]
        return [self.title, *lines, self.text, self.embedding_input()]

    @staticmethod
    def hash_of(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()
