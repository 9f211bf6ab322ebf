"""After a correction is stored: send it for review when needed and tell its author. After it is
decided (by a button, ``/supportbot review`` or the CLI): update the review message, tell the author."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import correction_received_text, review_message, review_outcome_text, reviewed_message
from supportbot.records import Correction
from supportbot.services import Services
from supportbot.store import Store

log = logging.getLogger(__name__)


def route_correction(
    client: WebClient,
    services: Services,
    correction: Correction,
    *,
    question: str,
    original: str | None,
    channel: str | None,
    thread_ts: str | None,
) -> None:
    review_channel = services.settings.review_channel
    if correction.status == "pending":
        if review_channel:
            posted = client.chat_postMessage(channel=review_channel, **review_message(correction, question, original))
            services.corrections.mark_posted_for_review(correction, posted["channel"], posted["ts"])
        else:
            log.info(
                "correction %s waits for review with /supportbot review (REVIEW_CHANNEL is not set)", correction.id
            )
    text = correction_received_text(correction, review_channel)
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=correction.user, thread_ts=thread_ts, text=text)
        else:
            client.chat_postMessage(channel=correction.user, text=text)
    except SlackApiError:
        log.exception("could not confirm correction %s to its author", correction.id)


def announce_decision(client: WebClient, store: Store, correction: Correction) -> bool:
    """Replace the review message's buttons with the outcome and tell the author by DM. False if
    Slack refused either (logged): the decision itself stands."""
    question = store.get_question(correction.question_id)
    question_text = question.text if question else "(question no longer stored)"
    told = True
    try:
        if correction.review_channel and correction.review_ts:
            client.chat_update(
                channel=correction.review_channel,
                ts=correction.review_ts,
                **reviewed_message(correction, question_text),
            )
    except SlackApiError:
        log.exception("could not update the review message of correction %s", correction.id)
        told = False
    try:
        client.chat_postMessage(channel=correction.user, text=review_outcome_text(correction, question_text))
    except SlackApiError:
        log.exception("could not tell %s the outcome of correction %s", correction.user, correction.id)
        told = False
    return told
