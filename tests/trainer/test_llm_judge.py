"""The LLM judge asks each pair in both orders, so a judge that always prefers one position
cannot pass an answer; it talks to an OpenAI-compatible endpoint over HTTP."""

import json
import re
from http.server import BaseHTTPRequestHandler

import pytest

from supportbot.errors import ConfigError
from supportbot.settings import load_settings
from tests.support.servers import serving
from trainer.judge import make_judge


def chat_completion(content: str) -> dict:
    """The shape of OpenAI's POST /v1/chat/completions response."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "judge",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 1, "total_tokens": 51},
    }


def judge_server(decide):
    """An endpoint that answers with decide(reply1, reply2), recording every prompt."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["messages"][-1]["content"]
            first, second = re.search(r"Reply 1:\n(.*)\n\nReply 2:\n(.*)\n\nDo both", prompt, re.S).groups()
            seen.append((first, second))
            data = json.dumps(chat_completion(decide(first, second))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return serving(Handler), seen


def llm_judge(monkeypatch, url):
    monkeypatch.setenv("JUDGE", "llm")
    monkeypatch.setenv("JUDGE_BASE_URL", url)
    monkeypatch.setenv("JUDGE_MODEL", "judge")
    return make_judge(load_settings())


def test_each_pair_is_asked_in_both_orders_and_position_bias_cancels(monkeypatch):
    references = ["Go to Order History and click Cancel.", "Refunds take 5 days."]
    answers = ["Open Order History, press Cancel.", "We ship worldwide."]
    # A biased judge: says YES whenever the reference comes first, whatever the answer.
    server, seen = judge_server(lambda first, second: "YES" if first in references else "NO")
    with server as url:
        judge = llm_judge(monkeypatch, url)
        verdicts = judge.judge(answers, references)
    pairs = list(zip(answers, references, strict=True))
    assert sorted(seen) == sorted([(r, a) for a, r in pairs] + pairs)
    assert verdicts.scores == [0.5, 0.5]  # the order decided, so neither passes
    assert verdicts.correct == [False, False]


def test_an_answer_passes_when_both_orders_agree(monkeypatch):
    def fair(first: str, second: str) -> str:
        same = {first, second} == {"Go to Order History and click Cancel.", "Open Order History, press Cancel."}
        return "Yes." if same else "no"

    server, _ = judge_server(fair)
    with server as url:
        judge = llm_judge(monkeypatch, url)
        verdicts = judge.judge(
            ["Open Order History, press Cancel.", "We ship worldwide."],
            ["Go to Order History and click Cancel.", "Refunds take 5 days."],
        )
    assert verdicts.correct == [True, False]
    assert verdicts.scores == [1.0, 0.0]
    assert judge.unparsed == 0


def test_llm_judge_needs_an_endpoint(monkeypatch):
    monkeypatch.setenv("JUDGE", "llm")
    with pytest.raises(ConfigError, match="JUDGE=llm needs JUDGE_BASE_URL"):
        make_judge(load_settings())
