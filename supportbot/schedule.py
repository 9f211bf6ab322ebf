"""Scheduled retraining (APScheduler 3.x cron, timezone-aware), exactly once across replicas.

Every bot process runs the scheduler; when the cron fires, each replica tries to claim that fire
time in Redis (SET NX) and only the winner enqueues. It skips, with the reason logged, when fewer
than MIN_NEW_EXAMPLES approved examples arrived since the last version.
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
CLAIM_TTL_S = 24 * 3600


def retrain_trigger(settings: Settings) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(settings.retrain_cron, timezone=settings.timezone)
    except (ValueError, LookupError) as exc:
        raise ConfigError(
            f"RETRAIN_CRON={settings.retrain_cron!r} / TIMEZONE={settings.timezone!r}: {exc} "
            "(five crontab fields, e.g. '0 3 * * mon', and an IANA zone such as Europe/Berlin)"
        ) from None


class RetrainSchedule:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        enqueue: Callable[[str], Any],
        trigger: Any = None,
        tolerance_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.enqueue = enqueue
        self.trigger = trigger or retrain_trigger(settings)
        self.tolerance = timedelta(seconds=tolerance_s)
        self.scheduler = BackgroundScheduler(timezone=settings.timezone)
        self.scheduler.add_job(self.fire, self.trigger, id="retrain", coalesce=True, misfire_grace_time=60)

    def start(self) -> None:
        self.scheduler.start()
        log.info("retraining scheduled: %s (%s)", self.settings.retrain_cron, self.settings.timezone)

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)

    def fire_time(self, now: datetime) -> datetime:
        """The scheduled time that is firing now: the first fire time after now - tolerance."""
        fire = self.trigger.get_next_fire_time(None, now - self.tolerance)
        return fire if fire is not None and fire <= now + self.tolerance else now.replace(microsecond=0)

    def fire(self, now: datetime | None = None) -> str:
        """Run once per fire time across all replicas: 'enqueued', 'skipped' or 'not-mine'."""
        now = now or datetime.now(self.scheduler.timezone)
        fired = self.fire_time(now).isoformat()
        claim = self.store.keys.schedule_fire("retrain", fired)
        if not self.store.redis.set(claim, "1", nx=True, ex=CLAIM_TTL_S):
            return "not-mine"
        since = AdapterRegistry(self.store.redis, self.store.keys).last_trained_at()
        fresh = count_since(eligible_examples(self.store), since)
        if fresh < self.settings.min_new_examples:
            log.info(
                "scheduled retraining at %s skipped: %d new approved examples, MIN_NEW_EXAMPLES=%d",
                fired,
                fresh,
                self.settings.min_new_examples,
            )
            return "skipped"
        self.enqueue("schedule")
        log.info("scheduled retraining at %s enqueued (%d new examples)", fired, fresh)
        return "enqueued"
