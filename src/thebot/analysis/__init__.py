"""Views across streams for the analyst's pages: watchlist rows, comparisons, signal details.

Pure functions over snapshots and plain values; the web layer calls them and draws the results."""
