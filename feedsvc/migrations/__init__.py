"""Alembic migration scripts of the store's schema (run by feedsvc.migrate; forward only)."""
