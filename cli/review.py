"""`supportbot review`: corrections waiting for review, decided by an operator.

supportbot review                      # the pending corrections, oldest first
supportbot review approve 1a2b3c4d     # an id, or its first 8 characters
supportbot review reject 1a2b3c4d --as U0123ABCD

Whoever runs this has the store's Redis, so they may review. The decision is recorded as
``cli:<os user>``, or as the Slack user named with ``--as``. With SLACK_BOT_TOKEN set, the review
message (if any) is updated and the correction's author is told in Slack, as after a button click.
"""

from __future__ import annotations

import getpass
import re

import click
from rich.table import Table

from cli.common import console, errors, friendly_errors, open_store
from supportbot.corrections import CLI_REVIEWER, SHORT_ID, CorrectionService
from supportbot.records import Correction
from supportbot.settings import Settings
from supportbot.store import Store

_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def operator() -> str:
    try:
        return CLI_REVIEWER + getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return CLI_REVIEWER + "operator"


def slack_user(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not _SLACK_USER.match(value):
        raise click.BadParameter(f"{value!r} is not a Slack user id such as U0123ABCD")
    return value


def service(store: Store) -> CorrectionService:
    # Access to the store is access to everything: an operator here is a reviewer by definition.
    return CorrectionService(store.corrections, is_trusted=lambda _: False, is_reviewer=lambda _: True)


@click.group(invoke_without_command=True)
@click.pass_context
def review(ctx: click.Context) -> None:
    """Corrections waiting for review: list them (the default), approve or reject one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_)


@review.command("list")
@friendly_errors
def list_() -> None:
    """The pending corrections, oldest first."""
    _, store = open_store()
    pending = service(store).pending()
    if not pending:
        console.print("no corrections are waiting for review")
        return
    table = Table("id", "by", "question", "proposed answer", title=f"{len(pending):,} waiting for review")
    for correction in pending:
        question = store.get_question(correction.question_id)
        table.add_row(
            correction.id[:SHORT_ID],
            correction.user,
            question.text if question else "(question no longer stored)",
            correction.text,
        )
    console.print(table)
    console.print("decide with: supportbot review approve ID | supportbot review reject ID")


def decide(correction_id: str, as_user: str | None, approve: bool) -> None:
    settings, store = open_store()
    reviewer = as_user or operator()
    correction = service(store).review(correction_id, reviewer, approve)
    console.print(f"{correction.status} correction {correction.id[:SHORT_ID]} by {correction.user} (as {reviewer})")
    tell_author(settings, store, correction)


def tell_author(settings: Settings, store: Store, correction: Correction) -> None:
    if settings.slack_bot_token is None:
        errors.print("SLACK_BOT_TOKEN is not set: the author was not told in Slack")
        return
    from slack_sdk import WebClient

    from bot.review import announce_decision

    client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    if announce_decision(client, store, correction):
        console.print("the author was told in Slack")
    else:
        errors.print("[yellow]warning:[/] Slack refused to tell the author (see the log); the decision stands")


@review.command("approve")
@click.argument("correction_id", metavar="ID")
@click.option("--as", "as_user", callback=slack_user, help="Record this Slack user id as the reviewer.")
@friendly_errors
def approve(correction_id: str, as_user: str | None) -> None:
    """Approve a correction: it becomes training data."""
    decide(correction_id, as_user, approve=True)


@review.command("reject")
@click.argument("correction_id", metavar="ID")
@click.option("--as", "as_user", callback=slack_user, help="Record this Slack user id as the reviewer.")
@friendly_errors
def reject(correction_id: str, as_user: str | None) -> None:
    """Reject a correction: it is never trained on."""
    decide(correction_id, as_user, approve=False)
