"""How an answer is judged against a reference answer under sentence embeddings: the rules, with
no model attached, so the trainer's judge (trainer/judge.py), ``supportbot eval`` and the weekly
digest's judge–vote agreement all apply the same ones.

- **Headline** (``strict``): the answer is about the right thing. Among every reference known
  (each judged answer's own, plus a pool of labelled references such as the training split), the
  one nearest the answer is its own reference, has the same text, or has the same label (intent)
  as its own reference. Without a label this is "closer to its own reference than to any other
  judged answer's reference" (the pool, other questions' labelled answers, is left out).
  Counting a same-label neighbour as right matters: with several questions per intent, a right
  answer is often nearest another question's answer of the same intent.
- **Lenient** (``correct``): cosine similarity to its own reference reaches a calibrated
  threshold; an answer in the references' style passes it even when it is about something else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# texts -> unit-length rows (numpy), e.g. supportbot.embedding.MiniLM()
Embed = Callable[[list[str]], Any]

HEADLINE = (
    "strict: the reference nearest the answer is its own or shares its own reference's label "
    "(without labels: closer to its own reference than to any other)"
)


@dataclass(frozen=True)
class Reference:
    """A reference answer the headline rule may find nearest an answer, with its label if known."""

    text: str
    label: str | None = None


@dataclass(frozen=True)
class Verdicts:
    scores: list[float]  # similarity to the answer's own reference
    correct: list[bool]  # lenient: score >= threshold
    strict: list[bool]  # the headline
    nearest: list[str | None] | None = None  # the label of the reference nearest each answer


def nearest_reference(similarity: Any, i: int, own_label: str | None, answers_own: int) -> int:
    """The reference nearest answer ``i``: among all of them when its own reference has a label;
    among the answers' own references only (the first ``answers_own`` columns) when it has none,
    so an unlabelled question is judged as before the pool existed."""
    row = similarity[i] if own_label is not None else similarity[i][:answers_own]
    return int(row.argmax())


def nearest_is_own(
    similarity: Any,
    own: Sequence[int],
    texts: Sequence[str],
    labels: Sequence[str | None],
    answers_own: int | None = None,
) -> list[bool]:
    """The headline rule on a similarity matrix (answers x every reference; the answers' own
    references are the first ``answers_own`` columns, the pool after them): answer ``i`` is right
    when the reference nearest it is ``own[i]``, the same text, or shares ``own[i]``'s label."""
    answers_own = len(texts) if answers_own is None else answers_own
    verdicts = []
    for i, mine in enumerate(own):
        nearest = nearest_reference(similarity, i, labels[mine], answers_own)
        same_label = labels[mine] is not None and labels[nearest] == labels[mine]
        verdicts.append(nearest == mine or texts[nearest] == texts[mine] or same_label)
    return verdicts


def reference_set(
    references: Sequence[str], labels: Sequence[str | None] | None, pool: Sequence[Reference]
) -> tuple[list[str], list[str | None]]:
    """Every reference the headline compares with: the answers' own first, then the pool (only its
    labelled references: an unlabelled one could only make a right answer look wrong). Answers
    whose own reference has no label are compared with the answers' own references only."""
    if labels is not None and len(labels) != len(references):
        raise ValueError(f"{len(references)} references but {len(labels)} labels")
    own_labels = [label or None for label in labels] if labels is not None else [None] * len(references)
    extra = [reference for reference in pool if reference.label]
    return list(references) + [r.text for r in extra], own_labels + [r.label for r in extra]


def embedding_verdicts(  # noqa: PLR0917 - the pool and labels are optional
    embed: Embed,
    threshold: float,
    answers: Sequence[str],
    references: Sequence[str],
    labels: Sequence[str | None] | None = None,
    pool: Sequence[Reference] = (),
) -> Verdicts:
    """Both verdicts for each answer against its own reference (``labels``: the references'
    labels; ``pool``: more labelled references the headline may find nearest)."""
    if len(answers) != len(references):
        raise ValueError("one reference per answer")
    if not answers:
        return Verdicts([], [], [], [])
    texts, all_labels = reference_set(references, labels, pool)
    unique = list(dict.fromkeys(texts))  # each distinct text embedded once
    column = {text: i for i, text in enumerate(unique)}
    similarity = embed(list(answers)) @ embed(unique).T  # cosine: the rows are unit length
    similarity = similarity[:, [column[text] for text in texts]]  # one column per reference again
    own, n = list(range(len(answers))), len(answers)
    scores = [float(similarity[i, i]) for i in own]
    nearest = [all_labels[nearest_reference(similarity, i, all_labels[i], n)] for i in own]
    strict = nearest_is_own(similarity, own, texts, all_labels, n)
    return Verdicts(scores, [s >= threshold for s in scores], strict, nearest)
