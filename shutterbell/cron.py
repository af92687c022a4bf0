"""Periodic jobs, loaded by ``python worker.py cron`` (RQ's CronScheduler).

RQ's cron has no lock and does not replay runs missed while it was down: run exactly one cron
process, and let each job work out what is due from the database.
"""
import os

from rq import cron

from . import tasks

QUEUE = os.environ.get("QUEUE_NAME", "shutterbell")

cron.register(tasks.heartbeat, QUEUE, interval=60, name="heartbeat")
cron.register(tasks.tick, QUEUE, interval=60, name="outbox")
