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
    with app.app_context():
        assert queue.current().last_heartbeat() is not None
    assert "The background worker is running" in text_of(as_olivia.get("/"))


def test_an_unreachable_redis_reads_as_no_heartbeat():
    assert queue.JobQueue("redis://127.0.0.1:1/0", "shutterbell", 60).last_heartbeat() is None


def test_each_job_the_domain_hands_over_is_a_function_of_the_job_layer(app):
    """The domain names jobs (it never imports the job layer): each name must resolve."""
    jobs = queue.JobQueue(app.config["REDIS_URL"], "naming", 60)
    handed = [jobs.send_messages([1]), jobs.run_import(1), jobs.send_password_reset(1, "u"), jobs.sync_inbox_of(1)]
    assert [job.func for job in handed] == [tasks.send_messages, tasks.run_import, tasks.send_password_reset,
                                            tasks.sync_inbox_of]
    assert [job.origin for job in handed] == ["naming", "naming", "naming-urgent", "naming"]
