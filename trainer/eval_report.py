"""`supportbot eval`: both responders on an eval set, judged offline, written as JSON, Markdown
and a PNG chart, with a one-line verdict.

    supportbot eval                                   # the frozen eval split of the latest data
    supportbot eval --eval-file my_questions.jsonl --limit 50 --out reports/
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from supportbot.accuracy import PairedTest, mcnemar_exact
from supportbot.adapters import AdapterRegistry, fetch
from supportbot.base_model import resolve_base_model
from supportbot.cost import PriceTable, answer_cost, format_cost
from supportbot.embedding import MiniLM
from supportbot.errors import InvalidImport
from supportbot.prompts import FINETUNED_SYSTEM_PROMPT
from supportbot.records import Usage
from supportbot.responders.local_model import LocalModel
from supportbot.settings import Settings
from supportbot.store import Store
from supportbot.vote_agreement import Agreement, agreement, voted_answers
from trainer.dataset import build_snapshot, load_snapshot
from trainer.evaluate import reference_pool, score, to_messages
from trainer.judge import HEADLINE, Judge, Reference, make_judge
from trainer.pipeline import LONG_BATCH, SHORT_BATCH, local_side, prompted_side, round_robin_by_label
from trainer.progress import Reporter


def eval_rows_from_file(path: Path) -> list[dict[str, Any]]:
    """Any JSONL with "question" and "answer" fields, as chat rows."""
    if not path.exists():
        raise InvalidImport(f"{path} does not exist")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question, answer = str(row["question"]).strip(), str(row["answer"]).strip()
        except (ValueError, KeyError, TypeError):
            raise InvalidImport(
                f'{path}:{number}: each line must be a JSON object with "question" and "answer"'
            ) from None
        if question and answer:
            rows.append(
                {
                    "messages": [
                        {"role": "system", "content": FINETUNED_SYSTEM_PROMPT},
                        {"role": "user", "content": question},
                        {"role": "assistant", "content": answer},
                    ],
                    "label": row.get("intent") or row.get("label"),
                }
            )
    if not rows:
        raise InvalidImport(f"{path} holds no question/answer pair")
    return rows


def api_model(settings: Settings) -> str | None:
    """The prompted side's API model, or None when it runs on the local model."""
    return settings.prompted_model if settings.openai_base_url else None


def example_cost(example: dict[str, Any], settings: Settings, model: str | None, prices: PriceTable) -> float | None:
    usage = Usage(example["prompt_tokens"], example["completion_tokens"])
    return answer_cost(prices, model, usage, example["seconds"], settings.local_hourly_rate_usd)


def cost_per_1000(side: dict[str, Any], settings: Settings, model: str | None) -> float | None:
    """Local sides: compute seconds x the hourly rate. API sides: tokens x the price table."""
    prices = PriceTable.load(settings.price_table)
    costs = [example_cost(example, settings, model, prices) for example in side["examples"]]
    if not costs or None in costs:
        return None
    return sum(c for c in costs if c is not None) / len(costs) * 1000


PALETTE = ["#2c7fb8", "#f03b20", "#999999"]


