"""Answer a stored question in its Slack thread: a placeholder per side, each replaced in place.

Both placeholders are posted at once, in presentation order, before any answer is shown; each
is then updated (``chat.update``) with its answer, or a warning, the moment its side is done.
The thread's order is therefore fixed before generation and a reaction on an answer's message
maps to exactly one answer (its placeholder's ts is the answer's message). In blind mode the
two updates are made together, once both sides are done: which side is faster would otherwise
tell A from B, as the hidden latency figures would.

Safe to run again for the same question (a bot restarted mid-answer does): placeholders already
posted are reused, never posted twice; an answer already shown is left alone; an answer stored
but not shown is shown without being generated again; only the sides with no stored answer are
asked.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import answer_message, placeholder_message, warning_message
from supportbot.asking import AskService, Outcome
from supportbot.records import Answer, Question, Variant

log = logging.getLogger(__name__)


def post_answers(client: WebClient, ask: AskService, question: Question) -> None:
    """Run the responders that have not answered yet and show every answer not yet shown.

    Each answer is stored the moment it is ready, before it is shown, then linked to its Slack
    message (channel, ts).
    """
    stored = {answer.variant: answer for answer in ask.store.answers_for_question(question.id)}
    missing = [variant for variant in question.order if variant not in stored]
    asking = ask.start(question, missing) if missing else None  # generation never waits on Slack
    unshown = [variant for variant in question.order if variant not in stored or stored[variant].ts is None]
    post_placeholders(client, ask, question, unshown)
    ready: list[Answer | Outcome] = [stored[v] for v in question.order if v in stored and stored[v].ts is None]
    arrivals: Iterable[Answer | Outcome] = (_kept(ask, o) for o in (asking.as_ready() if asking else ()))
    if question.blind:  # both at once, in presentation order, once both are done
        done = {item.variant: item for item in [*ready, *arrivals]}
        ready, arrivals = [done[v] for v in question.order if v in done], ()
    for item in itertools.chain(ready, arrivals):  # lazily: each shown the moment it arrives
        _show(client, ask, question, item)


def _kept(ask: AskService, outcome: Outcome) -> Answer | Outcome:
    """Store an answer as it arrives (a failed post or a crash then loses nothing); a failure
    (already stored by the ask service) stays an outcome."""
    if outcome.answer is None:
        return outcome
    ask.record(outcome.answer)
    return outcome.answer


def post_placeholders(client: WebClient, ask: AskService, question: Question, variants: list[Variant]) -> None:
    """Post a placeholder for each of ``variants`` that has none yet, in presentation order, and
    keep its ts on the question at once, so a restarted bot updates it instead of posting again."""
    for variant in question.order:
        if variant not in variants or variant in question.placeholders:
            continue
        message = placeholder_message(ask.label_for(question, variant))
        try:
            response = client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts, **message)
        except SlackApiError as exc:
            # The answer is still generated and stored, and posted as a new message if it can be.
            log.error("could not post the %s placeholder to %s: %s", variant, question.channel, _error(exc))
            continue
        question.placeholders[variant] = response["ts"]
        ask.store.save_question(question)
        ask.store.mark_placeholder(question.channel, response["ts"])


def _show(client: WebClient, ask: AskService, question: Question, item: Answer | Outcome) -> None:
    if isinstance(item, Answer):
        _show_answer(client, ask, question, item)
    else:
        _deliver(client, question, item.variant, warning_message(item.label, item.public_error))


def _show_answer(client: WebClient, ask: AskService, question: Question, answer: Answer) -> None:
    message = answer_message(answer.label, answer, show_stats=not question.blind)
    where = _deliver(client, question, answer.variant, message, unfurl_links=False, unfurl_media=False)
    if where is not None:
        ask.posted(answer, *where)


def _deliver(
    client: WebClient, question: Question, variant: Variant, message: dict[str, Any], **post_options: Any
) -> tuple[str, str] | None:
    """Replace the side's placeholder with ``message`` (or post it, when the side has none);
    the (channel, ts) it is shown in, or None when Slack refused."""
    placeholder = question.placeholders.get(variant)
    try:
        if placeholder is not None:
            response = client.chat_update(channel=question.channel, ts=placeholder, **message)
        else:
            response = client.chat_postMessage(
                channel=question.channel, thread_ts=question.thread_ts, **message, **post_options
            )
    except SlackApiError as exc:
        log.error("could not show the %s answer in %s: %s", variant, question.channel, _error(exc))
        return None
    return response["channel"], response["ts"]


def _error(exc: SlackApiError) -> Any:
    return exc.response.get("error")
