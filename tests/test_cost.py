import pytest

from supportbot.cost import PriceTable, compute_cost, format_cost
from supportbot.errors import ConfigError
from supportbot.records import Usage


def test_api_cost_from_the_bundled_table():
    table = PriceTable.load()
    # gpt-4o-mini: $0.15 in, $0.60 out per 1M tokens; a dated name matches its pattern.
    cost = table.api_cost("gpt-4o-mini-2024-07-18", Usage(1_000_000, 500_000))
    assert cost == pytest.approx(0.15 + 0.30)
    assert table.lookup("gpt-4o-2024-08-06").input_per_1m == 2.50  # not the mini price


def test_unknown_model_is_unknown_not_free():
    assert PriceTable.load().api_cost("my-own-llama", Usage(1000, 1000)) is None
    assert format_cost(None) == "unknown"


def test_compute_cost_is_time_times_rate():
    assert compute_cost(3600, 0.10) == pytest.approx(0.10)
    assert compute_cost(1.8, 2.0) == pytest.approx(0.001)


def test_custom_price_table(tmp_path):
    path = tmp_path / "prices.yml"
    path.write_text('- {pattern: "llama-*", input: 1, output: 2}\n')
    assert PriceTable.load(path).api_cost("llama-3", Usage(10**6, 10**6)) == pytest.approx(3)


@pytest.mark.parametrize("content", ["- {pattern: x}\n", "- {pattern: x, input: cheap, output: 1}\n", "[: bad"])
def test_malformed_price_table_is_a_clear_error(tmp_path, content):
    path = tmp_path / "prices.yml"
    path.write_text(content)
    with pytest.raises(ConfigError, match="PRICE_TABLE=.*must be a YAML list"):
        PriceTable.load(path)


def test_missing_price_table(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        PriceTable.load(tmp_path / "nope.yml")