def run_eval(
    settings: Settings, store: Store, eval_file: Path | None, limit: int, reporter: Reporter | None = None
) -> dict[str, Any]:
    if eval_file is not None:
        rows = eval_rows_from_file(eval_file)
        source = str(eval_file)
        # The team's labelled seeds widen the headline's reference pool (other questions' answers).
        pool = [Reference(seed.answer, seed.label) for seed in store.seeds.all() if seed.label]
    else:
        snapshot = build_snapshot(store, settings.datasets_dir, settings.eval_percent, settings.min_upvoters)
        rows = load_snapshot(snapshot.path, "eval")
        source = f"eval split of snapshot {snapshot.name}"
        if not rows:
            raise InvalidImport("the store has no eval examples yet: import data first, or pass --eval-file")
        pool = reference_pool(load_snapshot(snapshot.path, "train"))
    rows = round_robin_by_label(rows, limit or len(rows))  # 0: every question
    base_dir = resolve_base_model(settings, show_progress=False)
    registry = AdapterRegistry(store.redis, store.keys)
    active = registry.active()
    model = LocalModel(base_dir, dtype=settings.local_dtype, bf16=settings.hardware_bf16)
    if active is not None:
        model.load_adapter(fetch(active.uri, settings.data_dir / "adapter-cache"), active.version)
    judge = make_judge(settings)
    finetuned_name = f"fine-tuned {active.version}" if active else "fine-tuned (base, no adapter yet)"
    if reporter is not None:
        reporter.stage(
            f"{len(rows)} questions from {source}; the local model on {model.hardware.describe(model.dtype)}"
        )

    def follow(side: str) -> Callable[[int, int, int], None] | None:
        if reporter is None:
            return None
        return lambda done, total, tokens: reporter.answered(side, done, total, tokens)

    fine_side = local_side(model, to_messages(FINETUNED_SYSTEM_PROMPT), True)
    finetuned = score(finetuned_name, fine_side, rows, judge, SHORT_BATCH, follow(finetuned_name), pool)
    prompted_name, prompted_answer, *_ = prompted_side(settings, model, store)
    prompted = score(prompted_name, prompted_answer, rows, judge, LONG_BATCH, follow(prompted_name), pool)
    finetuned["cost_per_1000"] = cost_per_1000(finetuned, settings, None)
    prompted["cost_per_1000"] = cost_per_1000(prompted, settings, api_model(settings))
    sides = {"finetuned": finetuned, "prompted": prompted}
    if settings.prompt_mode == "retrieval":
        # The static prompt too, on the same questions: what retrieval adds, measured.
        static_settings = settings.model_copy(update={"prompt_mode": "static"})
        static_name, static_answer, *_ = prompted_side(static_settings, model, store)
        static_label = f"{static_name}, static"
        static = score(static_label, static_answer, rows, judge, LONG_BATCH, follow(static_name), pool)
        static["cost_per_1000"] = cost_per_1000(static, settings, api_model(settings))
        sides["prompted_static"] = static
    return {
        "source": source,
        "n": len(rows),
        "judge": {"name": judge.name, "threshold": judge.threshold, "calibration": judge.calibration},
        "sides": sides,
        "headline": HEADLINE,
        "reference_pool": len(pool),
        "vote_agreement": judge_vote_agreement(store, judge),
        "paired": paired(finetuned, prompted),
        "verdict": verdict(finetuned, prompted),
    }


def judge_vote_agreement(store: Store, judge: Judge) -> dict[str, Any]:
    """How often this judge agrees with every 👍/👎 people have given, per model (see
    supportbot.vote_agreement): answers with no reference close enough are counted apart."""
    found = agreement(store, MiniLM(), judge.judge, voted_answers(store))
    return {variant: result.to_dict() for variant, result in found.items()}


def paired(finetuned: dict[str, Any], prompted: dict[str, Any]) -> dict[str, Any]:
    """McNemar's exact test on the same questions: is the fine-tuned side the better one?"""
    verdicts = [[bool(e["strict"]) for e in side["examples"]] for side in (finetuned, prompted)]
    return mcnemar_exact(verdicts[0], verdicts[1]).to_dict()


def verdict(finetuned: dict[str, Any], prompted: dict[str, Any]) -> str:
    gap = (finetuned["accuracy"] - prompted["accuracy"]) * 100
    better, worse = (finetuned, prompted) if gap >= 0 else (prompted, finetuned)
    if abs(gap) >= 0.5:
        line = f"{better['name']} answers {abs(gap):.0f} pts better than {worse['name']}"
    else:
        line = f"{finetuned['name']} and {prompted['name']} answer equally well ({finetuned['accuracy']:.0%})"
    fc, pc = finetuned.get("cost_per_1000"), prompted.get("cost_per_1000")
    if fc and pc:
        ratio = pc / fc if pc >= fc else fc / pc
        cheaper = finetuned["name"] if fc <= pc else prompted["name"]
        shown = f"{ratio:.1f}" if ratio < 10 else f"{ratio:.0f}"
        line += f"; {cheaper} costs 1/{shown} as much per answer"
    return line


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "eval.json", out / "eval.md", out / "eval.png"]
    paths[0].write_text(json.dumps(report, indent=1, ensure_ascii=False))
    paths[1].write_text(markdown(report))
    chart(report, paths[2])
    return paths


