"""The web layer: the Dash application, one module per panel, and the JSON API."""
