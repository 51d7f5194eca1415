"""Alerts (toast and sound) raised from graded signals; see ROADMAP.md."""
