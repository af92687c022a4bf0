"""Periodic jobs, loaded by ``python worker.py cron`` (RQ's CronScheduler).

RQ's cron has no lock and does not replay runs missed while it was down: run exactly one cron
process, and let each job work out what is due from the database.
"""
import os

from rq import cron

from . import tasks
from .queue import urgent

QUEUE = os.environ.get("QUEUE_NAME", "shutterbell")

cron.register(tasks.heartbeat, urgent(QUEUE), interval=60, name="heartbeat")
# The pass first, before any send job waiting in the main queue.
cron.register(tasks.tick, urgent(QUEUE), interval=60, name="outbox")
cron.register(tasks.check_bounces, QUEUE, interval=600, name="bounces")  # enqueues one job per studio
