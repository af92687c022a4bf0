"""What a monitor asks (``/healthz``): is the database there, is Redis, did a worker run the
heartbeat and the cron process make its pass lately, and how long has the oldest due message
waited. Something down answers 503; a backlog alone does not (quiet hours, sending limits and a
paused account hold messages on purpose), it is reported for the monitor to judge.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from .extensions import db
from .models import Message, SchedulerPass

STALE = timedelta(minutes=3)  # both run every minute: three missed runs mean they stopped


@dataclass(frozen=True)
class Report:
    ok: bool
    checks: dict

    def as_json(self) -> dict:
        return {"status": "ok" if self.ok else "down", **self.checks}


def check(job_queue, now: datetime) -> Report:
    checks, ok = {}, True
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        checks["database"], ok = f"down: {type(exc).__name__}", False
    try:
        job_queue.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001 (any failure to reach it is "down")
        checks["redis"], ok = f"down: {type(exc).__name__}", False
    worker = job_queue.last_heartbeat()
    checks["worker_heartbeat"] = _moment(worker)
    ok = ok and worker is not None and now - worker <= STALE
    if checks["database"] == "ok":
        scheduler = db.session.scalar(sa.select(sa.func.max(SchedulerPass.started_at)))  # (indexed; a pass is quick)
        checks["scheduler_pass"] = _moment(scheduler)
        ok = ok and scheduler is not None and now - _aware(scheduler) <= STALE
        oldest = db.session.scalar(sa.select(sa.func.min(Message.due_at)).where(
            Message.status.in_(("scheduled", "queued")), Message.due_at <= now))
        checks["oldest_waiting_seconds"] = int((now - _aware(oldest)).total_seconds()) if oldest else 0
    return Report(ok, checks)


def _moment(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
