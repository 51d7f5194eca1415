"""thebot: a real-time crypto market analytics dashboard."""

__version__ = "0.1.0"
