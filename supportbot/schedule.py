"""Scheduled jobs (APScheduler 3.x cron, timezone-aware), each run exactly once across replicas.

Every bot process runs the scheduler. When a cron fires, each replica tries to take the lease on
that fire time (a redis-py ``Lock`` with a TTL, renewed while the job runs); the one that gets it
runs the job, marks the fire time done if it succeeds and lets the lease go either way. Every
replica also looks, every minute, for a recent fire time that is not done and whose lease is free
(its run failed, or its replica died and the lease ran out) and runs it: at most ``max_attempts``
attempts per fire time, ``retry_after_s`` apart and doubling, so a run that always fails does not
loop. Two jobs use it: retraining (skipped, with the reason logged, when fewer than
MIN_NEW_EXAMPLES approved examples arrived since the last version) and the weekly digest
(``bot/digest.py``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from redis.exceptions import LockError

from supportbot.adapters import AdapterRegistry
from supportbot.errors import ConfigError
from supportbot.examples import count_since, eligible_examples
from supportbot.settings import Settings
from supportbot.store import Store
from supportbot.training_lock import TrainingLock

log = logging.getLogger(__name__)
CLAIM_TTL_S = 8 * 24 * 3600  # a fire time's record outlives the longest schedule's period (weekly)


@dataclass(frozen=True)
class FirePolicy:
    """How a fire time is leased and retried (the defaults suit hourly to weekly schedules)."""

    lease_s: float = 120.0  # a lease runs out this long after its last renewal (every third of it)
    recover_every_s: float = 60.0  # how often each replica looks for fire times left undone
    recover_window_s: float = 24 * 3600.0  # how far back it looks
    max_attempts: int = 3
    retry_after_s: float = 300.0  # after a failed attempt; doubled after each further one

    def __post_init__(self) -> None:
        if self.lease_s <= 0 or self.recover_every_s <= 0 or self.max_attempts < 1 or self.retry_after_s < 0:
            raise ValueError(f"invalid schedule policy: {self}")


def cron_trigger(variable: str, cron: str, timezone: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(cron, timezone=timezone)
    except (ValueError, LookupError) as exc:
        raise ConfigError(
            f"{variable}={cron!r} / TIMEZONE={timezone!r}: {exc} "
            "(five crontab fields, e.g. '0 3 * * mon', and an IANA zone such as Europe/Berlin)"
        ) from None


def retrain_trigger(settings: Settings) -> CronTrigger:
    return cron_trigger("RETRAIN_CRON", settings.retrain_cron, settings.timezone)


class OncePerFire:
    """Runs ``run()`` at each fire time of ``trigger``, to completion on exactly one replica."""

    name = "job"

    def __init__(
        self,
        settings: Settings,
        store: Store,
        trigger: Any,
        tolerance_s: float = 30.0,
        *,
        policy: FirePolicy | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.trigger = trigger
        self.tolerance = timedelta(seconds=tolerance_s)
        self.policy = policy or FirePolicy()
        self.scheduler = BackgroundScheduler(timezone=settings.timezone)
        self.scheduler.add_job(self.fire, self.trigger, id=self.name, coalesce=True, misfire_grace_time=60)
        every = IntervalTrigger(seconds=self.policy.recover_every_s)
        self.scheduler.add_job(self.recover, every, id=f"{self.name}-recover", coalesce=True, max_instances=1)

    def start(self) -> None:
        self.scheduler.start()
        log.info("%s scheduled: %s (%s)", self.name, self.trigger, self.settings.timezone)

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)

    def fire_time(self, now: datetime) -> datetime:
        """The scheduled time that is firing now: the first fire time after now - tolerance."""
        fire = self.trigger.get_next_fire_time(None, now - self.tolerance)
        return fire if fire is not None and fire <= now + self.tolerance else now.replace(microsecond=0)

    def fire(self, now: datetime | None = None) -> str:
        """Run once per fire time across all replicas; 'not-mine' where another replica has it or had it."""
        now = now or datetime.now(self.scheduler.timezone)
        return self.attempt(self.fire_time(now), now)

    def recover(self, now: datetime | None = None) -> list[str]:
        """Run the recent fire times left undone whose lease is free; the outcomes of the runs made."""
        now = now or datetime.now(self.scheduler.timezone)
        fires = self.store.keys.schedule_fires(self.name)
        since = now.timestamp() - self.policy.recover_window_s
        self.store.redis.zremrangebyscore(fires, "-inf", f"({since}")
        outcomes = []
        for fired in self.store.redis.zrangebyscore(fires, since, now.timestamp()):
            if self.store.redis.hget(self.store.keys.schedule_fire(self.name, fired), "state") == "done":
                continue  # the common case, checked without taking the lease
            outcome = self.attempt(datetime.fromisoformat(fired), now)
            if outcome != "not-mine":
                outcomes.append(outcome)
        return outcomes

    def attempt(self, fired: datetime, now: datetime) -> str:
        """Take the lease on ``fired`` and run it if it is neither done nor waiting for a retry nor out of attempts."""
        keys, client = self.store.keys, self.store.redis
        record = keys.schedule_fire(self.name, fired.isoformat())
        lease = client.lock(keys.schedule_lease(self.name, fired.isoformat()), timeout=self.policy.lease_s,
                            thread_local=False, raise_on_release_error=False)  # fmt: skip
        if not lease.acquire(blocking=False):
            return "not-mine"
        try:
            attempts = self._start(record, fired, now)
            if attempts is None:
                return "not-mine"
            with self._renewing(lease, fired):
                try:
                    outcome = self.run(fired)
                except Exception:
                    self._failed(record, fired, now, attempts)
                    return "failed"
            client.hset(record, mapping={"state": "done", "outcome": outcome})
            return outcome
        finally:
            lease.release()

    def _start(self, record: str, fired: datetime, now: datetime) -> int | None:
        """Under the lease: record the attempt and return its number, or None where none is due."""
        client = self.store.redis
        if client.type(record) not in ("hash", "none"):
            return None  # claimed for good by a replica of an earlier version
        state: dict[str, str] = client.hgetall(record)
        attempts = int(state.get("attempts", 0))
        if state.get("state") == "done" or attempts >= self.policy.max_attempts:
            return None
        if float(state.get("retry_at", 0)) > now.timestamp():
            return None
        if state.get("state") == "running":
            log.warning("scheduled %s at %s was left unfinished (its replica stopped); running it again",
                        self.name, fired.isoformat())  # fmt: skip
        with client.pipeline(transaction=True) as pipe:
            pipe.hset(record, mapping={"state": "running", "attempts": attempts + 1})
            pipe.expire(record, CLAIM_TTL_S)
            pipe.zadd(self.store.keys.schedule_fires(self.name), {fired.isoformat(): fired.timestamp()})
            pipe.execute()
        return attempts + 1

    def _failed(self, record: str, fired: datetime, now: datetime, attempts: int) -> None:
        if attempts >= self.policy.max_attempts:
            log.exception("scheduled %s at %s failed (attempt %d of %d, giving up)",
                          self.name, fired.isoformat(), attempts, self.policy.max_attempts)  # fmt: skip
            self.store.redis.hset(record, "state", "failed")
            return
        delay = self.policy.retry_after_s * 2 ** (attempts - 1)
        log.exception("scheduled %s at %s failed (attempt %d of %d); a replica retries it in %.0f s",
                      self.name, fired.isoformat(), attempts, self.policy.max_attempts, delay)  # fmt: skip
        self.store.redis.hset(record, mapping={"state": "failed", "retry_at": now.timestamp() + delay})

    @contextlib.contextmanager
    def _renewing(self, lease: Any, fired: datetime) -> Iterator[None]:
        """Renew the lease every third of its TTL while the job runs."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.policy.lease_s / 3):
                try:
                    lease.reacquire()
                except LockError:
                    log.error("lost the lease on scheduled %s at %s: another replica may run it too",
                              self.name, fired.isoformat())  # fmt: skip
                    return
                except redis.RedisError as exc:
                    log.warning("could not renew the lease on scheduled %s: %s", self.name, exc)

        renewer = threading.Thread(target=renew, name=f"{self.name}-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def run(self, fired: datetime) -> str:
        raise NotImplementedError


class RetrainSchedule(OncePerFire):
    name = "retrain"

    def __init__(
        self,
        settings: Settings,
        store: Store,
        enqueue: Callable[[str], Any],
        trigger: Any = None,
        tolerance_s: float = 30.0,
        *,
        policy: FirePolicy | None = None,
    ) -> None:
        self.enqueue = enqueue
        super().__init__(settings, store, trigger or retrain_trigger(settings), tolerance_s, policy=policy)

    def run(self, fired: datetime) -> str:
        if TrainingLock(self.store.redis, self.store.keys).held():
            # A frequent cron (every minute) must not queue a run per fire time while one trains.
            log.info("scheduled retraining at %s skipped: a training is running", fired.isoformat())
            return "skipped"
        since = AdapterRegistry(self.store.redis, self.store.keys).last_trained_at()
        fresh = count_since(eligible_examples(self.store, self.settings.min_upvoters), since)
        if fresh < self.settings.min_new_examples:
            log.info(
                "scheduled retraining at %s skipped: %d new approved examples, MIN_NEW_EXAMPLES=%d",
                fired.isoformat(),
                fresh,
                self.settings.min_new_examples,
            )
            return "skipped"
        self.enqueue("schedule")
        log.info("scheduled retraining at %s enqueued (%d new examples)", fired.isoformat(), fresh)
        return "enqueued"
