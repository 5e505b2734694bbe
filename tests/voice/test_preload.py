"""Daphne's process loads a call's code at start-up, before handing it to gc.freeze()."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Loaded on a call's first use unless preloaded: the SDKs' clients, the webhooks (through the URLconf).
CALL_PATH = [
    "deepgram.listen.v1.socket_client",
    "deepgram.speak.v1.socket_client",
    "openai",
    "twilio.rest.api.v2010.account.call",
    "voice.webhooks",
    "agent.tools.appointments",  # the agent's tools, their pydantic models and schemas
    "agent.model_agent",
]

REPORT = f"""
import gc, json, sys
import dealership.asgi
walked = {{id(o) for o in gc.get_objects()}}  # the frozen are not among them
print(json.dumps({{name: name in sys.modules and id(vars(sys.modules[name])) not in walked for name in {CALL_PATH!r}}}))
"""


def test_a_calls_code_is_loaded_and_frozen_when_the_server_starts():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "dealership.settings"}
    result = subprocess.run([sys.executable, "-c", REPORT], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {name: True for name in CALL_PATH}


def test_the_server_considers_a_full_collection_ten_times_less_often():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "dealership.settings"}
    report = "import gc, json\nimport dealership.asgi\nprint(json.dumps([gc.get_threshold(), gc.get_freeze_count() > 0]))"
    result = subprocess.run([sys.executable, "-c", report], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (young, middle, full), frozen = json.loads(result.stdout.strip().splitlines()[-1])
    assert (young, middle) == (700, 10)  # CPython's own young and middle thresholds, unchanged
    assert full == 100 and frozen
