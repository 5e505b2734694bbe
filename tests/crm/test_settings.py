"""Start-up checks of dealership.settings, each in a fresh interpreter (settings run once per process)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from dealership.settings import redis_url_with_db

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'dealership.settings'; django.setup()"


def _run(tmp_path, extra_code: str = "", **env_overrides) -> subprocess.CompletedProcess:
    """Load the settings with these variables; None removes a variable. Never starts an embedded server."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL="postgresql://x@127.0.0.1:1/x",
        REDIS_URL="redis://127.0.0.1:1/0",
        VAR_DIR=str(tmp_path / "var"),  # whatever happens, the project's var/ is left alone
    )
    for name in ("SECRET_KEY", "DEBUG", "TIME_ZONE", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    for name, value in env_overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", SETUP + "\n" + extra_code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _refused(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def _good_key() -> str:
    key = secrets.token_urlsafe(40)[:50]
    assert len(key) == 50
    return key


def test_production_without_secret_key_is_refused(tmp_path):
    _refused(_run(tmp_path, DEBUG="false"), "SECRET_KEY")
    assert not (tmp_path / "var" / "secret_key").exists()


def test_debug_unset_means_production(tmp_path):
    _refused(_run(tmp_path), "SECRET_KEY")


def test_production_with_a_short_key_is_refused(tmp_path):
    _refused(_run(tmp_path, DEBUG="false", SECRET_KEY="short"), "SECRET_KEY")


@pytest.mark.parametrize("prefix", ["django-insecure-", "changeme", "Secret-"])
def test_production_with_a_placeholder_key_is_refused(tmp_path, prefix):
    _refused(_run(tmp_path, DEBUG="false", SECRET_KEY=prefix + "a" * 40), "SECRET_KEY")


def test_production_with_a_real_key_starts(tmp_path):
    key = _good_key()
    result = _run(
        tmp_path,
        "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY == os.environ['SECRET_KEY'])",
        DEBUG="false",
        SECRET_KEY=key,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
    assert not (tmp_path / "var" / "secret_key").exists()


def test_development_without_key_generates_and_keeps_one(tmp_path):
    var_dir = tmp_path
    show_key = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"
    first = _run(tmp_path, show_key, DEBUG="true", VAR_DIR=str(var_dir))
    assert first.returncode == 0, first.stderr
    key_file = var_dir / "secret_key"
    assert key_file.is_file()
    stored = key_file.read_text().strip()
    assert len(stored) >= 50
    assert first.stdout.split() == ["True", stored]
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only

    second = _run(tmp_path, show_key, DEBUG="true", VAR_DIR=str(var_dir))
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == ["True", stored]


def test_development_accepts_a_short_key(tmp_path):
    result = _run(tmp_path, "from django.conf import settings; print(settings.SECRET_KEY)", DEBUG="true", SECRET_KEY="dev")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "dev"


@pytest.mark.parametrize("value, expected", [("1", "True"), ("yes", "True"), ("ON", "True"), ("0", "False"), ("no", "False")])
def test_debug_spellings(tmp_path, value, expected):
    result = _run(tmp_path, "from django.conf import settings; print(settings.DEBUG)", DEBUG=value, SECRET_KEY=_good_key())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_debug_must_be_a_boolean(tmp_path):
    _refused(_run(tmp_path, DEBUG="maybe", SECRET_KEY=_good_key()), "DEBUG", "maybe")


def test_unknown_time_zone_is_refused(tmp_path):
    _refused(_run(tmp_path, DEBUG="false", SECRET_KEY=_good_key(), TIME_ZONE="Mars/Olympus"), "Mars/Olympus")


def test_time_zone_is_used(tmp_path):
    result = _run(
        tmp_path,
        "from django.conf import settings; print(settings.TIME_ZONE, settings.CELERY_TIMEZONE)",
        DEBUG="false",
        SECRET_KEY=_good_key(),
        TIME_ZONE="America/Chicago",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["America/Chicago", "America/Chicago"]


def test_cache_and_broker_use_separate_redis_databases(tmp_path):
    result = _run(
        tmp_path,
        "from django.conf import settings; print(settings.CACHES['default']['LOCATION']); print(settings.CELERY_BROKER_URL)",
        DEBUG="false",
        SECRET_KEY=_good_key(),
        REDIS_URL="redis://cache.internal:6380/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["redis://cache.internal:6380/1", "redis://cache.internal:6380/0"]


def test_broker_for_a_unix_socket_redis_is_a_kombu_socket_url(tmp_path):
    # The embedded Redis is reached through a Unix socket: kombu needs redis+socket://.
    result = _run(
        tmp_path,
        "from django.conf import settings; print(settings.CELERY_BROKER_URL)",
        DEBUG="false",
        SECRET_KEY=_good_key(),
        REDIS_URL="unix:///tmp/r.sock?db=0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "redis+socket:///tmp/r.sock?virtual_host=0"


@pytest.mark.parametrize(
    "url, db, expected",
    [
        ("redis://h:6379/0", 1, "redis://h:6379/1"),
        ("redis://h:6379", 1, "redis://h:6379/1"),
        ("redis://:pw@h:6379/0?ssl_cert_reqs=none", 2, "redis://:pw@h:6379/2?ssl_cert_reqs=none"),
        ("unix:///tmp/r.sock?db=0", 1, "unix:///tmp/r.sock?db=1"),
        ("unix:///tmp/r.sock", 1, "unix:///tmp/r.sock?db=1"),
    ],
)
def test_redis_url_with_db(url, db, expected):
    assert redis_url_with_db(url, db) == expected
