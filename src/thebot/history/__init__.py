"""Market history from outside the live feed: kline files (import) and the exchange's REST klines (fetch)."""
