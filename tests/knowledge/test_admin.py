"""The knowledge base in the admin: lists with embedding state, editing through the services, try a question."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from knowledge.models import Document, Faq, Passage
from tests.knowledge.embedder import HashingEmbedder

pytestmark = pytest.mark.django_db


def test_faq_list_shows_state_and_how_search_runs(admin_client, faqs):
    Passage.objects.filter(faq=faqs["oil"]).update(embedded_hash="")  # stale
    response = admin_client.get(reverse("admin:knowledge_faq_changelist"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Search: hybrid (vectors from test-hashing-64, 64 dimensions, and full text)." in page
    assert "4 fresh, 1 stale" in page
    assert "reindex_knowledge" in page
    assert "Try a question" in page

    stale = admin_client.get(reverse("admin:knowledge_faq_changelist"), {"embedding": "stale"})
    assert list(stale.context["cl"].queryset) == [faqs["oil"]]
    searched = admin_client.get(reverse("admin:knowledge_faq_changelist"), {"q": "courtesy"})
    assert list(searched.context["cl"].queryset) == [faqs["loaner"]]


def test_without_a_provider_the_lists_say_text_only(admin_client, faqs, use_provider):
    use_provider("none")
    for name in ("faq", "document", "passage"):
        page = admin_client.get(reverse(f"admin:knowledge_{name}_changelist")).content.decode()
        assert "full text and trigram similarity only (no embedding provider is configured)" in page


def test_adding_an_faq_in_the_admin_makes_its_passage_and_embeds_it(
    admin_client, categories, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:knowledge_faq_add"), {
            "category": categories["hours"].pk,
            "question": "Do you open early on Mondays?",
            "answer": "Yes, at seven.",
            "active": "on",
            "phrasings": "monday morning\nearly drop off",
            "keywords": "monday, early",
            "slug": "",
        })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    faq = Faq.objects.get()
    assert faq.slug == "do-you-open-early-on-mondays"
    passage = Passage.objects.get(faq=faq)
    assert passage.extra == "monday morning\nearly drop off\nmonday, early"
    assert passage.embedding_model == HashingEmbedder.model_name
    change = admin_client.get(reverse("admin:knowledge_faq_change", args=[faq.pk])).content.decode()
    assert "test-hashing-64, 64 dimensions, embedded" in change


def test_an_invalid_faq_is_a_form_error(admin_client, categories):
    response = admin_client.post(reverse("admin:knowledge_faq_add"), {
        "category": categories["hours"].pk, "question": "", "answer": "", "active": "on",
    })  # fmt: skip
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Faq.objects.exists()


def test_reembed_and_deactivate_actions(admin_client, faqs, django_capture_on_commit_callbacks):
    url = reverse("admin:knowledge_faq_changelist")
    HashingEmbedder.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"action": "reembed", "_selected_action": [faqs["oil"].pk]}, follow=True)
    assert "Re-embedding of 1 passage(s) queued." in response.content.decode()
    assert len(HashingEmbedder.calls) == 1
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"action": "deactivate", "_selected_action": [faqs["oil"].pk]})
    assert Passage.objects.get(faq=faqs["oil"]).active is False


def test_reembed_without_a_provider_says_why(admin_client, faqs, use_provider):
    use_provider("none")
    response = admin_client.post(reverse("admin:knowledge_faq_changelist"),
                                 {"action": "reembed", "_selected_action": [faqs["oil"].pk]}, follow=True)  # fmt: skip
    assert "No embedding provider is configured" in response.content.decode()


def test_documents_show_their_passages(admin_client, categories, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:knowledge_document_add"), {
            "title": "Loaner policy", "slug": "", "category": categories["loaners"].pk, "active": "on",
            "body": "## Who\nRepairs over three hours.\n\n## Bring\nA license.",
            "passages-TOTAL_FORMS": "0", "passages-INITIAL_FORMS": "0",
            "passages-MIN_NUM_FORMS": "0", "passages-MAX_NUM_FORMS": "1000",
        })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    document = Document.objects.get()
    assert document.passages.count() == 2
    page = admin_client.get(reverse("admin:knowledge_document_change", args=[document.pk])).content.decode()
    assert "Loaner policy: Who" in page and "fresh" in page
    listing = admin_client.get(reverse("admin:knowledge_document_changelist")).content.decode()
    assert "Loaner policy" in listing


def test_passages_are_read_only(admin_client, faqs):
    passage = Passage.objects.get(faq=faqs["oil"])
    assert admin_client.get(reverse("admin:knowledge_passage_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:knowledge_passage_change", args=[passage.pk])).status_code == 200
    assert admin_client.get(reverse("admin:knowledge_passage_add")).status_code == 403
    assert admin_client.get(reverse("admin:knowledge_passage_delete", args=[passage.pk])).status_code == 403


def test_try_a_question_shows_ranked_results_with_methods(admin_client, faqs):
    url = reverse("admin:knowledge_faq_try")
    empty = admin_client.get(url)
    assert empty.status_code == 200 and empty.context["result"] is None

    response = admin_client.get(url, {"question": "how much for an oil change", "k": 3})
    page = response.content.decode()
    rows = response.context["rows"]
    assert rows[0]["hit"].faq_id == faqs["oil"].pk
    assert rows[0]["url"] == reverse("admin:knowledge_faq_change", args=[faqs["oil"].pk])
    assert "Searched by meaning (test-hashing-64) and by words" in page
    assert "vector #1" in page and "fulltext #1" in page
    assert "A synthetic oil change is $79.95." in page


def test_try_a_question_with_a_category_and_odd_input(admin_client, faqs):
    url = reverse("admin:knowledge_faq_try")
    response = admin_client.get(url, {"question": "open saturday", "category": "prices", "k": 5})
    assert {row["hit"].category for row in response.context["rows"]} <= {"prices"}
    for question in ["'; DROP TABLE knowledge_faq; --", "🚗" * 50, "x" * 5000]:
        assert admin_client.get(url, {"question": question, "k": 3}).status_code == 200
    too_long = admin_client.get(url, {"question": "x" * 5001, "k": 3})
    assert too_long.context["form"].errors["question"]
    bad_k = admin_client.get(url, {"question": "oil", "k": 500})
    assert bad_k.context["form"].errors["k"]


def test_try_a_question_in_text_only_mode(admin_client, faqs, use_provider):
    use_provider("none")
    page = admin_client.get(reverse("admin:knowledge_faq_try"), {"question": "courtesy car", "k": 3}).content.decode()
    assert "Searched by words only" in page
    assert "No embedding provider is configured" in page


def test_advisors_keep_faqs_and_managers_keep_documents(client, faqs):
    advisor = get_user_model().objects.create_user("sam", password="x", is_staff=True)
    advisor.groups.add(Group.objects.get(name="Service advisor"))
    client.force_login(advisor)
    assert client.get(reverse("admin:knowledge_faq_add")).status_code == 200
    assert client.get(reverse("admin:knowledge_faq_try"), {"question": "oil"}).status_code == 200
    assert client.get(reverse("admin:knowledge_document_add")).status_code == 403
    assert client.get(reverse("admin:knowledge_faq_delete", args=[faqs["oil"].pk])).status_code == 403


def test_try_page_needs_staff(client):
    response = client.get(reverse("admin:knowledge_faq_try"))
    assert response.status_code == 302 and "/login/" in response["Location"]
