"""When will messages go out under a studio's sending limits? The dispatcher never hands over more
than the account allows per minute and per rolling 24 hours; this replays that rule forward so the
job timeline and the dry run can say when the last message of a large group will go."""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)


def spread(due: Iterable[datetime], per_minute: int | None, per_day: int | None,
           sent: Iterable[datetime] = (), waiting: int = 0, now: datetime | None = None) -> list[datetime]:
    """The send time of each due moment (in order of ``due``, earliest first), after ``waiting``
    messages already in line at ``now`` and the ``sent`` ones still counting against the limits."""
    windows = [(limit, span, deque(sorted(sent))) for limit, span in ((per_minute, MINUTE), (per_day, DAY)) if limit]
    line = [now] * waiting if now is not None else []
    times, clock = [], None
    for position, moment in enumerate([*line, *sorted(due)]):
        at = moment if clock is None else max(moment, clock)
        at = _first_free(at, windows)
        for _limit, _span, window in windows:
            window.append(at)
        clock = at
        if position >= len(line):
            times.append(at)
    return times


def _first_free(at: datetime, windows: list[tuple[int, timedelta, deque]]) -> datetime:
    """The earliest time from ``at`` with room in every window."""
    while True:
        moved = False
        for limit, span, window in windows:
            while window and window[0] <= at - span:
                window.popleft()
            if len(window) >= limit:
                at = window[-limit] + span  # when the oldest send that fills the window leaves it
                moved = True
        if not moved:
            return at
