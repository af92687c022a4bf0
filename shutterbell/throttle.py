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

    def blocked(self, key: str) -> bool:
        try:
            return int(self.connection.get(self._key(key)) or 0) >= self.limit
        except (RedisError, OSError):
            return False

    def failed(self, key: str) -> None:
        try:
            with self.connection.pipeline() as pipe:
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


class SignInGuard:
    """Slows password guessing: 10 failures for one address from one IP, or 50 from one IP, in
    15 minutes pause sign-in there. Keyed on address *and* IP, so a stranger cannot lock the
    owner out by failing on purpose from elsewhere."""

    WINDOW = 15 * 60

    def __init__(self, connection: Redis):
        self.pair = Throttle(connection, "sign-in", limit=10, window=self.WINDOW)
        self.address = Throttle(connection, "sign-in-ip", limit=50, window=self.WINDOW)

    def blocked(self, email: str, ip: str) -> bool:
        return self.pair.blocked(f"{ip}|{email}") or self.address.blocked(ip)

    def failed(self, email: str, ip: str) -> None:
        self.pair.failed(f"{ip}|{email}")
        self.address.failed(ip)

    def succeeded(self, email: str, ip: str) -> None:
        self.pair.reset(f"{ip}|{email}")
