"""A scheduled job that counts its runs in Redis, for the exactly-once tests; run as a script, a
replica that takes one fire time and dies in the middle of it.

``python schedule_replica.py FIRE_ISO LEASE_S`` (REDIS_URL from the environment) fires the job at
FIRE_ISO with a lease of LEASE_S seconds, prints ``running`` once the job has started and then
stays in the job until it is killed.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime

import redis
from apscheduler.triggers.cron import CronTrigger

from supportbot.schedule import FirePolicy, OncePerFire
from supportbot.settings import load_settings
from supportbot.store import Store

STARTED = "sb:test:counted:started"
COMPLETED = "sb:test:counted:completed"
FAILURES_LEFT = "sb:test:counted:failures-left"  # while above zero, each run decrements it and fails
WEEKLY = CronTrigger(day_of_week="mon", hour=3, timezone="UTC")


class Counted(OncePerFire):
    name = "counted"

    def __init__(self, store: Store, policy: FirePolicy, hang: bool = False) -> None:
        self.hang = hang
        super().__init__(load_settings(), store, WEEKLY, policy=policy)

    def run(self, fired: datetime) -> str:
        client = self.store.redis
        client.incr(STARTED)
        if self.hang:
            print("running", flush=True)
            while True:  # until SIGKILLed
                time.sleep(60)
        if client.decr(FAILURES_LEFT) >= 0:
            raise RuntimeError("the job failed")
        client.incr(COMPLETED)
        return "done"


def main() -> None:
    fired, lease_s = datetime.fromisoformat(sys.argv[1]), float(sys.argv[2])
    store = Store(redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True))
    Counted(store, FirePolicy(lease_s=lease_s), hang=True).attempt(fired, fired)


if __name__ == "__main__":
    main()
