"""Counting attempts in Redis, to slow down password guessing (and, later, sign-up spam)."""
from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError


class Throttle:
    """At most ``limit`` failures per key within ``window`` seconds.

    Fails open: if Redis is down, sign-in still works (passwords are still checked; only the
    guessing brake is off), rather than locking every user out.
    """

    def __init__(self, connection: Redis, name: str, limit: int, window: int):
        self.connection, self.name, self.limit, self.window = connection, name, limit, window

    def _key(self, key: str) -> str:
        return f"shutterbell:throttle:{self.name}:{key}"

    def blocked(self, *keys: str) -> bool:
        try:
            counts = self.connection.mget([self._key(k) for k in keys])
        except (RedisError, OSError):
            return False
        return any(int(c or 0) >= self.limit for c in counts)

    def failed(self, *keys: str) -> None:
        try:
            with self.connection.pipeline() as pipe:
                for key in keys:
                    pipe.incr(self._key(key))
                    pipe.expire(self._key(key), self.window, nx=True)
                pipe.execute()
        except (RedisError, OSError):
            pass

    def reset(self, key: str) -> None:
        try:
            self.connection.delete(self._key(key))
        except (RedisError, OSError):
            pass
