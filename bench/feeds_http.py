"""Requests/s of a 100-entry feed from `feedsvc serve` (200/304, identity/gzip): httptools on uvloop against
today's h11 on asyncio, and a static file server.

The feed is made the way the service makes it: a synthetic Daily8-style page of 100 distinct stories goes
through `feedsvc run-once` (extract, dedup, store, publish), then two server processes serve it on
127.0.0.1, each with one uvicorn worker (their schedulers stay idle because the page was just fetched):
`feedsvc serve` itself (httptools + uvloop when uvicorn[standard] is installed) and the same app started
the same way with `server_config(..., http="h11", loop="asyncio")`, the path before this benchmark's
change. Scenarios alternate between them, so both meet the same machine load.

The static baseline is `python -m http.server` serving the very bytes feedsvc sends: `all.atom` for
identity, `all.atom.gz` for gzip, and 304 on If-Modified-Since (it has no ETags). It runs in its default
HTTP/1.0 mode (one connection per request): with `-p HTTP/1.1` it writes headers and body in separate
sends, and keep-alive responses stall 40 ms on Nagle plus delayed ACK, a baseline too slow to mean anything.

Servers are pinned to one CPU (--server-cpu) and the load generator to another when there is one, so
"per core" means per core. Load comes from separate processes: `wrk` (bounded by --duration) when installed,
else a pool of Python http.client processes (bounded by --requests). Only loopback traffic.

    python -m bench.feeds_http [--duration 3] [--requests 3000] [--connections 8] [--python-load]
                               [--server-cpu 0] [--no-static]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _wait(port: int, path: str, proc: subprocess.Popen[bytes], limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server for {path} exited with {proc.returncode}")
        try:
            if _get(port, path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"no 200 from 127.0.0.1:{port}{path} within {limit:.0f} s")


def _start(
    argv: list[str], log: Path, cwd: Path | None = None, cpu: int | None = None
) -> subprocess.Popen[bytes]:
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu), *argv]
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)


def _serve_as(http: str, loop: str, config: str, port: int) -> int:
    """`feedsvc serve` (see feedsvc.cli) with a chosen HTTP implementation and event loop, on ``port``."""
    from feedsvc.app import create_app
    from feedsvc.logs import setup_logging
    from feedsvc.server import Server, raise_open_file_limit, server_config
    from feedsvc.settings import load_settings

    settings = load_settings(config)
    setup_logging(settings.log_format, settings.log_level)
    raise_open_file_limit()
    app = create_app(settings, role="all")
    config_ = server_config(app, settings.host, port, settings.stop_timeout, http=http, loop=loop)  # type: ignore[arg-type]
    Server(config_).run()
    return 0


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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


# -- load --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # socket errors and unexpected statuses


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_field(pattern: str, out: str) -> str:
    match = re.search(pattern, out)
    if match is None:
        raise SystemExit(f"unexpected wrk output (no {pattern!r}):\n{out}")
    return match.group(1)


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise SystemExit(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def _load_wrk(
    url: str, headers: dict[str, str], duration: float, connections: int, cpu: int | None = None
) -> Result:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s", "--latency"]
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu), *argv]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    done = subprocess.run([*argv, url], capture_output=True, text=True, timeout=duration + 30, check=True)
    out = done.stdout
    socket_errors = re.search(r"Socket errors: (.*)", out)
    non_3xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1))) if socket_errors else 0
    return Result(
        rps=float(_wrk_field(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_wrk_ms(_wrk_field(r"\s50%\s+(\S+)", out)),
        p99_ms=_wrk_ms(_wrk_field(r"\s99%\s+(\S+)", out)),
        requests=int(_wrk_field(r"(\d+) requests in", out)),
        bad=bad + (int(non_3xx.group(1)) if non_3xx else 0),
    )


def _py_worker(
    port: int, path: str, headers: dict[str, str], count: int, want: int
) -> tuple[float, float, list[float], int]:
    """One connection (kept alive when the server allows) doing ``count`` requests."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies: list[float] = []
    bad = 0
    start = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            latencies.append(time.perf_counter() - t0)
            bad += resp.status != want
    finally:
        conn.close()
    return start, time.monotonic(), latencies, bad


