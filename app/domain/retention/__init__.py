"""Retention and erasure: how long a board keeps what, the run that removes it, and the
vendors' erasure certificates (ADR 0087)."""
