"""`feedsvc run-once` over 100 local HTTP sources against a bare fetch of the same 100 pages, in one run.

The pages are the fixtures of tests/data/pages (text renderings and HTML listings, the ones that need no site
profile), one per source in turn, with varied text: every source has its own edition of its fixture, in
which some of the longer words of titles and paragraphs are swapped for others (seeded by the source), so
the four sources that show one fixture carry near-copies that dedup must verify and cluster, and no two
pages are byte-identical. A server the benchmark starts in a subprocess on 127.0.0.1 serves them over
HTTP/1.1 keep-alive with an ETag and Last-Modified, answering 304 to a matching conditional request.

Each trial, on a fresh data directory and SQLite store (the embedded default):
- bare fetch: httpx GETs the 100 pages in turn and reads their bodies (the baseline), before, between
  and after the runs (one client each time, connecting included);
- first run: ``Service.run_once()`` (fetch, extract, dedup, store, publish every feed), every page a 200;
- all-304 run: ``Service.run_once()`` of a new Service on the same store and data directory (as a second
  `feedsvc run-once` process would): every page answers 304, nothing changed;
- bare 304 fetch: the same conditional GETs with httpx (shown, not a target).
Each Service is made and started as `feedsvc run-once` does (store opened and migrated, feeds loaded, the
dedup index left to the first changed page) before its run is timed; "whole" is the all-304 service's
life as a second `run-once` process lives it after its imports: made, started, run and closed. Time per
phase is wall time spent in it; a run fetches ahead in a thread, so its fetch phase overlaps the others:
"wait" is the time the run waited for a page still being fetched, and "other" is the run less every phase
but fetch. CPU figures are this process's CPU time (the page server is another process) for the run and
for the bare fetch, whose ratio a loaded machine disturbs less than the wall-clock one.
Targets (issue 13): first run <= 4x the bare fetch, all-304 run <= 2x the bare fetch; ratios use the
median bare fetch of the same trial, and the printed ratio is the median over trials. Feed files written
and fsyncs (publisher files; SQLite's own are not counted) are counted per run.

Run: python -m bench run_once [--trials=N] [--sources=N] [--profile] (cProfile of the last trial)
(``--serve DIR`` is the page server's own entry point.)
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

BENCH = "run_once"
PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages"
FIRST_RUN_TARGET = 4.0
NOT_MODIFIED_TARGET = 2.0

_WORD = re.compile(r"\b[A-Za-z]{7,}\b")
_SWAPS = (
    "officials", "yesterday", "minister", "following", "increase", "projects", "agreement", "national",
    "question", "response", "district", "students", "previous", "analysts", "business", "services",
)  # fmt: skip


def fixtures() -> list[tuple[Path, dict[str, Any]]]:
    """Page fixtures usable as a plain source (no site profile), with their expectations."""
    out = []
    for path in sorted(PAGES.iterdir()):
        if path.suffix not in (".txt", ".html"):
            continue
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if not expected.get("profile"):
            out.append((path, expected))
    return out


def _vary(text: str, seed: int) -> str:
    """``text`` with about one in twelve of its long words swapped, the same way for the same seed."""
    rng = random.Random(seed)

    def swap(match: re.Match[str]) -> str:
        if rng.random() < 1 / 12:
            word = rng.choice(_SWAPS)
            return word.capitalize() if match.group()[0].isupper() else word
        return match.group()

    return _WORD.sub(swap, text)


def make_pages(count: int) -> list[tuple[str, bytes, str, str]]:
    """``count`` pages: (name, bytes, content type, date order), each an edition of a fixture."""
    found = fixtures()
    pages = []
    for i in range(count):
        path, expected = found[i % len(found)]
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":  # only text between tags, never markup or attributes
            text = re.sub(r">([^<]{40,})<", lambda m, i=i: f">{_vary(m.group(1), i)}<", text)  # type: ignore[misc]
            kind = "text/html; charset=utf-8"
        else:
            text = "\n".join(_vary(line, i * 1000 + n) if len(line) >= 40 else line
                             for n, line in enumerate(text.split("\n")))  # fmt: skip
            kind = "text/plain; charset=utf-8"
        name = f"p{i:03d}{path.suffix}"
        pages.append((name, text.encode("utf-8"), kind, str(expected.get("date_order", "DMY"))))
    return pages


# -- the page server (a subprocess: its CPU is not the measured process's) ------------------------------


def serve(directory: Path) -> None:
    """Serve ``directory``'s pages (index.json: name -> content type) until stdin closes."""
    index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    stamp = formatdate(time.time() - 3600, usegmt=True)
    files = {}
    for name, kind in index.items():
        body = (directory / name).read_bytes()
        files[f"/{name}"] = (body, kind, f'"{hashlib.sha256(body).hexdigest()[:16]}"')

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        wbufsize = 1 << 16  # headers and body leave in one write (flushed after each request)

        def do_GET(self) -> None:
            found = files.get(self.path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, kind, etag = found
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", stamp)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", stamp)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # until the benchmark closes the pipe
    server.shutdown()


