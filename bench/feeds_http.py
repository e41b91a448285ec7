"""Requests/s per core, p50/p99 at 64 connections and start-up time of a 100-entry feed from `feedsvc serve`
(200 identity, 200 gzip, 304 by ETag and by date), against the configurations before, in the same run.

The feed is made the way the service makes it: a synthetic Daily8-style page of 100 distinct stories goes
through `feedsvc run-once` (extract, dedup, store, publish). Three servers then serve it on 127.0.0.1, one
uvicorn worker each, pinned to one CPU (--server-cpu; the load runs on another), their schedulers idle
because the page was just fetched:

- fast: `feedsvc serve` itself: httptools + uvloop, feed answers prepared once per feed version and
  written by the protocol as soon as a request's headers are parsed (feedsvc.server, feedsvc.web);
- stack: the same app on httptools + uvloop through uvicorn's ASGI cycle and the whole Starlette stack
  (routing, middleware), the configuration before this benchmark's change;
- h11: the same through h11 + asyncio, the configuration the HTTP figures of issue 13 were measured on;
- raw: the floor, a uvloop protocol that parses nothing and writes the bytes `feedsvc serve` sent.

Both baselines already use the prepared answers in the feed route, so they are somewhat faster than the
code they stand for: the ratios are, if anything, understated.

Rounds (--rounds) run every scenario on every server in turn, so all four meet the same machine load;
each figure is the median over rounds, with the range. CPU us/req is the server process's CPU time per
request (from /proc), so req/s per core (1e6 / CPU us) holds whatever else shares the machine; "CPU share"
is the part of its core the server got during the run (1.0: the whole core): on a busy machine a share
below 1 inflates latency, and the printed share says so; the raw floor's p99 in the same run shows how much
of it the machine adds. With the core to itself, a closed loop of N connections waits about N requests'
CPU time per request (each connection's request queues behind the others'): "N x CPU time" prints that.
Load: `wrk` (one thread) when installed, else bench._load's raw-socket client on one event loop.

Also measured: keep-alive stalls (one connection, sequential requests: a response held back by Nagle's
algorithm shows as about 40 ms) and start-up to first feed with a warm data directory (`feedsvc serve`
launched to its first 200 for the feed), against a bare uvicorn app that returns the same bytes.

    python -m bench.feeds_http [--duration 3] [--rounds 3] [--connections 64] [--server-cpu 0]
                               [--python-load]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bench._load import Result
from bench._load import run as load_run
from tests.ports import free_port

ENTRIES = 100
FEED = "/feeds/all.atom"

# -- a realistic page of distinct stories ----------------------------------------------------------------

_VOCAB = """
outlet: Reuters; AP News; The Guardian; BBC News; NBC News; CNN; Politico; Bloomberg; Los Angeles Times
outlet: The Independent; Financial Times; NPR; Axios; CBS News; ABC News; The Telegraph; Al Jazeera
outlet: Euronews; Deutsche Welle; Kyiv Post
place: Lyon; Gdansk; Porto; Tampere; Graz; Bilbao; Leipzig; Brno; Aarhus; Cork; Turin; Ghent; Kaunas
place: Utrecht; Malmo; Plovdiv; Cluj; Split; Bergen; Seville; Nantes; Bremen; Lodz; Ostrava; Tartu; Linz
place: Genoa; Eindhoven; Aberdeen; Odense
body: city council; port authority; regional transport agency; water utility; hospital trust
body: university board; housing association; chamber of commerce; energy regulator; school district
body: fire service; airport operator; planning commission; farmers' union; tenants' federation
subject: tram fares/ridership; flood defences/river levels; rent controls/vacancy rates
subject: night flights/noise complaints; heat pumps/winter demand; bus routes/commute times
subject: school meals/enrolment; bike lanes/traffic injuries; harbour dredging/cargo volumes
subject: wind farm permits/grid connections; clinic hours/waiting lists; recycling rules/landfill use
subject: parking charges/retail footfall; teacher pay/vacancies; tourist taxes/hotel bookings
first: Anna; Marek; Sofia; Jonas; Elena; Pieter; Ines; Tomas; Greta; Luca; Maeve; Henrik; Clara; Noor
last: Novak; Lindqvist; Moreau; Kowalski; Brennan; Rossi; Horvat; Almeida; Schubert; Petrov; Jansen
month: January; February; March; April; May; June; July; September; October; November
day: Monday; Tuesday; Wednesday; Thursday; Friday
trend: risen; fallen; climbed; dropped; edged up; slipped
"""


def _vocabulary() -> dict[str, list[str]]:
    """``_VOCAB`` as lists; a key may span several lines."""
    words: dict[str, list[str]] = {}
    for line in _VOCAB.strip().splitlines():
        key, _, values = line.partition(":")
        words.setdefault(key, []).extend(v.strip() for v in values.split(";"))
    return words


def _story(rng: random.Random, i: int, w: dict[str, list[str]]) -> tuple[str, str, list[str]]:
    place, other = rng.sample(w["place"], 2)
    body, body2 = rng.sample(w["body"], 2)
    (subject, measure), (subject2, measure2) = (s.split("/") for s in rng.sample(w["subject"], 2))
    person = f"{rng.choice(w['first'])} {rng.choice(w['last'])}"
    person2 = f"{rng.choice(w['first'])} {rng.choice(w['last'])}"
    month, month2, day = rng.choice(w["month"]), rng.choice(w["month"]), rng.choice(w["day"])
    trend, trend2 = rng.choice(w["trend"]), rng.choice(w["trend"])
    n, m, k = rng.randint(3, 48), rng.randint(120, 9800), rng.randint(2, 19)
    money = f"{rng.randint(2, 90)}.{rng.randint(1, 9)} million euros"
    outlet = w["outlet"][i % len(w["outlet"])]
    title = f"{place} {body} moves to overhaul {subject} as {measure} {trend} {n}%"
    paragraphs = [
        f"The {body} in {place} voted on {day} to overhaul {subject}, after figures published in {month} "
        f"showed {measure} had {trend} by {n} percent in a year and {m} residents signed a petition asking "
        f"for change, {person}, who chairs its finance committee, told {outlet}.",
        f"The plan sets aside {money} over {k} years. Officials said the first measures would take effect "
        f"before {month2}, although {person2} of the {body2} warned that {subject2} in neighbouring {other} "
        f"had cost far more than forecast once the effect on {measure2} was counted.",
        f"Opposition members argued that {place} was copying {other} without studying why {measure2} there "
        f"had {trend2}. A consultation is due to open on the {rng.randint(4, 28)}th and run for "
        f"{rng.randint(4, 12)} weeks, with {rng.randint(3, 30)} public meetings across the district.",
        f"{person.split()[0]} said the {body} would publish quarterly figures on {measure} so residents "
        f"could judge the overhaul for themselves, and that a review in {rng.randint(2026, 2029)} would "
        f"decide whether to extend it to {subject2}.",
    ]
    return title, outlet, paragraphs


def demo_page(entries: int = ENTRIES, seed: int = 20250821) -> str:
    """A Daily8-style text page ("Related Articles" records) with ``entries`` unrelated stories."""
    rng, words = random.Random(seed), _vocabulary()
    lines = ["logo", "Related Articles", ""]
    titles: set[str] = set()
    for i in range(entries):
        title, outlet, paragraphs = _story(rng, i, words)
        while title in titles:  # a title is part of a copy's identity: keep them distinct
            title, outlet, paragraphs = _story(rng, i, words)
        titles.add(title)
        minutes = 3 + 7 * i  # distinct, so no two entries share `updated`
        lines += [title, title, "", outlet, "", f"time{minutes} minutes ago", "", f"  • {outlet}", ""]
        lines += [title, "", *paragraphs, ""]
    lines += ["DOWNLOAD THE APP", "", "Get Started Now: Download the App", ""]
    return "\n".join(lines)


# -- servers -----------------------------------------------------------------------------------------------

SERVERS = ("fast", "stack", "h11", "raw")
P99_TARGET_MS = 10.0
PER_CORE_TARGET = 2.0  # fast against h11, req/s per core
STARTUP_TARGET_S = 0.5


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _start(
    argv: list[str], log: Path, port: int, cpu: int | None, limit: float = 60.0
) -> tuple[subprocess.Popen[bytes], float]:
    """The server process and the seconds from its launch to its first 200 for the feed."""
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu), *argv]
    started = time.monotonic()
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    deadline = started + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{argv} exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if _get(port, FEED)[0] == 200:
                return proc, time.monotonic() - started
        except OSError:
            time.sleep(0.005)
    _stop(proc)
    raise SystemExit(f"no 200 from 127.0.0.1:{port}{FEED} within {limit:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _serve_as(http: str, loop: str, config: str, port: int) -> int:
    """`feedsvc serve` (see feedsvc.cli) on ``http`` and ``loop``, through the whole Starlette stack."""
    from feedsvc.app import create_app
    from feedsvc.logs import setup_logging
    from feedsvc.server import Server, raise_open_file_limit, server_config
    from feedsvc.settings import load_settings

    settings = load_settings(config)
    setup_logging(settings.log_format, settings.log_level)
    raise_open_file_limit()
    app = create_app(settings, role="all")
    app.fast_path(None, app.state.service.metrics)  # every request through the ASGI cycle and the routes
    config_ = server_config(app, settings.host, port, settings.stop_timeout, http=http, loop=loop)  # type: ignore[arg-type]
    Server(config_).run()
    return 0


def _serve_bytes(path: str, port: int) -> int:
    """The start-up floor: uvicorn (httptools + uvloop) with an app that answers every request with the
    bytes of ``path``."""
    import uvicorn

    body = Path(path).read_bytes()
    headers = [(b"content-type", b"application/atom+xml"), (b"content-length", str(len(body)).encode())]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", http="httptools", loop="uvloop")
    return 0


def _serve_raw(directory: str, port: int) -> int:
    """The transport floor: a uvloop protocol that parses nothing and answers each request (a head ending
    in a blank line) with the bytes `feedsvc serve` sent for it: 304 when it is conditional, gzip when it
    accepts gzip, else identity (``directory`` holds them as 304, gzip and identity)."""
    import asyncio

    import uvloop

    answers = {name: (Path(directory) / name).read_bytes() for name in ("304", "gzip", "identity")}

    class Raw(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport, self.buffer = cast(asyncio.Transport, transport), b""
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                request, self.buffer = self.buffer[:end].lower(), self.buffer[end + 4 :]
                if b"\r\nif-" in request:
                    self.transport.write(answers["304"])
                else:
                    self.transport.write(answers["gzip" if b"gzip" in request else "identity"])

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Raw, "127.0.0.1", port, backlog=2048)
        await server.serve_forever()

    uvloop.run(serve())
    return 0


def _raw_answer(port: int, headers: dict[str, str]) -> bytes:
    """The bytes `feedsvc serve` on ``port`` sends for a GET of the feed with ``headers``."""
    lines = [f"GET {FEED} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0 or len(data) < end + 4 + _length(data[:end]):
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit(f"127.0.0.1:{port} closed the connection mid-answer")
            data += chunk
    return data


def _length(head: bytes) -> int:
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def _write_config(tmp: Path, port: int) -> Path:
    (tmp / "pages").mkdir()
    (tmp / "pages" / "bench.txt").write_text(demo_page(), encoding="utf-8")
    config = tmp / "feedsvc.toml"
    config.write_text(
        "[service]\n"
        f'listen = "127.0.0.1:{port}"\n'
        f'public_url = "http://127.0.0.1:{port}"\n'
        f'database_url = "sqlite:///{tmp}/feedsvc.db"\n'
        f'data_dir = "{tmp}/data"\n'
        f"feed_entries = {ENTRIES}\n"
        'log_level = "WARNING"\n\n'
        '[[sources]]\nname = "bench"\nurl = "pages/bench.txt"\ninterval = "1d"\n',
        encoding="utf-8",
    )
    return config


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the run -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    headers: dict[str, str]
    status: int
    body: bytes | None = None  # expected bytes of a 200, as sent


@dataclass(frozen=True)
class Measure:
    result: Result
    cpu_us: float  # server CPU time per request
    share: float  # server CPU time / wall time of the run

    @property
    def per_core(self) -> float:
        return 1e6 / self.cpu_us


def _check(port: int, s: Scenario) -> None:
    status, _, got = _get(port, FEED, s.headers)
    if status != s.status or (s.body is not None and got != s.body):
        raise SystemExit(f"{s.name}: got {status} with {len(got)} bytes, expected {s.status}")


def _span(values: list[float], fmt: str) -> str:
    """Median [min-max] of ``values``."""
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.median(values), fmt)} [{format(min(values), fmt)}-{format(max(values), fmt)}]"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.feeds_http", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds over every scenario and server"
    )
    parser.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections")
    parser.add_argument(
        "--python-load", action="store_true", help="the Python client even when wrk is installed"
    )
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the servers are pinned to (-1: none)")
    parser.add_argument(
        "--serve-as", nargs=4, metavar=("HTTP", "LOOP", "CONFIG", "PORT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--serve-bytes", nargs=2, metavar=("FILE", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-raw", nargs=2, metavar=("DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_as:
        http, loop, config_path, port_text = args.serve_as
        return _serve_as(http, loop, config_path, int(port_text))
    if args.serve_bytes:
        return _serve_bytes(args.serve_bytes[0], int(args.serve_bytes[1]))
    if args.serve_raw:
        return _serve_raw(args.serve_raw[0], int(args.serve_raw[1]))
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = args.server_cpu if args.server_cpu >= 0 else None
    load_cpu = next((c for c in cpus if c != server_cpu), None) if server_cpu is not None else None

    def measure(port: int, s: Scenario, pid: int, connections: int, duration: float) -> Measure:
        before = _cpu_seconds(pid)
        result = load_run(port, FEED, s.headers, duration, connections, load_cpu, args.python_load)
        used = _cpu_seconds(pid) - before
        return Measure(result, used / max(1, result.requests) * 1e6, used / result.seconds)

    with tempfile.TemporaryDirectory(prefix="feedsvc-bench-") as tmpdir:
        tmp = Path(tmpdir)
        ports = {name: free_port() for name in SERVERS}
        config = _write_config(tmp, ports["fast"])
        feedsvc = [sys.executable, "-m", "feedsvc.cli"]
        built = subprocess.run(
            [*feedsvc, "run-once", "--config", str(config)], capture_output=True, text=True, check=False
        )
        if built.returncode != 0:
            raise SystemExit(f"feedsvc run-once failed:\n{built.stdout}{built.stderr}")

        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            # Start-up first, one server at a time, so nothing else starts beside it.
            floor_port = free_port()
            floor_argv = [
                sys.executable,
                "-m",
                "bench.feeds_http",
                "--serve-bytes",
                str(tmp / "data" / "feeds" / "all.atom"),
                str(floor_port),
            ]
            floor, floor_s = _start(floor_argv, tmp / "floor.log", floor_port, server_cpu)
            _stop(floor)
            procs["fast"], startup_s = _start(
                [*feedsvc, "serve", "--config", str(config)], tmp / "fast.log", ports["fast"], server_cpu
            )
            for name, http, loop in (("stack", "httptools", "uvloop"), ("h11", "h11", "asyncio")):
                argv = [
                    sys.executable,
                    "-m",
                    "bench.feeds_http",
                    "--serve-as",
                    http,
                    loop,
                    str(config),
                    str(ports[name]),
                ]
                procs[name], _ = _start(argv, tmp / f"{name}.log", ports[name], server_cpu)

            _, head, content = _get(ports["fast"], FEED)
            _, _, gz_content = _get(ports["fast"], FEED, {"Accept-Encoding": "gzip"})
            raw = tmp / "raw"
            raw.mkdir()
            for kind, headers in (("identity", {}), ("gzip", {"Accept-Encoding": "gzip"})):
                (raw / kind).write_bytes(_raw_answer(ports["fast"], headers))
            (raw / "304").write_bytes(_raw_answer(ports["fast"], {"If-None-Match": head["etag"]}))
            raw_argv = [sys.executable, "-m", "bench.feeds_http", "--serve-raw", str(raw), str(ports["raw"])]
            procs["raw"], _ = _start(raw_argv, tmp / "raw.log", ports["raw"], server_cpu)
            entries = len(ET.fromstring(content).findall("{http://www.w3.org/2005/Atom}entry"))
            if entries != ENTRIES or gzip.decompress(gz_content) != content:
                raise SystemExit(f"expected a {ENTRIES}-entry feed, got {entries} entries")
            for name in SERVERS:
                if _get(ports[name], FEED)[2] != content:
                    raise SystemExit(f"the {name} server sends other bytes than `feedsvc serve`")
            scenarios = [
                Scenario("200 identity", {}, 200, content),
                Scenario("200 gzip", {"Accept-Encoding": "gzip"}, 200, gz_content),
                Scenario("304 If-None-Match", {"If-None-Match": head["etag"]}, 304),
                Scenario("304 If-Modified-Since", {"If-Modified-Since": head["last-modified"]}, 304),
            ]
            runs: dict[tuple[str, str], list[Measure]] = {}
            for round_ in range(args.rounds):
                for s in scenarios:
                    for name in SERVERS:
                        pid = procs[name].pid
                        if round_ == 0:
                            _check(ports[name], s)
                            measure(ports[name], s, pid, args.connections, min(1.0, args.duration))  # warm-up
                        runs.setdefault((s.name, name), []).append(
                            measure(ports[name], s, pid, args.connections, args.duration)
                        )
            stalls = {
                (s.name, name): measure(ports[name], s, procs[name].pid, 1, min(2.0, args.duration))
                for s in scenarios[:2]
                for name in ("fast", "raw")
            }
        finally:
            for proc in procs.values():
                _stop(proc)

    tool = "wrk, 1 thread" if shutil.which("wrk") and not args.python_load else "bench._load (Python, uvloop)"
    pinned = f"servers on CPU {server_cpu}, load on CPU {load_cpu}" if server_cpu is not None else "unpinned"
    print(
        f"feed: {ENTRIES} entries, {len(content):,} bytes ({len(gz_content):,} gzipped); load: {tool}, "
        f"{args.connections} keep-alive connections, {args.duration:g} s; {pinned}; "
        f"{args.rounds} interleaved rounds, figures: median [min-max]"
    )
    print(
        "fast: `feedsvc serve`; stack: same app through uvicorn's ASGI cycle + Starlette (before); h11: same"
        " on h11 + asyncio (issue 13's figures); raw: uvloop writing the same bytes, no HTTP (the floor)"
    )
    row = "{:<22} {:<6} {:>22} {:>16} {:>22} {:>20} {:>22} {:>16}"
    print(
        row.format(
            "scenario", "server", "req/s", "CPU us/req", "req/s per core", "p50 ms", "p99 ms", "CPU share"
        )
    )
    for s in scenarios:
        for name in SERVERS:
            ms = runs[s.name, name]
            print(
                row.format(
                    s.name if name == SERVERS[0] else "",
                    name,
                    _span([m.result.rps for m in ms], ",.0f"),
                    _span([m.cpu_us for m in ms], ".0f"),
                    _span([m.per_core for m in ms], ",.0f"),
                    _span([m.result.p50_ms for m in ms], ".2f"),
                    _span([m.result.p99_ms for m in ms], ".2f"),
                    _span([m.share for m in ms], ".2f"),
                )
            )
            bad = sum(m.result.bad for m in ms)
            if bad:
                print(f"  warning: {name} {s.name}: {bad} errors or unexpected statuses")
    print(
        f"targets (issue 13): req/s per core >= {PER_CORE_TARGET:g}x h11's; p99 < {P99_TARGET_MS:g} ms at "
        f"{args.connections} connections; start-up to first feed < {STARTUP_TARGET_S:g} s"
    )
    for s in scenarios:
        fast, h11, stack = runs[s.name, "fast"], runs[s.name, "h11"], runs[s.name, "stack"]
        ratios = [f.per_core / b.per_core for f, b in zip(fast, h11, strict=True)]
        over_stack = [f.per_core / b.per_core for f, b in zip(fast, stack, strict=True)]
        floor = [f.cpu_us - r.cpu_us for f, r in zip(fast, runs[s.name, "raw"], strict=True)]
        p99 = [m.result.p99_ms for m in fast]
        bound = [args.connections * m.cpu_us / 1000 for m in fast]
        print(
            f"  {s.name:<22} per core {_span(ratios, '.2f')}x h11 "
            f"{_verdict(statistics.median(ratios) >= PER_CORE_TARGET)}, {_span(over_stack, '.2f')}x stack, "
            f"{_span(floor, '.0f')} us/req over raw"
        )
        print(
            f"  {'':<22} p99 {_span(p99, '.2f')} ms {_verdict(statistics.median(p99) < P99_TARGET_MS)} "
            f"(raw {_span([m.result.p99_ms for m in runs[s.name, 'raw']], '.2f')}); on a core of its own "
            f"{args.connections} x CPU time = {_span(bound, '.2f')} ms "
            f"{_verdict(statistics.median(bound) < P99_TARGET_MS)}"
        )
    for s in scenarios[:2]:
        fast, raw = stalls[s.name, "fast"].result, stalls[s.name, "raw"].result
        print(
            f"  keep-alive, 1 connection, {s.name}: p50 {fast.p50_ms:.2f} ms, p99 {fast.p99_ms:.2f} ms (raw "
            f"{raw.p50_ms:.2f} / {raw.p99_ms:.2f}); no ~40 ms Nagle stall (p50 < 10 ms): "
            f"{_verdict(fast.p50_ms < P99_TARGET_MS)}"
        )
    print(
        f"  start-up to first feed (warm data dir): {startup_s:.2f} s against {floor_s:.2f} s for a bare "
        f"uvicorn app with the same bytes: {_verdict(startup_s < STARTUP_TARGET_S)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
