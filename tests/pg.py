"""Throwaway PostgreSQL databases for tests: the server at 127.0.0.1:5432 (trust auth), one database per test.

Outside CI a missing server skips the test; in CI (CI=true) it fails, since CI must run these tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

ADMIN_URL = os.environ.get("FEEDSVC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _admin() -> sa.Engine:
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def available() -> bool:
    try:
        admin = _admin()
    except Exception:  # driver missing
        return False
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:  # server down or refusing us: no PostgreSQL here
        return False
    finally:
        admin.dispose()


def require() -> None:
    if available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL}; CI must run the PostgreSQL tests")
    pytest.skip(f"PostgreSQL is not reachable at {ADMIN_URL}")


def fresh_database() -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards (even with connections still open)."""
    require()
    name = f"feedsvc_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