@contextmanager
def page_server(pages: list[tuple[str, bytes, str, str]], where: Path) -> Iterator[str]:
    """The pages served from a subprocess; yields its base URL."""
    where.mkdir(parents=True, exist_ok=True)
    for name, body, _kind, _order in pages:
        (where / name).write_bytes(body)
    (where / "index.json").write_text(json.dumps({name: kind for name, _b, kind, _o in pages}))
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.run_once", "--serve", str(where)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=root,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


# -- measurements ---------------------------------------------------------------------------------------


def bare_fetch(
    urls: list[str], etags: dict[str, str] | None = None, cpu: list[float] | None = None
) -> tuple[float, dict[str, str]]:
    """Seconds to GET every URL in turn with one keep-alive client (conditional with ``etags``); its CPU
    seconds are appended to ``cpu``."""
    with httpx.Client(timeout=30) as client:
        started, used = time.perf_counter(), time.process_time()  # connecting included, as for a run
        seen = {}
        for url in urls:
            headers = {"If-None-Match": etags[url]} if etags else {}
            response = client.get(url, headers=headers)
            _ = response.content
            seen[url] = response.headers.get("ETag", "")
        if cpu is not None:
            cpu.append(time.process_time() - used)
        return time.perf_counter() - started, seen


def write_config(tmp: Path, base: str, pages: list[tuple[str, bytes, str, str]]) -> Path:
    lines = [
        "[service]",
        f'database_url = "sqlite:///{tmp}/feedsvc.db"',
        f'data_dir = "{tmp}/data"',
        'public_url = "http://127.0.0.1:8080"',
        'log_level = "ERROR"',
        "retention_days = 3650",
        "",
    ]
    for name, _body, _kind, order in pages:
        stem = name.split(".")[0]
        lines += ["[[sources]]", f'name = "{stem}"', f'url = "{base}/{name}"', f'date_order = "{order}"', ""]
    path = tmp / "feedsvc.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class Counter:
    """Counts os.fsync calls and feed files replaced while installed (this process only)."""

    def __init__(self) -> None:
        self.fsyncs = 0
        self.replaced = 0

    @contextmanager
    def installed(self) -> Iterator[Counter]:
        fsync, replace = os.fsync, os.replace

        def counted_fsync(fd: Any) -> None:
            self.fsyncs += 1
            fsync(fd)

        def counted_replace(src: Any, dst: Any, **kw: Any) -> None:
            self.replaced += 1
            replace(src, dst, **kw)

        os.fsync, os.replace = counted_fsync, counted_replace  # type: ignore[assignment]
        try:
            yield self
        finally:
            os.fsync, os.replace = fsync, replace  # type: ignore[assignment]


PHASES = ("fetch", "wait", "extract", "ingest", "publish", "state", "prune")


@contextmanager
def phases(service: Any, spent: dict[str, float]) -> Iterator[None]:
    """Time spent in each phase of a run, by wrapping the service's calls (a few hundred: cheap)."""
    from concurrent.futures import Future

    import feedsvc.service as module

    depth: dict[str, int] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            depth[name] = depth.get(name, 0) + 1  # a call within the same phase is counted once
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                depth[name] -= 1
                if not depth[name]:
                    spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    targets = [
        (service.fetcher, "fetch", "fetch"),
        (module, "extract_page", "extract"),
        (service.ingestor, "prepare", "ingest"),
        (service.ingestor, "ingest", "ingest"),
        (service, "publish_feeds", "publish"),
        (service.store, "source_state", "state"),
        (service.store, "save_source_state", "state"),
        (service.store, "all_source_states", "state"),
        (service.store, "save_source_states", "state"),
        (service, "prune", "prune"),
        (Future, "result", "wait"),  # the run waiting for a page the prefetch thread is still fetching
    ]
    targets = [t for t in targets if hasattr(t[0], t[1])]  # an older feedsvc lacks some (a baseline run)
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in targets]
    for obj, attr, name in targets:
        setattr(obj, attr, timed(name, getattr(obj, attr)))
    try:
        yield
    finally:
        for obj, attr, original in saved:
            if obj is module or obj is Future:
                setattr(obj, attr, original)
            else:
                delattr(obj, attr)  # the instance attribute shadowed the method


