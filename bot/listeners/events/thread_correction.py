"""A thread reply starting with the correction prefix (default ``correction:``), with or without
``@supportbot`` before it, corrects the question of that thread.

Slack sends two events for ``@supportbot correction: …`` in a channel thread: an ``app_mention``
and a ``message`` (``message.channels`` / ``message.groups``) whose text starts with ``<@BOT>``.
Either may arrive first, or alone, so both lead to :func:`take_correction`, and the message's
``ts`` is claimed there: whichever event comes first stores the correction, the other does nothing.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.background import Background
from bot.review import route_correction
from supportbot.errors import InvalidCorrection
from supportbot.intake import STORE_DOWN, Intake
from supportbot.records import Question
from supportbot.services import Services

EVENTS = ("message.channels", "message.groups")
_LEADING_MENTION = re.compile(r"\s*<@([A-Z0-9]+)(?:\|[^>]*)?>[\s,:]*")


def correction_text(text: str | None, prefix: str, bot_user_id: str | None) -> str | None:
    """The correction after ``prefix`` (and a leading mention of the bot), or None if it is no
    correction. ``prefix`` is lower case; the text's case does not matter."""
    text = (text or "").lstrip()
    mention = _LEADING_MENTION.match(text)
    if mention and bot_user_id and mention.group(1) == bot_user_id:
        text = text[mention.end() :]
    if not text.lower().startswith(prefix):
        return None
    return text[len(prefix) :]


def take_correction(event: dict[str, Any], text: str, client: WebClient, services: Services, intake: Intake) -> bool:
    """Store the correction a thread reply makes, once per message; False if the thread is not
    one the bot answered. While Redis is unreachable the reply is spooled and taken once it is back."""
    reply = {
        "channel": event["channel"],
        "user": event.get("user", ""),
        "thread_ts": event["thread_ts"],
        "ts": event["ts"],
        "text": text,
    }
    try:
        question = services.store.question_for_thread(reply["channel"], reply["thread_ts"])
        if question is None:
            return False
        if not services.store.first_delivery(f"correction:{reply['channel']}:{reply['ts']}"):
            return True  # the other event for this message took it
        _submit(question, reply, client, services)
    except STORE_DOWN:
        intake.mark_down()
        intake.write("thread_correction", reply, entry_id=f"correction-{reply['channel']}-{reply['ts']}")
    return True


def _submit(question: Question, reply: dict[str, Any], client: WebClient, services: Services) -> None:
    channel, user, thread_ts = reply["channel"], reply["user"], reply["thread_ts"]
    # The id comes from the message: taking it again (a replay cut short) overwrites, never adds.
    correction_id = uuid.uuid5(uuid.NAMESPACE_URL, f"slack:{channel}/{reply['ts']}").hex
    try:
        correction = services.corrections.submit(
            question.id, reply["text"], user, via="thread", correction_id=correction_id
        )
    except InvalidCorrection as exc:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=f":warning: {exc}")
        return
    route_correction(
        client, services, correction, question=question.text, original=None, channel=channel, thread_ts=thread_ts
    )


def replay_correction(reply: dict[str, Any], client: WebClient, services: Services) -> None:
    """A thread correction spooled while Redis was down, taken now that it is back."""
    question = services.store.question_for_thread(reply["channel"], reply["thread_ts"])
    if question is not None:
        _submit(question, reply, client, services)


def register(app: App, services: Services, background: Background) -> None:
    prefix = services.settings.correction_prefix.lower()
    intake = background.intake
    assert intake is not None
    intake.register("thread_correction", lambda payload: replay_correction(payload, app.client, services))

    def is_correction(event: dict[str, Any], context: BoltContext) -> bool:
        return (
            event.get("subtype") is None
            and event.get("bot_id") is None
            and bool(event.get("thread_ts"))
            and event.get("thread_ts") != event.get("ts")
            and correction_text(event.get("text"), prefix, context.bot_user_id) is not None
        )

    @app.event("message", matchers=[is_correction])
    def handle(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        text = correction_text(event.get("text"), prefix, context.bot_user_id)
        if text is not None:
            take_correction(event, text, client, services, intake)  # in a thread the bot did not answer: ignored
