"""Every Redis key template supportbot uses, in one place.

All keys start with the configured prefix (``SUPPORTBOT_KEY_PREFIX``, default ``sb:``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "sb:"

    def question(self, question_id: str) -> str:
        """JSON of one Question."""
        return f"{self.prefix}question:{question_id}"

    def question_answers(self, question_id: str) -> str:
        """List of answer ids of one question, in posting order."""
        return f"{self.prefix}question:{question_id}:answers"

    def answer(self, answer_id: str) -> str:
        """JSON of one Answer."""
        return f"{self.prefix}answer:{answer_id}"

    def votes(self, answer_id: str) -> str:
        """Hash of Slack user id -> current vote (1 or -1) on one answer."""
        return f"{self.prefix}answer:{answer_id}:votes"

    def vote_times(self, answer_id: str) -> str:
        """Hash of Slack user id -> when their current vote on one answer was cast."""
        return f"{self.prefix}answer:{answer_id}:voted_at"

    @property
    def voted(self) -> str:
        """Sorted set of answer ids that have votes, scored by the last change."""
        return f"{self.prefix}voted"

    def thread(self, channel: str, thread_ts: str) -> str:
        """The question id whose answers live in Slack thread (channel, thread_ts)."""
        return f"{self.prefix}thread:{channel}:{thread_ts}"

    def correction(self, correction_id: str) -> str:
        """JSON of one Correction."""
        return f"{self.prefix}correction:{correction_id}"

    def corrections(self, status: str) -> str:
        """Sorted set of correction ids with one status (pending/approved/rejected), by creation."""
        return f"{self.prefix}corrections:{status}"

    def gate_answer(self, digest: str) -> str:
        """JSON of one Generation the gate produced, by SHA-256 of (who, messages, limit); expires."""
        return f"{self.prefix}gate-answer:{digest}"

    def seed(self, seed_id: str) -> str:
        """JSON of one imported SeedExample."""
        return f"{self.prefix}seed:{seed_id}"

    @property
    def seeds(self) -> str:
        """Sorted set of seed example ids by import time."""
        return f"{self.prefix}seeds"

    @property
    def splits(self) -> str:
        """Hash of normalised question -> train|eval, set once: an example never changes split."""
        return f"{self.prefix}splits"

    @property
    def datasets(self) -> str:
        """Sorted set of dataset snapshot hashes by build time."""
        return f"{self.prefix}datasets"

    def dataset(self, snapshot: str) -> str:
        """JSON stats of one dataset snapshot."""
        return f"{self.prefix}dataset:{snapshot}"

    def adapter(self, version: str) -> str:
        """JSON of one AdapterVersion."""
        return f"{self.prefix}adapter:{version}"

    @property
    def adapters(self) -> str:
        """Sorted set of adapter versions by number."""
        return f"{self.prefix}adapters"

    @property
    def adapter_counter(self) -> str:
        """INCR counter handing out version numbers."""
        return f"{self.prefix}adapters:counter"

    @property
    def active_adapter(self) -> str:
        """The version serving now. Switched in one command, so promotion is atomic."""
        return f"{self.prefix}adapters:active"

    @property
    def adapter_events(self) -> str:
        """Pub/sub channel announcing a new active adapter to running bots."""
        return f"{self.prefix}adapters:events"

    @property
    def training_lock(self) -> str:
        """Held while a training runs: at most one at a time."""
        return f"{self.prefix}training:lock"

    def schedule_fire(self, job: str, fire_time: str) -> str:
        """Hash recording one fire time of a scheduled job: state (running/done/failed), attempts, retry_at, outcome."""
        return f"{self.prefix}schedule:{job}:{fire_time}"

    def message(self, channel: str, ts: str) -> str:
        """The answer id posted as Slack message (channel, ts): how a reaction finds its answer."""
        return f"{self.prefix}message:{channel}:{ts}"

    def placeholder(self, channel: str, ts: str) -> str:
        """Set while Slack message (channel, ts) is a placeholder its answer will replace in place."""
        return f"{self.prefix}placeholder:{channel}:{ts}"

    def pending_votes(self, channel: str, ts: str) -> str:
        """Hash user -> vote: reactions on a placeholder, cast on its answer once it is shown."""
        return f"{self.prefix}pending_votes:{channel}:{ts}"

    @property
    def questions(self) -> str:
        """Sorted set of question ids scored by creation time."""
        return f"{self.prefix}questions"

    @property
    def answers(self) -> str:
        """Sorted set of answer ids scored by creation time."""
        return f"{self.prefix}answers"

    @property
    def failures(self) -> str:
        """Sorted set of Failure JSON scored by time."""
        return f"{self.prefix}failures"

    def event(self, event_id: str) -> str:
        """Marker that a Slack delivery (``event:<event_id>``, ``trigger:<trigger_id>``) was handled,
        so a redelivery is skipped."""
        return f"{self.prefix}event:{event_id}"

    @property
    def pending_questions(self) -> str:
        """Stream of questions acked and not answered yet (read by a consumer group)."""
        return f"{self.prefix}questions:pending"

    def queued_question(self, question_id: str) -> str:
        """Marker that a question id was queued once (a replayed spool entry adds nothing)."""
        return f"{self.prefix}questions:queued:{question_id}"

    def answerer(self, consumer: str) -> str:
        """Heartbeat of one answering thread; gone when its process died."""
        return f"{self.prefix}answerer:{consumer}"

    def schedule_lease(self, job: str, fire_time: str) -> str:
        """Lease (a redis-py Lock, renewed while running) of the replica running one fire time now."""
        return f"{self.prefix}schedule-lease:{job}:{fire_time}"

    def schedule_fires(self, job: str) -> str:
        """Sorted set of a scheduled job's recent fire times (ISO), by time: where replicas look for undone ones."""
        return f"{self.prefix}schedule-fires:{job}"
