"""`manage.py shell` with every model, service and selector of the project imported.

Support staff can type `customer_find_by_phone("602.555.0100")` straight away.
Service and selector functions are named <entity>_<action>, so their names do
not collide across apps.
"""

import importlib
import inspect

from django.core.management.commands import shell

PROJECT_APPS = ("crm", "scheduling", "knowledge", "voice")
# The agent has no services of its own: support reaches it through its tools and what it knows at call start,
# e.g. run_tool(ToolContext(customer_id=42), ToolCall("t1", "get_upcoming_appointments", {})), and understand_when
# shows how the offline agent reads a day and time ("next Tuesday at 2").
AGENT_IMPORTS = (
    "agent.tools.registry.run_tool",
    "agent.tools.registry.TOOLS",
    "agent.tools.base.ToolContext",
    "agent.events.ToolCall",
    "agent.context.caller_facts",
    "agent.context.shop_facts",
    "agent.factory.make_agent",
    "agent.offline.when.understand_when",
)


class Command(shell.Command):
    def get_auto_imports(self):
        paths = list(super().get_auto_imports())
        for app in PROJECT_APPS:
            for kind in ("services", "selectors"):
                module_name = f"{app}.{kind}"
                try:
                    module = importlib.import_module(module_name)
                except ModuleNotFoundError as exc:
                    if exc.name != module_name:
                        raise
                    continue
                paths += [
                    f"{module_name}.{name}"
                    for name, obj in inspect.getmembers(module, inspect.isfunction)
                    if obj.__module__ == module_name and not name.startswith("_")
                ]
        return [*paths, *AGENT_IMPORTS]
