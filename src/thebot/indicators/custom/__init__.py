"""Indicators TA-Lib lacks, behind the same interface as the TA-Lib ones."""

from __future__ import annotations

from thebot.indicators.custom.base import CustomIndicator, CustomState
from thebot.indicators.custom.fair_value_gaps import FairValueGaps
from thebot.indicators.custom.market_profile import MarketProfile
from thebot.indicators.custom.volume_delta import VolumeDelta
from thebot.indicators.custom.volume_mean import VolumeMean
from thebot.indicators.custom.vwap import SessionVwap
from thebot.indicators.custom.zones import SupplyDemandZones


def custom_indicators() -> tuple[CustomIndicator, ...]:
    return (
        SessionVwap(),
        VolumeDelta(),
        VolumeMean(),
        MarketProfile(),
        FairValueGaps(),
        SupplyDemandZones(),
    )


__all__ = ["CustomIndicator", "CustomState", "custom_indicators"]
