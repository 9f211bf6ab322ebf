"""Bitext dev rows in the chat format the trainer takes (read from ../shared/data)."""

import json

from tests.support.paths import DATA


def bitext_rows(n: int) -> list[dict]:
    rows = []
    for line in (DATA / "qa_dev.jsonl").read_text().splitlines()[:n]:
        row = json.loads(line)
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "You are a customer support assistant."},
                    {"role": "user", "content": row["question"]},
                    {"role": "assistant", "content": row["answer"]},
                ],
                "label": row["intent"],
                "source": "seed",
            }
        )
    return rows
