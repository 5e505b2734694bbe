"""Answers from the dealership's FAQs and documents: the agent says only what these passages say."""

from __future__ import annotations

from pydantic import Field

from agent.tools.base import Arguments, Tool, ToolContext, ToolKind, ToolResult
from knowledge.selectors import knowledge_search

MAX_PASSAGES = 3
MAX_TEXT_CHARS = 600
NOTHING_FOUND = "I don't have an answer to that in my notes; an advisor can tell you."


class SearchKnowledgeArguments(Arguments):
    question: str = Field(
        min_length=2, max_length=500,
        description="The caller's question in a few plain words, e.g. \"are you open on Saturday\".",
    )  # fmt: skip


def _trim(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """At most ``limit`` characters, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _search_knowledge(context: ToolContext, arguments: SearchKnowledgeArguments) -> ToolResult:
    result = knowledge_search(arguments.question, k=MAX_PASSAGES)
    if not result.hits:
        return ToolResult(
            ok=True,
            data={"found": False, "hint": "do not guess; offer take_message or transfer_to_person"},
            say=NOTHING_FOUND,
        )
    passages = [{"title": hit.title, "text": _trim(hit.text)} for hit in result.hits[:MAX_PASSAGES]]
    return ToolResult(ok=True, data={"found": True, "passages": passages})


search_knowledge = Tool(
    name="search_knowledge",
    description=(
        "Look up the dealership's own answers (hours, location, prices, loaners, shuttle, policies, what a "
        "service includes). Use it before answering any such question, answer only from the passages it "
        "returns (best first), and say you don't know when it finds nothing."
    ),
    arguments=SearchKnowledgeArguments,
    kind=ToolKind.READ,
    run=_search_knowledge,
)

TOOLS = [search_knowledge]
