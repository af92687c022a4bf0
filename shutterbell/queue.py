"""How the domain hands work to the workers: ``queue.current()``, one ``JobQueue`` per process
(bound by ``create_app``, with one Redis connection pool). Jobs are named, not imported: the job
functions (``shutterbell.tasks``) sit above the domain and import it, never the other way round.
"""
from __future__ import annotations

import time
from datetime import datetime

from flask import current_app
from redis import ConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

KEY = "shutterbell.queue"
HEARTBEAT_KEY = "shutterbell:heartbeat"
PASS_SOON_KEY = "shutterbell:pass-soon"
PASS_SOON_EVERY = 2  # seconds
JOBS = "shutterbell.tasks"  # the module RQ imports a job's function from
TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 5}
INBOX_SYNC_TIMEOUT = 30 * 60  # a first sync of a large mailbox; later ones take seconds
INBOX_SYNC_LOCK = "shutterbell:inbox-sync:{}"  # one sync per studio at a time


def connect(url: str) -> Redis:
    return Redis.from_url(url, **TIMEOUTS)


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


class JobQueue:
    """The jobs the domain asks for, each a method. Callers commit what a job will read first."""

    def __init__(self, redis_url: str, name: str, send_timeout: int):
        self.redis = Redis(connection_pool=ConnectionPool.from_url(redis_url, **TIMEOUTS))
        self.name, self.send_timeout = name, send_timeout

    def send_messages(self, ids: list[int], *, at_front: bool = False, now: bool = False):
        """A batch of outbox messages; ``now``: on the urgent queue (what staff or a customer is
        waiting for), ``at_front``: ahead of the main queue's backlog."""
        return self._enqueue("send_messages", ids, timeout=self.send_timeout, at_front=at_front, first=now)

    def hand_over_at(self, ids: list[int], moment: datetime):
        """Hand messages to the workers at ``moment`` (a retry's), not at the first cron pass after
        it: the workers' scheduler (``with_scheduler``) runs the hand-over then, to the second."""
        from rq import Queue

        queue = Queue(urgent(self.name), connection=self.redis)
        return queue.enqueue_at(moment, f"{JOBS}.hand_over", ids)

    def run_import(self, import_id: int):
        return self._enqueue("run_import", import_id)

    def sync_inbox_of(self, studio_id: int):
        return self._enqueue("sync_inbox_of", studio_id, timeout=INBOX_SYNC_TIMEOUT)

    def pass_soon(self):
        """A scheduler pass in a moment rather than at the next minute (a confirmed sign-up's
        welcome): one at most every ``PASS_SOON_EVERY`` seconds, however many ask. None when one
        was asked for just now (that one, or the minute's pass, makes this one's messages)."""
        if self.redis.set(PASS_SOON_KEY, "1", nx=True, ex=PASS_SOON_EVERY):
            return self._enqueue("tick", first=True)
        return None

    def send_password_reset(self, user_id: int, reset_url: str):
        return self._enqueue("send_password_reset", user_id, reset_url, first=True)

    def last_heartbeat(self) -> datetime | None:
        """When a worker last ran the heartbeat job, or None (never, or Redis unreachable)."""
        try:
            value = self.redis.get(HEARTBEAT_KEY)
        except (RedisError, OSError):
            return None
        return datetime.fromisoformat(value.decode()) if value else None

    def _enqueue(self, job: str, *args, timeout: int = 3600, at_front: bool = False, first: bool = False):
        """``first``: on the urgent queue, which workers take before the main one."""
        from rq import Queue

        queue = Queue(urgent(self.name) if first else self.name, connection=self.redis)
        return queue.enqueue(f"{JOBS}.{job}", *args, job_timeout=timeout, at_front=at_front)


def init_app(app, lease_seconds: int) -> None:
    """``lease_seconds``: a send job's time limit, the outbox's lease (a job never outlives it)."""
    app.extensions[KEY] = JobQueue(app.config["REDIS_URL"], app.config["QUEUE_NAME"], lease_seconds)


def current() -> JobQueue:
    return current_app.extensions[KEY]
