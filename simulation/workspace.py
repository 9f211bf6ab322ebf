"""The people of a simulated workspace, acting on the bot only as Slack would let them.

They ask with ``/ask``, read the answers in the question's thread as the channel shows them
(placeholders replaced in place), correct an answer through its *Suggest a correction* modal or
with a ``correction:`` reply in the thread, vote with a 👍 reaction or the *Helpful* button, and
ask for the digest with ``/supportbot digest``. Every request is signed; everything they learn
comes from the Web API stand-in, never from the bot's store.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulation import slack_requests as requests
from simulation.bot_process import BotProcess
from simulation.scenario import Item
from simulation.slack_standin import Message, SlackStandIn
from supportbot.errors import SupportbotError

_LABEL = re.compile(r"\*(.+?)\*")
_VERSION = re.compile(r"^Fine-tuned (v\d+)")
APPROVED = ":white_check_mark:"  # how the bot's confirmation of an approved correction starts


@dataclass(frozen=True)
class Shown:
    """One side's answer as the thread shows it."""

    variant: str  # prompted | finetuned
    label: str
    text: str
    ts: str
    answer_id: str | None  # None when the side failed (a warning instead of an answer)

    @property
    def failed(self) -> bool:
        return self.answer_id is None

    @property
    def version(self) -> str | None:
        """The adapter version the label names ("Fine-tuned v2"), as people see it."""
        match = _VERSION.match(self.label)
        return match.group(1) if match else None


@dataclass
class Asked:
    item: Item
    user: str
    channel: str
    thread_ts: str
    answers: dict[str, Shown]
    seconds: float  # from /ask to both answers shown


