"""The Dockerfile's essentials, and its install steps replayed in a clean virtual environment
(no Docker engine runs on our machines)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in (raw.strip() for raw in joined.splitlines())
        if line and not line.startswith("#")
    ]


def test_dockerfile_essentials() -> None:
    steps = _instructions()
    kinds = [k for k, _ in steps]
    assert kinds.count("FROM") >= 2, "multi-stage build"
    user = [v for k, v in steps if k == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert ("EXPOSE", "8080") in steps
    assert any(k == "VOLUME" and "/data" in v for k, v in steps)
    health = [v for k, v in steps if k == "HEALTHCHECK"]
    assert health and "/healthz" in health[0] and "curl" not in health[0] and "wget" not in health[0]
    env = " ".join(v for k, v in steps if k == "ENV")
    assert "FEEDSVC_LISTEN=0.0.0.0:8080" in env and "FEEDSVC_DATA_DIR=/data" in env
    assert any(k == "CMD" and "serve" in v for k, v in steps)
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "8080:8080" in compose and "/data" in compose


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_image_install_steps_work_in_a_clean_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    # Build stage: `pip wheel --no-cache-dir --wheel-dir /wheels .` (our wheel only; dependencies from PyPI).
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)],
        check=True,
    )
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "--quiet", *map(str, wheels.glob("*.whl"))], check=True)
    port = _free_port()
    env = {
        "PATH": f"{env_dir / 'bin'}:{os.environ['PATH']}",
        "FEEDSVC_CONFIG": str(ROOT / "config" / "feedsvc.toml"),
        "FEEDSVC_LISTEN": f"127.0.0.1:{port}",
        "FEEDSVC_DATABASE_URL": f"sqlite:///{tmp_path}/data/feedsvc.db",
        "FEEDSVC_DATA_DIR": str(tmp_path / "data"),
    }
    check = subprocess.run(
        [env_dir / "bin" / "feedsvc", "check-config"], env=env, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr
    server = subprocess.Popen(
        [env_dir / "bin" / "feedsvc", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        health = next(v for k, v in _instructions() if k == "HEALTHCHECK")
        probe = re.search(r'"-c", "(.*)"\]', health)
        assert probe is not None
        code = probe.group(1).replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if subprocess.run([py, "-c", code], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the HEALTHCHECK command never succeeded")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").text == "ok\n"
    finally:
        server.terminate()
        assert server.wait(timeout=15) == 0
