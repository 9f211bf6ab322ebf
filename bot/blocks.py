"""Pure Block Kit builders. No Slack client, no I/O: tested as plain functions.

Model output is escaped so it can never mention @channel, @here or anyone, and split so that no
block breaks Slack's limits (3,000 characters a section, 50 blocks a message).
"""

from __future__ import annotations

import re
from typing import Any

from supportbot.corrections import SHORT_ID, mention
from supportbot.cost import format_cost
from supportbot.records import Answer, Correction
from supportbot.stats import Stats

SECTION_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
FALLBACK_TEXT_LIMIT = 3000
# Room for the label, the stats and the buttons around the answer's sections.
MAX_ANSWER_SECTIONS = MESSAGE_BLOCK_LIMIT - 5
ZERO_WIDTH_SPACE = "\u200b"
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)

Block = dict[str, Any]
BUSY_TEXT = ":hourglass: Too many questions are being answered right now. Please ask again in a minute."
FAILED_TEXT = ":warning: Sorry, something went wrong while answering. It has been logged for the team."


def escape(text: str) -> str:
    """Make text inert in Slack mrkdwn: no <!channel>, <@U...>, <!subteam^...> or @here pings."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), text)


def _break_at(window: str, limit: int) -> int:
    """The best place to cut: a paragraph, else a line, else a word break in the second half."""
    for separator in ("\n\n", "\n", " "):
        cut = window.rfind(separator)
        if cut > limit // 2:
            return cut
    return limit


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split text into chunks of at most ``limit`` characters, at paragraph, line or word breaks."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = _break_at(window, limit)
        # Never cut an escape entity such as &amp; in half.
        amp = window.rfind("&", 0, cut)
        if amp != -1 and ";" not in window[amp:cut] and cut - amp < 6:
            cut = amp
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def answer_stats(answer: Answer) -> str:
    usage = answer.usage
    model = escape(answer.model)
    return (
        f"{model} · {usage.prompt_tokens:,} in + {usage.completion_tokens:,} out tokens · "
        f"{answer.latency_s:.1f} s · {format_cost(answer.cost_usd)}"
    )


def feedback_buttons(answer_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": f"feedback:{answer_id}",
        "elements": [
            {
                "type": "button",
                "action_id": "vote_up",
                "text": {"type": "plain_text", "text": ":thumbsup: Helpful", "emoji": True},
                "value": answer_id,
            },
            {
                "type": "button",
                "action_id": "vote_down",
                "text": {"type": "plain_text", "text": ":thumbsdown: Not helpful", "emoji": True},
                "value": answer_id,
            },
            {
                "type": "button",
                "action_id": "suggest_correction",
                "text": {"type": "plain_text", "text": ":pencil2: Suggest a correction", "emoji": True},
                "value": answer_id,
            },
        ],
    }


def answer_message(label: str, answer: Answer, show_stats: bool = True) -> dict[str, Any]:
    """``text`` and ``blocks`` for one answer, posted as its own message."""
    body = escape(answer.text) or "_(empty answer)_"
    chunks = split_text(body)
    if len(chunks) > MAX_ANSWER_SECTIONS:
        chunks = [
            *chunks[:MAX_ANSWER_SECTIONS],
            "_… answer truncated: it was too long for one Slack message._",
        ]
    blocks: list[Block] = [_context(f"*{escape(label)}*")]
    blocks += [_section(chunk) for chunk in chunks]
    if show_stats:
        blocks.append(_context(answer_stats(answer)))
    blocks.append(feedback_buttons(answer.id))
    fallback = f"{escape(label)}: {body}"
    if len(fallback) > FALLBACK_TEXT_LIMIT:
        fallback = fallback[: FALLBACK_TEXT_LIMIT - 1] + "…"
    return {"text": fallback, "blocks": blocks}


PLACEHOLDER_TEXT = ":hourglass_flowing_sand: _Answering…_"


def placeholder_message(label: str) -> dict[str, Any]:
    """What an answer's message shows until the answer replaces it: the label and nothing that
    tells one side from the other (in blind mode both differ only in "A" / "B")."""
    return {
        "text": f"{escape(label)}: answering…",
        "blocks": [_context(f"*{escape(label)}*"), _section(PLACEHOLDER_TEXT)],
    }


def warning_message(label: str, error: str) -> dict[str, Any]:
    text = f":warning: *{escape(label)}* could not answer: {escape(error)}"
    return {"text": text, "blocks": [_section(text)]}


def question_message(user: str, question: str) -> dict[str, Any]:
    """The thread root an /ask question is posted as; its answers go in the thread."""
    text = f"<@{user}> asked: {escape(question)}"
    chunks = split_text(text)
    return {"text": chunks[0], "blocks": [_section(chunk) for chunk in chunks[:MAX_ANSWER_SECTIONS]]}


CORRECTION_CALLBACK = "correction_modal"
CORRECTION_BLOCK = "correction"
CORRECTION_ACTION = "corrected_answer"
MODAL_TEXT_LIMIT = 3000  # a plain_text_input's initial_value and a modal's text objects


def correction_modal(answer: Answer, question: str, private_metadata: str) -> dict[str, Any]:
    """The modal a "Suggest a correction" button opens, prefilled with the answer."""
    shown_question = question if len(question) <= MODAL_TEXT_LIMIT - 20 else question[: MODAL_TEXT_LIMIT - 21] + "…"
    return {
        "type": "modal",
        "callback_id": CORRECTION_CALLBACK,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "Suggest a correction"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Question:* {escape(shown_question)}", "verbatim": True},
            },
            {
                "type": "input",
                "block_id": CORRECTION_BLOCK,
                "label": {"type": "plain_text", "text": "The answer, as it should have been"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": CORRECTION_ACTION,
                    "multiline": True,
                    "initial_value": answer.text[:MODAL_TEXT_LIMIT],
                },
            },
        ],
    }


def review_message(correction: Correction, question: str, original: str | None) -> dict[str, Any]:
    """The message reviewers approve or reject a correction from."""
    parts = [f"*Correction by <@{correction.user}>* for: {escape(question)}"]
    if original:
        parts.append(f"*Answer given:*\n{escape(original)}")
    parts.append(f"*Suggested answer:*\n{escape(correction.text)}")
    body = "\n\n".join(parts)
    blocks: list[Block] = [_section(chunk) for chunk in split_text(body)[:MAX_ANSWER_SECTIONS]]
    blocks.append(
        {
            "type": "actions",
            "block_id": f"review:{correction.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve_correction",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": correction.id,
                },
                {
                    "type": "button",
                    "action_id": "reject_correction",
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "value": correction.id,
                },
            ],
        }
    )
    return {"text": f"Correction by <@{correction.user}> waiting for review", "blocks": blocks}


def reviewed_message(correction: Correction, question: str) -> dict[str, Any]:
    """The review message once decided: the buttons are replaced by the outcome."""
    verdict = ":white_check_mark: Approved" if correction.status == "approved" else ":x: Rejected"
    reviewer = mention(correction.reviewer or "")
    text = (
        f"{verdict} by {reviewer}: correction by <@{correction.user}> for "
        f"{escape(question)}\n\n{escape(correction.text)}"
    )
    return {
        "text": f"{verdict} by {reviewer}",
        "blocks": [_section(c) for c in split_text(text)[:MAX_ANSWER_SECTIONS]],
    }


def correction_received_text(correction: Correction, review_channel: str | None) -> str:
    if correction.status == "approved":
        return ":white_check_mark: Thanks! Your correction is approved and will be used in the next training."
    if review_channel:
        return (
            f":hourglass: Thanks! Your correction was sent to <#{review_channel}> for review; "
            "I'll tell you the outcome."
        )
    return (
        ":hourglass: Thanks! Your correction is waiting for a reviewer, who will see it with "
        "`/supportbot review`; I'll tell you the outcome."
    )


def correction_elsewhere_text(prefix: str) -> str:
    return (
        f":information_source: `{escape(prefix)}` works in the thread of a question I answered: "
        "reply there to correct my answer. To ask me something here, leave it out."
    )


def review_outcome_text(correction: Correction, question: str) -> str:
    verdict = "approved" if correction.status == "approved" else "rejected"
    return f"Your correction for _{escape(question)}_ was *{verdict}* by {mention(correction.reviewer or '')}."


REVIEW_REFUSED = ":no_entry: Only reviewers can review corrections (REVIEWERS, or TRUSTED_USERS when it is empty)."
REVIEW_USAGE = "Usage: `/supportbot review`, `/supportbot review approve ID` or `/supportbot review reject ID`"
PENDING_SHOWN = 10  # the oldest ones; a decision brings the next into view
PENDING_QUESTION_CHARS = 200
PENDING_TEXT_CHARS = 400


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pending_corrections_text(pending: list[tuple[Correction, str]]) -> str:
    """The list ``/supportbot review`` answers with: (correction, question text), oldest first."""
    if not pending:
        return ":white_check_mark: No corrections are waiting for review."
    lines = [f"*{len(pending):,} correction{'s' if len(pending) != 1 else ''} waiting for review*"]
    for correction, question in pending[:PENDING_SHOWN]:
        asked = escape(_clip(" ".join(question.split()), PENDING_QUESTION_CHARS))
        proposed = escape(_clip(" ".join(correction.text.split()), PENDING_TEXT_CHARS))
        lines.append(f"• `{correction.id[:SHORT_ID]}` by <@{correction.user}> for _{asked}_\n> {proposed}")
    if len(pending) > PENDING_SHOWN:
        lines.append(f"…and {len(pending) - PENDING_SHOWN:,} more (oldest first).")
    lines.append("Decide with `/supportbot review approve ID` or `/supportbot review reject ID`.")
    return "\n".join(lines)


def review_decided_text(correction: Correction) -> str:
    verdict = ":white_check_mark: Approved" if correction.status == "approved" else ":x: Rejected"
    return f"{verdict} correction `{correction.id[:SHORT_ID]}` by <@{correction.user}>; I'll tell them."


def stats_text(stats: Stats) -> str:
    lines = [f"*supportbot stats* · {stats.questions:,} questions, {stats.answers:,} answers"]
    for variant, tally in stats.votes.items():
        name = "Prompted" if variant == "prompted" else "Fine-tuned"
        lines.append(f"• {name}: {tally.up:,} :thumbsup:  {tally.down:,} :thumbsdown:")
    c = stats.corrections
    lines.append(
        f"• Corrections: {c.get('pending', 0):,} pending, {c.get('approved', 0):,} approved, "
        f"{c.get('rejected', 0):,} rejected"
    )
    since = "since the last training" if stats.last_training_at else "so far (no training yet)"
    lines.append(f"• Training examples: {stats.new_since_training:,} new {since}, {stats.eligible:,} eligible in all")
    return "\n".join(lines)


RETRAIN_REFUSED = ":no_entry: Only admins can retrain (ADMIN_USERS)."


def retrain_queued_text(user: str, job_id: str) -> str:
    return f":inbox_tray: Retraining requested by <@{user}>: queued (job `{job_id}`). Progress follows in this thread."
