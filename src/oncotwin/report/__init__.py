"""Self-contained HTML report of a virtual trial (research simulation, not medical advice)."""
