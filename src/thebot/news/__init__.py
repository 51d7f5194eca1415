"""News feed aggregation; see ROADMAP.md."""
