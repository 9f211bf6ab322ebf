"""The correction modal's submission: validated inline, stored, then routed to review."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.background import Background
from bot.blocks import CORRECTION_ACTION, CORRECTION_BLOCK, CORRECTION_CALLBACK
from bot.review import route_correction
from supportbot.corrections import CorrectionService
from supportbot.errors import InvalidCorrection
from supportbot.intake import STORE_DOWN
from supportbot.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services, background: Background) -> None:
    intake = background.intake
    assert intake is not None

    def apply_spooled(payload: dict[str, Any]) -> None:
        """A submission made while Redis was down, now that it is back."""
        answer = services.store.get_answer(payload["answer_id"])
        question = services.store.get_question(answer.question_id) if answer else None
        if answer is None or question is None:
            log.warning("a spooled correction of answer %s: the answer is no longer stored", payload["answer_id"])
            return
        try:
            correction = services.corrections.submit(
                question.id, payload["text"], payload["user"], answer_id=answer.id, original=answer.text, via="modal"
            )
        except InvalidCorrection as exc:
            log.warning("a spooled correction was refused: %s", exc)
            return
        route_correction(
            app.client,
            services,
            correction,
            question=question.text,
            original=answer.text,
            channel=payload.get("channel"),
            thread_ts=payload.get("thread_ts"),
        )

    intake.register("modal_correction", apply_spooled)

    @app.view(CORRECTION_CALLBACK)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user = body["user"]["id"]
        metadata = _metadata(view.get("private_metadata"))
        field = view["state"]["values"].get(CORRECTION_BLOCK, {}).get(CORRECTION_ACTION, {})
        text = field.get("value") if isinstance(field.get("value"), str) else None
        answer_id = metadata.get("answer_id")
        try:
            answer = services.store.get_answer(answer_id) if isinstance(answer_id, str) and answer_id else None
            question = services.store.get_question(answer.question_id) if answer else None
        except STORE_DOWN:
            # Checked as far as possible without Redis, then kept on disk until it is back.
            try:
                text = CorrectionService.validate(text, None)
            except InvalidCorrection as exc:
                ack(response_action="errors", errors={CORRECTION_BLOCK: str(exc)})
                return
            ack()
            intake.mark_down()
            payload = {
                "answer_id": answer_id,
                "text": text,
                "user": user,
                "channel": _text(metadata.get("channel")),
                "thread_ts": _text(metadata.get("thread_ts")),
            }
            intake.write("modal_correction", payload)
            return
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
            channel=_text(metadata.get("channel")),
            thread_ts=_text(metadata.get("thread_ts")),
        )


def _metadata(raw: str | None) -> dict[str, Any]:
    """The modal's private_metadata (set by us when it opened); anything else reads as empty."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
