"""Ports for servers a test starts in another process or a moment later.

A port from ``bind(("127.0.0.1", 0))`` comes out of the kernel's ephemeral range. Once that socket
closes, any outgoing connection (a PostgreSQL client, a fetch, another worker) may be given the same
port as its local end before the server the test starts binds it, and the server then fails with
"Address already in use". Ports below the ephemeral range are never handed to outgoing connections,
so `free_port` picks one there that nothing listens on and that this process has not handed out.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000
_given: set[int] = set()


def _candidates() -> range:
    try:
        low, high = (int(part) for part in _RANGE.read_text().split())
    except (OSError, ValueError):
        low, high = 32_768, 60_999
    if low - _LOWEST >= 1_000:
        return range(_LOWEST, low)
    return range(high + 1, 65_536)


def free_port() -> int:
    """A port on 127.0.0.1 outside the ephemeral range that is free now and not handed out before."""
    candidates = _candidates()
    for _ in range(200):
        port = random.choice(candidates)
        if port in _given:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {candidates.start}-{candidates.stop - 1} on 127.0.0.1")
