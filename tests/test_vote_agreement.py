"""How often the judge agrees with people's votes: real Redis, votes through the feedback service,
corrections through the correction service, seeds through the seed store, real MiniLM."""

import pytest

from supportbot.corrections import CorrectionService
from supportbot.embedding import MiniLM
from supportbot.feedback import FeedbackService
from supportbot.judging import embedding_verdicts
from supportbot.records import Answer, Question, SeedExample, Usage
from supportbot.store import Store
from supportbot.vote_agreement import Agreement, agreement, seed_pool, voted_answers

REFUND = "Your refund goes back to your original payment method within 5 to 7 business days."
SHIPPING = "We ship to more than 40 countries; the shipping fee is shown at checkout."
SEEDS = [
    SeedExample("s1", "How do I get a refund for my order?", REFUND, "test", "get_refund"),
    SeedExample("s2", "When will I get my money back?", "Refunds reach your card 5 to 7 business days after approval.",
                "test", "get_refund"),
    SeedExample("s3", "Which countries do you ship to?", SHIPPING, "test", "delivery_options"),
    SeedExample("s4", "Do you deliver abroad?", "Yes: we deliver to over 40 countries, fees shown at checkout.",
                "test", "delivery_options"),
]  # fmt: skip


@pytest.fixture(scope="module")
def embed():
    return MiniLM()


def ask(store, variant, question, text):
    asked = Question(text=question, user="U0ASKER", channel="C1", thread_ts="1.0")
    store.save_question(asked)
    answer = Answer(variant=variant, text=text, model="m", usage=Usage(10, 10), latency_s=1.0, cost_usd=None,
                    question_id=asked.id)  # fmt: skip
    store.save_answer(answer)
    return asked, answer


def judge_with(embed):
    return lambda answers, references, labels, pool: embedding_verdicts(embed, 0.49, answers, references, labels, pool)


def test_the_judge_is_checked_against_votes_given_through_the_real_services(redis_client, embed):
    store = Store(redis_client)
    store.seeds.add_all(SEEDS)
    feedback = FeedbackService(store, frozenset({"+1"}), frozenset({"-1"}))
    corrections = CorrectionService(store.corrections, is_trusted={"U0LEAD"}.__contains__, is_reviewer=bool)

    _, right = ask(store, "finetuned", "How can I get a refund on my order?", "We refund to your original payment "
                   "method; expect the money within 5 to 7 business days.")  # fmt: skip
    feedback.vote(right.id, "U1", 1)
    feedback.vote(right.id, "U2", 1)
    _, wrong = ask(store, "finetuned", "I want a refund for my order", SHIPPING)  # about shipping: wrong
    feedback.vote(wrong.id, "U1", -1)
    _, disputed = ask(store, "prompted", "What countries do you ship to?", "We deliver to 40+ countries; the fee "
                      "appears at checkout.")  # fmt: skip
    feedback.vote(disputed.id, "U1", -1)  # people disagree with a right-looking answer
    _, offtopic = ask(store, "prompted", "What is the boiling point of mercury?", "About 357 degrees Celsius.")
    feedback.vote(offtopic.id, "U1", 1)  # no seed question near it, no correction: not judged
    question, corrected = ask(store, "finetuned", "Can I change the colour of my invoice?", "Delivery takes 3 days.")
    feedback.vote(corrected.id, "U1", -1)
    correction = corrections.submit(question.id, "Invoice colours cannot be changed; you can download the PDF "
                                    "from Order History.", "U0ALICE", answer_id=corrected.id)  # fmt: skip
    corrections.review(correction.id, "U0LEAD", approve=True)
    _, unvoted = ask(store, "finetuned", "Which countries do you ship to?", SHIPPING)
    feedback.vote(unvoted.id, "U1", 1)
    feedback.vote(unvoted.id, "U2", -1)  # net 0: no opinion, not counted

    found = agreement(store, embed, judge_with(embed), voted_answers(store))

    finetuned, prompted = found["finetuned"], found["prompted"]
    # right + 👍, wrong + 👎; the corrected answer is about delivery, not its correction: wrong + 👎
    assert (finetuned.right_up, finetuned.right_down, finetuned.wrong_up, finetuned.wrong_down) == (1, 0, 0, 2)
    assert (finetuned.n, finetuned.agree, finetuned.rate, finetuned.unmatched) == (3, 3, 1.0, 0)
    assert (prompted.right_up, prompted.right_down, prompted.wrong_up, prompted.wrong_down) == (0, 1, 0, 0)
    assert (prompted.rate, prompted.unmatched) == (0.0, 1)
    assert prompted.describe() == "0% (0/1, 0%–79%), 1 without a reference"
    assert Agreement.from_dict(finetuned.to_dict()) == finetuned


def test_nobody_voted_means_no_figure_and_no_model_needed(redis_client):
    store = Store(redis_client)
    store.seeds.add_all(SEEDS)
    ask(store, "finetuned", "How do I get a refund?", REFUND)

    def no_model(texts):
        raise AssertionError("nothing to judge: the model is not needed")

    assert agreement(store, no_model, judge_with(no_model), voted_answers(store)) == {}
    assert Agreement().describe() == "no voted answer to judge"


def test_the_pool_takes_a_fixed_number_of_seeds_per_label():
    seeds = [SeedExample(f"s{i:02}", f"q{i}", f"a{i}", "t", "x" if i % 2 else "y") for i in range(10)]
    seeds.append(SeedExample("s99", "q", "unlabelled", "t", None))
    pool = seed_pool(seeds, per_label=2)
    assert [(r.text, r.label) for r in pool] == [("a1", "x"), ("a3", "x"), ("a0", "y"), ("a2", "y")]
