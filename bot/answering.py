"""A queued question, answered: the job the background answerers run, and what the person is told
when it fails.

A job is a plain dict (it waits in Redis, maybe in the spool first), keyed by the question id it
will have, so running it twice never asks twice: the question and its answers are looked up first.

- ``{"kind": "slash", "id", "text", "user", "channel", "response_url"}``: ``/ask``; the question
  is posted as a thread root, answered in its thread.
- ``{"kind": "message", "id", "text", "user", "channel", "thread_ts"}``: a mention or a DM,
  answered in the message's thread.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.blocks import FAILED_TEXT, question_message
from bot.posting import post_answers
from supportbot.services import Services

log = logging.getLogger(__name__)
NOT_IN_CHANNEL = ":warning: I can't post in this channel. Invite me with `/invite @supportbot` and ask again."


def new_job(
    kind: str, text: str, user: str, channel: str, key: str | None = None, **where: str | None
) -> dict[str, Any]:
    """A question job; ``key`` (a trigger id, a message's channel/ts) makes its id the same on Slack's retries."""
    question_id = uuid.uuid5(uuid.NAMESPACE_URL, f"slack:{key}").hex if key else uuid.uuid4().hex
    return {"kind": kind, "id": question_id, "text": text, "user": user, "channel": channel, **where}


def run_job(job: dict[str, Any], client: WebClient, services: Services) -> None:
    ask = services.ask
    question = services.store.get_question(job["id"])
    if question is None:
        channel, thread_ts = job["channel"], job.get("thread_ts")
        if job["kind"] == "slash":
            try:
                root = client.chat_postMessage(channel=channel, **question_message(job["user"], job["text"]))
            except SlackApiError as exc:
                log.warning("cannot post in %s: %s", channel, exc.response.get("error"))
                tell(job, client, NOT_IN_CHANNEL)
                return
            channel, thread_ts = root["channel"], root["ts"]
        question = ask.new_question(
            job["text"], user=job["user"], channel=channel, thread_ts=thread_ts, question_id=job["id"]
        )
    post_answers(client, ask, question)


def tell(job: dict[str, Any], client: WebClient, text: str) -> None:
    """An ephemeral note to the person who asked: through the command's response_url, else in the thread."""
    if job.get("response_url"):
        respond_url(job["response_url"], text)
    else:
        client.chat_postEphemeral(channel=job["channel"], user=job["user"], thread_ts=job.get("thread_ts"), text=text)


def respond_url(response_url: str, text: str) -> None:
    """An ephemeral reply through a command's response_url; a bad or expired URL is logged, not raised."""
    try:
        WebhookClient(response_url).send(text=text, response_type="ephemeral")
    except Exception as exc:
        log.warning("could not reply through the response_url: %s", type(exc).__name__)


def tell_failed(job: dict[str, Any], client: WebClient) -> None:
    tell(job, client, FAILED_TEXT)
