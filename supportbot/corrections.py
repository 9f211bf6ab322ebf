"""Corrections: who corrected what, and the review that decides whether it may be trained on.

Corrections from trusted people are approved at once; everyone else's wait for a reviewer. Only
approved corrections ever reach a dataset. A reviewer decides from the review channel's buttons,
from ``/supportbot review`` or, as an operator, from ``supportbot review`` on the command line;
every way goes through :meth:`CorrectionService.review`, where the first decision wins.

A reviewer is recorded as a Slack user id, or as ``cli:<os user>`` for an operator who decided on
the command line without naming a Slack user.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import redis

from supportbot.errors import AlreadyReviewed, InvalidCorrection, NotAllowed
from supportbot.keys import Keys
from supportbot.records import Correction, CorrectionStatus

MAX_CORRECTION_CHARS = 4000
STATUSES: tuple[CorrectionStatus, ...] = ("pending", "approved", "rejected")
CLI_REVIEWER = "cli:"  # prefix of a reviewer who decided on the command line
SHORT_ID = 8  # characters of an id shown to people; any unique prefix this long finds it


def mention(person: str) -> str:
    """How Slack shows a person: a mention for a Slack user id, the name as code otherwise."""
    return f"`{person}`" if person.startswith(CLI_REVIEWER) else f"<@{person}>"


class CorrectionStore:
    def __init__(self, client: Any, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def write(self, pipe: Any, correction: Correction) -> None:
        """Queue the commands that store ``correction`` on a MULTI pipeline."""
        pipe.set(self.keys.correction(correction.id), json.dumps(correction.to_dict()))
        for status in STATUSES:
            if status != correction.status:
                pipe.zrem(self.keys.corrections(status), correction.id)
        pipe.zadd(self.keys.corrections(correction.status), {correction.id: correction.created_at})

    def save(self, correction: Correction) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            self.write(pipe, correction)
            pipe.execute()

    def get(self, correction_id: str) -> Correction | None:
        raw = self.redis.get(self.keys.correction(correction_id))
        return None if raw is None else Correction.from_dict(json.loads(raw))

    def with_status(self, status: CorrectionStatus) -> list[Correction]:
        ids = self.redis.zrange(self.keys.corrections(status), 0, -1)
        found = [self.get(correction_id) for correction_id in ids]
        return [c for c in found if c is not None]

    def count(self, status: CorrectionStatus) -> int:
        return int(self.redis.zcard(self.keys.corrections(status)))

    def all(self) -> list[Correction]:
        return [c for status in STATUSES for c in self.with_status(status)]

    def resolve(self, id_or_prefix: str) -> str:
        """The id of the one correction whose id is ``id_or_prefix`` or starts with it."""
        wanted = id_or_prefix.strip().lower()
        if self.redis.exists(self.keys.correction(wanted)):
            return wanted
        if len(wanted) < SHORT_ID:
            raise InvalidCorrection(f"No correction has the id {id_or_prefix!r}; give at least {SHORT_ID} characters.")
        found = [c.id for c in self.all() if c.id.startswith(wanted)]
        if not found:
            raise InvalidCorrection(f"No correction has an id starting with {id_or_prefix!r}.")
        if len(found) > 1:
            raise InvalidCorrection(
                f"{len(found)} corrections have ids starting with {id_or_prefix!r}; give more of it."
            )
        return found[0]

    def decide(self, correction_id: str, status: CorrectionStatus, reviewer: str) -> Correction:
        """Move a pending correction to approved/rejected; the first reviewer wins a race."""
        key = self.keys.correction(correction_id)
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        raise InvalidCorrection("That correction no longer exists.")
                    correction = Correction.from_dict(json.loads(raw))
                    if correction.status != "pending":
                        raise AlreadyReviewed(
                            f"Already {correction.status} by {mention(correction.reviewer)}."
                            if correction.reviewer
                            else f"Already {correction.status}."
                        )
                    correction.status = status
                    correction.reviewer = reviewer
                    correction.reviewed_at = time.time()
                    pipe.multi()
                    self.write(pipe, correction)
                    pipe.execute()
                    return correction
                except redis.WatchError:
                    continue


class CorrectionService:
    """Submitting and reviewing corrections. ``is_trusted``/``is_reviewer`` come from settings
    (and, in Slack, user-group membership)."""

    def __init__(
        self,
        store: CorrectionStore,
        is_trusted: Callable[[str], bool],
        is_reviewer: Callable[[str], bool],
    ) -> None:
        self.store = store
        self.is_trusted = is_trusted
        self.is_reviewer = is_reviewer

    @staticmethod
    def validate(text: str | None, original: str | None) -> str:
        corrected = (text or "").strip()
        if not corrected:
            raise InvalidCorrection("Please write the corrected answer.")
        if len(corrected) > MAX_CORRECTION_CHARS:
            raise InvalidCorrection(
                f"The correction is {len(corrected):,} characters long; the limit is {MAX_CORRECTION_CHARS:,}."
            )
        if original is not None and corrected == original.strip():
            raise InvalidCorrection("This is the same as the answer. Change what is wrong, then submit.")
        return corrected

    def submit(
        self,
        question_id: str,
        text: str | None,
        user: str,
        *,
        answer_id: str | None = None,
        original: str | None = None,
        via: str = "modal",
        correction_id: str | None = None,
    ) -> Correction:
        """Store a correction. A ``correction_id`` derived from the Slack message makes a replayed
        submission overwrite the same record rather than add a second one."""
        correction = Correction(
            question_id=question_id,
            answer_id=answer_id,
            text=self.validate(text, original),
            user=user,
            via=via,
        )
        if correction_id is not None:
            correction.id = correction_id
        if self.is_trusted(user):
            correction.status = "approved"
            correction.reviewer = user
            correction.reviewed_at = correction.created_at
        self.store.save(correction)
        return correction

    def review(self, correction_id: str, reviewer: str, approve: bool) -> Correction:
        """Approve or reject; ``correction_id`` may be a unique prefix of at least SHORT_ID characters."""
        if not self.is_reviewer(reviewer):
            raise NotAllowed("Only reviewers can approve or reject corrections.")
        return self.store.decide(self.store.resolve(correction_id), "approved" if approve else "rejected", reviewer)

    def pending(self) -> list[Correction]:
        """Corrections waiting for a reviewer, oldest first."""
        return self.store.with_status("pending")

    def mark_posted_for_review(self, correction: Correction, channel: str, ts: str) -> None:
        correction.review_channel = channel
        correction.review_ts = ts
        self.store.save(correction)
