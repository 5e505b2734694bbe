"""`manage.py check --deploy` on production settings, each run in a fresh process (settings are read once)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KEY = secrets.token_urlsafe(50)  # Django's own check wants 50 characters or more


def _manage(tmp_path, *args: str, **env_overrides: str | None) -> subprocess.CompletedProcess:
    """Production settings (DEBUG off, a real key) plus these variables; None removes one.

    The database and Redis URLs point at closed ports: the checks need neither, and no embedded server starts.
    """
    env = dict(os.environ)
    for name in ("DJANGO_SETTINGS_MODULE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
                 "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"):  # fmt: skip
        env.pop(name, None)
    env.update(
        DEBUG="false",
        SECRET_KEY=KEY,
        DATABASE_URL="postgresql://x@127.0.0.1:1/x",
        REDIS_URL="redis://127.0.0.1:1/0",
        VAR_DIR=str(tmp_path / "var"),
        PUBLIC_BASE_URL="https://crm.example.com",
        ALLOWED_HOSTS="crm.example.com",
    )
    for name, value in env_overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _deploy_check(tmp_path, **env) -> subprocess.CompletedProcess:
    return _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)


def _settings(tmp_path, *names: str, **env) -> list[str]:
    code = "from django.conf import settings; " + "; ".join(f"print(repr(settings.{name}))" for name in names)
    result = _manage(tmp_path, "shell", "--no-imports", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_https_production_passes_the_deploy_check_without_a_warning(tmp_path):
    result = _deploy_check(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "ERRORS" not in output
    assert "(security." not in output
    assert "System check identified no issues" in output


def test_https_production_redirects_to_https_and_sends_hsts(tmp_path):
    assert _settings(
        tmp_path,
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    ) == ["True", "31536000", "True", "False", "True", "True"]


def test_the_redirect_and_hsts_follow_the_environment(tmp_path):
    env = {
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "600",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
        "SECURE_HSTS_PRELOAD": "true",
    }
    values = _settings(
        tmp_path, "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD", **env,
    )  # fmt: skip
    assert values == ["False", "600", "False", "True"]
    # Turning the redirect off is allowed, and the deploy check says what it costs.
    result = _deploy_check(tmp_path, SECURE_SSL_REDIRECT="false")
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


def test_plain_http_production_still_runs_the_check(tmp_path):
    """Without https there is nothing to redirect to and no HSTS: the check warns about it but has no errors."""
    result = _manage(tmp_path, "check", "--deploy", PUBLIC_BASE_URL="http://crm.example.com")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERRORS" not in output
    values = _settings(tmp_path, "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", PUBLIC_BASE_URL="http://crm.example.com")
    assert values == ["False", "0"]
