"""Start-up to first feed: `feedsvc serve` as a subprocess, timed from its start to the first 200 on
/feeds/all.atom, in one run.

- warm: the data directory and store hold the feeds of an earlier run (and the OS has the files cached):
  what a restart costs. Target (issue 13): under 0.5 s.
- first run: an empty data directory, timed to the first 200 on /readyz (every source fetched and the
  feeds built from what they gave; the sources are local files, so feedsvc's own pacing is what counts).
Baselines in the same run, interleaved: the interpreter starting and exiting (``python -c pass``), a bare
uvicorn app (httptools + uvloop) answering the same feed file (``bench.feeds_http --serve-bytes``: the floor
of any uvicorn server), importing what `feedsvc serve` imports before it answers (``import feedsvc.cli,
feedsvc.early, feedsvc.server, feedsvc.snapshot``) and importing the whole service (``import feedsvc.app``).
``--baseline=DIR`` also starts the `feedsvc serve` of the feedsvc in DIR (another checkout, e.g. main's)
on the same warm data directory, interleaved.

Run: python -m bench startup [--runs=N] [--baseline=DIR]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.ports import free_port

BENCH = "startup"
ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "pages"
WARM_TARGET = 0.5


def _config(tmp: Path, port: int) -> Path:
    shutil.copytree(DEMO, tmp / "pages", dirs_exist_ok=True)
    lines = [
        "[service]",
        f'listen = "127.0.0.1:{port}"',
        f'public_url = "http://127.0.0.1:{port}"',
        f'database_url = "sqlite:///{tmp}/feedsvc.db"',
        f'data_dir = "{tmp}/data"',
        'log_level = "WARNING"',
        "",
    ]
    for page in sorted(DEMO.glob("*.txt")):
        lines += ["[[sources]]", f'name = "{page.stem}"', f'url = "pages/{page.name}"', ""]
    path = tmp / "feedsvc.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _env(root: Path = ROOT) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(root))


def _serve(config: Path) -> list[str]:
    return [sys.executable, "-m", "feedsvc.cli", "serve", "--config", str(config)]


def time_to_feed(
    config: Path,
    port: int,
    path: str = "/feeds/all.atom",
    deadline: float = 120.0,
    argv: list[str] | None = None,
    root: Path = ROOT,
) -> float:
    """Seconds from starting `feedsvc serve` (or ``argv``, with ``root`` on the path) to its first 200 on
    ``path``; the server is stopped."""
    url = f"http://127.0.0.1:{port}{path}"
    started = time.perf_counter()
    proc = subprocess.Popen(  # in root: `python -m` puts the working directory first on the path
        argv or _serve(config), env=_env(root), cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        with httpx.Client(timeout=5) as client:
            while time.perf_counter() - started < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"feedsvc serve exited with {proc.returncode}")
                try:
                    if client.get(url).status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.005)  # polling: 5 ms at most added to what is measured
        raise RuntimeError(f"no feed at {url} within {deadline:g}s")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], env=_env(), cwd=ROOT, check=True)
    return time.perf_counter() - started


def _row(label: str, values: list[float], floor: list[float] | None = None) -> str:
    med = statistics.median
    text = f"  {label:<38} {med(values) * 1000:6.0f} ms [{min(values) * 1000:.0f}-{max(values) * 1000:.0f}]"
    if floor:
        ratios = [v / f for v, f in zip(values, floor, strict=True)]
        text += f"  {med(ratios):.2f}x the bare uvicorn app [{min(ratios):.2f}-{max(ratios):.2f}]"
    return text


def main(argv: list[str] | None = None) -> int:
    runs, baseline = 5, None
    for arg in argv or []:
        if arg.startswith("--runs="):
            runs = int(arg.split("=", 1)[1])
        elif arg.startswith("--baseline="):
            baseline = Path(arg.split("=", 1)[1]).resolve()
    early_imports = "import feedsvc.cli, feedsvc.early, feedsvc.server, feedsvc.snapshot"
    times: dict[str, list[float]] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            port = free_port()
            config = _config(Path(tmp), port)
            times.setdefault("first", []).append(time_to_feed(config, port, "/readyz"))
            floor = [sys.executable, "-m", "bench.feeds_http", "--serve-bytes"]
            floor += [str(Path(tmp) / "data" / "feeds" / "all.atom"), str(port)]
            # interleaved: each server once per round, on the same warm data directory
            times.setdefault("floor", []).append(time_to_feed(config, port, argv=floor))
            times.setdefault("warm", []).append(time_to_feed(config, port))
            if baseline is not None:
                warm = time_to_feed(config, port, argv=_serve(config), root=baseline)
                times.setdefault("baseline", []).append(warm)
        times.setdefault("bare", []).append(_timed(["-c", "pass"]))
        times.setdefault("early imports", []).append(_timed(["-c", early_imports]))
        times.setdefault("imports", []).append(_timed(["-c", "import feedsvc.app, feedsvc.server"]))
    floor_s = times["floor"]
    print(f"{runs} rounds, interleaved; median [range], and the ratio to the bare uvicorn app of each round")
    print(_row("interpreter start and exit", times["bare"]))
    print(_row("import what serve answers with", times["early imports"]))
    print(_row("import feedsvc.app, feedsvc.server", times["imports"]))
    print(_row("bare uvicorn app: start to first 200", floor_s))
    print(_row("warm: start to first feed", times["warm"], floor_s))
    if "baseline" in times:
        print(_row(f"warm, {baseline}", times["baseline"], floor_s))
    print(_row("first run: start to ready", times["first"]))
    warm = statistics.median(times["warm"])
    verdict = "PASS" if warm < WARM_TARGET else "MISS"
    print(f"warm start-up to first feed: {warm:.2f} s (target < {WARM_TARGET:g} s): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
