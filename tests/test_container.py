"""The container image.

Always: the Dockerfile's essentials, the lock file against pyproject.toml, and the image's install steps
replayed in a clean virtual environment. With FEEDSVC_IMAGE_TEST=1 (`make image-test`, run by CI): the real
Dockerfile built with buildah (tools/image_build.py) and the image run as users run it: the demo served as
uid 10001, the HEALTHCHECK taken from the image config, SIGTERM, a restart on the same /data, an unwritable
/data, and nothing written outside /data and /tmp (compose runs it with a read-only root).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import venv
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from feedsvc.settings import Settings
from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
LOCK = ROOT / "requirements.lock"
IMAGE = "localhost/feedsvc:image-test"
ATOM = "{http://www.w3.org/2005/Atom}"
UID = 10001
# Lines buildah itself adds to a failed `buildah run`, after the command's own output.
BUILDAH_NOISE = re.compile(r"^(subprocess exited|Error: exit status|error running container)")


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in (raw.strip() for raw in joined.splitlines())
        if line and not line.startswith("#")
    ]


def _healthcheck_code() -> str:
    health = next(v for k, v in _instructions() if k == "HEALTHCHECK")
    test = json.loads(health[health.index("CMD") + 3 :].strip())
    assert test[:2] == ["python", "-c"], test
    return str(test[2])


def test_dockerfile_essentials() -> None:
    steps = _instructions()
    kinds = [k for k, _ in steps]
    assert kinds.count("FROM") >= 2, "multi-stage build"
    base = next(v for k, v in steps if k == "ARG" and v.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=\S+:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base), (
        "base pinned by digest"
    )
    assert all(v.startswith("${PYTHON_IMAGE}") for k, v in steps if k == "FROM")
    user = [v for k, v in steps if k == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert ("EXPOSE", "8080") in steps
    assert any(k == "VOLUME" and "/data" in v for k, v in steps)
    health = [v for k, v in steps if k == "HEALTHCHECK"]
    assert health and "/healthz" in health[0] and "curl" not in health[0] and "wget" not in health[0]
    env = " ".join(v for k, v in steps if k == "ENV")
    assert "FEEDSVC_LISTEN=0.0.0.0:8080" in env and "FEEDSVC_DATA_DIR=/data" in env
    assert any(k == "CMD" and "serve" in v for k, v in steps)
    # Dependencies come from the hash-locked file, in a layer before the code is copied.
    runs = [v for k, v in steps]
    lock_at = next(i for i, (k, v) in enumerate(steps) if k == "COPY" and "requirements.lock" in v)
    code_at = next(i for i, (k, v) in enumerate(steps) if k == "COPY" and v.startswith("feedsvc "))
    assert lock_at < code_at and any("--require-hashes" in v for v in runs)
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for needed in ("8080:8080", "/data", "healthcheck:", "read_only: true", "tmpfs:", "FEEDSVC_PUBLIC_URL"):
        assert needed in compose, needed
    assert _healthcheck_code() in compose, "compose's healthcheck is the image's"


def _locked() -> dict[str, str]:
    """name -> version for every requirement in the lock that applies to Python 3.11.2 (and to 3.11.14)."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in " #-":
            continue
        req = Requirement(line.rstrip(" \\"))
        if req.marker is None or req.marker.evaluate(
            {"python_full_version": "3.11.2", "python_version": "3.11"}
        ):
            (spec,) = req.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def test_lock_pins_every_dependency_of_pyproject_with_hashes() -> None:
    """`make lock` regenerates requirements.lock; this fails when pyproject.toml moved on without it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["postgresql"]
    ]
    pins = _locked()
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside {req.specifier}: run `make lock`"
        )
    text = LOCK.read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[a-z0-9])", text)
    assert all("--hash=sha256:" in b for b in blocks if re.match(r"[a-z0-9]", b)), "a pin without a hash"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_wheel_installs_from_the_lock_and_serves_in_a_clean_venv(tmp_path: Path) -> None:
    """The image's install steps without a container engine: the locked dependencies, our wheel, the
    Dockerfile's HEALTHCHECK command."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)],
        check=True,
    )
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    pip: list[str | Path] = [py, "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run([*pip, "--require-hashes", "-r", LOCK], check=True)
    subprocess.run([*pip, *map(str, wheels.glob("*.whl"))], check=True)
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
        code = _healthcheck_code()
        deadline = time.monotonic() + 60
        while subprocess.run([py, "-c", code], env=env, capture_output=True, check=False).returncode != 0:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the HEALTHCHECK command never succeeded"
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").text == "ok\n"
    finally:
        server.terminate()
        assert server.wait(timeout=15) == 0


# ---------------------------------------------------------------------------------------------------------
# The real image (make image-test)

image_test = pytest.mark.skipif(
    os.environ.get("FEEDSVC_IMAGE_TEST") != "1",
    reason="the image test: `make image-test` (FEEDSVC_IMAGE_TEST=1)",
)
BUILDAH_ENV = {**os.environ, "BUILDAH_ISOLATION": "chroot"}


def _buildah(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["buildah", *args], env=BUILDAH_ENV, capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def image() -> dict[str, Any]:
    """Build the Dockerfile (cached base and layers) and return the image's Docker config."""
    if shutil.which("buildah") is None:
        pytest.fail("FEEDSVC_IMAGE_TEST=1 but buildah is not installed (apt-get install buildah debootstrap)")
    built = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "image_build.py"), "--tag", IMAGE],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    sys.stdout.write(built.stdout)
    if built.returncode != 0:
        tail = "\n".join(built.stdout.splitlines()[-25:])
        pytest.fail(f"the image did not build (exit {built.returncode}):\n{tail}", pytrace=False)
    config: dict[str, Any] = json.loads(_buildah("inspect", "--type", "image", IMAGE).stdout)["Docker"][
        "config"
    ]
    return config


