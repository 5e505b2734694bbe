"""The knowledge base in the admin: FAQs, documents, their passages, and a page to try a question."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from knowledge import services
from knowledge.models import Category, Document, EmbeddingState, Faq, Passage
from knowledge.selectors import MAX_K, configured_model, embedding_coverage, embedding_state, knowledge_search

_STATE_COLOURS = {
    EmbeddingState.FRESH: "#2e7d32",
    EmbeddingState.STALE: "#b26a00",
    EmbeddingState.MISSING: "#666",
    EmbeddingState.FAILED: "#ba2121",
}


def coverage_summary() -> str:
    """One line for the top of the lists: how search runs now and what still needs embedding."""
    coverage = embedding_coverage()
    if coverage.error:
        return f"Search: text only. The embedding provider ({coverage.provider}) could not start: {coverage.error}"
    if not coverage.model:
        return "Search: full text and trigram similarity only (no embedding provider is configured)."
    counts = ", ".join(f"{n} {state}" for state, n in coverage.counts.items() if n)
    line = f"Search: hybrid (vectors from {coverage.model}, {coverage.dimensions} dimensions, and full text)."
    if coverage.total:
        line += f" Passages: {counts}."
    if coverage.not_fresh:
        line += " Run “manage.py reindex_knowledge” or use the re-embed action to bring them up to date."
    return line


def _state_badge(state: str | None):
    if state is None:
        return "-"
    return format_html('<b style="color:{}">{}</b>', _STATE_COLOURS[state], EmbeddingState(state).label)


class EmbeddingStateFilter(admin.SimpleListFilter):
    title = "embedding"
    parameter_name = "embedding"

    def lookups(self, request, model_admin):
        return EmbeddingState.choices

    def queryset(self, request, queryset):
        if self.value() in EmbeddingState.values:
            return queryset.filter(embedding_state_now=self.value())
        return queryset


class EmbeddingStateMixin:
    """Annotates each row with its passage's embedding state, for a column, a filter and the re-embed action."""

    state_prefix = ""  # the path from this admin's model to Passage

    def get_queryset(self, request):
        model, dims, _ = configured_model()
        return super().get_queryset(request).annotate(
            embedding_state_now=embedding_state(model, dims, prefix=self.state_prefix)
        )

    @admin.display(description="embedding", ordering="embedding_state_now")
    def embedding_state_badge(self, obj):
        return _state_badge(getattr(obj, "embedding_state_now", None))


class CoverageSummaryMixin:
    """Puts the search mode and embedding counts above the list."""

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "coverage_summary": coverage_summary()}
        return super().changelist_view(request, extra_context=extra_context)


def queue_reembed(request, passage_ids: list[int]) -> None:
    if not configured_model()[0]:
        messages.error(request, "No embedding provider is configured, so there is nothing to embed with.")
        return
    count = services.passages_reembed(passage_ids=passage_ids)
    messages.success(request, f"Re-embedding of {count} passage(s) queued.")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "faq_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(faq_total=Count("faqs"))

    @admin.display(description="FAQs", ordering="faq_total")
    def faq_count(self, obj):
        return obj.faq_total


class TryQuestionForm(forms.Form):
    question = forms.CharField(
        max_length=5000,
        widget=forms.TextInput(attrs={"size": 80, "autofocus": True, "placeholder": "do you guys have loaner cars"}),
        help_text="Type it the way a caller would say it.",
    )
    category = forms.ModelChoiceField(Category.objects.all(), required=False, to_field_name="slug",
                                      empty_label="all categories")  # fmt: skip
    k = forms.IntegerField(label="results", min_value=1, max_value=MAX_K, initial=5)


