"""Votes from reactions and buttons, mapped to exactly one answer. Slack-free."""

from __future__ import annotations

from dataclasses import dataclass

from supportbot.records import Answer
from supportbot.store import Store
from supportbot.votes import reaction_vote


@dataclass(frozen=True)
class VoteResult:
    answer: Answer
    vote: int
    changed: bool


class FeedbackService:
    def __init__(self, store: Store, up: frozenset[str], down: frozenset[str]) -> None:
        self.store = store
        self.up = up
        self.down = down

    def react(self, channel: str, ts: str, user: str, reaction: str, added: bool) -> VoteResult | None:
        """A reaction on a message: None when it is not a vote or the message is not an answer."""
        vote = reaction_vote(reaction, self.up, self.down)
        if vote is None or not user:
            return None
        answer = self.store.answer_for_message(channel, ts)
        if answer is None:
            # A placeholder, not answered yet: the vote is held and cast when the answer replaces
            # it in place (the reaction stays on the message people then read).
            if not self.store.hold_vote(channel, ts, user, vote, added):
                return None
            answer = self.store.answer_for_message(channel, ts)
            if answer is not None:  # the answer was shown meanwhile: cast what is held now
                self.store.cast_pending_votes(answer)
            return None
        if added:
            changed = self.store.votes.set(answer.id, user, vote)
        else:
            changed = self.store.votes.remove(answer.id, user, vote)
        return VoteResult(answer, vote, changed)

    def vote(self, answer_id: str, user: str, vote: int) -> VoteResult | None:
        """A feedback button: None when the answer is unknown."""
        answer = self.store.get_answer(answer_id)
        if answer is None:
            return None
        return VoteResult(answer, vote, self.store.votes.set(answer.id, user, vote))
