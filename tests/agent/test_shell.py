"""Support staff reach the agent from `manage.py shell`: its tools and what it knows at call start are imported."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_shell_has_the_agents_tools_at_hand(capsys):
    call_command("shell", command="print(sorted(TOOLS)[0], run_tool.__name__, ToolContext.__name__, "
                                  "ToolCall.__name__, caller_facts.__name__, shop_facts.__name__)",
                 verbosity=0)  # fmt: skip
    assert capsys.readouterr().out.split() == ["add_vehicle", "run_tool", "ToolContext", "ToolCall", "caller_facts",
                                               "shop_facts"]  # fmt: skip
