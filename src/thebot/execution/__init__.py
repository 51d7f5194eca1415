"""Execution: costs and sizing, trailing stops, brokers, the risk chain and the portfolio."""
