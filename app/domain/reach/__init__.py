"""Reaching every family: who Tobira has not reached yet, and reminders to those who have
not answered (ADR 0084)."""
