"""Schema migrations: fresh stores, stores of earlier releases, concurrent starts, newer schemas refused."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from feedsvc import migrate
from feedsvc.errors import StoreError
from feedsvc.migrations import HEAD
from tests import pg
from tests.conftest import DATA

LEGACY = DATA / "legacy"
TABLES = {"meta", "blobs", "clusters", "copies", "sources"}


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg.fresh_database()


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def test_fresh_sqlite_store_is_migrated_once(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/new.db")
    first = migrate.upgrade(engine)
    assert first.before is None and first.after == migrate.head() and first.changed
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    again = migrate.upgrade(engine)
    assert not again.changed
    migrate.check(engine)


def test_a_store_at_head_is_told_without_alembic(tmp_path: Path) -> None:
    """migrations.HEAD is Alembic's head (a new migration must move it), and a store already there is
    opened by one query: Alembic is not even imported (a third of a second of every start-up)."""
    assert migrate.head() == HEAD
    engine = sa.create_engine(f"sqlite:///{tmp_path}/new.db")
    assert not migrate.at_head(engine)  # no version table yet
    migrate.upgrade(engine)
    assert migrate.at_head(engine)
    code = (
        "import sys, sqlalchemy as sa; from feedsvc import migrate; "
        "engine = sa.create_engine(sys.argv[1]); migrate.check(engine); r = migrate.upgrade(engine); "
        "print(r.before, r.after, 'alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(engine.url)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [HEAD, HEAD, "False"], done.stderr


@pytest.mark.parametrize("name", ["feedsvc-0.1.db", "feedsvc-pre-signatures.db"])
def test_database_of_an_earlier_release_upgrades_in_place(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    shutil.copy(LEGACY / name, path)
    with sqlite3.connect(path) as raw:
        before = raw.execute("SELECT key, cluster_id, title FROM copies ORDER BY key").fetchall()
        clusters = raw.execute("SELECT id FROM clusters ORDER BY id").fetchall()
    engine = sa.create_engine(f"sqlite:///{path}")
    with pytest.raises(StoreError, match="run `feedsvc migrate` first"):
        migrate.check(engine)
    result = migrate.upgrade(engine)
    assert result.before is None and result.after == migrate.head()
    assert {"body_sig", "lead_sig"} <= _columns(engine, "copies")
    assert "published_text" not in _columns(engine, "copies")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT key, cluster_id, title FROM copies ORDER BY key")).all() == before
        assert conn.execute(sa.text("SELECT id FROM clusters ORDER BY id")).all() == clusters
    migrate.check(engine)


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/future.db")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    for attempt in (migrate.upgrade, migrate.check):
        with pytest.raises(StoreError, match="made by a newer feedsvc"):
            attempt(engine)
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            == "9999_from_the_future"
        )


def test_fresh_postgresql_store_is_migrated_once(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    assert migrate.upgrade(engine).changed
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    assert not migrate.upgrade(engine).changed
    engine.dispose()


def test_processes_started_together_on_an_empty_postgresql_migrate_it_once(pg_url: str) -> None:
    code = (
        "import sys, sqlalchemy as sa; from feedsvc import migrate; "
        "r = migrate.upgrade(sa.create_engine(sys.argv[1])); print(r.before, r.after)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, pg_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err.decode() for _, err in results]
    outputs = sorted(out.decode().strip() for out, _ in results)
    head = migrate.head()
    assert outputs == sorted([f"None {head}"] + [f"{head} {head}"] * 3)  # exactly one process migrated


def test_store_metadata_matches_the_migrations(tmp_path: Path) -> None:
    """The tables the code declares are exactly what the migrations build (no change without a migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from feedsvc.store import metadata

    engine = sa.create_engine(f"sqlite:///{tmp_path}/drift.db")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrate_command_and_refusing_serve_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from feedsvc.cli import main
    from feedsvc.store import Store
    from tests.conftest import write_config

    config = write_config(tmp_path)
    db = tmp_path / "db" / "feedsvc.db"
    db.parent.mkdir()
    shutil.copy(LEGACY / "feedsvc-0.1.db", db)
    with pytest.raises(StoreError, match="feedsvc migrate"):
        Store(f"sqlite:///{db}", migrate=False)
    assert main(["migrate", "--config", str(config)]) == 0
    assert f"schema migrated from none to {migrate.head()}" in capsys.readouterr().out
    assert main(["migrate", "--config", str(config)]) == 0
    assert f"schema already at {migrate.head()}" in capsys.readouterr().out
    Store(f"sqlite:///{db}", migrate=False).close()


def test_an_unwritable_store_directory_is_named_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What uid 10001 sees in the container on a /data it cannot write (the image test runs it for real)."""
    import os

    from sqlalchemy.exc import OperationalError

    folder = tmp_path / "data"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == folder else real_access(p, mode))
    error = OperationalError("SELECT 1", {}, Exception("unable to open database file"))
    assert "Background on this error" in str(error)
    reason = migrate._reason(error, sa.create_engine(f"sqlite:///{folder}/feedsvc.db"))
    assert "\n" not in reason and "Background" not in reason
    assert reason.endswith(f"the directory {folder} is not writable by uid {os.getuid()}")


def test_a_store_before_pictures_and_page_titles_upgrades_with_its_rows_kept(tmp_path: Path) -> None:
    """Revision 0006 adds copies.image and sources.page_title: empty for what was stored before."""
    from alembic import command

    from feedsvc.store import Store

    path = tmp_path / "feedsvc.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0005")
        conn.execute(
            sa.text(
                "INSERT INTO clusters (id, created, updated, published, canonical_key, content_hash) "
                "VALUES ('c1', :t, :t, :t, 'k1', 'h')"
            ),
            {"t": "2025-08-19 12:00:00"},
        )
        conn.execute(
            sa.text(
                "INSERT INTO copies (key, cluster_id, source, outlet, title, body, first_seen, last_seen, "
                "shingles, lead) VALUES ('k1', 'c1', 's', 'Courier', 'Bridge', '[\"Text.\"]', "
                "'2025-08-19 12:00:00', '2025-08-19 12:00:00', x'', x'')"
            )
        )
        conn.execute(sa.text("INSERT INTO sources (name, stories, failures) VALUES ('s', 3, 0)"))
    assert "image" not in _columns(engine, "copies") and "page_title" not in _columns(engine, "sources")
    result = migrate.upgrade(engine)
    assert result.before == "0005" and result.after == migrate.head()
    assert "image" in _columns(engine, "copies") and "page_title" in _columns(engine, "sources")
    engine.dispose()
    store = Store(f"sqlite:///{path}", migrate=False)
    try:
        [copy] = store.copies_of(["c1"])["c1"]
        assert copy.title == "Bridge" and copy.image is None
        state = store.source_state("s")
        assert state.stories == 3 and state.page_title is None
        assert store.source_titles() == {}
    finally:
        store.close()
