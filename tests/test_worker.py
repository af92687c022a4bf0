"""The background chain on a real Redis: a queued job runs in a worker with the app's context."""
from rq import Queue, SimpleWorker

from shutterbell import queue, tasks
from shutterbell.models import utcnow

from .conftest import text_of


def test_a_worker_runs_the_heartbeat_and_the_dashboard_says_so(app, as_olivia):
    connection = queue.connect(app.config["REDIS_URL"])
    connection.flushdb()
    assert "No background worker has checked in yet" in text_of(as_olivia.get("/"))

    rq_queue = Queue(app.config["QUEUE_NAME"], connection=connection)
    job = rq_queue.enqueue(tasks.heartbeat)
    with app.app_context():
        SimpleWorker([rq_queue], connection=connection).work(burst=True)
    assert job.get_status(refresh=True) == "finished"
    with app.app_context():
        assert queue.current().last_heartbeat() is not None
    assert "The background worker is running" in text_of(as_olivia.get("/"))


def test_an_unreachable_redis_reads_as_no_heartbeat():
    assert queue.JobQueue("redis://127.0.0.1:1/0", "shutterbell", 60).last_heartbeat() is None


def test_each_job_the_domain_hands_over_is_a_function_of_the_job_layer(app):
    """The domain names jobs (it never imports the job layer): each name must resolve."""
    jobs = queue.JobQueue(app.config["REDIS_URL"], "naming", 60)
    handed = [jobs.send_messages([1]), jobs.run_import(1), jobs.send_password_reset(1, "u"), jobs.sync_inbox_of(1),
              jobs.hand_over_at([1], utcnow())]
    jobs.redis.delete(queue.PASS_SOON_KEY)
    handed.append(jobs.pass_soon())
    assert jobs.pass_soon() is None  # asked for a moment ago: that one does it
    assert [job.func for job in handed] == [tasks.send_messages, tasks.run_import, tasks.send_password_reset,
                                            tasks.sync_inbox_of, tasks.hand_over, tasks.tick]
    assert [job.origin for job in handed] == ["naming", "naming", "naming-urgent", "naming", "naming-urgent",
                                              "naming-urgent"]


def test_healthz_says_what_is_down_and_answers_200_once_everything_runs(app, olivia):
    """For a monitor, without signing in: a fresh install with no worker is down (503); after a
    heartbeat ran in a real worker and the cron pass ran, it is up, and the oldest due message's
    wait is reported; an unreachable Redis is down again."""
    import time_machine
    from datetime import timedelta

    from shutterbell.extensions import db
    from shutterbell.models import Message, utcnow

    connection = queue.connect(app.config["REDIS_URL"])
    connection.flushdb()
    client = app.test_client()
    fresh = client.get("/healthz")
    assert fresh.status_code == 503 and fresh.json["worker_heartbeat"] is None and fresh.json["database"] == "ok"
    assert fresh.headers["Cache-Control"] == "no-store"

    now = utcnow()
    with app.app_context():
        db.session.add(Message(studio_id=olivia.studio_id, key="healthz:1", channel="email", recipient="anna@example.com",
                               due_at=now - timedelta(minutes=10), status="scheduled"))
        db.session.commit()
    rq_queue = Queue(app.config["QUEUE_NAME"], connection=connection)
    rq_queue.enqueue(tasks.heartbeat)
    rq_queue.enqueue(tasks.tick)  # the cron pass: it records when it ran
    with app.app_context():
        SimpleWorker([rq_queue], connection=connection).work(burst=True)
    up = client.get("/healthz")
    assert up.status_code == 200, up.json
    assert up.json["status"] == "ok" and up.json["redis"] == "ok" and 590 <= up.json["oldest_waiting_seconds"] <= 700

    with time_machine.travel(now + timedelta(minutes=5)):  # the worker and cron stopped meanwhile
        assert client.get("/healthz").status_code == 503
    app.extensions[queue.KEY], kept = queue.JobQueue("redis://127.0.0.1:1/0", "shutterbell", 60), app.extensions[queue.KEY]
    try:
        down = client.get("/healthz")
    finally:
        app.extensions[queue.KEY] = kept
    assert down.status_code == 503 and down.json["redis"].startswith("down")
