"""Answer a stored question in its Slack thread: one message per answer, a warning per failure.

Safe to run again for the same question (a bot restarted mid-answer does): an answer already
posted is not posted twice, an answer stored but not posted is posted without being generated
again, and only the sides with no stored answer are asked.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import answer_message, warning_message
from supportbot.asking import AskService
from supportbot.records import Answer, Question

log = logging.getLogger(__name__)


def post_answers(client: WebClient, ask: AskService, question: Question) -> None:
    """Run the responders that have not answered yet and post every unposted answer in the thread.

    Each answer is stored before it is posted, then linked to its Slack message (channel, ts) so a
    reaction maps back to exactly one answer.
    """
    stored = {answer.variant: answer for answer in ask.store.answers_for_question(question.id)}
    missing = [variant for variant in question.order if variant not in stored]
    outcomes = {outcome.variant: outcome for outcome in ask.answer(question, missing)} if missing else {}
    for variant in question.order:
        answer = stored.get(variant)
        if answer is None:
            outcome = outcomes[variant]
            if outcome.answer is None:
                _post_warning(client, question, outcome.label, outcome.public_error)
                continue
            answer = outcome.answer
            ask.record(answer)
        if answer.ts is None:
            _post_answer(client, ask, question, answer)


def _post_answer(client: WebClient, ask: AskService, question: Question, answer: Answer) -> None:
    message = answer_message(answer.label, answer, show_stats=not question.blind)
    try:
        response = client.chat_postMessage(
            channel=question.channel,
            thread_ts=question.thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            **message,
        )
    except SlackApiError as exc:
        log.error("could not post the %s answer to %s: %s", answer.variant, question.channel, exc.response.get("error"))
        return
    ask.posted(answer, response["channel"], response["ts"])


def _post_warning(client: WebClient, question: Question, label: str, reason: str) -> None:
    try:
        client.chat_postMessage(
            channel=question.channel, thread_ts=question.thread_ts, **warning_message(label, reason)
        )
    except SlackApiError as exc:
        log.error("could not post the failure notice for %s: %s", label, exc.response.get("error"))
