"""Running one scenario: its world, the conversation with the agent, and the checks, in one transaction that is
always rolled back, so a scenario leaves the database as it found it and never sees another's changes.

The conversation runs on an event loop of its own (``async_to_sync``) while the agent's database work comes
back to this thread, inside the transaction (``agent.database.CALLING_THREAD``); that also makes it work
inside a test's transaction.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.db import transaction

from agent.context import ConversationStart, caller_facts, shop_facts
from agent.database import CALLING_THREAD
from agent.events import AgentError
from agent.factory import make_agent
from crm.selectors import dealership_profile
from voice.evaluation.checks import check_scenario
from voice.evaluation.scenarios import Scenario
from voice.evaluation.transcript import Transcript
from voice.evaluation.world import World, build_world
from voice.session.records import RecordsWithoutCall

logger = logging.getLogger(__name__)




@dataclass
class Outcome:
    scenario: Scenario
    transcript: Transcript
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def run_scenario(scenario: Scenario, *, kind: str) -> Outcome:
    """Play the scenario against a new agent of this kind ("offline" or "model") and judge it."""
    with transaction.atomic():
        try:
            world = build_world(scenario)
            transcript = async_to_sync(converse)(conversation_start(scenario, world), world.lines, kind=kind,
                                                 greeting=dealership_profile().greeting)  # fmt: skip
            return Outcome(scenario=scenario, transcript=transcript,
                           failures=check_scenario(scenario, world, transcript))  # fmt: skip
        finally:
            transaction.set_rollback(True)


def conversation_start(scenario: Scenario, world: World) -> ConversationStart:
    """What the agent knows as the call starts, as a call session would tell it."""
    return ConversationStart(
        shop=shop_facts(),
        caller_phone=scenario.caller.phone,
        caller=caller_facts(world.caller.pk) if world.caller is not None else None,
    )


async def converse(start: ConversationStart, lines: tuple[str, ...], *, kind: str, greeting: str = "") -> Transcript:
    """Say each line in turn and take the agent's whole reply to it, until the lines run out or the call is over."""
    transcript = Transcript(greeting=greeting)
    records = RecordsWithoutCall()
    agent = make_agent(start, kind=kind, records=records, recorder=transcript, database=CALLING_THREAD)
    try:
        if greeting:
            agent.said(greeting)  # as a call opens: the caller's first line answers it
        for index, line in enumerate(lines):
            if transcript.over:
                transcript.lines_left = len(lines) - index
                break
            turn = transcript.begin(line)
            agent.hear(line)
            try:
                async for event in agent.reply():
                    turn.take(event)
            finally:
                agent.heard(turn.reply)
    except AgentError as error:
        transcript.failure = f"the model failed: {error}"
    except Exception as error:  # one agent's bug fails its scenario, not the whole evaluation
        logger.exception("the agent crashed in an evaluated conversation")
        transcript.failure = f"the agent crashed: {type(error).__name__}: {error}"
        transcript.crash = traceback.format_exc()
    finally:
        await agent.aclose()
        transcript.identified_customer_id = records.identified_customer_id
    return transcript
