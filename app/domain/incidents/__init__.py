"""Incident notices: a board tells the families of a service's students about an incident
at its vendor, in their language, through the job runner (ADR 0086)."""
