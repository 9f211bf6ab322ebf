"""The records supportbot stores. Each round-trips through ``to_dict`` / ``from_dict``.

Serialisation is explicit so that the stored format is ours, not an accident of dataclasses.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Variant = Literal["prompted", "finetuned"]
VARIANTS: tuple[Variant, ...] = ("prompted", "finetuned")


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Usage:
    """Tokens one model call consumed."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        return cls(int(data.get("prompt_tokens", 0)), int(data.get("completion_tokens", 0)))


@dataclass
class Question:
    """A question someone asked, and where the answers go."""

    text: str
    user: str
    channel: str
    thread_ts: str | None = None
    source: str = "slack"  # slack | cli
    # Presentation order: variants in the order they are shown; labels parallel to it.
    order: list[Variant] = field(default_factory=lambda: list(VARIANTS))
    blind: bool = False
    # variant -> ts of the placeholder message its answer replaces in place (in ``channel``)
    placeholders: dict[str, str] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "user": self.user,
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "source": self.source,
            "order": list(self.order),
            "blind": self.blind,
            "placeholders": dict(self.placeholders),
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Question:
        return cls(
            id=data["id"],
            text=data["text"],
            user=data["user"],
            channel=data["channel"],
            thread_ts=data.get("thread_ts"),
            source=data.get("source", "slack"),
            order=list(data.get("order", VARIANTS)),
            blind=bool(data.get("blind", False)),
            placeholders=dict(data.get("placeholders") or {}),
            created_at=float(data["created_at"]),
        )


@dataclass
class Answer:
    """One model's answer to one question, with what it cost."""

    variant: Variant
    text: str
    model: str
    usage: Usage
    latency_s: float
    cost_usd: float | None  # None: the price is unknown, never reported as $0
    adapter_version: str | None = None
    question_id: str = ""
    label: str = ""
    channel: str | None = None
    ts: str | None = None
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question_id": self.question_id,
            "variant": self.variant,
            "label": self.label,
            "text": self.text,
            "model": self.model,
            "adapter_version": self.adapter_version,
            "usage": self.usage.to_dict(),
            "latency_s": self.latency_s,
            "cost_usd": self.cost_usd,
            "channel": self.channel,
            "ts": self.ts,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        cost = data.get("cost_usd")
        return cls(
            id=data["id"],
            question_id=data.get("question_id", ""),
            variant=data["variant"],
            label=data.get("label", ""),
            text=data["text"],
            model=data["model"],
            adapter_version=data.get("adapter_version"),
            usage=Usage.from_dict(data.get("usage", {})),
            latency_s=float(data["latency_s"]),
            cost_usd=None if cost is None else float(cost),
            channel=data.get("channel"),
            ts=data.get("ts"),
            created_at=float(data["created_at"]),
        )


@dataclass(frozen=True)
class Failure:
    """A responder that did not answer a question, kept so the digest can count failures."""

    variant: Variant
    reason: str
    question_id: str
    created_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "reason": self.reason,
            "question_id": self.question_id,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        return cls(data["variant"], data["reason"], data["question_id"], float(data["created_at"]))


CorrectionStatus = Literal["pending", "approved", "rejected"]


@dataclass
class Correction:
    """A person's corrected answer to a question (to one answer of it, when made from a button)."""

    question_id: str
    text: str
    user: str
    answer_id: str | None = None
    status: CorrectionStatus = "pending"
    via: str = "modal"  # modal | thread
    reviewer: str | None = None
    reviewed_at: float | None = None
    review_channel: str | None = None
    review_ts: str | None = None
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question_id": self.question_id,
            "answer_id": self.answer_id,
            "text": self.text,
            "user": self.user,
            "status": self.status,
            "via": self.via,
            "reviewer": self.reviewer,
            "reviewed_at": self.reviewed_at,
            "review_channel": self.review_channel,
            "review_ts": self.review_ts,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Correction:
        reviewed_at = data.get("reviewed_at")
        return cls(
            id=data["id"],
            question_id=data["question_id"],
            answer_id=data.get("answer_id"),
            text=data["text"],
            user=data["user"],
            status=data.get("status", "pending"),
            via=data.get("via", "modal"),
            reviewer=data.get("reviewer"),
            reviewed_at=None if reviewed_at is None else float(reviewed_at),
            review_channel=data.get("review_channel"),
            review_ts=data.get("review_ts"),
            created_at=float(data["created_at"]),
        )


@dataclass
class SeedExample:
    """A question/answer pair imported from a file (the team's history, a public dataset)."""

    id: str
    question: str
    answer: str
    source: str
    label: str | None = None
    created_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "source": self.source,
            "label": self.label,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedExample:
        return cls(
            id=data["id"],
            question=data["question"],
            answer=data["answer"],
            source=data["source"],
            label=data.get("label"),
            created_at=float(data["created_at"]),
        )


@dataclass
class AdapterVersion:
    """One trained LoRA adapter in the registry, with everything needed to judge and reproduce it."""

    version: str  # v1, v2, ...
    base_model: str
    snapshot: str  # dataset snapshot hash it was trained on
    uri: str  # where the adapter directory lives (a path or an fsspec URL)
    trigger: str  # schedule | /retrain by U… | cli
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  # training: loss, steps, tokens/s, ...
    report: dict[str, Any] = field(default_factory=dict)  # the eval gate's report
    status: str = "candidate"  # candidate | promoted | rejected
    duration_s: float = 0.0
    device: str = "cpu"
    cost_usd: float | None = None
    created_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "base_model": self.base_model,
            "snapshot": self.snapshot,
            "uri": self.uri,
            "trigger": self.trigger,
            "config": self.config,
            "metrics": self.metrics,
            "report": self.report,
            "status": self.status,
            "duration_s": self.duration_s,
            "device": self.device,
            "cost_usd": self.cost_usd,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdapterVersion:
        cost = data.get("cost_usd")
        return cls(
            version=data["version"],
            base_model=data["base_model"],
            snapshot=data["snapshot"],
            uri=data["uri"],
            trigger=data["trigger"],
            config=dict(data.get("config", {})),
            metrics=dict(data.get("metrics", {})),
            report=dict(data.get("report", {})),
            status=data.get("status", "candidate"),
            duration_s=float(data.get("duration_s", 0.0)),
            device=data.get("device", "cpu"),
            cost_usd=None if cost is None else float(cost),
            created_at=float(data["created_at"]),
        )