def start(service: Any) -> None:
    """Start ``service`` as `feedsvc run-once` does (an older feedsvc restored the index at start-up)."""
    try:
        service.start(restore=False)
    except TypeError:
        service.start()


def timed_run(
    service: Any, profile: cProfile.Profile | None
) -> tuple[float, float, list[Any], Counter, dict[str, float]]:
    """(wall seconds, CPU seconds, reports, counter, phases) of ``service.run_once()``."""
    counter = Counter()
    spent: dict[str, float] = {}
    with counter.installed(), phases(service, spent):
        if profile is not None:
            profile.enable()
        started, used = time.perf_counter(), time.process_time()
        reports = service.run_once()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - used
        if profile is not None:
            profile.disable()
    return elapsed, cpu, reports, counter, spent


def trial(base: str, pages: list[tuple[str, bytes, str, str]], profiles: dict[str, cProfile.Profile] | None
          ) -> dict[str, float]:  # fmt: skip
    from feedsvc.service import Service
    from feedsvc.settings import load_settings

    urls = [f"{base}/{name}" for name, *_ in pages]
    cpu: list[float] = []  # of the bare fetches
    with tempfile.TemporaryDirectory(prefix="bench-run-once-") as tmp:
        settings = load_settings(write_config(Path(tmp), base, pages), environ={})
        bare = [bare_fetch(urls, cpu=cpu)[0]]
        service = Service(settings)  # each run a service of its own, as each `feedsvc run-once` is
        try:
            start(service)  # not timed: the start-up benchmark measures it
            first, first_cpu, reports, c1, p1 = timed_run(service, profiles and profiles["first"])
            bad = [r for r in reports if not r.ok or r.not_modified]
            assert not bad, f"first run: {bad[:3]}"
            stories = sum(r.stories for r in reports)
            clusters = service.store.counts()
        finally:
            service.close()
        seconds, etags = bare_fetch(urls, cpu=cpu)
        bare.append(seconds)
        whole, whole_cpu = time.perf_counter(), time.process_time()
        service = Service(settings)
        try:
            start(service)
            again, again_cpu, reports, c2, p2 = timed_run(service, profiles and profiles["304"])
            assert all(r.ok and r.not_modified for r in reports), [r for r in reports if r.stories][:3]
        finally:
            service.close()
        whole, whole_cpu = time.perf_counter() - whole, time.process_time() - whole_cpu
        bare_304 = bare_fetch(urls, etags)[0]
        bare.append(bare_fetch(urls, cpu=cpu)[0])
    baseline = statistics.median(bare)
    return {
        "bare": baseline,
        "bare_cpu": statistics.median(cpu),
        "bare_304": bare_304,
        "first": first,
        "first_cpu": first_cpu,
        "again": again,
        "again_cpu": again_cpu,
        "whole": whole,
        "whole_cpu": whole_cpu,
        "stories": stories,
        "clusters": float(clusters.get("clusters", 0)),
        "first_files": c1.replaced,
        "first_fsyncs": c1.fsyncs,
        "again_files": c2.replaced,
        "again_fsyncs": c2.fsyncs,
        **{f"first_{k}": p1.get(k, 0.0) for k in PHASES},
        **{f"again_{k}": p2.get(k, 0.0) for k in PHASES},
    }


