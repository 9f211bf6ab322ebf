"""One retraining run: snapshot, train a candidate, score it at the gate, register, maybe promote.

The active adapter changes only in the last step, in one Redis command: a crash anywhere before
leaves the previous adapter serving.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from supportbot.adapters import AdapterRegistry, fetch
from supportbot.base_model import resolve_base_model
from supportbot.cost import compute_cost
from supportbot.examples import count_since, eligible_examples
from supportbot.lora_server import loader_from_settings
from supportbot.prompts import FINETUNED_SYSTEM_PROMPT, Message, PromptSet, prompt_for_mode
from supportbot.records import AdapterVersion
from supportbot.responders.local_model import Generation, LocalModel
from supportbot.settings import Settings
from supportbot.splits import normalise
from supportbot.store import Store
from supportbot.training_lock import TrainingLock
from trainer.answer_cache import AnswerCache, local_identity
from trainer.backends import TrainResult, get_backend
from trainer.config import TrainConfig
from trainer.dataset import build_snapshot, load_snapshot
from trainer.evaluate import AnswerBatch, decide, reference_pool, score, to_messages
from trainer.judge import Reference, make_judge
from trainer.progress import Reporter
from trainer.registry import publish

log = logging.getLogger(__name__)
EVAL_MAX_NEW_TOKENS = 96
# Questions generated together at the gate (fp32, AVX2 kernels, 2 cores). Short prompts: batches
# of 8 / 16 / 40 gave 74 / 120 / 152 tok/s at 64 new tokens. The long prompt (1,652 tokens, its
# head cached once): in the demo's gate, batches of 16 took 3.2-3.4 s per answer and one at a time
# 4.9 s (before the cache, batches of 8: 7.4 s). Alone in a fresh process, 16 of those questions
# went faster one at a time (80 s against 175 s in one batch), which is not understood yet: padded
# rows need an attention mask, and with one the grouped keys/values are copied out to every head.
SHORT_BATCH = 40
LONG_BATCH = 16


@dataclass
class RetrainOutcome:
    status: str  # skipped | promoted | rejected
    reason: str
    version: AdapterVersion | None = None


def round_robin_by_label(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` rows, taking one of each label in turn (deterministic, stratified)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: normalise(r["messages"][1]["content"])):
        groups[row.get("label") or ""].append(row)
    queues = [groups[label] for label in sorted(groups)]
    picked: list[dict[str, Any]] = []
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return picked


def training_rows(rows: list[dict[str, Any]], limit: int = 0, correction_weight: int = 1) -> list[dict[str, Any]]:
    """The team's own corrections and voted answers first, then seeds stratified by label; at
    most ``limit`` rows (TRAIN_MAX_EXAMPLES), or every row when ``limit`` is 0.

    Each approved correction comes ``correction_weight`` times (CORRECTION_WEIGHT): an answer a
    person fixed marks what the live model gets wrong, and one copy among hundreds of seeds and
    upvoted answers barely moves it. The repeats come after every other row of the team's own, so a
    limit never crowds out a different example for a copy. The limit counts distinct rows."""
    if correction_weight < 1:
        raise ValueError("correction_weight is at least 1")
    limit = limit or len(rows)
    own = [r for r in rows if r["source"] != "seed"]
    seeds = [r for r in rows if r["source"] == "seed"]
    picked = own[:limit] + round_robin_by_label(seeds, max(0, limit - len(own)))
    corrections = [r for r in picked if r["source"] == "correction"]
    return picked + corrections * (correction_weight - 1)


def local_side(
    model: LocalModel, build: Callable[[str], Any], use_adapter: bool, max_new_tokens: int = EVAL_MAX_NEW_TOKENS
) -> AnswerBatch:
    def answer(questions: list[str]) -> list[Generation]:
        return model.generate_batch([build(q) for q in questions], max_new_tokens, use_adapter=use_adapter)

    return answer


class PromptedSide(NamedTuple):
    name: str
    answer: AnswerBatch
    identity: str  # who answers (see trainer.answer_cache)
    build: Callable[[str], list[Message]]  # what it is sent for a question


def prompted_side(settings: Settings, base: LocalModel, store: Store | None = None) -> PromptedSide:
    """The prompted side as it really runs: PROMPT_MODE's prompt (retrieval reads ``store``)."""
    prompts = PromptSet.load(settings.prompt_dir)
    retrieval = settings.prompt_mode == "retrieval"
    if not settings.openai_base_url:
        build = prompt_for_mode(settings, prompts, store, base.tokenizer).messages  # static: long_messages
        name = f"prompted (local {base.name}{', retrieval' if retrieval else ''})"
        return PromptedSide(name, local_side(base, build, use_adapter=False), local_identity(base), build)
    from supportbot.services import build_prompted

    responder = build_prompted(settings, prompts, EVAL_MAX_NEW_TOKENS, store)

    def answer(questions: list[str]) -> list[Generation]:
        out = []
        for question in questions:
            a = responder.answer(question)
            out.append(Generation(a.text, a.usage.prompt_tokens, a.usage.completion_tokens, a.latency_s))
        return out

    name = f"prompted ({settings.prompted_model}{', retrieval' if retrieval else ''})"
    identity = f"openai {settings.openai_base_url} {settings.prompted_model}"
    return PromptedSide(name, answer, identity, responder.messages)