def _load_python(
    port: int, path: str, headers: dict[str, str], requests: int, connections: int, want: int
) -> Result:
    per = max(1, requests // connections)
    with ProcessPoolExecutor(max_workers=connections) as pool:
        jobs = [pool.submit(_py_worker, port, path, headers, per, want) for _ in range(connections)]
        parts = [job.result() for job in jobs]
    latencies = sorted(lat for part in parts for lat in part[2])
    window = max(p[1] for p in parts) - min(p[0] for p in parts)
    q = statistics.quantiles(latencies, n=100)
    bad = sum(p[3] for p in parts)
    return Result(len(latencies) / window, q[49] * 1000, q[98] * 1000, len(latencies), bad)


# -- the run -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    headers: dict[str, str]
    status: int
    body: bytes | None = None  # expected bytes of a 200


def _check(port: int, s: Scenario) -> None:
    status, _, got = _get(port, s.path, s.headers)
    if status != s.status or (s.body is not None and got != s.body):
        raise SystemExit(f"{s.name}: got {status} with {len(got)} bytes, expected {s.status}")


def _cells(r: Result, cpu_us: float) -> list[str]:
    return [f"{r.rps:,.0f}", f"{cpu_us:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}"]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.feeds_http", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per scenario with wrk")
    parser.add_argument("--requests", type=int, default=3000, help="requests per scenario without wrk")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the servers are pinned to (-1: none)")
    parser.add_argument("--no-static", action="store_true", help="skip the static file server baseline")
    parser.add_argument(
        "--serve-as", nargs=4, metavar=("HTTP", "LOOP", "CONFIG", "PORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve_as:
        http, loop, config_path, port_text = args.serve_as
        return _serve_as(http, loop, config_path, int(port_text))
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = args.server_cpu if args.server_cpu >= 0 else None
    load_cpu = next((c for c in cpus if c != server_cpu), None) if server_cpu is not None else None

    def load(port: int, s: Scenario, pid: int) -> tuple[Result, float]:
        """The load's result and the server's CPU time per request in microseconds."""
        if use_wrk:
            url = f"http://127.0.0.1:{port}{s.path}"
            _load_wrk(url, s.headers, min(1.0, args.duration), args.connections, load_cpu)  # warm-up
            before = _cpu_seconds(pid)
            result = _load_wrk(url, s.headers, args.duration, args.connections, load_cpu)
        else:
            _load_python(port, s.path, s.headers, min(400, args.requests), args.connections, s.status)
            before = _cpu_seconds(pid)
            result = _load_python(port, s.path, s.headers, args.requests, args.connections, s.status)
        return result, (_cpu_seconds(pid) - before) / result.requests * 1e6

    with tempfile.TemporaryDirectory(prefix="feedsvc-bench-") as tmpdir:
        tmp = Path(tmpdir)
        port, h11_port, static_port = _free_port(), _free_port(), _free_port()
        config = _write_config(tmp, port)
        feedsvc = [sys.executable, "-m", "feedsvc.cli"]
        built = subprocess.run(
            [*feedsvc, "run-once", "--config", str(config)], capture_output=True, text=True, check=False
        )
        if built.returncode != 0:
            raise SystemExit(f"feedsvc run-once failed:\n{built.stdout}{built.stderr}")

        procs: list[subprocess.Popen[bytes]] = []
        try:
            serve = [*feedsvc, "serve", "--config", str(config)]
            procs.append(_start(serve, tmp / "serve.log", cpu=server_cpu))
            _wait(port, FEED, procs[-1])
            h11 = [sys.executable, "-m", "bench.feeds_http", "--serve-as", "h11", "asyncio", str(config)]
            procs.append(_start([*h11, str(h11_port)], tmp / "serve-h11.log", cpu=server_cpu))
            _wait(h11_port, FEED, procs[-1])
            _, head, content = _get(port, FEED)
            _, _, gz_content = _get(port, FEED, {"Accept-Encoding": "gzip"})
            entries = len(ET.fromstring(content).findall("{http://www.w3.org/2005/Atom}entry"))
            if entries != ENTRIES or gzip.decompress(gz_content) != content:
                raise SystemExit(f"expected a {ENTRIES}-entry feed, got {entries} entries")
            if _get(h11_port, FEED)[2] != content:
                raise SystemExit("the h11 server sends other bytes than `feedsvc serve`")

            if not args.no_static:
                static = tmp / "static"
                static.mkdir()
                stamp = parsedate_to_datetime(head["last-modified"]).timestamp()
                for name, data in (("all.atom", content), ("all.atom.gz", gz_content)):
                    (static / name).write_bytes(data)
                    os.utime(static / name, (stamp, stamp))
                http_server = [sys.executable, "-m", "http.server", str(static_port), "-b", "127.0.0.1"]
                procs.append(_start(http_server, tmp / "static.log", cwd=static, cpu=server_cpu))
                _wait(static_port, "/all.atom", procs[-1])

            ims = {"If-Modified-Since": head["last-modified"]}
            static_304 = Scenario("static 304 If-Modified-Since", "/all.atom", ims, 304)
            pairs = [
                (
                    Scenario("200 identity", FEED, {}, 200, content),
                    Scenario("static 200 all.atom", "/all.atom", {}, 200, content),
                ),
                (
                    Scenario("200 gzip", FEED, {"Accept-Encoding": "gzip"}, 200, gz_content),
                    Scenario("static 200 all.atom.gz", "/all.atom.gz", {}, 200, gz_content),
                ),
                (Scenario("304 If-None-Match", FEED, {"If-None-Match": head["etag"]}, 304), static_304),
                (Scenario("304 If-Modified-Since", FEED, ims, 304), static_304),
            ]
            results: dict[tuple[str, str], tuple[Result, float]] = {}
            for ours, theirs in pairs:
                runs = [("fast", port, ours, procs[0].pid), ("h11", h11_port, ours, procs[1].pid)]
                if not args.no_static:
                    runs.append(("static", static_port, theirs, procs[2].pid))
                for kind, p, s, pid in runs:
                    if (kind, s.name) not in results:
                        _check(p, s)
                        results[kind, s.name] = load(p, s, pid)
        finally:
            for proc in reversed(procs):
                _stop(proc)

    tool = f"wrk, 1 thread, {args.duration:g} s" if use_wrk else f"python, {args.requests} requests"
    pinned = f"servers on CPU {server_cpu}, load on CPU {load_cpu}" if server_cpu is not None else "unpinned"
    print(
        f"feed: {ENTRIES} entries, {len(content):,} bytes ({len(gz_content):,} gzipped); "
        f"load: {tool} per scenario, {args.connections} connections, 127.0.0.1; {pinned}"
    )
    print(
        "httptools: `feedsvc serve` (httptools + uvloop), h11: the same app on h11 + asyncio (before);"
        " 1 uvicorn worker each, keep-alive"
    )
    print(
        "CPU us/req: the server process's CPU time per request (from /proc), what a core can serve whatever"
        " else shares it; ratios are of req/s per core (1e6 / CPU us)"
    )
    row = "{:<22} {:>8} {:>6} {:>7} {:>7} | {:>8} {:>6} {:>7} {:>7} | {:>6} | {:>8} {:>6} {:>6}"
    columns = ["req/s", "CPU us", "p50 ms", "p99 ms"]
    print(row.format("", "httptools", "", "", "", "h11", "", "", "", "", "static", "", ""))
    print(row.format("scenario", *columns, *columns, "ratio", "req/s", "CPU us", "ratio"))
    for ours, theirs in pairs:
        (a, a_cpu), (b, b_cpu) = results["fast", ours.name], results["h11", ours.name]
        c = results.get(("static", theirs.name))
        static_cells = [f"{c[0].rps:,.0f}", f"{c[1]:.0f}", f"{c[1] / a_cpu:.2f}"] if c else ["-", "-", "-"]
        print(
            row.format(ours.name, *_cells(a, a_cpu), *_cells(b, b_cpu), f"{b_cpu / a_cpu:.2f}", *static_cells)
        )
        for kind, s, r in (("httptools", ours, a), ("h11", ours, b), ("static", theirs, c[0] if c else None)):
            if r is not None and r.bad:
                print(
                    f"  warning: {kind} {s.name}: {r.bad} errors or unexpected statuses"
                    f" in {r.requests} requests"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
