"""HTTP load for the benchmarks: `wrk` when installed, else a lean keep-alive client on one event loop
(uvloop when installed) that writes raw requests and reads raw responses, so the generator costs little
next to the server it measures. Both run pinned to a CPU of their own when one is given.

    python -m bench._load PORT PATH DURATION CONNECTIONS [HEADER: VALUE ...]   (prints JSON)
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import cast


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    bad: int  # socket errors and statuses other than 2xx/3xx
    seconds: float  # the measured window


def run(
    port: int,
    path: str,
    headers: dict[str, str],
    duration: float,
    connections: int,
    cpu: int | None = None,
    python: bool = False,
) -> Result:
    """``connections`` keep-alive connections asking for ``path`` on 127.0.0.1 for ``duration`` s."""
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
    if shutil.which("wrk") and not python:
        return _wrk(pin, port, path, headers, duration, connections)
    argv = [*pin, sys.executable, "-m", "bench._load", str(port), path, f"{duration:g}", str(connections)]
    argv += [f"{key}: {value}" for key, value in headers.items()]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=True)
    return Result(**json.loads(done.stdout))


# -- wrk ---------------------------------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _field(pattern: str, out: str) -> str:
    match = re.search(pattern, out)
    if match is None:
        raise SystemExit(f"unexpected wrk output (no {pattern!r}):\n{out}")
    return match.group(1)


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise SystemExit(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def _wrk(
    pin: list[str], port: int, path: str, headers: dict[str, str], duration: float, connections: int
) -> Result:
    argv = [*pin, "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s", "--latency"]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    out = subprocess.run(
        [*argv, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    socket_errors = re.search(r"Socket errors: (.*)", out)
    non_3xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1))) if socket_errors else 0
    requests = int(_field(r"(\d+) requests in", out))
    return Result(
        rps=float(_field(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_ms(_field(r"\s50%\s+(\S+)", out)),
        p99_ms=_ms(_field(r"\s99%\s+(\S+)", out)),
        max_ms=_ms(_field(r"Latency\s+\S+\s+\S+\s+(\S+)", out)),
        requests=requests,
        bad=bad + (int(non_3xx.group(1)) if non_3xx else 0),
        seconds=_ms(_field(r"requests in (\S+),", out)) / 1000,
    )


# -- the Python client -------------------------------------------------------------------------------------


class _Client(asyncio.Protocol):
    """One keep-alive connection sending ``request`` again as soon as each response is complete."""

    def __init__(
        self, request: bytes, until: float, latencies: list[float], done: asyncio.Future[None]
    ) -> None:
        self.request, self.until, self.latencies, self.done = request, until, latencies, done
        self.buffer = bytearray()  # grows in place: a 200 KB answer arrives in many pieces
        self.need = 0  # bytes of the current response (head + body), 0 while its head is incomplete
        self.bad = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._send()

    def _send(self) -> None:
        self.started = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.need:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = re.search(rb"\r\ncontent-length: *(\d+)", head)
            self.need = end + 4 + (int(length.group(1)) if length else 0)
            self.bad += head[9:10] not in (b"2", b"3")
        if len(self.buffer) < self.need:
            return
        now = time.perf_counter()
        self.latencies.append(now - self.started)
        del self.buffer[: self.need]
        self.need = 0
        if now < self.until:
            self._send()
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _python_load(
    port: int, path: str, headers: dict[str, str], duration: float, connections: int
) -> dict[str, float | int]:
    loop = asyncio.get_running_loop()
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    latencies: list[float] = []
    started = time.perf_counter()
    clients, waits = [], []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        _, client = await loop.create_connection(
            lambda d=done: _Client(request, started + duration, latencies, d),
            "127.0.0.1",
            port,  # type: ignore[misc]
        )
        clients.append(client)
        waits.append(done)
    await asyncio.gather(*waits)
    seconds = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [ms[0]] * 99
    return {
        "rps": len(ms) / seconds,
        "p50_ms": q[49],
        "p99_ms": q[98],
        "max_ms": ms[-1],
        "requests": len(ms),
        "bad": sum(c.bad for c in clients),
        "seconds": seconds,
    }


def _main(argv: list[str]) -> int:
    port, path, duration, connections, *header_lines = argv
    headers = dict(line.split(": ", 1) for line in header_lines)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(_python_load(int(port), path, headers, float(duration), int(connections)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
