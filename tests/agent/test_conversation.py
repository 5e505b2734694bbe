"""The conversation the model reads stays well formed: tool pairs whole, only heard words kept."""

import pytest

from agent.conversation import CANCELLED_READ, PENDING, Conversation
from agent.events import ToolCall


def test_a_tool_round_is_one_assistant_message_then_one_result_per_call_in_order():
    conversation = Conversation()
    conversation.add_user("book me in")
    conversation.begin_reply()
    calls = [ToolCall("a", "get_available_slots", {"service_ids": [1]}), ToolCall("b", "search_knowledge", None)]
    results = conversation.add_tool_round("Let me check.", calls)
    assert conversation.pending()
    with pytest.raises(AssertionError):
        conversation.for_model("system")
    Conversation.fill(results["a"], '{"ok":true}')
    Conversation.fill(results["b"], CANCELLED_READ)
    Conversation.fill(results["b"], '{"ok":true}')  # a result lands once
    messages = conversation.for_model("system")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool"]
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["a", "b"]
    # Arguments that were not JSON go back as an empty object; the tool's result says what was wrong.
    assert messages[2]["tool_calls"][1]["function"]["arguments"] == "{}"
    assert [(m["tool_call_id"], m["content"]) for m in messages[3:]] == [("a", '{"ok":true}'), ("b", CANCELLED_READ)]
    assert PENDING not in [m["content"] for m in messages]


def test_only_the_heard_words_of_a_reply_stay_and_tool_pairs_survive_a_cut():
    conversation = Conversation()
    conversation.add_said("Thanks for calling.")
    conversation.add_user("cancel my appointment")
    conversation.begin_reply()
    results = conversation.add_tool_round("Okay, one moment.", [ToolCall("c1", "cancel_appointment", {"appointment_id": 4})])
    Conversation.fill(results["c1"], '{"ok":true}')
    conversation.add_text("It's cancelled. Anything else I can do for you today?")
    conversation.settle_heard("Okay, one moment. It's cancelled.")
    assert conversation.messages[2:] == [
        {"role": "assistant", "content": "Okay, one moment.", "tool_calls": conversation.messages[2]["tool_calls"]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"ok":true}'},
        {"role": "assistant", "content": "It's cancelled."},
    ]


def test_a_reply_cut_before_any_word_was_heard_keeps_its_tool_pair_and_no_text():
    conversation = Conversation()
    conversation.add_user("book it")
    conversation.begin_reply()
    results = conversation.add_tool_round("Booking that now.", [ToolCall("b1", "book_appointment", {})])
    Conversation.fill(results["b1"], '{"ok":true,"appointment_id":9}')
    conversation.add_text("You're all set for Tuesday")
    conversation.settle_heard("")
    assert [(m["role"], m.get("content")) for m in conversation.messages] == [
        ("user", "book it"),
        ("assistant", None),
        ("tool", '{"ok":true,"appointment_id":9}'),
    ]
    assert conversation.messages[1]["tool_calls"][0]["function"]["name"] == "book_appointment"
