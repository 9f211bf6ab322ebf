"""Answer a stored question in its Slack thread: one message per answer, a warning per failure."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import answer_message, warning_message
from supportbot.asking import AskService
from supportbot.records import Question

log = logging.getLogger(__name__)


def post_answers(client: WebClient, ask: AskService, question: Question) -> None:
    """Run both responders and post their answers in the question's thread.

    Every answer is stored, posted or not, so nothing is lost; the (channel, ts) of each posted
    answer is stored with it so a reaction maps back to exactly one answer.
    """
    for outcome in ask.answer(question):
        if outcome.answer is None:
            message = warning_message(outcome.label, outcome.error or "unknown error")
            try:
                client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts, **message)
            except SlackApiError:
                log.exception("could not post the failure notice for %s", outcome.variant)
            continue
        message = answer_message(outcome.label, outcome.answer, show_stats=not question.blind)
        channel, ts = None, None
        try:
            response = client.chat_postMessage(
                channel=question.channel,
                thread_ts=question.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                **message,
            )
            channel, ts = response["channel"], response["ts"]
        except SlackApiError:
            log.exception("could not post the %s answer to %s", outcome.variant, question.channel)
        ask.record(outcome.answer, channel, ts)