def unescape(text: str) -> str:
    """Slack mrkdwn back to the model's text (the bot escapes &, < and > and breaks @here)."""
    return text.replace("\u200b", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def shown(message: Message) -> Shown | None:
    """The answer a thread reply shows, or None while it is a placeholder (or not an answer)."""
    texts = message.block_texts()
    label_match = _LABEL.search(texts[0]) if texts else None
    if label_match is None:
        return None
    label = unescape(label_match.group(1))
    variant = "finetuned" if label.startswith("Fine-tuned") else "prompted" if label.startswith("Prompted") else ""
    if not variant:
        return None
    buttons = message.buttons()
    if "vote_up" in buttons:
        sections = [b["text"]["text"] for b in message.blocks if b.get("type") == "section"]
        text = unescape("\n\n".join(sections))
        return Shown(variant, label, "" if text == "_(empty answer)_" else text, message.ts, buttons["vote_up"])
    if texts[0].startswith(":warning:"):  # the side failed: its placeholder now says why
        return Shown(variant, label, "", message.ts, None)
    return None


class Workspace:
    def __init__(self, bot: BotProcess, slack: SlackStandIn, channel: str = "C0SUPPORT") -> None:
        self.bot = bot
        self.slack = slack
        self.channel = channel
        self._askers = 0

    def send(self, request: requests.SlackRequest) -> str:
        status, body = self.bot.send(request)
        if status != 200:
            raise SupportbotError(f"the bot answered HTTP {status}: {body[:300]}")
        return body

    def next_asker(self) -> str:
        self._askers += 1
        return f"U0ASK{self._askers:05d}"

    # -- asking -------------------------------------------------------------------------------

    def ask(
        self,
        items: list[Item],
        window: int = 8,
        stall_timeout: float = 600.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Asked]:
        """Ask every item with /ask, at most ``window`` unanswered at a time (each by a different
        person), and return them once both answers are shown in their threads, in order."""
        waiting: dict[str, tuple[int, float]] = {}  # asker -> (item index, sent at)
        threads: dict[str, str] = {}  # asker -> thread ts
        done: dict[int, Asked] = {}
        queue = list(enumerate(items))
        last_progress = time.monotonic()
        refused = len(self.slack.responses)
        while queue or waiting:
            while queue and len(waiting) < window:
                index, item = queue.pop(0)
                asker = self.next_asker()
                command = requests.slash_command("/ask", item.question, asker, self.channel, self.slack.response_url)
                body = self.send(command)
                if body.strip():
                    raise SupportbotError(f"/ask was refused: {body[:300]}")
                waiting[asker] = (index, time.monotonic())
            if len(self.slack.responses) > refused:
                raise SupportbotError(f"the bot told an asker: {self.slack.responses[-1].get('text')}")
            finished = self._collect(items, waiting, threads)
            for asker, asked in finished:
                done[waiting.pop(asker)[0]] = asked
            if finished:
                last_progress = time.monotonic()
                if progress is not None:
                    progress(len(done), len(items))
            elif time.monotonic() - last_progress > stall_timeout:
                raise SupportbotError(f"no question was answered for {stall_timeout:.0f} s:\n{self.bot.log_tail()}")
            else:
                self.slack.wait_for_change(1.0)
        return [done[i] for i in range(len(items))]

    def _collect(
        self, items: list[Item], waiting: dict[str, tuple[int, float]], threads: dict[str, str]
    ) -> list[tuple[str, Asked]]:
        if len(threads) < len(waiting):
            for root in self.slack.roots(self.channel):
                asker = root.text.split(">", 1)[0].removeprefix("<@")
                if asker in waiting and asker not in threads and root.text.startswith(f"<@{asker}> asked:"):
                    threads[asker] = root.ts
        finished = []
        for asker, thread_ts in list(threads.items()):
            if asker not in waiting:
                continue
            answers = [a for a in (shown(m) for m in self.slack.thread(self.channel, thread_ts)) if a is not None]
            by_side = {a.variant: a for a in answers}
            if len(by_side) == 2:
                index, sent = waiting[asker]
                asked = Asked(items[index], asker, self.channel, thread_ts, by_side, time.monotonic() - sent)
                finished.append((asker, asked))
                del threads[asker]
        return finished

    # -- feedback -----------------------------------------------------------------------------

    def correct_in_modal(self, asked: Asked, user: str, text: str) -> None:
        """Click *Suggest a correction* under the fine-tuned answer, type ``text`` into the modal
        the bot opens, submit it."""
        answer = asked.answers["finetuned"]
        if answer.answer_id is None:
            raise SupportbotError("a failed answer has no correction button; correct it in the thread")
        trigger = requests.trigger_id()
        click = requests.button(
            "suggest_correction", answer.answer_id, user, asked.channel, answer.ts, asked.thread_ts, trigger
        )
        self.send(click)
        view = self.slack.wait_until(lambda: self.slack.views.get(trigger), 60, "open the correction modal")
        block_id, action_id = _text_input(view)
        body = self.send(requests.view_submission(view, user, {block_id: {action_id: text}}))
        if body.strip():  # ack() answers an empty 200; anything else is the modal's inline error
            raise SupportbotError(f"the correction modal refused the correction: {body[:300]}")

    def correct_in_thread(self, asked: Asked, user: str, text: str, prefix: str = "correction:") -> None:
        """Reply in the question's thread with ``correction: <text>``."""
        reply = requests.thread_reply(
            f"{prefix} {text}", user, asked.channel, asked.thread_ts, self.slack.next_ts(), self.slack.bot_user_id
        )
        self.send(reply)

    def upvote(self, asked: Asked, user: str, with_button: bool) -> None:
        """👍 on the fine-tuned answer: the *Helpful* button, or a :+1: reaction on its message."""
        answer = asked.answers["finetuned"]
        if with_button:
            if answer.answer_id is None:
                raise SupportbotError("a failed answer has no vote buttons")
            self.send(requests.button("vote_up", answer.answer_id, user, asked.channel, answer.ts, asked.thread_ts))
        else:
            self.send(requests.reaction_added("+1", user, asked.channel, answer.ts, self.slack.bot_user_id))

    def confirmations(self, user: str) -> list[str]:
        """Threads in which the bot told ``user`` that their correction is approved."""
        return [
            str(call.params.get("thread_ts"))
            for call in self.slack.calls_to("chat.postEphemeral")
            if call.params.get("user") == user and str(call.params.get("text", "")).startswith(APPROVED)
        ]

    # -- the digest ---------------------------------------------------------------------------

    def post_digest(self, admin: str, timeout: float = 300.0) -> list[str]:
        """``/supportbot digest`` from an admin; the text of the digest's blocks once it is posted."""
        before = {file_id for file_id, upload in self.slack.uploads.items() if upload.blocks is not None}
        command = requests.slash_command("/supportbot", "digest", admin, self.channel, self.slack.response_url)
        self.send(command)

        def posted() -> list[dict[str, Any]] | None:
            for file_id, upload in list(self.slack.uploads.items()):
                if file_id not in before and upload.blocks is not None:
                    return upload.blocks
            return None

        blocks = self.slack.wait_until(posted, timeout, "post the digest")
        return [text for text in Message("", "", "", blocks).block_texts() if text]


def _text_input(view: dict[str, Any]) -> tuple[str, str]:
    for block in view.get("blocks", []):
        element = block.get("element") or {}
        if block.get("type") == "input" and element.get("type") == "plain_text_input":
            return str(block["block_id"]), str(element["action_id"])
    raise SupportbotError("the correction modal has no text input")
