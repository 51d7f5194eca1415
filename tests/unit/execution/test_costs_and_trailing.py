from __future__ import annotations

import pytest

from thebot.execution.costs import Side, fee, size_by_risk, slipped_price
from thebot.execution.trailing import RatchetTrailingStop


def test_seed_004_trailing_numbers() -> None:
    stop = RatchetTrailingStop.start(Side.BUY, 50_000.0, 0.005)
    assert stop.stop == pytest.approx(49_750.0)
    assert stop.update(high=50_500.0, low=50_100.0) == pytest.approx(50_247.50)
    assert stop.update(high=51_000.0, low=50_600.0) == pytest.approx(50_745.0)
    # A lower high never pulls the stop back.
    assert stop.update(high=50_900.0, low=50_800.0) == pytest.approx(50_745.0)
    assert not stop.hit(high=50_900.0, low=50_800.0)
    assert stop.hit(high=50_800.0, low=50_700.0)
    assert (stop.stop / 50_000.0 - 1) * 100 == pytest.approx(1.49)


def test_short_trailing_mirrors_the_long() -> None:
    stop = RatchetTrailingStop.start(Side.SELL, 50_000.0, 0.005)
    assert stop.stop == pytest.approx(50_250.0)
    assert stop.update(high=49_900.0, low=49_500.0) == pytest.approx(49_747.5)
    assert stop.update(high=49_950.0, low=49_800.0) == pytest.approx(49_747.5)
    assert stop.hit(high=49_750.0, low=49_600.0)


def test_size_by_risk_is_seed_001s_formula() -> None:
    # 10,000 capital, 1 % risk, entry 50,000, stop 49,500: lose 100 over 500 → 0.2 BTC.
    assert size_by_risk(10_000.0, 0.01, 50_000.0, 49_500.0) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="stop distance"):
        size_by_risk(10_000.0, 0.01, 50_000.0, 50_000.0)
    with pytest.raises(ValueError, match="risk"):
        size_by_risk(10_000.0, 0.0, 50_000.0, 49_000.0)


def test_slippage_and_fee() -> None:
    assert slipped_price(100.0, Side.BUY, 0.001) == pytest.approx(100.1)
    assert slipped_price(100.0, Side.SELL, 0.001) == pytest.approx(99.9)
    assert fee(-2_000.0, 0.001) == pytest.approx(2.0)
