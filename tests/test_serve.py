"""`feedsvc serve` as a real process: a feed with entries (within 2 minutes even on a loaded machine),
SIGTERM exits cleanly, a restart keeps ids."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import httpx
import pytest

from tests.conftest import write_config
from tests.ports import free_port

pytestmark = pytest.mark.slow


def _serve(config: Path) -> subprocess.Popen[bytes]:
    log = config.parent / "serve.log"
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "feedsvc.cli", "serve", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _entries(response: httpx.Response) -> int:
    if response.headers.get("content-type", "").startswith("application/feed+json"):
        return len(json.loads(response.content).get("items") or [])
    return len(feedparser.parse(response.content).entries)


def _wait_for_feed(
    url: str, proc: subprocess.Popen[bytes], limit: float = 120.0, at_least: int = 1
) -> httpx.Response:
    """The feed at ``url`` once it carries ``at_least`` entries (a fresh store's first fetch may not have
    run yet, and the scheduler publishes after each source)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"feedsvc serve exited with {proc.returncode}"
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200 and _entries(r) >= at_least:
                return r
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no feed with {at_least} entries or more at {url} within {limit} s")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, and the exit status: the service stops within its stop_timeout (10 s, tests/test_stop.py
    holds it to that); the rest of the minute is for a loaded machine's interpreter shutdown."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def test_serve_publishes_then_stops_on_sigterm_and_restarts_with_same_ids(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, listen=f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}/feeds/all.atom"
    proc = _serve(config)
    try:
        first = feedparser.parse(_wait_for_feed(url, proc, at_least=9).content)  # all three pages in
        assert not first.bozo and len(first.entries) == 9
    finally:
        assert _stop(proc) == 0
    proc = _serve(config)
    try:
        second = feedparser.parse(_wait_for_feed(url, proc).content)
        assert [e.id for e in second.entries] == [e.id for e in first.entries]
    finally:
        assert _stop(proc) == 0


def test_a_port_in_use_is_one_line_before_anything_starts(tmp_path: Path) -> None:

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = write_config(tmp_path, listen=f"127.0.0.1:{port}")
        done = subprocess.run(
            [sys.executable, "-m", "feedsvc.cli", "serve", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"feedsvc: error: cannot listen on 127.0.0.1:{port}: Address already in use"], lines
    assert not (tmp_path / "db").exists()  # nothing started: no store was created
