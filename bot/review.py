"""After a correction is stored: send it for review when needed and tell its author."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import correction_received_text, review_message
from supportbot.records import Correction
from supportbot.services import Services

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
            log.warning("correction %s waits for review but REVIEW_CHANNEL is not set", correction.id)
    text = correction_received_text(correction, review_channel)
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=correction.user, thread_ts=thread_ts, text=text)
        else:
            client.chat_postMessage(channel=correction.user, text=text)
    except SlackApiError:
        log.exception("could not confirm correction %s to its author", correction.id)
