"""Approve / Reject buttons on a correction in the review channel: reviewers only."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import review_outcome_text, reviewed_message
from supportbot.errors import AlreadyReviewed, InvalidCorrection, NotAllowed
from supportbot.services import Services

log = logging.getLogger(__name__)
DECISIONS = {"approve_correction": True, "reject_correction": False}


def register(app: App, services: Services) -> None:
    def decide(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        reviewer = body["user"]["id"]
        channel = body.get("container", {}).get("channel_id") or body.get("channel", {}).get("id")
        try:
            correction = services.corrections.review(action["value"], reviewer, DECISIONS[action["action_id"]])
        except (NotAllowed, AlreadyReviewed, InvalidCorrection) as exc:
            if channel:
                client.chat_postEphemeral(channel=channel, user=reviewer, text=f":warning: {exc}")
            return
        question = services.store.get_question(correction.question_id)
        question_text = question.text if question else "(question no longer stored)"
        if correction.review_channel and correction.review_ts:
            client.chat_update(
                channel=correction.review_channel,
                ts=correction.review_ts,
                **reviewed_message(correction, question_text),
            )
        try:
            client.chat_postMessage(channel=correction.user, text=review_outcome_text(correction, question_text))
        except SlackApiError:
            log.exception("could not tell %s the outcome of correction %s", correction.user, correction.id)

    for action_id in DECISIONS:
        app.action(action_id)(decide)
