"""`supportbot simulate`: the learning loop, proved end to end against a stand-in for Slack.

supportbot simulate                                  # the bundled Bitext sample, 5 intents held out
supportbot simulate --data bitext_full.csv --hold-out 6 --out sim-report
supportbot simulate --intents get_refund,track_refund,review,complaint,payment_issue
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from cli.common import console, friendly_errors, load_config, out_dir_option
from simulation.loop import UPVOTE_RULES, Loop, LoopOptions
from simulation.report import markdown
from simulation.scenario import ScenarioSize, build_scenario
from supportbot.errors import SupportbotError
from supportbot.judging import Reference
from supportbot.settings import Settings
from supportbot.store import Store


@click.command()
@out_dir_option("simulation-report", "Where simulation.json, simulation.md, the bot's log and the adapters go.")
@click.option(
    "--data",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Labelled question/answer CSV or JSONL (an intent per row); default: the bundled Bitext sample.",
)
@click.option(
    "--hold-out",
    "held_out",
    type=click.IntRange(1),
    default=ScenarioSize.held_out,
    show_default=True,
    help="How many intents the first adapter never sees (K), chosen at random (--seed).",
)
@click.option("--intents", help="Comma-separated intents to hold out, instead of K at random.")
@click.option(
    "--taught",
    type=click.IntRange(1),
    default=ScenarioSize.taught_per_held_out,
    show_default=True,
    help="Questions of each held-out intent asked once and corrected (or upvoted when right).",
)
@click.option(
    "--measured",
    type=click.IntRange(1),
    default=ScenarioSize.measured_per_held_out,
    show_default=True,
    help="Questions of each held-out intent asked before and after (never given feedback).",
)
@click.option(
    "--measured-other",
    type=click.IntRange(0),
    default=ScenarioSize.measured_per_other,
    show_default=True,
    help="Questions of every other intent asked before and after.",
)
@click.option(
    "--taught-other",
    type=click.IntRange(0),
    default=ScenarioSize.taught_per_other,
    show_default=True,
    help="Questions of every other intent asked once and upvoted (or corrected when wrong).",
)
@click.option(
    "--seeds",
    type=click.IntRange(0),
    default=ScenarioSize.seeds_per_other,
    show_default=True,
    help="Past answers imported per other intent before the first adapter (0: all that are left).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the choice of intents and questions.")
@click.option(
    "--max-new-tokens",
    type=click.IntRange(8, 1024),
    default=LoopOptions.max_new_tokens,
    show_default=True,
    help="Longest answer the bot gives (MAX_NEW_TOKENS).",
)
@click.option(
    "--eval-percent",
    type=click.IntRange(1, 50),
    default=LoopOptions.eval_percent,
    show_default=True,
    help="EVAL_PERCENT of the simulated team: the share of questions held out for the gate.",
)
@click.option("--epochs", help="TRAIN_EPOCHS for both trainings (a number, or auto); default: as configured.")
@click.option(
    "--upvote",
    type=click.Choice(UPVOTE_RULES),
    default=LoopOptions.upvote,
    show_default=True,
    help="When people upvote a fine-tuned answer instead of correcting it: it is about the right intent "
    "(headline), or that and close to the answer they would write (close).",
)
@click.option(
    "--window",
    type=click.IntRange(1, 100),
    default=LoopOptions.window,
    show_default=True,
    help="Questions waiting for their answers at a time.",
)
@friendly_errors
def simulate(  # noqa: PLR0917 - the command's options
    out: Path,
    data: Path | None,
    held_out: int,
    intents: str | None,
    taught: int,
    measured: int,
    measured_other: int,
    taught_other: int,
    seeds: int,
    seed: int,
    max_new_tokens: int,
    eval_percent: int,
    epochs: str | None,
    window: int,
    upvote: str,
) -> None:
    """The learning loop, end to end: the real bot in HTTP mode against a Web API stand-in.

    The first adapter is trained on past answers with K intents held out. Simulated people ask
    questions of every intent with /ask; trusted people correct the wrong fine-tuned answers (in
    the modal and in the thread) and others upvote the right ones; the scheduled retrain fires
    (RETRAIN_CRON every minute, MIN_NEW_EXAMPLES = the examples given), the gate decides and the
    bot hot-swaps. The same measured questions, never corrected, are asked before and after:
    accuracy on the held-out intents and on the others, the time taken, and the digest.
    It uses its own Redis key prefix (sbsim:, cleared first) and keeps its files in --out.
    """
    from trainer.demo import sample_path
    from trainer.importer import Mapping, parse

    settings = load_config()
    path = data or sample_path()
    rows = parse(path, Mapping(), settings.max_question_chars).seeds
    size = ScenarioSize(held_out, taught, measured, measured_other, taught_other, seeds)
    chosen = [name.strip() for name in intents.split(",") if name.strip()] if intents else None
    scenario = build_scenario(rows, size, chosen, seed)
    if epochs is not None and epochs != "auto":
        try:
            float(epochs)
        except ValueError:
            raise click.BadParameter("a number or auto", param_hint="--epochs") from None
    options = LoopOptions(max_new_tokens, eval_percent, window, train_epochs=epochs, upvote=upvote)
    out.mkdir(parents=True, exist_ok=True)
    report = run(settings, scenario, out, options)
    report["data"] = str(path)
    report["machine"] = machine(settings)
    (out / "simulation.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "simulation.md").write_text(markdown(report), encoding="utf-8")
    show(report)
    console.print(f"wrote {out / 'simulation.json'}, {out / 'simulation.md'} and the bot's log {out / 'bot.log'}")


def run(settings: Settings, scenario: Any, out: Path, options: LoopOptions) -> dict[str, Any]:
    from cli.progress import reporting
    from simulation.loop import PREFIX
    from supportbot.base_model import resolve_base_model
    from supportbot.redis_conn import connect, resolve_url
    from trainer.judge import make_judge
    from trainer.pipeline import retrain

    judge = make_judge(settings)

    def judge_fn(
        answers: list[str], references: list[str], labels: list[str | None], pool: Sequence[Reference]
    ) -> tuple[list[bool], list[bool]]:
        verdicts = judge.judge(answers, references, labels, pool)
        return list(verdicts.strict), list(verdicts.correct)

    def train_first(sim: Settings, store: Store) -> Any:
        with reporting(console) as reporter:
            outcome = retrain(sim, store, trigger="simulation: first adapter", reporter=reporter, force=True)
        if outcome.version is None:
            raise SupportbotError(f"the first adapter was not trained: {outcome.reason}")
        return outcome.version

    redis_url = resolve_url(settings)
    store = Store(connect(settings), PREFIX)
    base_model = resolve_base_model(settings)
    loop = Loop(settings, scenario, out, judge_fn, train_first, lambda text: console.print(text, highlight=False),
                options)  # fmt: skip
    return loop.run(store, redis_url, base_model)


def machine(settings: Settings) -> dict[str, Any]:
    """The CPU, the dtype the bot answered in and how busy the machine was: figures from a shared
    machine are only comparable beside these. As the bot detects it: ``HARDWARE_BF16`` and
    ``LOCAL_DTYPE`` count."""
    from supportbot.hardware import detect, pick_dtype

    hardware = detect(settings.hardware_bf16)
    return {
        "hardware": hardware.describe(pick_dtype(settings.local_dtype, hardware)),
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "finished_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def show(report: dict[str, Any]) -> None:
    table = Table("side", "intents", "n", "before", "after", "change", title="Accuracy (headline; lenient beside)")
    for variant, name in (("finetuned", "fine-tuned"), ("prompted", "prompted")):
        for group, title in (("held_out", "held out"), ("other", "others")):
            row = report["accuracy"][variant][group]
            b, a = row["before"], row["after"]
            table.add_row(
                name,
                title,
                str(b["n"]),
                f"{b['strict_rate']:.0%} ({b['lenient_rate']:.0%})",
                f"{a['strict_rate']:.0%} ({a['lenient_rate']:.0%})",
                f"{row['change_pts']:+.1f} pts",
            )
    console.print(table)
    console.print(_goal_lines(report), highlight=False)
    console.print("The digest after the loop, as posted:", highlight=False)
    for text in report["digest"]["after"]:
        console.print("  " + text.replace("\n", "\n  "), highlight=False, markup=False)


def _goal_lines(report: dict[str, Any]) -> str:
    goal, met = report["goal"], report["goal"]["met"]
    verdict = "met" if all(met.values()) else "NOT met"
    return (
        f"Goal {verdict}: held-out {goal['held_out_gain_pts']:+.1f} pts (≥ +30), others "
        f"{goal['other_change_pts']:+.1f} pts (no loss > 3), {goal['minutes']:.1f} min (≤ 30), "
        f"{report['retrain']['version']} {report['retrain']['status']}. "
        + "Phases (s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in report["timeline_s"].items())
    )
