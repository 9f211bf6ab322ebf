"""Where tests find their material: all of it inside the repository."""

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures"
SLACK_SPECS = FIXTURES / "slack-specs"  # Slack's manifest schema and Web/Events API specs (trimmed)
BITEXT = PROJECT / "trainer" / "demo_data" / "bitext_sample.jsonl"  # 1,188 rows, 44 for each of 27 intents
BITEXT_SUBSET = FIXTURES / "bitext" / "qa_dev_subset"  # .jsonl and .csv: the same 54 rows, 2 per intent
CACHE = PROJECT / "tests" / ".cache"
