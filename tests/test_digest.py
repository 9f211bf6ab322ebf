"""The digest's content: recommendation line, Markdown table and chart, from seeded traffic."""

import json

import pytest

from supportbot.digest import build_digest, recommend, write_files
from supportbot.metrics import EvalAccuracy, Metrics, VariantWeek, Week
from supportbot.settings import load_settings
from supportbot.store import Store
from tests.support.traffic import NOW, Planned, live_adapter, seed_traffic

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def metrics(ft_acc, pr_acc, ft_cost, pr_cost, width=0.05):
    def week(ft, pr):
        return Week(0, 1, {"finetuned": VariantWeek("finetuned", 1, cost_per_answer_usd=ft),
                           "prompted": VariantWeek("prompted", 1, cost_per_answer_usd=pr)})  # fmt: skip

    evals = {
        "finetuned": EvalAccuracy("fine-tuned v8", ft_acc, (ft_acc - width, ft_acc + width), 200),
        "prompted": EvalAccuracy("prompted (gpt-4o)", pr_acc, (pr_acc - width, pr_acc + width), 200),
    }
    return Metrics([week(ft_cost, pr_cost)], evals, "v8")


@pytest.mark.parametrize(
    ("ft", "pr", "ft_cost", "pr_cost", "expected"),
    [
        (0.86, 0.72, 0.0001, 0.0011, "fine-tuned v8 is 14 pts more accurate than prompted (gpt-4o) "
         "at 1/11 the cost per answer: keep it."),
        (0.60, 0.72, 0.0001, 0.0011, "fine-tuned v8 is 12 pts less accurate than prompted (gpt-4o) "
         "at 1/11 the cost per answer: keep prompting and retrain with more corrections."),
        (0.60, 0.72, 0.003, 0.001, "fine-tuned v8 is 12 pts less accurate than prompted (gpt-4o) "
         "at 3.0× the cost per answer: switch to prompting."),
        (0.86, 0.72, 0.0001, None, "fine-tuned v8 is 14 pts more accurate than prompted (gpt-4o) "
         "(the prompted model's cost per answer is unknown: add it to PRICE_TABLE): keep it."),
    ],
)  # fmt: skip
def test_recommendation_line(ft, pr, ft_cost, pr_cost, expected):
    assert recommend(metrics(ft, pr, ft_cost, pr_cost)) == expected


def test_a_free_model_gives_no_cost_ratio():
    line = recommend(metrics(0.86, 0.72, 0.0, 0.0011))
    assert line == "fine-tuned v8 is 14 pts more accurate than prompted (gpt-4o): keep it."


def test_overlapping_intervals_are_flagged_and_no_adapter_says_how_to_start():
    line = recommend(metrics(0.80, 0.78, 0.0001, 0.0002, width=0.1))
    assert line.startswith("fine-tuned v8 is 2 pts more accurate")
    assert line.endswith("(the 95% intervals overlap: evaluate more questions).")
    assert recommend(Metrics([], {}, None)).startswith("No fine-tuned adapter is live yet")


def test_digest_files_hold_the_table_the_chart_and_the_numbers(redis_client, tmp_path):
    store = Store(redis_client)
    seed_traffic(
        store,
        [Planned("prompted", 1, votes=(1,), cost=0.001), Planned("finetuned", 1, votes=(1,), cost=0.0001),
         Planned("prompted", 8, votes=(-1,), cost=0.001)],
    )  # fmt: skip
    live_adapter(store, finetuned=0.9, prompted=0.5)
    digest = build_digest(store, load_settings(), now=NOW)
    md, png, data = write_files(digest, tmp_path / "out")
    text = md.read_text()
    assert text.startswith("# supportbot weekly digest, Mon 24 Nov – Mon 01 Dec")
    assert "**fine-tuned v1 is 40 pts more accurate than prompted (gpt-4o-mini) at 1/10 the cost per answer" in text
    assert "| 👍 | 100% (+100 pts) | 100% |" in text
    assert "| eval accuracy | 50% (40%–60%, n=40) | 90% (80%–100%, n=40) |" in text
    assert "![accuracy and cost by week](digest.png)" in text
    assert png.read_bytes()[:8] == PNG_MAGIC
    from PIL import Image

    with Image.open(png) as image:
        image.verify()
        assert image.size[0] > 800
    numbers = json.loads(data.read_text())
    assert len(numbers["weeks"]) == 8
    assert numbers["weeks"][-1]["variants"]["prompted"]["answers"] == 1


