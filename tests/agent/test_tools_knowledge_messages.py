"""search_knowledge against real FAQs (text search, no embedding provider), and take_message through Records."""

import pytest

from agent.tools.base import ChangeKind
from agent.tools.knowledge import NOTHING_FOUND
from knowledge import services as knowledge_services
from tests.agent.conftest import STRANGER_PHONE, assert_invalid, call_tool

# --------------------------------------------------------------------------- search_knowledge


@pytest.fixture
def faqs(db):
    hours = knowledge_services.category_get_or_create(name="Hours and location", slug="hours")
    loaners = knowledge_services.category_get_or_create(name="Loaners and shuttle", slug="loaners")
    return {
        "saturday": knowledge_services.faq_create(
            question="Are you open on Saturdays?", answer="Yes, on Saturdays we are open 8 to 2.", category=hours,
            phrasings=["weekend hours"], keywords=["saturday", "weekend"],
        ),
        "loaner": knowledge_services.faq_create(
            question="Do you have loaner cars?", category=loaners, phrasings=["courtesy car"],
            answer="Yes, for repairs over three hours. " + "Loaners need a license and proof of insurance. " * 30,
        ),
    }  # fmt: skip


def test_search_knowledge_returns_the_best_passages(context_for, faqs):
    result = call_tool(context_for(None), "search_knowledge", {"question": "are you open saturday"})

    assert result.ok
    assert result.data["found"] is True
    best = result.data["passages"][0]
    assert best == {"title": "Are you open on Saturdays?", "text": "Yes, on Saturdays we are open 8 to 2."}
    assert len(result.data["passages"]) <= 3


def test_long_answers_are_trimmed(context_for, faqs):
    result = call_tool(context_for(None), "search_knowledge", {"question": "do you have a loaner car"})

    text = result.data["passages"][0]["text"]
    assert text.startswith("Yes, for repairs over three hours.")
    assert len(text) <= 601
    assert text.endswith("…")
    assert len(faqs["loaner"].answer) > 1000


def test_search_knowledge_says_when_nothing_fits(context_for, faqs):
    result = call_tool(context_for(None), "search_knowledge", {"question": "xylophone zeppelin"})

    assert result.ok
    assert result.data["found"] is False
    assert result.say == NOTHING_FOUND
    assert "passages" not in result.data


@pytest.mark.parametrize(
    "arguments, problem",
    [({}, "question"), ({"question": ""}, "question"), ({"question": "x" * 501}, "question"),
     ({"question": "hours", "k": 10}, "k")],
)  # fmt: skip
def test_search_knowledge_validation(context_for, db, arguments, problem):
    assert_invalid(call_tool(context_for(None), "search_knowledge", arguments), problem)


# --------------------------------------------------------------------------- take_message


class MessagePad:
    """A Records that keeps messages in a list, as a driver would keep callback requests."""

    def __init__(self):
        self.messages: list[dict] = []

    def take_message(self, *, customer_id, phone, message):
        self.messages.append({"customer_id": customer_id, "phone": phone, "message": message})
        return 100 + len(self.messages)


def test_take_message_calls_back_the_calling_number(context_for, customer):
    pad = MessagePad()
    result = call_tool(
        context_for(customer, records=pad), "take_message", {"message": "Please call about the recall notice."}
    )

    assert result.ok
    assert pad.messages == [
        {"customer_id": customer.pk, "phone": customer.phone, "message": "Please call about the recall notice."}
    ]
    assert result.data == {"callback_id": 101, "callback_number": "(602) 555-0100"}
    assert [(c.kind, c.callback_id, c.customer_id) for c in result.changes] == [
        (ChangeKind.MESSAGE_TAKEN, 101, customer.pk)
    ]


def test_take_message_from_an_unknown_caller_with_another_number(context_for, db):
    pad = MessagePad()
    result = call_tool(
        context_for(None, records=pad), "take_message",
        {"message": "Wants a quote for brakes.", "callback_number": "602.555.0199"},
    )  # fmt: skip

    assert result.ok
    assert pad.messages == [{"customer_id": None, "phone": "+16025550199", "message": "Wants a quote for brakes."}]


def test_take_message_without_records_is_refused(context_for, db):
    result = call_tool(context_for(None), "take_message", {"message": "Call me back."})

    assert result.ok is False
    assert result.say
    assert not result.changes


def test_take_message_from_a_withheld_number_asks_for_one(context_for, db):
    pad = MessagePad()
    context = context_for(None, phone="", records=pad)

    result = call_tool(context, "take_message", {"message": "Call me back."})

    assert result.ok is False
    assert result.say == "What number should the advisor call you back on?"
    assert pad.messages == []


def test_take_message_with_a_number_that_is_not_one(context_for, db):
    pad = MessagePad()
    result = call_tool(
        context_for(None, records=pad), "take_message", {"message": "Call me back.", "callback_number": "555 01"}
    )

    assert result.ok is False
    assert "number" in result.say
    assert pad.messages == []


@pytest.mark.parametrize(
    "arguments, problem",
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "x" * 1001}, "message"),
        ({"message": "Call me.", "callback_number": 6025550199}, "callback_number"),
        ({"message": "Call me.", "urgent": True}, "urgent"),
    ],
)
def test_take_message_validation(context_for, db, arguments, problem):
    pad = MessagePad()
    assert_invalid(call_tool(context_for(None, phone=STRANGER_PHONE, records=pad), "take_message", arguments), problem)
    assert pad.messages == []
