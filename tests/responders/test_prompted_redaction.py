"""What leaves for an external model API: with ``redact``, the question arrives redacted.

A real local HTTP server imitates the OpenAI-compatible endpoint and keeps every request body.
"""

import json

from supportbot.cost import PriceTable
from supportbot.prompts import PromptSet
from supportbot.redaction import Redactor
from supportbot.responders.prompted import PromptedResponder
from tests.support.servers import json_server

QUESTION = "Refund to card 4111 1111 1111 1111 12/25 please, or mail me at jane@example.com (SSN 536-90-4399)"
COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "noted"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def sent_messages(redact) -> list[dict]:
    """Ask QUESTION through a recording endpoint; the messages the endpoint received."""
    with json_server(COMPLETION) as (url, bodies):
        responder = PromptedResponder(
            base_url=url,
            api_key=None,
            model="gpt-4o-mini",
            prompts=PromptSet.load(),
            prices=PriceTable.load(),
            max_new_tokens=16,
            timeout_s=5.0,
            max_retries=0,
            redact=redact,
        )
        assert responder.answer(QUESTION).text == "noted"
    assert len(bodies) == 1
    return bodies[0]["messages"]


def test_with_redaction_the_endpoint_receives_the_redacted_question():
    messages = sent_messages(Redactor().redact)
    assert messages[-1] == {
        "role": "user",
        "content": "Refund to card [CARD] 12/25 please, or mail me at [EMAIL] (SSN [SSN])",
    }
    body = json.dumps(messages)
    assert "4111" not in body and "jane@example.com" not in body and "536-90-4399" not in body


def test_without_redaction_the_question_goes_as_asked():
    assert sent_messages(None)[-1] == {"role": "user", "content": QUESTION}
