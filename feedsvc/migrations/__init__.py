"""Alembic migration scripts of the store's schema (run by feedsvc.migrate; forward only)."""

# The newest revision in versions/: a store already at it needs no Alembic at start-up (one query tells).
# A new migration moves it; tests/test_migrate.py checks it against Alembic's own head.
HEAD = "0006"
