"""Redis and RQ plumbing shared by the web app, the worker and the cron process."""
from __future__ import annotations

import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def wait_for_redis(url: str, timeout: float = 30.0) -> Redis:
    """Processes start together (honcho): wait for Redis instead of dying while it boots."""
    deadline = time.monotonic() + timeout
    while True:
        connection = connect(url)
        try:
            connection.ping()
            return connection
        except (RedisConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def urgent(queue_name: str) -> str:
    """The queue workers take first: the cron pass, confirmations and what staff asked for now,
    so they never wait behind a long backlog of sends."""
    return f"{queue_name}-urgent"


def enqueue(url: str, queue_name: str, func, *args, timeout: int = 3600, at_front: bool = False):
    """Put a job on the worker queue (after the caller has committed what the job will read)."""
    from rq import Queue

    return Queue(queue_name, connection=connect(url)).enqueue(func, *args, job_timeout=timeout, at_front=at_front)
