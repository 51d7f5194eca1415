"""Alerts: rules on prices, indicators, signals and health; durable history; toasts, sound, notifiers."""
