"""Tobira — student-data consent and visibility portal."""
