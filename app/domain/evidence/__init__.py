"""What a family and a review board can check: exports and API reads that touched a child,
and which downstream systems say they applied the feed (ADR 0086)."""