def retrain(
    settings: Settings,
    store: Store,
    *,
    trigger: str,
    reporter: Reporter,
    config: TrainConfig | None = None,
    force: bool = False,
) -> RetrainOutcome:
    # With FINETUNED_BASE_URL, a promotion first loads the version on the inference server.
    registry = AdapterRegistry(store.redis, store.keys, prepare=loader_from_settings(settings))
    with TrainingLock(store.redis, store.keys):
        since = registry.last_trained_at()
        fresh = count_since(eligible_examples(store, settings.min_upvoters), since)
        if not force and fresh < settings.min_new_examples:
            reason = (
                f"only {fresh} new approved examples since the last version "
                f"(MIN_NEW_EXAMPLES={settings.min_new_examples})"
            )
            log.info("retraining skipped: %s", reason)
            reporter.stage(f":zzz: Skipped: {reason}.")
            return RetrainOutcome("skipped", reason)
        return _run(settings, store, registry, trigger, reporter, config or TrainConfig.from_settings(settings))


def _run(  # noqa: PLR0917 - internal step of retrain()
    settings: Settings,
    store: Store,
    registry: AdapterRegistry,
    trigger: str,
    reporter: Reporter,
    config: TrainConfig,
) -> RetrainOutcome:
    started = time.perf_counter()
    snapshot = build_snapshot(store, settings.datasets_dir, settings.eval_percent, settings.min_upvoters)
    train = training_rows(
        load_snapshot(snapshot.path, "train"), settings.train_max_examples, settings.correction_weight
    )
    eval_rows = load_snapshot(snapshot.path, "eval")
    evaluation = round_robin_by_label(eval_rows, settings.eval_limit or len(eval_rows))  # 0: the whole split
    if not train or not evaluation:
        reason = f"snapshot {snapshot.name} has {len(train)} training and {len(evaluation)} eval examples"
        reporter.stage(f":warning: Cannot train: {reason}.")
        return RetrainOutcome("skipped", reason)
    base_dir = resolve_base_model(settings, show_progress=False)
    backend = get_backend(settings.trainer_backend)
    version = registry.next_version()
    dtype, hardware = config.precision()
    stopping = (
        f", up to {config.epochs:g} epochs with early stopping on {config.validation_percent}% of them"
        if config.early_stopping
        else f", {config.epochs:g} epochs"
    )
    weighted = _weighted(train, settings.correction_weight)
    reporter.stage(
        f":gear: Training {version} with {backend.name} on {len(train):,} examples{weighted} "
        f"(snapshot {snapshot.name}){stopping}; {len(evaluation)} eval questions.\n"
        f"training on {hardware.describe(dtype)}"
    )
    work = Path(tempfile.mkdtemp(prefix=f"train-{version}-", dir=_work_dir(settings)))
    try:

        def progress(event: str, data: dict[str, Any]) -> None:
            if event == "step":
                reporter.step(data)

        result = backend.train(train, base_dir, config, work, progress=progress)
        reporter.stage(f":mag: Evaluating {version} ({trained(result)})…")
        report = gate_report(
            settings, registry, base_dir, result.adapter_dir, evaluation, reporter.answered, reference_pool(train)
        )
        uri = publish(result.adapter_dir, settings.adapter_store_uri, version)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    duration = time.perf_counter() - started
    decision = report["decision"]
    adapter = AdapterVersion(
        version=version,
        base_model=str(base_dir),
        snapshot=snapshot.name,
        uri=uri,
        trigger=trigger,
        config=config.to_dict() | {"correction_weight": settings.correction_weight},
        metrics=result.metrics(),
        report=report,
        status="candidate" if decision["promote"] else "rejected",
        duration_s=duration,
        device=result.device,
        cost_usd=compute_cost(duration, settings.trainer_hourly_rate_usd),
    )
    registry.save(adapter)
    if decision["promote"]:
        adapter = registry.activate(version)  # the one atomic switch
        reporter.stage(f":white_check_mark: Promoted {version}: {decision['reason']}.")
        return RetrainOutcome("promoted", decision["reason"], adapter)
    reporter.stage(f":no_entry: Kept the live adapter; {version} rejected: {decision['reason']}.")
    return RetrainOutcome("rejected", decision["reason"], adapter)


