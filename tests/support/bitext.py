"""Bitext rows in the chat format the trainer takes (from the bundled sample, trainer/demo_data)."""

import json

from tests.support.paths import BITEXT


def bitext_rows(n: int) -> list[dict]:
    rows = []
    for line in BITEXT.read_text().splitlines()[:n]:
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
