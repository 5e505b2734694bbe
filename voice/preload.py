"""Load what a phone call needs before the server takes its first call.

The provider SDKs, the URL configuration and the agent's prompt template are otherwise loaded on first use:
the first caller waits for close to a thousand imports, and everything they create arrives after
dealership/asgi.py has handed the loaded code to ``gc.freeze()``. Loaded there, those modules and classes
were more than half of what the collector tracked with 100 calls on the line, and each full collection,
which walks all of it while every call on the process waits, took about twice as long.
"""

from __future__ import annotations


def load_call_path() -> None:
    from django.template.loader import get_template
    from django.urls import get_resolver

    from agent.model_agent import SYSTEM_PROMPT_TEMPLATE
    from agent.providers import openai_chat
    from agent.tools.registry import tool_schemas
    from voice.providers import deepgram, twilio

    _ = get_resolver().url_patterns  # the webhooks, and with them the admin
    get_template(SYSTEM_PROMPT_TEMPLATE)
    tool_schemas()  # every tool module is imported by now; their schemas are built once, here
    deepgram.preload()
    openai_chat.preload()
    twilio.preload()
