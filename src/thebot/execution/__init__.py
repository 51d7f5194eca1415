"""Order execution (paper and ccxt brokers, risk); see ROADMAP.md."""
