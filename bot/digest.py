"""The weekly digest in Slack: Block Kit summary plus the chart, as one message in DIGEST_CHANNEL.

The chart goes up through Slack's file upload API (files.getUploadURLExternal, the upload itself,
files.completeUploadExternal, via slack_sdk's ``files_upload_v2``) and the summary blocks ride on
the completing call, so the channel gets exactly one message holding both. Only section, header,
divider and context blocks are used (completeUploadExternal rejects ``markdown`` blocks).
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import SECTION_LIMIT, Block, escape
from supportbot.digest import Digest, build_digest, chart, row_cells
from supportbot.errors import ConfigError, SupportbotError
from supportbot.records import VARIANTS
from supportbot.schedule import OncePerFire, cron_trigger
from supportbot.settings import Settings
from supportbot.store import Store

log = logging.getLogger(__name__)
HEADER_LIMIT = 150


def digest_blocks(digest: Digest) -> list[Block]:
    title = f":bar_chart: Weekly digest: prompted vs fine-tuned, {digest.period()}"[:HEADER_LIMIT]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(digest.recommendation)}*"[:SECTION_LIMIT]}},
        {"type": "divider"},
    ]
    for variant in VARIANTS:
        cells = row_cells(digest, variant)
        lines = [f"*{escape(digest.name(variant))}*"] + [f"• {name}: {value}" for name, value in cells.items()]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:SECTION_LIMIT]}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Accepted = net :+1: and no correction. Eval accuracy is the live adapter's strict "
                    "accuracy at its gate on the frozen eval split (the reference nearest the answer is its own "
                    "or of its intent label; 95% interval); eval lenient = similarity alone; gate test = the paired "
                    "test that promoted it; judge agrees with :+1:/:-1: = the share of this week's voted answers "
                    "where the judge's headline verdict (against the question's approved correction or the "
                    "nearest imported answer) matches the net vote. Changes in brackets: against the week before.",
                }
            ],
        }
    )
    return blocks


def post_digest(client: WebClient, channel: str, digest: Digest) -> dict[str, Any]:
    """Upload the chart with the summary blocks to ``channel``: one message."""
    with tempfile.TemporaryDirectory(prefix="digest-") as tmp:
        png = chart(digest, Path(tmp) / "digest.png")
        response = client.files_upload_v2(
            channel=channel,
            file=str(png),
            filename="supportbot-digest.png",
            title=f"supportbot digest, {digest.period()}",
            alt_txt="Accepted answers and eval accuracy by week, and cost per answer, for each model",
            blocks=json.dumps(digest_blocks(digest)),
        )
    log.info("digest posted to %s", channel)
    return dict(response.data) if isinstance(response.data, dict) else {}


def post_from_settings(settings: Settings, digest: Digest) -> str:
    """`supportbot digest`: post to DIGEST_CHANNEL with the bot token; returns the channel."""
    if not settings.digest_channel:
        raise ConfigError("DIGEST_CHANNEL is not set: set it to a channel id (C…), or use --dry-run --out DIR")
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set: the digest is posted with the bot token (or use --dry-run)")
    client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    try:
        post_digest(client, settings.digest_channel, digest)
    except SlackApiError as exc:
        raise SupportbotError(
            f"Slack refused the digest for {settings.digest_channel}: {exc.response.get('error')} "
            "(invite the bot to the channel; it needs the files:write scope)"
        ) from None
    return settings.digest_channel


class DigestSchedule(OncePerFire):
    """Monday 09:00 (DIGEST_CRON in TIMEZONE): the digest, posted by exactly one replica."""

    name = "digest"

    def __init__(
        self, settings: Settings, store: Store, client: WebClient, trigger: Any = None, tolerance_s: float = 30.0
    ) -> None:
        if not settings.digest_channel:
            raise ValueError("DIGEST_CHANNEL is not set")
        self.client = client
        self.channel = settings.digest_channel
        trigger = trigger or cron_trigger("DIGEST_CRON", settings.digest_cron, settings.timezone)
        super().__init__(settings, store, trigger, tolerance_s)

    def run(self, fired: datetime) -> str:
        post_digest(self.client, self.channel, build_digest(self.store, self.settings, fired.timestamp()))
        return "posted"
