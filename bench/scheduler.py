"""How long a scheduler pass takes: 2,000 jobs, 100,000 customers, profiles of 6 notifications.
The first pass makes 100,000 due messages (every customer's welcome); a second pass at the next
minute finds nothing new. On the embedded SQLite default and on PostgreSQL (a scratch database on
127.0.0.1:5432, dropped afterwards).

Run: .venv/bin/python bench/scheduler.py [jobs] [customers-per-job]
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp())

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from shutterbell import accounts, mailsettings, outbox, profiles  # noqa: E402
from shutterbell.extensions import db  # noqa: E402
from shutterbell.models import Consent, Customer, Job, Message, utcnow  # noqa: E402
from shutterbell.profiles import NotificationInput, ProfileInput  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def notification(trigger, audience="all", days=None, channel="email"):
    return NotificationInput(trigger=trigger, days=days, audience=audience, channel=channel,
                             subject="Hello {{ customer.first_name }}",
                             body="Hi {{ customer.first_name }}, your photos of {{ job.name }}: {{ job.gallery_url }}")


def seed(job_count: int, per_job: int) -> None:
    owner = accounts.create_studio(accounts.NewStudio("Bench", "Europe/Berlin", "de_DE", "b@example.com",
                                                      "benchmark-password"))
    studio = owner.studio
    mailsettings.save_smtp(mailsettings.account_of(studio), mailsettings.SmtpInput(
        "127.0.0.1", 2525, "none", "", "", "studio@bench.example", "Bench", ""), True, utcnow())
    profile = profiles.save_profile(studio, None, ProfileInput("Six", "", [
        notification("customer_registered", audience="potential_buyers"),
        notification("days_before_archived", days=7), notification("days_before_archived", days=1),
        notification("days_after_published", days=3, audience="potential_buyers"),
        notification("days_before_order_deadline", days=2, audience="potential_buyers"),
        notification("days_after_order_unpaid", days=3, audience="buyers"),
    ]))
    now = utcnow()
    db.session.execute(sa.insert(Job), [
        {"studio_id": studio.id, "profile_id": profile.id, "name": f"School {j}", "status": "active",
         "access_code": f"B{j:07d}", "archives_at": date.today() + timedelta(days=60),
         "order_deadline": date.today() + timedelta(days=30), "gallery_url": f"https://g.example/{j}",
         "created_at": now, "updated_at": now} for j in range(job_count)])
    job_ids = db.session.scalars(sa.select(Job.id).order_by(Job.id)).all()
    registered = now - timedelta(minutes=2)
    rows = [{"studio_id": studio.id, "job_id": job_id, "first_name": f"Kid{n}", "last_name": "X",
             "email": f"kid{j}.{n}@example.com", "registered_at": registered, "confirmed_at": registered,
             "unsubscribe_token": uuid.uuid4().hex, "created_at": registered}
            for j, job_id in enumerate(job_ids) for n in range(per_job)]
    db.session.execute(sa.insert(Customer), rows)
    customer_ids = db.session.scalars(sa.select(Customer.id)).all()
    db.session.execute(sa.insert(Consent), [{"studio_id": studio.id, "customer_id": cid, "channel": "email",
                                             "path": "import", "wording": "ok", "given_at": registered}
                                            for cid in customer_ids])
    db.session.commit()


def run(name: str, url: str, job_count: int, per_job: int) -> tuple[float, float]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        seed(job_count, per_job)
        db.session.execute(sa.text("ANALYZE"))  # as autovacuum would after a large import
        db.session.commit()
        policy = outbox.Policy(base_url="https://bench.example")
        now = utcnow()
        outbox.schedule(now - timedelta(minutes=10), policy)  # an earlier pass: the watermark
        start = time.perf_counter()
        made = outbox.schedule(now, policy)
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = outbox.schedule(now + timedelta(minutes=1), policy)
        second = time.perf_counter() - start
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Message))
        print(f"{name}: first pass made {made:,} messages in {first:.2f} s ({made / first:,.0f}/s); "
              f"second pass made {again} in {second * 1000:.0f} ms; {total:,} rows")
        db.session.remove()
        db.engine.dispose()
    return first, second


def main(job_count: int, per_job: int) -> None:
    folder = Path(os.environ["INSTANCE_PATH"])
    sqlite = run("SQLite", f"sqlite:///{folder / 'bench.db'}", job_count, per_job)
    name = f"bench_scheduler_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        pg = run("PostgreSQL", f"{base}/{name}", job_count, per_job)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"first pass (100k due) SQLite {sqlite[0]:.2f} s, PostgreSQL {pg[0]:.2f} s (goal < 2 s); "
          f"second pass SQLite {sqlite[1] * 1000:.0f} ms, PostgreSQL {pg[1] * 1000:.0f} ms (goal < 100 ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, int(sys.argv[2]) if len(sys.argv) > 2 else 50)
