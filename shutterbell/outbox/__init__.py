"""The outbox: every message a studio sends, made, handed over and sent through one table.

- ``making``: the scheduler pass that makes the messages due (and the confirmation email, made
  at once), from ``materialise``;
- ``handover``: the sweeper and the dispatcher that hand ready messages to workers, fairly and
  within each studio's sending limits;
- ``sending``: the worker's batch: claim, check, write and send each message over its channel's
  session (``shutterbell.channels``), and judge each failure;
- ``studio_batch``: what a worker reads once per studio, and whether a message is still wanted;
- ``outcomes``: the one writer of a message's outcome.

The database is the source of truth; Redis/RQ only carries message ids, so a lost RQ job or a
flushed Redis loses nothing. Every function takes ``now``: tests run a pass at any instant.
"""
from ..settings import Policy
from .handover import dispatch, dispatch_now, pass_soon, run_pass, sweep
from .making import cancel_ahead, confirmation_resend_at, queue_confirmation, request_resubscription, schedule
from .sending import claim, send_batch, stop_after_this_message

__all__ = ["Policy", "cancel_ahead", "claim", "confirmation_resend_at", "dispatch", "dispatch_now", "pass_soon", "queue_confirmation", "request_resubscription", "run_pass",
           "schedule", "send_batch", "stop_after_this_message", "sweep"]
