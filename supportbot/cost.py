"""What an answer costs.

API models: tokens x a price table matched by model-name pattern. Self-hosted models: compute
seconds x an hourly rate. A model the table does not know costs ``None`` ("unknown"), never $0.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from supportbot.errors import ConfigError
from supportbot.records import Usage


@dataclass(frozen=True)
class Price:
    pattern: str
    input_per_1m: float
    output_per_1m: float


class PriceTable:
    def __init__(self, prices: list[Price]) -> None:
        self.prices = prices

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        where = "the bundled price table" if path is None else f"PRICE_TABLE={path}"
        try:
            if path is None:
                text = (resources.files("supportbot") / "defaults" / "prices.yml").read_text()
            else:
                text = path.read_text(encoding="utf-8")
            rows = yaml.safe_load(text) or []
            return cls([Price(str(r["pattern"]), float(r["input"]), float(r["output"])) for r in rows])
        except FileNotFoundError:
            raise ConfigError(f"{where} does not exist") from None
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where} must be a YAML list of {{pattern, input, output}} entries: {exc}") from None

    def lookup(self, model: str) -> Price | None:
        for price in self.prices:
            if fnmatch.fnmatch(model.lower(), price.pattern.lower()):
                return price
        return None

    def api_cost(self, model: str, usage: Usage) -> float | None:
        price = self.lookup(model)
        if price is None:
            return None
        return (usage.prompt_tokens * price.input_per_1m + usage.completion_tokens * price.output_per_1m) / 1e6


def compute_cost(seconds: float, hourly_rate_usd: float) -> float:
    """Self-hosted inference or training: time on the machine x its hourly rate."""
    return seconds * hourly_rate_usd / 3600.0


def answer_cost(
    prices: PriceTable, api_model: str | None, usage: Usage, seconds: float, hourly_rate_usd: float
) -> float | None:
    """One answer: an API model's tokens x its price, or (api_model None) local compute time."""
    if api_model is None:
        return compute_cost(seconds, hourly_rate_usd)
    return prices.api_cost(api_model, usage)


def format_cost(cost_usd: float | None) -> str:
    if cost_usd is None:
        return "unknown"
    if cost_usd == 0:
        return "$0"
    return f"${cost_usd:.6f}" if cost_usd < 0.01 else f"${cost_usd:.4f}"
