"""A stand-in model for the voice benchmarks: it answers with the best knowledge-base passage.

Not a language model and not the product's agent: a benchmark needs a model whose latency it sets
(voice.simulation.Latencies) and whose answers cost the server what a model's would (text to speak, now
and then a hand-over). ``manage.py simulate_call`` uses the product's own agent instead.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections

from agent.tools.calls import TRANSFER
from standins import Reply

# Words that alone ask nothing of the knowledge base.
GREETINGS = frozenset("hi hello hey there good morning afternoon evening yes yeah ok okay".split())
THANKS = frozenset("thanks thank you".split())
I_DO_NOT_KNOW = "I'm sorry, I don't know the answer to that. Let me connect you with a service advisor."


class KnowledgeAnswers:
    """The stand-in model's answers: the best knowledge-base passage for the caller's last words.

    The fake OpenAI calls this on its own event loop, where Django refuses database work, so the
    search runs in a worker thread. Answers are cached per question: a benchmark warms the cache
    first so that hundreds of calls never wait on the database through the stand-in.
    """

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="standin-knowledge")
        self._cache: dict[str, Reply] = {}
        self._lock = threading.Lock()

    def __call__(self, messages: list[dict]) -> Reply:
        question = _last_user_words(messages)
        words = set(re.findall(r"[a-z']+", question.lower()))
        # "hello", "thanks": nothing to look up.
        if words and words <= THANKS | GREETINGS and words & THANKS:
            return Reply(text="You're welcome. Is there anything else I can help you with?")
        if not words or words <= GREETINGS:
            return Reply(text="How can I help you today?")
        return self.answer(question)

    def answer(self, question: str) -> Reply:
        key = " ".join(question.lower().split())
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = self._worker.submit(self._search, question).result(timeout=60)
            with self._lock:
                self._cache[key] = cached
        return cached

    def warm(self, questions) -> None:
        for question in questions:
            self.answer(question)

    def close(self) -> None:
        self._worker.submit(connections.close_all).result(timeout=10)  # the worker thread's own connection
        self._worker.shutdown(wait=True)

    @staticmethod
    def _search(question: str) -> Reply:
        from knowledge.selectors import knowledge_search

        close_old_connections()
        best = knowledge_search(question, k=1).best
        if best is not None and _answers(best):
            return Reply(text=best.text)
        # What the real agent is told to do when it does not know (templates/agent/system.txt).
        return Reply(text=I_DO_NOT_KNOW, tool_calls=[(TRANSFER, {})])


def _answers(hit) -> bool:
    """Whether a hit is about the question at all (the search always returns its nearest passages).

    By meaning when the passage has a vector: cosine similarity of at least 0.5. Else by words: the
    caller's words were found in it, and, when the search also ranked by trigrams (no embedding
    provider), it reads alike (similarity of at least 0.5). Tuned on the demo FAQs: "are you open on
    saturday" passes, "what is the capital of france" and "hello" do not.
    """
    from knowledge.search import FULLTEXT, TRIGRAM, VECTOR

    if VECTOR in hit.scores:
        return hit.scores[VECTOR] >= 0.5
    if TRIGRAM in hit.scores:
        return FULLTEXT in hit.ranks and hit.scores[TRIGRAM] >= 0.5
    return FULLTEXT in hit.ranks


def _last_user_words(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"].strip()
    return ""
