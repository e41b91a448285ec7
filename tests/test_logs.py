"""One structured log line per fetch, key=value by default and JSON by setting."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest

from feedsvc.logs import setup_logging
from feedsvc.service import Service
from feedsvc.settings import Settings


@pytest.mark.parametrize("fmt", ["kv", "json"])
def test_one_line_per_fetch(
    fmt: str, demo_settings: Callable[[], Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt, "INFO")
    try:
        service = Service(demo_settings())
        service.start()
        service.run_once()
        service.close()
    finally:
        logging.getLogger().handlers.clear()
    lines = [line for line in capsys.readouterr().err.splitlines() if "event=fetch" in line]
    assert len(lines) == 3
    line = next(line for line in lines if "source=putin-invites-trump" in line)
    if fmt == "json":
        record = json.loads(line)
        assert record["level"] == "info" and record["time"].endswith("Z")
        message = record["msg"]
    else:
        assert line.startswith("time=") and " level=INFO " in line
        message = line
    for key in ("source=putin-invites-trump", "status=ok", "stories=4", "duration="):
        assert key in message
