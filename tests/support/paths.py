"""Where tests find the shared material beside the project (../shared), as in CI."""

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
SHARED = PROJECT.parent / "shared"
SLACK_SPECS = SHARED / "slack-specs"
DATA = SHARED / "data" / "bitext_customer_support"
CACHE = PROJECT / "tests" / ".cache"