def markdown(report: dict[str, Any]) -> str:
    judge = report["judge"]
    lines = [
        f"# Eval: {report['source']}",
        "",
        f"**{report['verdict']}**",
        "",
        f"{report['n']} questions; judge {judge['name']}. Accuracy is the strict figure (the reference "
        "nearest the answer is its own, or of its own reference's intent label); lenient: similarity ≥ "
        f"{judge['threshold']} ({judge['calibration']}), which an answer in the references' style passes "
        "even when it is about something else.",
        "",
        "| model | accuracy (95% CI) | lenient (95% CI) | mean similarity | tokens in / out per answer "
        "| s/answer | cost per 1,000 answers |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for side in report["sides"].values():
        low, high = side["ci95"]
        lenient = side.get("lenient_accuracy")
        lenient_low, lenient_high = side.get("lenient_ci95") or (0.0, 0.0)
        lenient_cell = "–" if lenient is None else f"{lenient:.1%} ({lenient_low:.0%}–{lenient_high:.0%})"
        lines.append(
            f"| {side['name']} | {side['accuracy']:.1%} ({low:.0%}–{high:.0%}) | {lenient_cell} | "
            f"{side['mean_similarity']:.3f} | {side['prompt_tokens_per_answer']:.0f} / "
            f"{side['completion_tokens_per_answer']:.0f} | "
            f"{side['seconds_per_answer']:.2f} | {format_cost(side['cost_per_1000'])} |"
        )
    if report.get("paired"):
        test = PairedTest.from_dict(report["paired"])
        lines += [
            "",
            f"Paired on the same questions ({test.name}, fine-tuned better): b={test.b} questions only the "
            f"fine-tuned model got right, c={test.c} only the prompted one, p={test.p_value:.3g}.",
        ]
    lines += ["", agreement_line(report.get("vote_agreement") or {})]
    return "\n".join(lines) + "\n"


def agreement_line(found: dict[str, Any]) -> str:
    """The judge–vote agreement in one sentence, per model."""
    if not found:
        return "Judge and votes: nobody has voted on an answer yet."
    parts = [f"{variant}: {Agreement.from_dict(data).describe()}" for variant, data in found.items()]
    return (
        "The judge agrees with people's net 👍/👎 (each voted answer judged against its question's approved "
        "correction or the imported answer to the nearest question) on " + "; ".join(parts) + "."
    )


def error_bars(sides: list[dict[str, Any]]) -> list[list[float]]:
    """Distances, in points, from each accuracy down and up to its interval's ends; never negative
    (an interval computed elsewhere may end a rounding error inside its own accuracy)."""
    return [
        [max(0.0, s["accuracy"] - s["ci95"][0]) * 100 for s in sides],
        [max(0.0, s["ci95"][1] - s["accuracy"]) * 100 for s in sides],
    ]


def chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sides = list(report["sides"].values())
    names = [s["name"] for s in sides]
    accuracy = [s["accuracy"] * 100 for s in sides]
    errors = error_bars(sides)
    costs = [s["cost_per_1000"] or 0.0 for s in sides]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(sides))]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(names, accuracy, yerr=errors, capsize=6, color=colours)
    left.set_ylim(0, 100)
    left.set_ylabel("strict accuracy, % (95% CI)")
    left.set_title("Accuracy on the eval set (strict)")
    right.bar(names, costs, color=colours)
    right.set_ylabel("USD per 1,000 answers")
    right.set_title("Cost")
    for axis, labels in ((left, names), (right, names)):
        axis.set_xticks(range(len(labels)), labels, rotation=10, fontsize=8)
    for i, s in enumerate(sides):
        if s["cost_per_1000"] is None:
            right.text(i, 0, "unknown", ha="center", va="bottom")
    figure.suptitle(report["verdict"], fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