def _weighted(train: list[dict[str, Any]], weight: int) -> str:
    """`` (12 corrections x3)`` when CORRECTION_WEIGHT repeated some rows, else nothing."""
    distinct = sum(row["source"] == "correction" for row in train) // weight
    if weight == 1 or not distinct:
        return ""
    return f" ({distinct} correction{'s' * (distinct != 1)} x{weight})"


def trained(result: TrainResult) -> str:
    """What the training did, in a few words: loss, steps and, with early stopping, the epoch kept."""
    text = f"train loss {result.train_loss:.3f}, {result.steps} steps"
    if result.best_epoch is not None:
        text += (
            f", epoch {result.best_epoch:g} of {result.epochs:g} kept by the validation loss "
            f"on {result.validation_rows} held-out training rows"
        )
    return text


def _work_dir(settings: Settings) -> Path:
    path = settings.data_dir / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def gate_report(  # noqa: PLR0917 - the progress callback is optional
    settings: Settings,
    registry: AdapterRegistry,
    base_dir: Path,
    candidate_dir: Path,
    evaluation: list[dict[str, Any]],
    progress: Callable[[str, int, int, int], None] | None = None,
    pool: Sequence[Reference] = (),
) -> dict[str, Any]:
    """Score the candidate, the live adapter (or the bare base) and the prompted model.

    ``progress(side, done, total, tokens)`` follows the answering, batch by batch; ``pool`` (the
    training split's labelled answers) gives the headline more references per label, as in `eval`."""
    judge = make_judge(settings)
    short = to_messages(FINETUNED_SYSTEM_PROMPT)
    cache = AnswerCache(registry.redis, registry.keys, settings.gate_cache_days)
    options: dict[str, Any] = {"dtype": settings.local_dtype, "bf16": settings.hardware_bf16}
    base = LocalModel(base_dir, **options)
    # Adapters merged into their copies: each side answers as fast as the model allows.
    candidate = LocalModel(base_dir, adapter_dir=candidate_dir, merge=True, **options)
    live_version = registry.active()
    if live_version is not None:
        live_dir = fetch(live_version.uri, settings.data_dir / "adapter-cache")
        live_model = LocalModel(base_dir, adapter_dir=live_dir, merge=True, **options)
        live_name, live = f"live {live_version.version}", local_side(live_model, short, use_adapter=True)
        live_identity = local_identity(live_model, live_dir)
    else:
        live_name, live = "bare base", local_side(base, short, use_adapter=False)
        live_identity = local_identity(base)
    prompted = prompted_side(settings, base, Store(registry.redis, registry.keys.prefix))

    def follow(side: str) -> Callable[[int, int, int], None] | None:
        return None if progress is None else lambda done, total, tokens: progress(side, done, total, tokens)

    def cached(answer: AnswerBatch, identity: str, build: Callable[[str], list[Message]]) -> AnswerBatch:
        return cache.wrap(answer, identity, build, EVAL_MAX_NEW_TOKENS)

    candidate_side = cached(
        local_side(candidate, short, use_adapter=True), local_identity(candidate, candidate_dir), short
    )
    live = cached(live, live_identity, short)
    prompted_answer = cached(prompted.answer, prompted.identity, prompted.build)
    sides = {
        "candidate": score("candidate", candidate_side, evaluation, judge, SHORT_BATCH, follow("candidate"), pool),
        "live": score(live_name, live, evaluation, judge, SHORT_BATCH, follow(live_name), pool),
        "prompted": score(prompted.name, prompted_answer, evaluation, judge, LONG_BATCH, follow(prompted.name), pool),
    }
    decision = decide(
        strict_verdicts(sides["candidate"]),
        strict_verdicts(sides["live"]),
        settings.promote_margin,
        settings.gate_confidence,
        live_name,
    )
    return {
        **sides,
        "answer_cache": cache.summary(),
        "judge": {"name": judge.name, "threshold": judge.threshold, "calibration": judge.calibration},
        "decision": {
            "promote": decision.promote,
            "reason": decision.reason,
            "headline": "strict",
            "margin": settings.promote_margin,
            "confidence": settings.gate_confidence,
            "test": None if decision.test is None else decision.test.to_dict(),
        },
    }


def strict_verdicts(side: dict[str, Any]) -> list[bool]:
    """The per-question headline verdicts of one side, in the eval rows' order."""
    return [bool(example["strict"]) for example in side["examples"]]
