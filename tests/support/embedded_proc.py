"""A supportbot-like process using the embedded Redis, for the tests that signal it.

``python embedded_proc.py DIR`` starts (or reuses) the embedded Redis in DIR, prints one JSON line
``{"url": ..., "started": ...}`` and then serves lines on stdin: ``set KEY VALUE`` answers ``ok``,
``get KEY`` answers the value. It stays until signalled (stdin closed, it waits).
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import redis

from supportbot.embedded_redis import EmbeddedRedis


def main() -> None:
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:  # started in the background: Ctrl-C as in a terminal
        signal.signal(signal.SIGINT, signal.default_int_handler)
    embedded = EmbeddedRedis(Path(sys.argv[1]))
    client = redis.Redis.from_url(embedded.start(), decode_responses=True)
    print(json.dumps({"url": embedded.url, "started": embedded.process is not None}), flush=True)
    for line in sys.stdin:
        command, key, *value = line.split()
        if command == "set":
            client.set(key, value[0])
            print("ok", flush=True)
        else:
            print(client.get(key), flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
