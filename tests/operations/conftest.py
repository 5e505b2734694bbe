import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from dealership.devservices import EmbeddedRedis


@pytest.fixture(scope="module")
def private_redis():
    """A Redis of its own for the server processes a test module starts: the tasks their calls queue (summaries)
    carry ids of the test database and must never reach a worker of the shared development Redis, which would run
    them against its own database. Nothing works that queue: the tasks stay there, and go with it."""
    directory = tempfile.mkdtemp(prefix="private_redis_")
    redis = EmbeddedRedis(Path(directory))
    url = redis.acquire()
    yield url
    atexit.unregister(redis.release)
    redis.release(os.getpid())
    shutil.rmtree(directory, ignore_errors=True)
