"""`supportbot eval`, `digest` and `demo`: the numbers, as files and in Slack."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from cli.common import console, friendly_errors, load_config, open_store, out_dir_option
from cli.progress import reporting
from supportbot.cost import format_cost


@click.command("eval")
@click.option("--eval-file", type=click.Path(path_type=Path, dir_okay=False), help="JSONL with question and answer.")
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="Questions to ask (default: EVAL_LIMIT; 0 there: all)."
)
@out_dir_option("eval-report", "Where eval.json, eval.md and eval.png are written.")
@click.option(
    "--judge",
    type=click.Choice(["embedding", "llm"]),
    default=None,
    help="embedding: offline MiniLM (default, JUDGE); llm: an OpenAI-compatible model, order swapped.",
)
@friendly_errors
def eval_(eval_file: Path | None, limit: int | None, out: Path, judge: str | None) -> None:
    """Both models answer an eval set; writes eval.json, eval.md and eval.png, prints a verdict."""
    from trainer.eval_report import agreement_line, run_eval, write_report

    settings, store = open_store()
    if judge is not None:
        settings = settings.model_copy(update={"judge": judge})
    with reporting(console) as reporter:
        report = run_eval(settings, store, eval_file, limit or settings.eval_limit, reporter)
    paths = write_report(report, out)
    table = Table("model", "accuracy (95% CI)", "lenient", "cost per 1,000 answers", title="accuracy: strict")
    for side in report["sides"].values():
        low, high = side["ci95"]
        table.add_row(
            side["name"],
            f"{side['accuracy']:.0%} ({low:.0%}–{high:.0%})",
            f"{side['lenient_accuracy']:.0%}",
            format_cost(side["cost_per_1000"]),
        )
    console.print(table)
    paired = report["paired"]
    console.print(
        f"paired ({paired['name']}): {paired['b']} questions only the fine-tuned model got right, "
        f"{paired['c']} only the prompted one; p={paired['p_value']:.3g}"
    )
    console.print(agreement_line(report["vote_agreement"]))
    console.print(f"[bold]{report['verdict']}[/]")
    console.print("wrote " + ", ".join(str(p) for p in paths))


@click.command()
@click.option("--dry-run", is_flag=True, help="Write the digest to files instead of posting it to Slack.")
@out_dir_option("digest", "Where --dry-run writes digest.md, digest.png and digest.json.")
@friendly_errors
def digest(dry_run: bool, out: Path) -> None:
    """The weekly digest now: post it to DIGEST_CHANNEL, or --dry-run to files."""
    from supportbot.digest import build_digest, write_files

    settings, store = open_store()
    report = build_digest(store, settings)
    if dry_run:
        paths = write_files(report, out)
        console.print(f"[bold]{report.recommendation}[/]")
        console.print("wrote " + ", ".join(str(p) for p in paths))
        return
    from bot.digest import post_from_settings

    channel = post_from_settings(settings, report)
    console.print(f"posted the digest to {channel}: {report.recommendation}")


@click.command()
@out_dir_option("demo-report", "Where the eval report and the digest are written.")
@click.option(
    "--data",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Your own question/answer CSV or JSONL instead of the bundled Bitext sample.",
)
@click.option("--quick", is_flag=True, help="A small run (32 examples, 4 steps, 8 questions) in a few minutes.")
@friendly_errors
def demo(out: Path, data: Path | None, quick: bool) -> None:
    """The whole loop offline: import past answers, train the first adapter, both models answer
    held-out questions, the judge's verdicts become votes, then the eval report and the digest."""
    from trainer.demo import run_demo

    with reporting(console) as reporter:
        summary = run_demo(load_config(), out, data, quick, console, reporter)
    table = Table("model", "accuracy (95% CI)", "cost per 1,000 answers", title="Held-out questions")
    for side in summary["eval"].values():
        low, high = side["ci95"]
        table.add_row(
            side["name"], f"{side['accuracy']:.0%} ({low:.0%}–{high:.0%})", format_cost(side["cost_per_1000"])
        )
    console.print(table)
    console.print(f"[bold]{summary['recommendation']}[/]")
    for path in summary["files"]:
        console.print(f"  {path}")
