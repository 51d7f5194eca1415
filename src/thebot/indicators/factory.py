"""IndicatorFactory: any TA-Lib function or custom indicator by name, with validated parameters.

Metadata comes from TA-Lib's abstract API, so the picker lists exactly what the installed library offers.
Placement follows TA-Lib's own flags: "Output scale same as input" draws on the price, pattern recognition
as markers, everything else in its own panel.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import talib as _talib_module
from talib import abstract as _abstract_module

from thebot.indicators.custom import CustomIndicator, custom_indicators
from thebot.indicators.errors import IndicatorError
from thebot.indicators.metadata import (
    IndicatorInfo,
    IndicatorSpec,
    ParameterInfo,
    ParameterKind,
    ParameterValue,
    Placement,
)
from thebot.indicators.streaming import CustomStream, IndicatorStream, TalibStream
from thebot.market.models import CandleSnapshot

logger = logging.getLogger(__name__)

# TA-Lib's stubs cover the function API only; the abstract and info helpers are reached untyped.
talib: Any = _talib_module
abstract: Any = _abstract_module

Series = npt.NDArray[Any]

CANDLE_INPUTS = frozenset(
    {"open", "high", "low", "close", "volume", "quote_volume", "taker_buy_volume", "trades", "open_time"}
)
# TA-Lib's optional-input types: 0 real, 1 real range, 2 integer range, 3 integer list (MA type).
_KIND_BY_TALIB_TYPE = {
    0: ParameterKind.REAL,
    1: ParameterKind.REAL,
    2: ParameterKind.INTEGER,
    3: ParameterKind.MOVING_AVERAGE_TYPE,
}
MOVING_AVERAGE_TYPES = range(0, 9)
MAX_REMEMBERED_SPECS = 10_000  # SMA, EMA, WMA, DEMA, TEMA, TRIMA, KAMA, MAMA, T3


# TA-Lib flags these "output scale same as input", but their values are not price levels: AVGDEV is a
# distance from the mean, and SAREXT is negated while the position is short (SAR overlays instead).
_PANEL_DESPITE_FLAG = frozenset({"AVGDEV", "SAREXT"})
# Outputs of price-scale functions that are direction codes (SUPERTREND's `trend` is ±1): not overlaid.
_CHART_OUTPUTS = {"SUPERTREND": ("supertrend",)}


def _talib_info(name: str) -> IndicatorInfo:
    info = abstract.Function(name).info
    inputs: list[str] = []
    for value in info["input_names"].values():
        inputs.extend(value if isinstance(value, list) else [value])
    parameters = []
    for index, (parameter, default) in enumerate(info["parameters"].items()):
        details = talib._ta_lib._ta_getOptInputParameterInfo(name.encode(), index)
        kind = _KIND_BY_TALIB_TYPE.get(details["type"], ParameterKind.REAL)
        parameters.append(ParameterInfo(parameter, kind, default, str(details.get("help", ""))))
    flags = info["function_flags"] or []
    if info["group"] == "Pattern Recognition":
        placement = Placement.MARKERS
    elif "Output scale same as input" in flags and name not in _PANEL_DESPITE_FLAG:
        placement = Placement.OVERLAY
    else:
        placement = Placement.PANEL
    return IndicatorInfo(
        name=name,
        display_name=str(info["display_name"]),
        group=str(info["group"]),
        inputs=tuple(inputs),
        parameters=tuple(parameters),
        outputs=tuple(info["output_names"]),
        placement=placement,
        custom=False,
        chart_outputs=_CHART_OUTPUTS.get(name, ()),
    )


def _convert(info: IndicatorInfo, parameter: ParameterInfo, value: object) -> ParameterValue:
    """Accept numbers or their text (query strings); refuse anything that would be silently rounded."""

    def fail(reason: str) -> IndicatorError:
        return IndicatorError(
            f"{info.name}: parameter '{parameter.name}' {reason}, got {value!r}", info.name, parameter.name
        )

    if isinstance(value, bool):
        raise fail("must be a number")
    if isinstance(value, str):
        try:
            number: float | int = int(value) if parameter.kind is not ParameterKind.REAL else float(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise fail("must be a number") from None
    elif isinstance(value, int | float):
        number = value
    else:
        raise fail("must be a number")
    if not math.isfinite(number):
        raise fail("must be finite")
    if parameter.kind is ParameterKind.REAL:
        return float(number)
    if float(number) != int(number):
        raise fail("must be a whole number")
    integer = int(number)
    if parameter.kind is ParameterKind.MOVING_AVERAGE_TYPE and integer not in MOVING_AVERAGE_TYPES:
        raise fail(
            "must be a moving-average type 0..8 "
            "(0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 TRIMA, 6 KAMA, 7 MAMA, 8 T3)"
        )
    return integer


class IndicatorFactory:
    """Builds validated specs, batch series and live streams for every indicator the app offers.

    Holds only read-only metadata, so one instance can be shared by every thread.
    """

    def __init__(self) -> None:
        self._custom: dict[str, CustomIndicator] = {
            indicator.name: indicator for indicator in custom_indicators()
        }
        self._infos: dict[str, IndicatorInfo] = {}
        for name in talib.get_functions():
            info = _talib_info(name)
            if all(item in CANDLE_INPUTS for item in info.inputs):
                self._infos[name] = info
            else:
                logger.debug("TA-Lib %s needs inputs a candle lacks (%s); not offered", name, info.inputs)
        for name, indicator in self._custom.items():
            self._infos[name] = indicator.info()
        self._specs: dict[tuple[str, tuple[tuple[str, Any], ...]], IndicatorSpec] = {}
        self._functions: dict[str, Callable[..., Any]] = {
            name: getattr(talib, name) for name in self._infos if name not in self._custom
        }

    # -- metadata ------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self._infos)

    def catalog(self) -> list[IndicatorInfo]:
        return [self._infos[name] for name in sorted(self._infos, key=lambda n: (self._infos[n].group, n))]

    def info(self, name: str) -> IndicatorInfo:
        key = name.strip().upper()
        info = self._infos.get(key)
        if info is None:
            close = difflib.get_close_matches(key, list(self._infos), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see /api/indicators/catalog"
            raise IndicatorError(f"unknown indicator '{name}'{hint}", name)
        return info

    # -- validation ----------------------------------------------------------------------------------

    def spec(self, name: str, params: Mapping[str, object] | None = None) -> IndicatorSpec:
        """Validate `name` and `params` (defaults filled in); raises `IndicatorError` naming the culprit.

        Validated specs are remembered and shared: the same request returns the same object, so the
        live path's dict lookups hit on identity and a repeated request skips TA-Lib's checks.
        """
        try:
            request = (name, tuple(sorted((params or {}).items())))
            known_spec = self._specs.get(request)
        except TypeError:  # an unhashable parameter value: validate it, it will be refused
            request, known_spec = None, None
        if known_spec is not None:
            return known_spec
        spec = self._validate(name, params)
        spec = self._specs.setdefault((spec.name, spec.params), spec)
        if request is not None and len(self._specs) < MAX_REMEMBERED_SPECS:
            self._specs[request] = spec
        return spec

    def _validate(self, name: str, params: Mapping[str, object] | None) -> IndicatorSpec:
        info = self.info(name)
        given = dict(params or {})
        known = {parameter.name for parameter in info.parameters}
        for key in given:
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise IndicatorError(
                    f"{info.name}: unknown parameter '{key}'; parameters are: {allowed}", info.name, key
                )
        values: dict[str, ParameterValue] = {}
        for parameter in info.parameters:
            values[parameter.name] = (
                _convert(info, parameter, given[parameter.name])
                if parameter.name in given
                else parameter.default
            )
        custom = self._custom.get(info.name)
        if custom is not None:
            custom.check(values)
        else:
            self._check_talib(info, values, given)
        return IndicatorSpec(
            info.name, tuple((parameter.name, values[parameter.name]) for parameter in info.parameters)
        )

    def _check_talib(
        self, info: IndicatorInfo, values: dict[str, ParameterValue], given: Mapping[str, object]
    ) -> None:
        """TA-Lib reports a bad parameter as lookback -1; try each given one alone to name it."""
        function = abstract.Function(info.name)
        for name in given:
            function.set_parameters({name: values[name]})
            if function.lookback < 0:
                raise IndicatorError(
                    f"{info.name}: parameter '{name}' is out of TA-Lib's range, got {values[name]!r}",
                    info.name,
                    name,
                )
            function.set_parameters({name: info.parameter(name).default})  # type: ignore[union-attr]
        function.set_parameters(values)
        if function.lookback < 0:
            raise IndicatorError(
                f"{info.name}: parameters {values} are not accepted together by TA-Lib", info.name
            )

    def resolve(self, spec: IndicatorSpec | str, params: Mapping[str, object] | None = None) -> IndicatorSpec:
        return spec if isinstance(spec, IndicatorSpec) else self.spec(spec, params)

    # -- computing -----------------------------------------------------------------------------------

    def compute(
        self, spec: IndicatorSpec | str, candles: CandleSnapshot, params: Mapping[str, object] | None = None
    ) -> dict[str, Series]:
        """The whole series of every output, aligned with `candles` (NaN during warm-up)."""
        resolved = self.resolve(spec, params)
        info = self._infos[resolved.name]
        custom = self._custom.get(resolved.name)
        if custom is not None:
            return dict(custom.batch(candles, resolved.parameters))
        arrays = [getattr(candles, name) for name in info.inputs]
        if len(candles) == 0:
            return {name: np.empty(0, dtype=np.float64) for name in info.outputs}
        result = self._functions[resolved.name](*arrays, **resolved.parameters)
        if isinstance(result, tuple):
            return dict(zip(info.outputs, result, strict=True))
        return {info.outputs[0]: result}

    def open_stream(
        self, spec: IndicatorSpec | str, candles: CandleSnapshot, params: Mapping[str, object] | None = None
    ) -> IndicatorStream:
        """A live stream that has consumed `candles` (all treated as closed)."""
        resolved = self.resolve(spec, params)
        info = self._infos[resolved.name]
        custom = self._custom.get(resolved.name)
        if custom is None:
            return TalibStream(resolved, info.outputs, info.inputs, candles)
        parameters = resolved.parameters
        if len(candles) == 0:
            return CustomStream(
                resolved, info.outputs, custom.start(parameters), tuple(float("nan") for _ in info.outputs)
            )
        state = custom.open(candles.head(len(candles) - 1), parameters)
        value = state.update(candles.candle(len(candles) - 1))
        return CustomStream(resolved, info.outputs, state, value)
