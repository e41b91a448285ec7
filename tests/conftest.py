"""Shared fixtures: a throwaway copy of the demo configuration, on SQLite or on a throwaway PostgreSQL.

Tests of the modules in ``BOTH_ENGINES`` that use ``demo_config`` / ``demo_settings`` / ``database_url``
run twice: on SQLite and on a fresh PostgreSQL database (skipped without a server, failed in CI).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from feedsvc.settings import Settings, load_settings
from tests import pg

BOTH_ENGINES = {"test_service", "test_store", "test_ingest", "test_workers", "test_fulltext"}

ROOT = Path(__file__).resolve().parent.parent
DEMO_PAGES = ROOT / "config" / "pages"
DATA = Path(__file__).parent / "data"


def write_config(
    tmp: Path,
    extra: str = "",
    pages: tuple[str, ...] | None = None,
    listen: str = "127.0.0.1:8080",
    database_url: str | None = None,
) -> Path:
    """A config like the demo's, with every path inside ``tmp``."""
    (tmp / "pages").mkdir(exist_ok=True)
    names = pages or tuple(p.name for p in sorted(DEMO_PAGES.glob("*.txt")))
    sources = []
    for name in names:
        shutil.copy(DEMO_PAGES / name, tmp / "pages" / name)
        stem = name.removeprefix("daily8-").removesuffix(".txt")
        sources.append(f'[[sources]]\nname = "{stem}"\nurl = "pages/{name}"\ninterval = "15m"\n')
    text = (
        "[service]\n"
        f'listen = "{listen}"\n'
        f'public_url = "http://{listen}"\n'
        f'database_url = "{database_url or f"sqlite:///{tmp}/db/feedsvc.db"}"\n'
        f'data_dir = "{tmp}/data"\n'
        'log_level = "WARNING"\n\n' + "\n".join(sources) + "\n" + extra
    )
    path = tmp / "feedsvc.toml"
    path.write_text(text, encoding="utf-8")
    return path


def asgi_scope(path: str, headers: dict[str, str] | None = None, method: str = "GET") -> dict[str, Any]:
    """The ASGI scope of one HTTP request to ``path`` (its query string after ``?``)."""
    path, _, query = path.partition("?")
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module in BOTH_ENGINES and "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL: SQLite in tmp_path unless parametrised with "postgresql" (a fresh database)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        yield from pg.fresh_database()
    else:
        yield f"sqlite:///{tmp_path}/db/feedsvc.db"


@pytest.fixture
def demo_config(tmp_path: Path, database_url: str) -> Path:
    return write_config(tmp_path, database_url=database_url)


@pytest.fixture
def demo_settings(demo_config: Path) -> Callable[[], Settings]:
    return lambda: load_settings(demo_config, environ={})
