"""The one exception the analytics layer raises for bad indicator names or parameters."""

from __future__ import annotations


class IndicatorError(ValueError):
    """An indicator name or parameter is wrong; the message names it and says what would be accepted.

    A `ValueError` so that callers validating user input (the JSON API, the picker) can turn it into a
    400 without knowing the analytics internals.
    """

    def __init__(self, message: str, indicator: str | None = None, parameter: str | None = None) -> None:
        super().__init__(message)
        self.indicator = indicator
        self.parameter = parameter
