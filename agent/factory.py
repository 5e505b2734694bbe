"""Which agent takes a conversation: the model agent when a model is configured, the offline agent otherwise.

Every driver (the call session, the admin's chat, the evaluation) builds its agent here, so a dealership with
no model key still gets the whole agent, and a call whose model fails goes on offline (agent.failover).
"""

from __future__ import annotations

from agent import database as databases
from agent.context import ConversationStart
from agent.failover import FailoverAgent
from agent.interface import Agent
from agent.offline.agent import OfflineAgent
from agent.providers import openai_chat

OFFLINE = "offline"
MODEL = "model"


def agent_kind() -> str:
    """The agent conversations get by default: ``model`` when OPENAI_API_KEY is set, else ``offline``."""
    return MODEL if openai_chat.is_configured() else OFFLINE


def make_agent(start: ConversationStart, *, kind: str | None = None, records=None, recorder=None,
               database=databases.SERVER, chat=None) -> Agent:  # fmt: skip
    """A new agent for one conversation. ``kind`` forces one (the evaluation); ``chat`` is the model provider."""
    kind = kind or (MODEL if chat is not None else agent_kind())
    if kind == OFFLINE:
        return OfflineAgent(start, records=records, recorder=recorder, database=database)
    if kind != MODEL:
        raise ValueError(f"no agent called {kind!r}: use {MODEL!r} or {OFFLINE!r}")
    return FailoverAgent(start, records=records, recorder=recorder, database=database, chat=chat)
