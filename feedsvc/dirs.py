"""Whether this process can write in a directory, said in an operator's terms (one line, with the uid)."""

from __future__ import annotations

import os
from pathlib import Path

from feedsvc.errors import PublishError


def directory_problem(directory: Path) -> str | None:
    """Why files cannot be created in ``directory`` (made on demand: then its nearest existing parent
    counts), or None when they can."""
    existing = Path(directory).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"the directory {existing} is not writable by uid {os.getuid()}"
    return None


def check_data_dir(data_dir: Path) -> None:
    """PublishError in one line unless the feed files can be written under ``data_dir``."""
    feeds = Path(data_dir) / "feeds"
    problem = directory_problem(feeds)
    if problem is not None:
        raise PublishError(
            f"data_dir {data_dir}: cannot write feed files in {feeds}: {problem} "
            "(set data_dir or FEEDSVC_DATA_DIR to a directory this user can write)"
        )
