"""Shared fixtures: a throwaway copy of the demo configuration."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from feedsvc.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_PAGES = ROOT / "config" / "pages"
DATA = Path(__file__).parent / "data"


def write_config(
    tmp: Path, extra: str = "", pages: tuple[str, ...] | None = None, listen: str = "127.0.0.1:8080"
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
        f'database_url = "sqlite:///{tmp}/db/feedsvc.db"\n'
        f'data_dir = "{tmp}/data"\n'
        'log_level = "WARNING"\n\n' + "\n".join(sources) + "\n" + extra
    )
    path = tmp / "feedsvc.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def demo_config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def demo_settings(demo_config: Path) -> Callable[[], Settings]:
    return lambda: load_settings(demo_config, environ={})
