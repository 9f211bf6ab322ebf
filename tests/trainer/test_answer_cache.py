"""The gate's answer cache on a real Redis: the same request is answered once, anything else is new."""

from supportbot.keys import Keys
from supportbot.responders.local_model import Generation
from trainer.answer_cache import AnswerCache, adapter_digest


class Model:
    """An answer batch that counts what it is asked to generate."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def __call__(self, questions: list[str]) -> list[Generation]:
        self.asked.append(list(questions))
        return [Generation(f"answer to {q}", 10, 5, 0.25, batch_size=len(questions)) for q in questions]


def build(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": question}]


def test_only_what_was_never_asked_is_generated_and_in_one_call(redis_client):
    keys = Keys("sbtest:cache:")
    cache = AnswerCache(redis_client, keys, days=14)
    model = Model()
    answer = cache.wrap(model, "local tiny float32", build, 96)
    first = answer(["a", "b"])
    again = answer(["b", "c", "a"])
    assert model.asked == [["a", "b"], ["c"]]
    assert [g.text for g in again] == ["answer to b", "answer to c", "answer to a"]
    assert [g.cached for g in again] == [True, False, True] and not any(g.cached for g in first)
    assert again[0].compute_s == 0.25 and again[0].prompt_tokens == 10  # as it was generated
    assert cache.summary() == {"hits": 2, "misses": 3}
    (key, *_) = list(redis_client.scan_iter(match="sbtest:cache:gate-answer:*"))
    assert 13 * 86400 < redis_client.ttl(key) <= 14 * 86400


def test_another_model_prompt_or_limit_is_another_request(redis_client):
    cache = AnswerCache(redis_client, Keys("sbtest:cache:"), days=1)
    model = Model()
    cache.wrap(model, "local tiny float32", build, 96)(["a"])
    cache.wrap(model, "local tiny float32 adapter 00ff", build, 96)(["a"])
    cache.wrap(model, "local tiny float32", lambda q: [{"role": "user", "content": q}], 96)(["a"])
    cache.wrap(model, "local tiny float32", build, 64)(["a"])
    cache.wrap(model, "local tiny float32", build, 96)(["a"])
    assert model.asked == [["a"]] * 4


def test_zero_days_turns_it_off(redis_client):
    cache = AnswerCache(redis_client, Keys("sbtest:cache:"), days=0)
    model = Model()
    answer = cache.wrap(model, "local tiny float32", build, 96)
    answer(["a"])
    answer(["a"])
    assert model.asked == [["a"], ["a"]]
    assert not list(redis_client.scan_iter(match="sbtest:cache:*"))


def test_an_entry_it_cannot_read_is_generated_again(redis_client):
    keys = Keys("sbtest:cache:")
    cache = AnswerCache(redis_client, keys, days=1)
    redis_client.set(cache.key("m", build("a"), 96), '{"text": "from an older version", "unknown": 1}')
    model = Model()
    assert cache.wrap(model, "m", build, 96)(["a"])[0].text == "answer to a"
    assert model.asked == [["a"]]


def test_an_adapter_digest_follows_its_bytes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "adapter_config.json").write_text("{}")
        (folder / "adapter_model.safetensors").write_bytes(b"weights")
    assert adapter_digest(one) == adapter_digest(two)
    (two / "adapter_model.safetensors").write_bytes(b"weights, trained again")
    assert adapter_digest(one) != adapter_digest(two)
