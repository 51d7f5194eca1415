"""What the picker and the API need to know about an indicator, without computing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ParameterValue = int | float


class Placement(StrEnum):
    """Where a chart draws an indicator: on the price axis, in its own panel, or as candle markers."""

    OVERLAY = "overlay"
    PANEL = "panel"
    MARKERS = "markers"


class ParameterKind(StrEnum):
    INTEGER = "integer"
    REAL = "real"
    MOVING_AVERAGE_TYPE = "matype"


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    name: str
    kind: ParameterKind
    default: ParameterValue
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind.value,
            "default": self.default,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class IndicatorInfo:
    name: str
    display_name: str
    group: str
    inputs: tuple[str, ...]
    parameters: tuple[ParameterInfo, ...]
    outputs: tuple[str, ...]
    placement: Placement
    custom: bool
    # Outputs a chart draws; empty means all. State codes (a gap's fill state, a zone touch) live on
    # another scale than the price and would flatten the candles if overlaid.
    chart_outputs: tuple[str, ...] = ()

    @property
    def overlay(self) -> bool:
        return self.placement is Placement.OVERLAY

    def parameter(self, name: str) -> ParameterInfo | None:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "group": self.group,
            "inputs": list(self.inputs),
            "parameters": [parameter.as_dict() for parameter in self.parameters],
            "outputs": list(self.outputs),
            "placement": self.placement.value,
            "overlay": self.overlay,
            "custom": self.custom,
            "chart_outputs": list(self.chart_outputs or self.outputs),
        }


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """A validated indicator choice: name plus every parameter (defaults filled in), hashable.

    The hash is computed once: specs key the per-bar value maps on the live path, where a dataclass's
    field-tuple hash on every lookup is measurable.
    """

    name: str
    params: tuple[tuple[str, ParameterValue], ...] = ()
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.name, self.params)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def parameters(self) -> dict[str, ParameterValue]:
        return dict(self.params)

    @property
    def key(self) -> str:
        inner = ",".join(f"{name}={value:g}" for name, value in self.params)
        return f"{self.name}({inner})"

    def __str__(self) -> str:
        return self.key
