"""Backtests: stored closed candles replayed through the live rules and aggregator, with costs and exits."""