def main(argv: list[str] | None = None) -> int:
    args = list(argv or [])
    trials, sources, profile = 3, 100, "--profile" in args
    for arg in args:
        if arg.startswith("--trials="):
            trials = int(arg.split("=", 1)[1])
        elif arg.startswith("--sources="):
            sources = int(arg.split("=", 1)[1])
    pages = make_pages(sources)
    # The HTML extractor is imported at the first HTML page a process meets (lxml, trafilatura: seconds on
    # a loaded machine, inside that page's extraction deadline). It is a cost of starting a process, which
    # the startup benchmark measures; imported here, every trial times the runs alone.
    import feedsvc.extract.html  # noqa: F401

    profiles = {"first": cProfile.Profile(), "304": cProfile.Profile()} if profile else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp, page_server(pages, Path(tmp)) as base:
        for n in range(trials):  # the last trial is profiled: caches warm, as in a running service
            rows.append(trial(base, pages, profiles if n == trials - 1 else None))
    size = sum(len(p[1]) for p in pages)
    r0 = rows[0]
    print(f"{sources} sources on one local server, {size:,} bytes of pages; {int(r0['stories'])} stories, "
          f"{int(r0['clusters'])} clusters; {trials} trials, each on a fresh store")  # fmt: skip
    print(f"{'trial':>5} {'bare fetch':>11} {'first run':>10} {'ratio':>7} {'all-304':>9} {'ratio':>7}"
          f" {'whole':>8} {'ratio':>7} {'bare 304':>9}   files/fsyncs first, all-304")  # fmt: skip
    for n, r in enumerate(rows, 1):
        print(f"{n:>5} {r['bare'] * 1000:9.0f}ms {r['first'] * 1000:8.0f}ms {r['first'] / r['bare']:6.1f}x"
              f" {r['again'] * 1000:7.0f}ms {r['again'] / r['bare']:6.1f}x {r['whole'] * 1000:6.0f}ms"
              f" {r['whole'] / r['bare']:6.1f}x {r['bare_304'] * 1000:7.0f}ms"
              f"   {r['first_files']}/{r['first_fsyncs']}, "
              f"{r['again_files']}/{r['again_fsyncs']}")  # fmt: skip
        print(f"{'cpu':>5} {r['bare_cpu'] * 1000:9.0f}ms {r['first_cpu'] * 1000:8.0f}ms"
              f" {r['first_cpu'] / r['bare_cpu']:6.1f}x {r['again_cpu'] * 1000:7.0f}ms"
              f" {r['again_cpu'] / r['bare_cpu']:6.1f}x {r['whole_cpu'] * 1000:6.0f}ms"
              f" {r['whole_cpu'] / r['bare_cpu']:6.1f}x")  # fmt: skip
    for run in ("first", "again"):
        shares = {k: statistics.median(r[f"{run}_{k}"] for r in rows) for k in PHASES}
        # The fetches overlap the rest (a thread fetches ahead), so "other" is what no phase accounts for
        # besides them.
        shares["other"] = statistics.median(r[run] for r in rows) - sum(
            v for k, v in shares.items() if k != "fetch"
        )
        shares["cpu"] = statistics.median(r[f"{run}_cpu"] for r in rows)
        label = "first run" if run == "first" else "all-304 run"
        print(f"{label} by phase (median ms): "
              + ", ".join(f"{k} {v * 1000:.0f}" for k, v in shares.items()))  # fmt: skip
    first = statistics.median(r["first"] / r["bare"] for r in rows)
    again = statistics.median(r["again"] / r["bare"] for r in rows)
    verdict: Callable[[float, float], str] = lambda got, want: "PASS" if got <= want else "MISS"  # noqa: E731
    print(f"first run: {first:.1f}x the bare fetch (target <= {FIRST_RUN_TARGET:g}x): "
          f"{verdict(first, FIRST_RUN_TARGET)}")  # fmt: skip
    print(f"all-304 run: {again:.1f}x the bare fetch (target <= {NOT_MODIFIED_TARGET:g}x): "
          f"{verdict(again, NOT_MODIFIED_TARGET)}")  # fmt: skip
    whole = statistics.median(r["whole"] / r["bare"] for r in rows)
    whole_cpu = statistics.median(r["whole_cpu"] / r["bare_cpu"] for r in rows)
    run_cpu = statistics.median(r["again_cpu"] / r["bare_cpu"] for r in rows)
    print(f"all-304 service made, started, run and closed: {whole:.1f}x the bare fetch, "
          f"{whole_cpu:.1f}x its CPU (the run alone: {run_cpu:.1f}x its CPU)")  # fmt: skip
    if profiles:
        for name, prof in profiles.items():
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats("feedsvc", 45)
            print(f"--- profile: {name} run ---\n{out.getvalue()}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]))
    else:
        raise SystemExit(main(sys.argv[1:]))
