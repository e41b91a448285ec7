"""Start-up to first feed: `feedsvc serve` as a subprocess, timed from its start to the first 200 on
/feeds/all.atom, in one run.

- warm: the data directory and store hold the feeds of an earlier run (and the OS has the files cached):
  what a restart costs. Target (issue 13): under 0.5 s.
- first run: an empty data directory, timed to the first 200 on /readyz (every source fetched and the
  feeds built from what they gave; the sources are local files, so feedsvc's own pacing is what counts).
Baseline in the same run: the interpreter starting and exiting (``python -c pass``), and importing what
`feedsvc serve` imports before it can answer (``import feedsvc.app, feedsvc.server``).

Run: python -m bench startup [--runs=N]
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = "startup"
ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "pages"
WARM_TARGET = 0.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def time_to_feed(config: Path, port: int, path: str = "/feeds/all.atom", deadline: float = 120.0) -> float:
    """Seconds from starting `feedsvc serve` to its first 200 on ``path``; the server is stopped."""
    url = f"http://127.0.0.1:{port}{path}"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedsvc.cli", "serve", "--config", str(config)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
    subprocess.run([sys.executable, *args], env=_env(), check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    runs = 5
    for arg in argv or []:
        if arg.startswith("--runs="):
            runs = int(arg.split("=", 1)[1])
    firsts, warms, bare, imports = [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            port = _free_port()
            config = _config(Path(tmp), port)
            firsts.append(time_to_feed(config, port, "/readyz"))
            warms.append(time_to_feed(config, port))
        bare.append(_timed(["-c", "pass"]))
        imports.append(_timed(["-c", "import feedsvc.app, feedsvc.server"]))
    med = statistics.median
    print(f"{runs} runs each; medians (min)")
    print(f"  interpreter start and exit        {med(bare) * 1000:7.0f} ms ({min(bare) * 1000:.0f})")
    print(f"  + importing feedsvc.app/server    {med(imports) * 1000:7.0f} ms ({min(imports) * 1000:.0f})")
    print(f"  first run: start to ready         {med(firsts) * 1000:7.0f} ms ({min(firsts) * 1000:.0f})")
    print(f"  warm: start to first feed         {med(warms) * 1000:7.0f} ms ({min(warms) * 1000:.0f})")
    verdict = "PASS" if med(warms) < WARM_TARGET else "MISS"
    print(f"warm start-up to first feed: {med(warms):.2f} s (target < {WARM_TARGET:g} s): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
