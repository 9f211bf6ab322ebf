"""Regenerate the test fixtures under tests/fixtures from the shared Slack specs and Bitext data.

    python scripts/make_test_fixtures.py SHARED_DIR     # e.g. the folder holding slack-specs/ and data/

tests/fixtures/slack-specs: the files tests read, verbatim (manifest schemas and Slack's own example
manifests, the Events API spec), plus a trimmed Web API OpenAPI spec with only the methods the Slack
stand-in answers (tests/support/slack_stub.py SPEC_METHODS) and the definitions they reference.
tests/fixtures/bitext: the first two rows of every intent of Bitext's qa_dev, as JSONL and as CSV.
The README.md files there are written by hand; this script leaves them alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.support.slack_stub import SPEC_METHODS  # noqa: E402

FIXTURES = PROJECT / "tests" / "fixtures"
VERBATIM = (
    "LICENSES/slack-api-specs.LICENSE.txt",
    "LICENSES/manifest-schema.LICENSE.txt",
    "events-api/slack_events_api_async_v1.json",
    "manifest-schema/manifest.schema.json",
    "manifest-schema/schemas/manifest.schema.1.0.0.json",
    "manifest-schema/schemas/manifest.schema.2.0.0.json",
    "manifest-schema/examples/v1/manifest.valid.json",
    "manifest-schema/examples/v1/manifest.invalid.json",
    "manifest-schema/examples/v2/manifest.valid.json",
    "manifest-schema/examples/v2/manifest.invalid.json",
)
WEB_API = "web-api/slack_web_openapi_v2.json"
ROWS_PER_INTENT = 2
BITEXT_NAME = "qa_dev_subset"


def referenced(node: object, definitions: dict) -> set[str]:
    """Names of the definitions ``node`` refers to, directly or through other definitions."""
    found: set[str] = set()
    todo = set(re.findall(r'"#/definitions/([^"]+)"', json.dumps(node)))
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo |= set(re.findall(r'"#/definitions/([^"]+)"', json.dumps(definitions[name])))
    return found


def slack_specs(source: Path, out: Path) -> None:
    for name in VERBATIM:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, out / name)
    spec = json.loads((source / WEB_API).read_text(encoding="utf-8"))
    paths = {f"/{method}": spec["paths"][f"/{method}"] for method in sorted(SPEC_METHODS)}
    keep = referenced(paths, spec["definitions"])
    trimmed = {
        **spec,
        "paths": paths,
        "definitions": {name: value for name, value in spec["definitions"].items() if name in keep},
    }
    (out / WEB_API).parent.mkdir(parents=True, exist_ok=True)
    (out / WEB_API).write_text(json.dumps(trimmed, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    total = f"{len(paths)} of {len(spec['paths'])} methods, {len(keep)} of {len(spec['definitions'])} definitions"
    print(f"{WEB_API}: {total}")


def bitext(source: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = (source / "qa_dev.jsonl").read_text(encoding="utf-8").splitlines()
    taken: dict[str, int] = {}
    keep = []
    for index, line in enumerate(lines):
        intent = json.loads(line)["intent"]
        if taken.get(intent, 0) < ROWS_PER_INTENT:
            taken[intent] = taken.get(intent, 0) + 1
            keep.append(index)
    (out / f"{BITEXT_NAME}.jsonl").write_text("".join(lines[i] + "\n" for i in keep), encoding="utf-8")
    # The CSV twin: the same rows from the source CSV, written back in its own dialect (checked below).
    text = (source / "qa_dev.csv").read_text(encoding="utf-8")
    records = list(csv.reader(io.StringIO(text, newline="")))
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(records)
    assert buffer.getvalue() == text, "the CSV writer does not reproduce the source CSV byte for byte"
    assert [records[i + 1][0] for i in keep] == [json.loads(lines[i])["id"] for i in keep], "CSV and JSONL rows differ"
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows([records[0]] + [records[i + 1] for i in keep])
    (out / f"{BITEXT_NAME}.csv").write_text(buffer.getvalue(), encoding="utf-8")
    shutil.copyfile(source / "LICENSE.txt", out / "LICENSE.txt")
    print(f"{BITEXT_NAME}: {len(keep)} rows, {len(taken)} intents")


def main(shared: Path) -> None:
    slack_specs(shared / "slack-specs", FIXTURES / "slack-specs")
    bitext(shared / "data" / "bitext_customer_support", FIXTURES / "bitext")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
