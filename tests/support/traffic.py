"""A store seeded with known traffic: answers of both models over two weeks, with votes,
corrections and a live adapter whose gate report gives the eval accuracy."""

from __future__ import annotations

from dataclasses import dataclass

from supportbot.adapters import AdapterRegistry
from supportbot.corrections import CorrectionService
from supportbot.records import AdapterVersion, Answer, Question, Usage
from supportbot.store import Store

NOW = 1_764_579_600.0  # Mon 1 Dec 2025 09:00 UTC
DAY = 24 * 3600.0


@dataclass(frozen=True)
class Planned:
    variant: str
    days_ago: float
    votes: tuple[int, ...] = ()
    latency: float = 1.0
    cost: float | None = 0.001
    prompt_tokens: int = 100
    corrected: str | None = None  # None | "answer" | "thread" | "rejected"


def answer(store: Store, plan: Planned, number: int) -> Answer:
    at = NOW - plan.days_ago * DAY
    question = Question(text=f"question {number}", user="U1", channel="C1", thread_ts=f"{at}", created_at=at)
    store.save_question(question)
    saved = Answer(
        variant=plan.variant,  # type: ignore[arg-type]
        text=f"answer {number}",
        model="gpt-4o-mini" if plan.variant == "prompted" else "SmolLM2-135M-Instruct",
        adapter_version=None if plan.variant == "prompted" else "v1",
        usage=Usage(plan.prompt_tokens, 20),
        latency_s=plan.latency,
        cost_usd=plan.cost,
        question_id=question.id,
        created_at=at,
    )
    store.save_answer(saved)
    for voter, vote in enumerate(plan.votes):
        store.votes.set(saved.id, f"U{voter}", vote)
    if plan.corrected:
        service = CorrectionService(store.corrections, is_trusted={"U0LEAD"}.__contains__, is_reviewer=bool)
        on_answer = saved.id if plan.corrected in ("answer", "rejected") else None
        correction = service.submit(question.id, f"better {number}", "U0ALICE", answer_id=on_answer)
        service.review(correction.id, "U0LEAD", approve=plan.corrected != "rejected")
    return saved


def live_adapter(store: Store, finetuned: float = 0.9, prompted: float = 0.5, n: int = 40) -> AdapterVersion:
    registry = AdapterRegistry(store.redis, store.keys)
    side = lambda name, acc: {  # noqa: E731
        "name": name,
        "accuracy": acc,
        "ci95": [max(0.0, acc - 0.1), min(1.0, acc + 0.1)],
        "n": n,
    }
    version = AdapterVersion(
        version="v1",
        base_model="base",
        snapshot="abc",
        uri="/nowhere",
        trigger="cli",
        report={"candidate": side("candidate", finetuned), "prompted": side("prompted (gpt-4o-mini)", prompted)},
        cost_usd=0.02,
        created_at=NOW - 3 * DAY,
    )
    registry.save(version)
    return registry.activate("v1")


def seed_traffic(store: Store, plans: list[Planned]) -> list[Answer]:
    return [answer(store, plan, number) for number, plan in enumerate(plans)]
