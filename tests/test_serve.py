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


def _has_entries(response: httpx.Response) -> bool:
    if response.headers.get("content-type", "").startswith("application/feed+json"):
        return bool(json.loads(response.content).get("items"))
    return bool(feedparser.parse(response.content).entries)


def _wait_for_feed(url: str, proc: subprocess.Popen[bytes], limit: float = 120.0) -> httpx.Response:
    """The feed at ``url`` once it carries entries (a fresh store's first fetch may not have run yet)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"feedsvc serve exited with {proc.returncode}"
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200 and _has_entries(r):
                return r
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no feed with entries at {url} within {limit} s")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=15)


def test_serve_publishes_then_stops_on_sigterm_and_restarts_with_same_ids(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, listen=f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}/feeds/all.atom"
    proc = _serve(config)
    try:
        first = feedparser.parse(_wait_for_feed(url, proc).content)
        # The scheduler publishes after each source; wait until all three pages are in.
        deadline = time.monotonic() + 15
        while len(first.entries) < 9 and time.monotonic() < deadline:
            time.sleep(0.3)
            first = feedparser.parse(httpx.get(url).content)
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
