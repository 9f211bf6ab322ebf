"""A stored answer shown in Slack, for votes and reactions to land on."""

from __future__ import annotations

from supportbot.records import Answer, Question, Usage
from supportbot.store import Store


def posted_answer(store: Store, channel: str = "C0SUPPORT", thread_ts: str = "1.1", ts: str = "1.2") -> Answer:
    """A question and its fine-tuned answer, stored and marked posted at ``channel``/``ts``."""
    question = Question("Where is my refund?", "U0ASKER", channel, thread_ts=thread_ts)
    store.save_question(question)
    answer = Answer("finetuned", "Refunds take 5 days.", "m", Usage(10, 5), 0.1, None, question_id=question.id)
    store.save_answer(answer)
    answer.channel, answer.ts = channel, ts
    store.mark_posted(answer)
    return answer
