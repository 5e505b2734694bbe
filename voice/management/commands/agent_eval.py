"""Evaluate the phone agent against the scenarios in voice/evaluation/scenarios.toml.

    manage.py agent_eval                          # every scenario, with the agent calls get by default
    manage.py agent_eval --agent offline          # the offline agent (model: the model agent)
    manage.py agent_eval --scenario cancel-next   # one scenario
    manage.py agent_eval --verbose                # and print each conversation with its tool calls

Needs the demo dealership (manage.py load_demo). Each scenario runs in a transaction that is rolled back, so
the database is left as it was. Prints a table and exits with status 1 when any scenario failed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from agent.factory import MODEL, OFFLINE, agent_kind
from agent.providers import openai_chat
from voice.evaluation import report
from voice.evaluation.runner import run_scenario
from voice.evaluation.scenarios import ScenarioError, load_scenarios
from voice.evaluation.world import LOAD_DEMO, DemoDataMissing, WorldError, missing_demo_data


class Command(BaseCommand):
    help = "Run the agent evaluation: every scenario (or one), a table of results, exit status 1 if any failed."

    def add_arguments(self, parser):
        parser.add_argument("--agent", choices=[OFFLINE, MODEL],
                            help="which agent to evaluate (default: model when OPENAI_API_KEY is set, else offline)")
        parser.add_argument("--scenario", metavar="NAME", help="run only this scenario")
        parser.add_argument("--verbose", action="store_true", help="print each conversation and its tool calls")

    def handle(self, *args, **options):
        try:
            scenarios = load_scenarios()
        except ScenarioError as exc:
            raise CommandError(str(exc)) from None
        if options["scenario"]:
            scenarios = [s for s in scenarios if s.name == options["scenario"]] or self._unknown(
                options["scenario"], [s.name for s in scenarios]
            )
        kind = options["agent"] or agent_kind()
        if kind == MODEL and not openai_chat.is_configured():
            raise CommandError("the model agent needs OPENAI_API_KEY; use --agent offline to run without it")
        missing = missing_demo_data(phone for scenario in scenarios for phone in scenario.customer_phones())
        if missing:
            raise CommandError(f"the demo dealership is missing ({'; '.join(missing)}): {LOAD_DEMO}")

        outcomes = []
        for scenario in scenarios:
            try:
                outcome = run_scenario(scenario, kind=kind)
            except (WorldError, DemoDataMissing) as exc:
                raise CommandError(f"scenario {scenario.name!r}: {exc}") from None
            if options["verbose"]:
                self.stdout.write(report.conversation(outcome) + "\n")
            outcomes.append(outcome)
        self.stdout.write(report.table(outcomes))
        self.stdout.write(f"\n{report.summary(outcomes)} ({kind} agent)")
        failed = sum(not outcome.passed for outcome in outcomes)
        if failed:
            raise CommandError(f"{failed} of {len(outcomes)} scenarios failed")

    def _unknown(self, name: str, names: list[str]):
        raise CommandError(f"no scenario called {name!r}; the scenarios are: {', '.join(names)}")
