"""Probes for load balancers and supervisors.

``/healthz`` (liveness) says the process answers HTTP and touches nothing else. ``/readyz`` (readiness) says the
process should be sent work: the database accepts a connection and answers ``SELECT 1``, the cache's Redis
answers ``PING``, and the process is not draining. Each outside check is bounded by ``CHECK_TIMEOUT_SECONDS``,
so a database or a Redis that hangs makes the probe say "not ready" instead of hanging it.

``operations.middleware.ProbeMiddleware`` answers both before host validation, the https redirect, sessions
and CSRF: a load balancer may probe by IP address over plain http. They are routed too (``operations.urls``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from redis.backoff import NoBackoff
from redis.retry import Retry

from operations import draining

logger = logging.getLogger(__name__)

# Longest wait for each outside check (the database and Redis are checked at the same time).
CHECK_TIMEOUT_SECONDS = 1.0

OK = "ok"


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers HTTP."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return _no_store(HttpResponse("ok", content_type="text/plain"))


def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when every check passes, else 503; the JSON body names each check's result."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
    database = _database_check()  # runs in its own thread while Redis is asked here
    results = {"redis": _redis_result(), "database": _database_result(database, deadline)}
    is_draining = draining.is_draining()
    ready = all(value == OK for value in results.values()) and not is_draining
    body = {"database": results["database"], "redis": results["redis"], "draining": is_draining}
    response = HttpResponse(json.dumps(body), content_type="application/json", status=200 if ready else 503)
    return _no_store(response)


# The probes' paths, for the middleware that answers them early.
PROBES = {"/healthz": healthz, "/readyz": readyz}


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _failure(check: str, exc: BaseException) -> str:
    """The body names the kind of failure only; the details (hosts, ports) go to the log."""
    logger.warning("readiness: %s check failed: %s: %s", check, type(exc).__name__, exc)
    return f"error: {type(exc).__name__}"


# --------------------------------------------------------------------------- the database
#
# One thread of its own, so that a database that never answers costs the probe CHECK_TIMEOUT_SECONDS and no
# more: the request stops waiting, and the next probe finds the same check still pending instead of stacking
# another one behind it. Each check opens a connection and closes it, so it also proves that the server takes
# new connections, and no connection is left open between probes.

_database_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz-database")
_database_pending: Future | None = None
_database_lock = threading.Lock()


def _select_one() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def _database_check() -> Future:
    global _database_pending
    with _database_lock:
        if _database_pending is None or _database_pending.done():
            _database_pending = _database_worker.submit(_select_one)
        return _database_pending


def _database_result(check: Future, deadline: float) -> str:
    try:
        check.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        logger.warning("readiness: the database did not answer within %s s", CHECK_TIMEOUT_SECONDS)
        return f"error: no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:
        return _failure("database", exc)
    return OK


# --------------------------------------------------------------------------- redis
#
# The cache's Redis server and database, through a client of the probe's own: the cache's client waits as long
# as the socket allows and retries with backoff, which is right for the cache and wrong for a probe.

_redis_clients: dict[tuple[str, str | None], redis.Redis] = {}
_redis_lock = threading.Lock()


def _cache_redis() -> redis.Redis:
    cache = settings.CACHES["default"]
    location = cache["LOCATION"]
    if not isinstance(location, str):  # django-redis also takes a list: primary first, then replicas
        location = location[0]
    url = location.split(",")[0].strip()
    password = cache.get("OPTIONS", {}).get("PASSWORD")
    key = (url, password)
    with _redis_lock:
        client = _redis_clients.get(key)
        if client is None:
            extra = {"password": password} if password else {}
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
                socket_timeout=CHECK_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 0),
                **extra,
            )
            _redis_clients[key] = client
        return client


def _redis_result() -> str:
    try:
        _cache_redis().ping()
    except Exception as exc:
        return _failure("redis", exc)
    return OK
