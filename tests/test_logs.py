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
        # real fields, not a key=value string inside JSON
        assert record["event"] == "fetch" and record["source"] == "putin-invites-trump"
        assert record["status"] == "ok" and record["stories"] == 4 and isinstance(record["duration"], float)
        message = record["msg"]
    else:
        assert line.startswith("time=") and " level=INFO " in line
        message = line
    for key in ("source=putin-invites-trump", "status=ok", "stories=4", "duration="):
        assert key in message


def test_event_fields_and_bounds() -> None:
    from feedsvc.logs import MAX_LINE, _bounded, fields

    got = fields("event=fetch source=ap status=error stories=0 duration=0.250 error='HTTP 503: it\\'s busy'")
    assert got == {
        "event": "fetch",
        "source": "ap",
        "status": "error",
        "stories": 0,
        "duration": 0.25,
        "error": "HTTP 503: it's busy",
    }
    assert fields("plain message with x=1") == {}
    long = _bounded("event=x error=" + "a" * 50_000)
    assert len(long) < MAX_LINE + 100 and long.endswith("more characters cut]")
    assert "s3cret" not in _bounded("event=store_failed url=postgresql://feeds:s3cret@db/feeds")
