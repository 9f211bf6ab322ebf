"""``/supportbot stats | review [approve|reject ID] | digest | rollback VERSION | help``: answered
ephemerally; review is for reviewers, digest and rollback for admins."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import (
    REVIEW_REFUSED,
    REVIEW_USAGE,
    pending_corrections_text,
    review_decided_text,
    stats_text,
)
from bot.digest import post_digest
from bot.review import announce_decision
from supportbot.digest import build_digest
from supportbot.errors import SupportbotError
from supportbot.services import Services
from supportbot.stats import collect_stats

COMMAND = "/supportbot"
HELP = (
    "*/supportbot* commands:\n"
    "• `/supportbot stats`: questions, votes per model, corrections, new training examples\n"
    "• `/supportbot review`: corrections waiting for review; "
    "`/supportbot review approve ID` or `reject ID` decides one (reviewers)\n"
    "• `/supportbot digest`: post the weekly digest now, to DIGEST_CHANNEL or here (admins)\n"
    "• `/supportbot rollback VERSION`: serve an earlier adapter version (admins)"
)


def review(words: list[str], user: str, ack: Ack, client: WebClient, services: Services) -> None:
    """``review``, ``review approve ID``, ``review reject ID``: reviewers only."""
    if not services.corrections.is_reviewer(user):
        ack(text=REVIEW_REFUSED)
        return
    if len(words) == 1:
        pending = services.corrections.pending()
        questions = {c.question_id: services.store.get_question(c.question_id) for c in pending}
        rows = [(c, q.text if (q := questions[c.question_id]) else "(question no longer stored)") for c in pending]
        ack(text=pending_corrections_text(rows))
        return
    if len(words) != 3 or words[1] not in ("approve", "reject"):
        ack(text=REVIEW_USAGE)
        return
    try:
        correction = services.corrections.review(words[2], user, approve=words[1] == "approve")
    except SupportbotError as exc:
        ack(text=f":warning: {exc}")
        return
    ack(text=review_decided_text(correction))
    announce_decision(client, services.store, correction)


def rollback(services: Services, version: str) -> str:
    """Activate ``version`` (loaded on FINETUNED_BASE_URL first, when set); the outcome, for the admin."""
    try:
        services.adapters.activate(version)
    except SupportbotError as exc:
        return f":warning: {exc}"
    return f":rewind: {version} is now the active adapter; every bot switches without a restart."


def register(app: App, services: Services, is_admin: Any) -> None:
    @app.command(COMMAND)
    def handle(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        words = (command.get("text") or "").split()
        if words[:1] == ["digest"]:
            if command["user_id"] not in is_admin:
                ack(text=":no_entry: Only admins can post the digest (ADMIN_USERS).")
                return
            channel = services.settings.digest_channel or command["channel_id"]
            ack(text=f":bar_chart: Posting the digest to <#{channel}>…")
            try:
                post_digest(client, channel, build_digest(services.store, services.settings))
            except SlackApiError as exc:
                error = exc.response.get("error", "unknown error")
                respond(
                    text=f":warning: Could not post the digest to <#{channel}>: `{error}`. "
                    "Invite the bot to that channel (it needs files:write).",
                    response_type="ephemeral",
                )
        elif words[:1] == ["review"]:
            review(words, command["user_id"], ack, client, services)
        elif words[:1] == ["stats"]:
            last = services.adapters.last_trained_at()
            ack(text=stats_text(collect_stats(services.store, last, services.settings.min_upvoters)))
        elif words[:1] == ["rollback"]:
            if command["user_id"] not in is_admin:
                ack(text=":no_entry: Only admins can roll back (ADMIN_USERS).")
            elif len(words) != 2:
                ack(text="Usage: `/supportbot rollback VERSION`, e.g. `/supportbot rollback v3`")
            elif services.adapters.prepare is not None:
                # Loading the version on the inference server can outlast Slack's 3 s: ack first.
                ack(text=f":hourglass_flowing_sand: Loading {words[1]} on the fine-tuned model server…")
                respond(text=rollback(services, words[1]), response_type="ephemeral")
            else:
                ack(text=rollback(services, words[1]))
        else:
            ack(text=HELP)
