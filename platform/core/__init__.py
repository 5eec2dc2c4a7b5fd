"""Shared app: administrative areas, organisations, users and roles, audit log, durable event log."""
