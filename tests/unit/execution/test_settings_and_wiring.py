"""Which broker each mode builds, what live needs, and the `[trading]` section's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from thebot.config import ConfigError, settings_from_dict
from thebot.events import EventBus
from thebot.execution.ccxt_broker import CcxtBroker
from thebot.execution.paper import PaperBroker
from thebot.execution.settings import TradingSettings
from thebot.execution.ticket import parse_ticket, ticket_from_signal
from thebot.execution.wiring import TradingSetupError, build_trading_service

KEYS = {"THEBOT_BINANCE_API_KEY": "k-planted", "THEBOT_BINANCE_API_SECRET": "s-planted"}


def build(tmp_path: Path, environ: dict[str, str] | None = None, simulated: bool = True, **trading: object):
    return build_trading_service(
        TradingSettings(**trading),  # type: ignore[arg-type]
        EventBus(),
        data_dir=tmp_path,
        symbols=("BTCUSDT",),
        rest_url="http://127.0.0.1:9",
        simulated=simulated,
        environ=environ or {},
    )


def test_paper_is_the_default_and_each_mode_has_its_own_journal(tmp_path: Path) -> None:
    service = build(tmp_path)
    assert isinstance(service.broker, PaperBroker)
    assert Path(service.journal.path).name == "trading-paper.sqlite"
    service.journal.close()
    venue = build(tmp_path, mode="venue")
    assert isinstance(venue.broker, CcxtBroker) and venue.broker.client.apiKey == "sim-key"
    assert Path(venue.journal.path).name == "trading-venue.sqlite"


def test_live_needs_the_enable_flag_and_keys_from_the_environment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as not_enabled:
        TradingSettings(mode="live")
    assert not_enabled.value.key == "trading.live_enabled"
    with pytest.raises(TradingSetupError, match="THEBOT_BINANCE_API_KEY"):
        build(tmp_path, simulated=False, mode="live", live_enabled=True)
    live = build(tmp_path, KEYS, simulated=False, mode="live", live_enabled=True)
    assert isinstance(live.broker, CcxtBroker) and live.broker.name == "binance"
    assert live.broker.client.urls["api"]["private"].startswith("https://api.binance.com")
    with pytest.raises(TradingSetupError, match="simulated venue"):
        build(tmp_path, simulated=False, mode="venue")


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"mode": "margin"}, "trading.mode"),
        ({"daily_loss_pct": 0}, "trading.daily_loss_pct"),
        ({"daily_loss_warnings_pct": [2.0, 6.0]}, "trading.daily_loss_warnings_pct"),
        ({"max_open_orders": 0}, "trading.max_open_orders"),
        ({"paper_fee_rate": 0.5}, "trading.paper_fee_rate"),
        ({"journal_file": "../elsewhere.sqlite"}, "trading.journal_file"),
        ({"api_key": "x"}, "trading.api_key"),  # keys never live in the settings file
    ],
)
def test_trading_section_names_the_bad_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings_from_dict({"trading": table})
    assert error.value.key == key


def test_trade_this_fills_the_ticket_with_the_signal_side_and_an_atr_stop() -> None:
    ticket = ticket_from_signal({"symbol": "BTCUSDT", "side": "buy", "price": 50_000.0}, atr=250.0)
    assert ticket == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "risk_pct": 1.0,
        "stop_loss": 49_500.0,
        "take_profit": 51_000.0,
    }
    parse_ticket(ticket)  # a valid ticket as it stands
    sell = ticket_from_signal({"symbol": "BTCUSDT", "side": "SELL", "price": 50_000.0}, atr=250.0)
    assert sell == {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET"}
    with pytest.raises(ValueError):
        ticket_from_signal({"symbol": "BTCUSDT", "side": "HOLD", "price": 1.0}, atr=1.0)