@admin.register(Faq)
class FaqAdmin(CoverageSummaryMixin, EmbeddingStateMixin, admin.ModelAdmin):
    state_prefix = "passage__"
    list_display = ["question", "category", "active", "embedding_state_badge", "updated_at"]
    list_filter = ["category", "active", EmbeddingStateFilter]
    search_fields = ["question", "answer", "phrasings", "keywords", "slug"]
    list_select_related = ["category"]
    actions = ["reembed", "activate", "deactivate"]
    readonly_fields = ["embedding_details", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["category", "question", "answer", "active"]}),
        ("How callers ask", {"fields": ["phrasings", "keywords"]}),
        ("Record", {"fields": ["slug", "embedding_details", "created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["slug"].required = False
        form.base_fields["slug"].help_text = "Left empty, it is made from the question."
        return form

    def save_model(self, request, obj, form, change):
        services.faq_save(faq=obj)

    @admin.display(description="embedding")
    def embedding_details(self, obj):
        passage = Passage.objects.filter(faq=obj).first() if obj.pk else None
        return _passage_details(passage)

    @admin.action(description="Re-embed selected entries", permissions=["change"])
    def reembed(self, request, queryset):
        queue_reembed(request, list(Passage.objects.filter(faq__in=queryset).values_list("id", flat=True)))

    @admin.action(description="Make selected entries active", permissions=["change"])
    def activate(self, request, queryset):
        for faq in queryset:
            services.faq_set_active(faq=faq, active=True)
        messages.success(request, f"{queryset.count()} entries are active.")

    @admin.action(description="Make selected entries inactive (never given to callers)", permissions=["change"])
    def deactivate(self, request, queryset):
        for faq in queryset:
            services.faq_set_active(faq=faq, active=False)
        messages.success(request, f"{queryset.count()} entries are inactive.")

    # ----------------------------------------------------------------- try a question

    def get_urls(self):
        try_page = path(
            "try/",
            self.admin_site.admin_view(self.try_question_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_try",
        )
        return [try_page, *super().get_urls()]

    def try_question_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = TryQuestionForm(request.GET or None)
        result, rows = None, []
        if form.is_valid():
            category = form.cleaned_data["category"]
            result = knowledge_search(form.cleaned_data["question"], k=form.cleaned_data["k"],
                                      category=category.slug if category else None)  # fmt: skip
            rows = _result_rows(result.hits)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Try a question",
            "form": form,
            "result": result,
            "rows": rows,
            "coverage_summary": coverage_summary(),
        }
        return TemplateResponse(request, "admin/knowledge/try_question.html", context)


def _result_rows(hits) -> list[dict]:
    """Each hit with a link to the entry it came from."""
    rows = []
    for rank, hit in enumerate(hits, start=1):
        if hit.faq_id:
            url, kind = reverse("admin:knowledge_faq_change", args=[hit.faq_id]), "FAQ"
        else:
            url, kind = reverse("admin:knowledge_document_change", args=[hit.document_id]), "document"
        methods = [{"name": name, "rank": r, "score": hit.scores[name]} for name, r in hit.ranks.items()]
        rows.append({"rank": rank, "hit": hit, "url": url, "kind": kind, "methods": methods})
    return rows


def _passage_details(passage: Passage | None) -> str:
    if passage is None:
        return "Not saved yet."
    if passage.embedding_error:
        return format_html("Failed {}: {}", passage.embedding_failed_at or "", passage.embedding_error)
    if passage.embedding is None:
        return "Not embedded yet."
    return f"{passage.embedding_model}, {passage.embedding_dimensions} dimensions, embedded {passage.embedded_at}"


class PassageInline(admin.TabularInline):
    model = Passage
    fields = ["position", "title", "text", "embedding_state_badge"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        model, dims, _ = configured_model()
        return super().get_queryset(request).annotate(embedding_state_now=embedding_state(model, dims))

    @admin.display(description="embedding")
    def embedding_state_badge(self, obj):
        return _state_badge(getattr(obj, "embedding_state_now", None))


@admin.register(Document)
class DocumentAdmin(CoverageSummaryMixin, admin.ModelAdmin):
    list_display = ["title", "category", "active", "passage_count", "updated_at"]
    list_filter = ["category", "active"]
    search_fields = ["title", "body", "slug"]
    list_select_related = ["category"]
    inlines = [PassageInline]
    actions = ["reembed"]
    readonly_fields = ["created_at", "updated_at"]
    fields = ["title", "slug", "category", "active", "body", "created_at", "updated_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["slug"].required = False
        form.base_fields["slug"].help_text = "Left empty, it is made from the title."
        return form

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(passage_total=Count("passages"))

    @admin.display(description="passages", ordering="passage_total")
    def passage_count(self, obj):
        return obj.passage_total

    def save_model(self, request, obj, form, change):
        services.document_save(document=obj)

    @admin.action(description="Re-embed selected documents", permissions=["change"])
    def reembed(self, request, queryset):
        queue_reembed(request, list(Passage.objects.filter(document__in=queryset).values_list("id", flat=True)))


@admin.register(Passage)
class PassageAdmin(CoverageSummaryMixin, EmbeddingStateMixin, admin.ModelAdmin):
    """Passages are made from FAQs and documents; here they can be inspected and re-embedded, not edited."""

    list_display = ["title", "source_kind", "category", "active", "embedding_state_badge", "embedding_model",
                    "embedding_dimensions"]  # fmt: skip
    list_filter = ["category", "active", EmbeddingStateFilter, "embedding_model", "embedding_dimensions"]
    search_fields = ["title", "extra", "text"]
    list_select_related = ["category"]
    actions = ["reembed"]
    fields = ["faq", "document", "position", "category", "active", "title", "extra", "text", "content_hash",
              "embedding_model", "embedding_dimensions", "embedded_at", "embedding_error", "embedding_failed_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("embedding", "search_vector")

    @admin.display(description="source")
    def source_kind(self, obj):
        return "FAQ" if obj.faq_id else "document"

    @admin.action(description="Re-embed selected passages", permissions=["view"])
    def reembed(self, request, queryset):
        queue_reembed(request, list(queryset.values_list("id", flat=True)))
