"""Board content in the languages the board translates it into (ADR 0101)."""
