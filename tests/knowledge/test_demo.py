"""The demo knowledge base and the labelled phrasings that measure search quality."""

import json
import re
from pathlib import Path

import pytest

from knowledge import demo
from knowledge.demo_content import FAQS
from knowledge.models import Document, Faq, Passage

LABELLED = Path(__file__).resolve().parents[2] / "bench" / "data" / "knowledge_phrasings.json"


@pytest.mark.django_db
def test_demo_loads_once_and_keeps_staff_edits(use_provider):
    use_provider("none")
    created = demo.load()
    assert created["FAQs"] >= 40 and created["documents"] >= 2
    assert Passage.objects.filter(faq__isnull=False).count() == created["FAQs"]
    assert Passage.objects.filter(document__isnull=False).count() > created["documents"]
    faq = Faq.objects.get(slug="saturday-hours")
    faq.answer = "Edited by an advisor."
    faq.save()
    assert demo.load() == {"FAQs": 0, "documents": 0}
    assert Faq.objects.get(slug="saturday-hours").answer == "Edited by an advisor."
    assert Document.objects.count() == created["documents"]


def test_answers_are_written_to_be_spoken():
    for entry in FAQS:
        answer = entry["answer"]
        assert not re.search(r"https?://|www\.|[*#\[\]<>()]|^\s*-", answer, re.M), entry["slug"]
        assert len(answer) < 400, entry["slug"]


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def test_the_labelled_set_is_large_and_not_copied_from_the_entries():
    labelled = json.loads(LABELLED.read_text())
    slugs = {entry["slug"] for entry in FAQS}
    assert len(labelled) >= 60
    assert {item["expect"] for item in labelled} <= slugs
    assert len({item["expect"] for item in labelled}) >= 40
    written = {_plain(text) for entry in FAQS for text in [entry["question"], *entry["phrasings"]]}
    copies = [item["say"] for item in labelled if _plain(item["say"]) in written]
    assert copies == []
