"""The correction modal's submission: validated inline, stored, then routed to review."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks import CORRECTION_ACTION, CORRECTION_BLOCK, CORRECTION_CALLBACK
from bot.review import route_correction
from supportbot.errors import InvalidCorrection
from supportbot.services import Services


def register(app: App, services: Services) -> None:
    @app.view(CORRECTION_CALLBACK)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user = body["user"]["id"]
        metadata = json.loads(view.get("private_metadata") or "{}")
        text = view["state"]["values"][CORRECTION_BLOCK][CORRECTION_ACTION].get("value")
        answer = services.store.get_answer(metadata.get("answer_id", ""))
        question = services.store.get_question(answer.question_id) if answer else None
        if answer is None or question is None:
            ack(response_action="errors", errors={CORRECTION_BLOCK: "That answer is no longer stored."})
            return
        try:
            correction = services.corrections.submit(
                question.id, text, user, answer_id=answer.id, original=answer.text, via="modal"
            )
        except InvalidCorrection as exc:
            ack(response_action="errors", errors={CORRECTION_BLOCK: str(exc)})
            return
        ack()
        route_correction(
            client,
            services,
            correction,
            question=question.text,
            original=answer.text,
            channel=metadata.get("channel"),
            thread_ts=metadata.get("thread_ts"),
        )
