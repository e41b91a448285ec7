"""Schema migrations (Alembic): bring a store to this release's schema under a lock; refuse a newer schema.

The migration scripts live in ``feedsvc/migrations/versions`` and go forward only. ``upgrade`` runs them
in one transaction; on PostgreSQL it first takes a transaction-scoped advisory lock, so several processes
starting together on an empty database migrate it exactly once (the others wait, then find it current).
On SQLite the write transaction itself serialises them. A database whose revision this release does not
know was made by a newer feedsvc: it is refused, never touched. A store already at this release's schema
(``HEAD``) is told by one query, without importing Alembic (a third of a second of start-up).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from feedsvc.dirs import directory_problem
from feedsvc.errors import StoreError
from feedsvc.migrations import HEAD

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: any fixed 64-bit number, the same in every feedsvc process ("feedsvc" in ASCII).
LOCK_KEY = 0x66656564737663


@dataclass(frozen=True)
class Migration:
    before: str | None  # the revision the database had (None: empty or made before migrations)
    after: str  # the revision it has now

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "feedsvc ships at least one migration"
    return revision


def _known() -> set[str]:
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _reason(exc: SQLAlchemyError, engine: Engine) -> str:
    """The driver's complaint on one line (without SQLAlchemy's "Background on this error" link), and for
    an SQLite file that cannot be opened, the likely cause in the operator's terms."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:":
        problem = directory_problem(Path(database).resolve().parent)
        if problem is not None:
            return f"{first}: {problem}"
        if Path(database).exists() and not os.access(database, os.R_OK | os.W_OK):
            return f"{first}: the file {database} is not readable and writable by uid {os.getuid()}"
    return first


def _refuse_newer(revision: str | None, where: str) -> None:
    if revision is not None and revision not in _known():
        raise StoreError(
            f"the store at {where} has schema revision {revision}, which this feedsvc does not know "
            f"(it knows up to {head()}): it was made by a newer feedsvc; upgrade feedsvc instead"
        )


def at_head(engine: Engine) -> bool:
    """Whether the store is at this release's schema, told by one query (no Alembic); False when it
    cannot tell (no version table yet, or the store is unreachable: the caller's full path says why)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return False
    return list(rows) == [HEAD]


def upgrade(engine: Engine) -> Migration:
    """Apply every pending migration; return the revision before and after."""
    if at_head(engine):  # migrations only go forward: nothing to do, no lock needed
        return Migration(HEAD, HEAD)
    from alembic import command

    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            before = current(connection)
            _refuse_newer(before, where)
            target = head()
            if before != target:
                command.upgrade(_config(connection), "head")
            return Migration(before, target)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the store at {where}: {_reason(exc, engine)}") from exc


def check(engine: Engine) -> None:
    """StoreError unless the store is exactly at this release's schema (a process that may not migrate)."""
    if at_head(engine):
        return
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            revision = current(connection)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot read the schema revision of the store at {where}: {_reason(exc, engine)}"
        ) from exc
    _refuse_newer(revision, where)
    if revision != head():
        raise StoreError(
            f"the store at {where} is at schema revision {revision or 'none'}, this feedsvc needs {head()}: "
            "run `feedsvc migrate` first"
        )
