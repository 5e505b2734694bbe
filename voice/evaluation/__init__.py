"""The agent evaluation behind ``manage.py agent_eval``: scenarios every agent must pass.

scenarios.toml holds the scenarios (who calls, what they say, what the CRM must look like afterwards);
scenarios.py reads and validates them, world.py sets up each one's world (and resolves its days), runner.py
plays one against an agent inside a transaction that is rolled back, checks.py judges the end state and the
bounds every conversation must keep, and report.py prints the table.
"""
