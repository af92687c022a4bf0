"""The background chain on a real Redis: a queued job runs in a worker with the app's context."""
from rq import Queue, SimpleWorker

from shutterbell import queue, tasks

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
    assert tasks.last_heartbeat(connection) is not None
    assert "The background worker is running" in text_of(as_olivia.get("/"))


def test_an_unreachable_redis_reads_as_no_heartbeat():
    assert tasks.last_heartbeat(queue.connect("redis://127.0.0.1:1/0")) is None
