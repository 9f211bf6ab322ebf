"""Scheduled jobs (APScheduler 3.x cron, timezone-aware), each run exactly once across replicas.

Every bot process runs the scheduler; when a cron fires, each replica tries to claim that fire
time in Redis (SET NX) and only the winner runs the job. Two jobs use it: retraining (skipped,
with the reason logged, when fewer than MIN_NEW_EXAMPLES approved examples arrived since the last
version) and the weekly digest (``bot/digest.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from supportbot.adapters import AdapterRegistry
from supportbot.errors import ConfigError
from supportbot.examples import count_since, eligible_examples
from supportbot.settings import Settings
from supportbot.store import Store

log = logging.getLogger(__name__)
CLAIM_TTL_S = 8 * 24 * 3600  # longer than the longest schedule's period (weekly)


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
    """Runs ``run()`` at each fire time of ``trigger``, on exactly one replica."""

    name = "job"

    def __init__(self, settings: Settings, store: Store, trigger: Any, tolerance_s: float = 30.0) -> None:
        self.settings = settings
        self.store = store
        self.trigger = trigger
        self.tolerance = timedelta(seconds=tolerance_s)
        self.scheduler = BackgroundScheduler(timezone=settings.timezone)
        self.scheduler.add_job(self.fire, self.trigger, id=self.name, coalesce=True, misfire_grace_time=60)

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
        """Run once per fire time across all replicas; 'not-mine' where another replica won."""
        now = now or datetime.now(self.scheduler.timezone)
        fired = self.fire_time(now)
        claim = self.store.keys.schedule_fire(self.name, fired.isoformat())
        if not self.store.redis.set(claim, "1", nx=True, ex=CLAIM_TTL_S):
            return "not-mine"
        try:
            return self.run(fired)
        except Exception:
            log.exception("scheduled %s at %s failed", self.name, fired.isoformat())
            return "failed"

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
    ) -> None:
        self.enqueue = enqueue
        super().__init__(settings, store, trigger or retrain_trigger(settings), tolerance_s)

    def run(self, fired: datetime) -> str:
        since = AdapterRegistry(self.store.redis, self.store.keys).last_trained_at()
        fresh = count_since(eligible_examples(self.store), since)
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