@dataclass
class Run:
    """One `buildah run` of the image's command, as `docker run` would start it."""

    container: str
    port: int
    process: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def exec(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """A second process in the same container (like `docker exec`), with the run's environment."""
        return _buildah(
            "run", "--env", f"FEEDSVC_LISTEN=127.0.0.1:{self.port}", self.container, "--", *argv, check=False
        )

    def main_pid(self) -> int:
        """The command's own process (PID 1 under Docker): the deepest descendant of `buildah run` that is
        not buildah's."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(stat.parent.name)] = int(fields[1])
        chain = {self.process.pid: 0}
        grew = True
        while grew:
            grew = False
            for pid, parent in parents.items():
                if parent in chain and pid not in chain:
                    chain[pid] = chain[parent] + 1
                    grew = True
        ours = [pid for pid in chain if not Path(f"/proc/{pid}/comm").read_text().startswith("buildah")]
        assert ours, "no process of the container's command"
        return max(ours, key=lambda pid: chain[pid])

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"the container exited: {self.output()}"
            try:
                if httpx.get(self.url("/readyz"), timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.2)

    def wait_for_every_source(self, timeout: float = 120) -> None:
        """Until each demo source's feed has entries: its first fetch is done and `all` was rebuilt after."""
        config = tomllib.loads((ROOT / "config" / "feedsvc.toml").read_text(encoding="utf-8"))
        names = [source["name"] for source in config["sources"]]
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"the container exited: {self.output()}"
            feeds = [httpx.get(self.url(f"/feeds/{name}.atom"), timeout=10) for name in names]
            if all(f.status_code == 200 and _entry_ids(f.content) for f in feeds):
                return
            assert time.monotonic() < deadline, f"sources never all fetched: {[f.status_code for f in feeds]}"
            time.sleep(0.2)

    def output(self) -> str:
        if self.process.poll() is None:
            return "(running)"
        out, err = self.process.communicate()
        return out + err


def _new_container(image: str) -> str:
    container = _buildah("from", "--pull-never", image).stdout.strip()
    # buildah 1.28 mounts a throwaway volume over the image's VOLUME (/data) even when -v names it; Docker
    # and compose honour the bind mount, so drop the image volume from this working container only.
    _buildah("config", "--volume", "/data-", container)
    return container


def _start(container: str, data: Path, command: list[str]) -> Run:
    port = _free_port()
    argv = ["buildah", "run", "--env", f"FEEDSVC_LISTEN=127.0.0.1:{port}", "-v", f"{data}:/data", container]
    process = subprocess.Popen(
        [*argv, "--", *command],
        env=BUILDAH_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Run(container, port, process)


def _entry_ids(atom: bytes) -> list[str]:
    return [e.findtext(f"{ATOM}id") or "" for e in ET.fromstring(atom).iter(f"{ATOM}entry")]


def _tree(root: Path) -> dict[str, float]:
    """path -> mtime of everything in a container's root file system but the runtime mounts."""
    skip = {"proc", "sys", "dev", "data", "tmp", "run"}
    found: dict[str, float] = {}
    for top in root.iterdir():
        if top.name in skip:
            continue
        for path in [top, *top.rglob("*")] if top.is_dir() and not top.is_symlink() else [top]:
            found[str(path.relative_to(root))] = path.lstat().st_mtime
    return found


@dataclass
class Lifecycle:
    config: dict[str, Any]
    ids: list[str]
    main_uid: int
    data_owners: set[int]
    health_up: subprocess.CompletedProcess[str]
    health_down: subprocess.CompletedProcess[str]
    stop_seconds: float
    stop_code: int
    stop_timeout: float
    written_outside_data: list[str]
    ids_after_restart: list[str]


@pytest.fixture(scope="module")
def lifecycle(image: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    """Start the image on an empty /data owned by uid 10001, read the demo feed, probe the HEALTHCHECK,
    stop it with SIGTERM, then start a fresh container of the image on the same /data."""
    data = tmp_path_factory.mktemp("data")
    os.chown(data, UID, UID)
    command = list(image.get("Entrypoint") or []) + list(image["Cmd"])
    health = image["Healthcheck"]["Test"]
    assert health[0] == "CMD", health
    env = dict(item.split("=", 1) for item in image["Env"])
    stop_timeout = float(
        env.get("FEEDSVC_STOP_TIMEOUT", Settings.__dataclass_fields__["stop_timeout"].default)
    )
    containers = [_new_container(IMAGE), _new_container(IMAGE)]
    try:
        root = Path(_buildah("mount", containers[0]).stdout.strip())
        before = _tree(root)
        first = _start(containers[0], data, command)
        first.wait_ready()
        first.wait_for_every_source()
        ids = _entry_ids(httpx.get(first.url("/feeds/all.atom"), timeout=10).content)
        main = first.main_pid()
        main_uid = int(Path(f"/proc/{main}/status").read_text().split("\nUid:")[1].split()[0])
        health_up = first.exec(*health[1:])
        sent = time.monotonic()
        os.kill(main, signal.SIGTERM)
        try:
            stop_code = first.process.wait(timeout=stop_timeout + 30)
        except subprocess.TimeoutExpired:
            first.process.kill()
            stop_code = first.process.wait()
        stop_seconds = time.monotonic() - sent
        first.output()
        health_down = first.exec(*health[1:])
        after = _tree(root)
        written = sorted(
            p for p, mtime in after.items() if before.get(p) != mtime and not Path(root, p).is_dir()
        )
        written += sorted(p for p in after if p not in before)
        owners = {p.stat().st_uid for p in [data, *data.rglob("*")]}

        second = _start(containers[1], data, command)
        try:
            second.wait_ready()
            ids_after = _entry_ids(httpx.get(second.url("/feeds/all.atom"), timeout=10).content)
        finally:
            os.kill(second.main_pid(), signal.SIGTERM)
            second.process.wait(timeout=stop_timeout + 30)
            second.output()
        yield Lifecycle(
            image,
            ids,
            main_uid,
            owners,
            health_up,
            health_down,
            stop_seconds,
            stop_code,
            stop_timeout,
            sorted(set(written)),
            ids_after,
        )
    finally:
        for container in containers:
            _buildah("rm", container, check=False)


@image_test
def test_image_config(image: dict[str, Any]) -> None:
    assert image["User"] == "feedsvc"
    assert "8080/tcp" in image["ExposedPorts"] and "/data" in image["Volumes"]
    assert image["Healthcheck"]["Test"][0] == "CMD", "HEALTHCHECK kept: the image was built in docker format"
    assert "/healthz" in " ".join(image["Healthcheck"]["Test"])
    assert image["Cmd"] == ["feedsvc", "serve"]
    env = dict(item.split("=", 1) for item in image["Env"])
    assert env["FEEDSVC_DATA_DIR"] == "/data" and env["FEEDSVC_LISTEN"] == "0.0.0.0:8080"
    assert env["PATH"].startswith("/opt/venv/bin:")


@image_test
def test_image_has_the_postgresql_driver_and_every_dependency(image: dict[str, Any]) -> None:
    """The lock's packages import in the image (psycopg for FEEDSVC_DATABASE_URL=postgresql+psycopg://...)."""
    container = _new_container(IMAGE)
    try:
        probe = (
            "import psycopg, sqlalchemy; sqlalchemy.create_engine('postgresql+psycopg://h/db'); "
            "print(psycopg.pq.__impl__)"
        )
        done = _buildah("run", container, "--", "python", "-c", probe, check=False)
        checked = _buildah("run", container, "--", "python", "-m", "pip", "--version", check=False)
    finally:
        _buildah("rm", container, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "binary", done.stdout
    assert checked.returncode != 0, "pip is not in the runtime venv"


@image_test
def test_image_serves_the_demo_feeds_as_uid_10001(lifecycle: Lifecycle) -> None:
    assert len(lifecycle.ids) >= 5, lifecycle.ids
    assert len(set(lifecycle.ids)) == len(lifecycle.ids)
    assert lifecycle.main_uid == UID
    assert lifecycle.data_owners == {UID}, "everything in /data belongs to the service's user"


@image_test
def test_image_healthcheck_from_the_image_config(lifecycle: Lifecycle) -> None:
    up, down = lifecycle.health_up, lifecycle.health_down
    assert up.returncode == 0, up.stdout + up.stderr
    assert down.returncode != 0, "the HEALTHCHECK passes with the service stopped"


@image_test
def test_image_stops_on_sigterm_within_stop_timeout(lifecycle: Lifecycle) -> None:
    assert lifecycle.stop_code == 0
    assert lifecycle.stop_seconds < lifecycle.stop_timeout, (lifecycle.stop_seconds, lifecycle.stop_timeout)


@image_test
def test_image_restart_on_the_same_data_keeps_every_entry_id(lifecycle: Lifecycle) -> None:
    assert set(lifecycle.ids) <= set(lifecycle.ids_after_restart)


@image_test
def test_image_writes_nothing_outside_data_and_tmp(lifecycle: Lifecycle) -> None:
    """What lets compose run it with `read_only: true` (and a tmpfs on /tmp)."""
    assert lifecycle.written_outside_data == []


@pytest.fixture(scope="module")
def unwritable_data(image: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list[str]]:
    """The image started on a /data that belongs to root (mode 0755): its exit code and its own stderr."""
    data = tmp_path_factory.mktemp("root-data")
    os.chown(data, 0, 0)
    data.chmod(0o755)
    container = _new_container(IMAGE)
    try:
        run = _start(container, data, list(image.get("Entrypoint") or []) + list(image["Cmd"]))
        try:
            code = run.process.wait(timeout=120)
        finally:
            if run.process.poll() is None:
                run.process.kill()
        _, err = run.process.communicate()
    finally:
        _buildah("rm", container, check=False)
    return code, [line for line in err.splitlines() if line.strip() and not BUILDAH_NOISE.match(line)]


@image_test
def test_image_unwritable_data_fails_at_once_without_a_traceback(
    unwritable_data: tuple[int, list[str]],
) -> None:
    code, lines = unwritable_data
    assert code != 0
    assert lines and lines[0].startswith("feedsvc: error: "), lines
    # the directory is named (the feed directory is checked first, before the store is opened there)
    assert re.search(r"\bdata_dir /data\b|/data/feedsvc\.db", lines[0]), lines
    assert not any("Traceback" in line for line in lines), lines


@image_test
def test_image_unwritable_data_says_so_in_one_line(unwritable_data: tuple[int, list[str]]) -> None:
    _, lines = unwritable_data
    assert len(lines) == 1, lines
    assert re.search(r"not writable|permission denied", lines[0], flags=re.I), lines
