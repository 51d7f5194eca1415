"""The Trading page's pure parts: the form becomes the API's ticket, the preview names each check, the
LIVE badge is red."""

from __future__ import annotations

from dash_modules import trading_page


def test_form_becomes_the_api_ticket_with_the_chosen_size_field() -> None:
    form = dict.fromkeys(trading_page.FORM_FIELDS)
    form.update(symbol="BTCUSDT", side="BUY", type="MARKET", size_mode="risk_pct", size=1, stop_loss=49_500)
    assert trading_page.ticket_from_form(form) == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "risk_pct": 1,
        "stop_loss": 49_500,
    }


def test_preview_lists_every_check_and_marks_the_failing_one() -> None:
    preview = {
        "quantity": 0.12,
        "reference_price": 50_000.0,
        "notional": 6_000.0,
        "fee": 6.0,
        "risk_quote": None,
        "risk_pct_of_equity": None,
        "checks": [
            {"name": "LOT_SIZE", "passed": True, "detail": "quantity 0.12 on step 1e-05"},
            {"name": "max_order_notional", "passed": False, "detail": "6,000.00 USDT is above the limit"},
        ],
    }
    text = str(trading_page.render_preview(preview))
    assert "6,000.00" in text and "0.12" in text
    rendered = trading_page.render_preview(preview).children[1].children
    assert [item.className for item in rendered] == ["check-pass", "check-fail"]
    assert rendered[1].children[1].children == "max_order_notional"


def test_live_badge_is_red_and_paper_is_calm() -> None:
    live = trading_page.mode_badge("live")
    assert live.children == "LIVE" and live.color == "danger" and "trading-mode-live" in live.className
    assert trading_page.mode_badge("paper").color == "secondary"


def test_equity_figure_is_a_line_of_the_curve() -> None:
    figure = trading_page.equity_figure([(1, 100.0), (2, 101.5)])
    assert figure["data"][0]["x"] == [1, 2] and figure["data"][0]["y"] == [100.0, 101.5]


def test_trading_props_render_the_account_for_the_page_or_the_push_hub(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from thebot.events import EventBus
    from thebot.execution.journal import Journal
    from thebot.execution.paper import PaperBroker
    from thebot.execution.service import TradingService
    from thebot.execution.settings import TradingSettings

    journal = Journal(tmp_path / "j.sqlite")
    broker = PaperBroker(journal, ("BTCUSDT",), starting_balance=10_000.0, slippage_bps=0.0)
    service = TradingService(TradingSettings(), broker, journal, EventBus(), symbols=("BTCUSDT",))
    service.start(subscribe=False)
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    service.place({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 0.01})
    service.on_price("BTCUSDT", 50_000, 50_000, 50_000)
    props = trading_page.trading_props(service)
    assert set(props) == {
        trading_page.ACCOUNT,
        trading_page.POSITIONS,
        trading_page.ORDERS,
        trading_page.FILLS,
        trading_page.EQUITY,
        trading_page.PERFORMANCE,
    }
    assert "50,000.00" in str(props[trading_page.POSITIONS]["children"])
    assert "No open order." in str(props[trading_page.ORDERS]["children"])
    assert "9,999.50 USDT" in str(props[trading_page.ACCOUNT]["children"])
    service.stop()
