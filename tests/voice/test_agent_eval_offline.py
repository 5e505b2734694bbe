"""The offline agent passes every scenario of the evaluation, as `manage.py agent_eval --agent offline` runs them.

One test runs the whole set: it is what CI holds the offline agent to, and the evaluation's own checks
(bounds, read-backs, end states) are tested in test_agent_eval.py.
"""

import io

import pytest
from django.core.management import call_command

from voice.evaluation.scenarios import load_scenarios


@pytest.mark.django_db
def test_the_offline_agent_passes_every_scenario(settings):
    settings.OPENAI_API_KEY = ""
    call_command("load_demo", stdout=io.StringIO())
    out = io.StringIO()
    try:
        call_command("agent_eval", agent="offline", stdout=out)
    finally:
        print(out.getvalue())  # the table, shown by pytest when anything failed
    count = len(load_scenarios())
    assert count >= 30
    assert f"{count} of {count} scenarios passed (offline agent)" in out.getvalue()
