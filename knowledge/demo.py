"""Demo knowledge base: the FAQs and policy documents of the demo dealership (knowledge.demo_content).

Safe to run on every start: entries are matched by slug and an existing one is
left as staff last edited it. New entries are embedded by Celery after commit.
"""

from knowledge import services
from knowledge.demo_content import CATEGORIES, DOCUMENTS, FAQS
from knowledge.models import Document, Faq


def load(*, stdout=None) -> dict[str, int]:
    categories = {slug: services.category_get_or_create(name=name, slug=slug) for slug, name in CATEGORIES}
    existing_faqs = set(Faq.objects.values_list("slug", flat=True))
    faqs = 0
    for entry in FAQS:
        if entry["slug"] in existing_faqs:
            continue
        services.faq_create(
            slug=entry["slug"],
            category=categories[entry["category"]],
            question=entry["question"],
            answer=entry["answer"],
            phrasings=entry.get("phrasings", ()),
            keywords=entry.get("keywords", ()),
        )
        faqs += 1
    existing_documents = set(Document.objects.values_list("slug", flat=True))
    documents = 0
    for entry in DOCUMENTS:
        if entry["slug"] in existing_documents:
            continue
        services.document_save(
            document=Document(slug=entry["slug"], title=entry["title"], category=categories[entry["category"]],
                              body=entry["body"])  # fmt: skip
        )
        documents += 1
    created = {"FAQs": faqs, "documents": documents}
    if stdout:
        stdout.write("knowledge: " + ", ".join(f"{count} {what}" for what, count in created.items()) + " added")
    return created