def test_digest_heads_with_strict_accuracy_and_shows_the_gates_paired_test(redis_client, tmp_path):
    from bot.digest import digest_blocks
    from tests.support.gate_reports import promoted_adapter

    store = Store(redis_client)
    promoted_adapter(store)
    digest = build_digest(store, load_settings(), now=NOW)
    assert digest.recommendation.startswith("fine-tuned v2 is 42 pts more accurate than prompted (gpt-4o-mini)")
    md, png, _ = write_files(digest, tmp_path / "out")
    text = md.read_text()
    assert "| eval accuracy | 30% (20%–40%, n=40) | 72% (62%–82%, n=40) |" in text
    assert "| eval lenient | 60% | 95% |" in text
    assert "| gate test | – | b=12, c=1, p=0.0017 |" in text
    assert "Gate: v2 passed its gate against live v1: McNemar exact, one-sided, 12 questions only v2" in text
    assert png.read_bytes()[:8] == PNG_MAGIC
    slack = json.dumps(digest_blocks(digest), ensure_ascii=False)
    assert "gate test: b=12, c=1, p=0.0017" in slack and "eval lenient: 95%" in slack


def test_the_digest_shows_how_often_the_judge_agrees_with_this_weeks_votes(redis_client, tmp_path):
    from bot.digest import digest_blocks
    from supportbot.feedback import FeedbackService
    from supportbot.records import Answer, Question, SeedExample, Usage

    store = Store(redis_client)
    store.seeds.add_all(
        [
            SeedExample("s1", "How do I get a refund for my order?", "Refunds go to your card in 5 to 7 days.",
                        "t", "get_refund"),
            SeedExample("s2", "Which countries do you ship to?", "We ship to over 40 countries.", "t",
                        "delivery_options"),
        ]
    )  # fmt: skip
    feedback = FeedbackService(store, frozenset({"+1"}), frozenset({"-1"}))

    def answered(variant, question, text, vote, days_ago=1.0):
        at = NOW - days_ago * 86400
        asked = Question(text=question, user="U0ASKER", channel="C1", thread_ts=str(at), created_at=at)
        store.save_question(asked)
        answer = Answer(variant=variant, text=text, model="m", usage=Usage(10, 10), latency_s=1.0, cost_usd=None,
                        question_id=asked.id, created_at=at)  # fmt: skip
        store.save_answer(answer)
        feedback.vote(answer.id, "U1", vote)

    answered("finetuned", "How can I get a refund on my order?", "Your refund reaches your card in 5 to 7 days.", 1)
    answered("finetuned", "I want a refund for my order", "We ship to more than 40 countries.", -1)
    answered("prompted", "What countries do you ship to?", "We deliver to over 40 countries.", -1)
    answered("prompted", "How can I get a refund?", "We ship to 40 countries.", 1, days_ago=9)  # last week: left out
    digest = build_digest(store, load_settings(), now=NOW)

    assert digest.agreement["finetuned"].rate == 1.0 and digest.agreement["prompted"].rate == 0.0
    md, _, data = write_files(digest, tmp_path / "out")
    text = md.read_text()
    assert "| judge agrees with 👍/👎 | 0% (0/1, 0%–79%) | 100% (2/2, 34%–100%) |" in text
    assert "Judge agrees with 👍/👎: this week's voted answers" in text
    numbers = json.loads(data.read_text())
    assert numbers["vote_agreement"]["finetuned"]["agree"] == 2
    assert numbers["vote_agreement"]["prompted"] == {
        "right_up": 0, "right_down": 1, "wrong_up": 0, "wrong_down": 0, "unmatched": 0,
        "n": 1, "agree": 0, "rate": 0.0, "ci95": [0.0, pytest.approx(0.7935, abs=1e-3)],
    }  # fmt: skip
    slack = json.dumps(digest_blocks(digest), ensure_ascii=False)
    assert "judge agrees with 👍/👎: 100% (2/2, 34%–100%)" in slack
