"""Background processes: ``python worker.py`` runs an RQ worker, ``python worker.py cron`` the
periodic-job scheduler. Both build the app once and keep one app context for every job; the jobs
themselves and their schedule are ``shutterbell.tasks``."""
from __future__ import annotations

import gc
import sys

from rq import Queue, Worker
from rq.cron import CronScheduler

from app import create_app
from shutterbell import tasks
from shutterbell.extensions import db
from shutterbell.queue import urgent, wait_for_redis


def main(argv: list[str]) -> None:
    app = create_app()
    with app.app_context():
        connection = wait_for_redis(app.config["REDIS_URL"])
        name = app.config["QUEUE_NAME"]
        if argv[1:2] == ["cron"]:
            scheduler = CronScheduler(connection=connection)
            for cron_name, job, first, seconds in tasks.CRON:
                scheduler.register(job, urgent(name) if first else name, interval=seconds, name=cron_name)
            scheduler.start()
        else:
            queues = [Queue(urgent(name), connection=connection), Queue(name, connection=connection)]
            db.engine.dispose()  # each forked job opens its own connections, never the parent's
            # The app's objects live as long as the worker: each forked job's garbage collections
            # skip them (a third of the time of loading a batch, bench/delivery.py), and
            # copy-on-write keeps their pages shared.
            gc.freeze()
            # with_scheduler: a retry's job waits in Redis for its moment (``queue.send_messages_at``);
            # one of the workers moves it to the queue then, to the second.
            Worker(queues, connection=connection).work(burst="--burst" in argv, with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv)
