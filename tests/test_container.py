"""The container image.

Always: the Dockerfile's essentials, the lock file against pyproject.toml, and the image's install steps
replayed in a clean virtual environment. With FEEDSVC_IMAGE_TEST=1 (`make image-test`, run by CI): the real
Dockerfile built with buildah (tools/image_build.py) and the image run as users run it: the demo served as
uid 10001, the HEALTHCHECK taken from the image config, SIGTERM, a restart on the same /data, an unwritable
/data, and nothing written outside /data and /tmp (compose runs it with a read-only root).

docker-compose.scale.yml (PostgreSQL, 2 workers, 2 web servers, nginx): always, that the file is consistent
with our CLI, our settings and itself; with FEEDSVC_IMAGE_TEST=1, its feedsvc services run from the file as
compose runs them (each a container of the built image with the service's command and environment, a
read-only root, on a fresh database of the host's PostgreSQL), nginx with the file's proxy configuration in
front of the web servers, and the leading worker killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import venv
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from feedsvc.cli import _parser as cli_parser
from feedsvc.settings import SETTINGS, Settings, load_settings, parse_duration
from tests import pg
from tests.conftest import ROOT
from tests.containers import (
    BUILDAH_NOISE,
    Run,
    buildah,
    new_container,
    read_only_root,
    start,
    until,
)
from tests.ports import free_port

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
LOCK = ROOT / "requirements.lock"
SCALE = ROOT / "docker-compose.scale.yml"
IMAGE = "localhost/feedsvc:image-test"
ATOM = "{http://www.w3.org/2005/Atom}"
UID = 10001


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


# ---------------------------------------------------------------------------------------------------------
# docker-compose.scale.yml (issue 10): PostgreSQL, 2 workers and 2 web servers behind one nginx port


def _scale() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SCALE.read_text(encoding="utf-8"))
    return loaded


def _feedsvc_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run our image (``build: .``), by name."""
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def _role(command: list[str]) -> str:
    """The role of a `feedsvc serve --role ...` command line, parsed by our own CLI."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert command[0] in scripts, command
    try:
        args = cli_parser().parse_args(command[1:])
    except SystemExit:
        pytest.fail(f"{command}: not a command line of our CLI (its error is above)", pytrace=False)
    assert args.command == "serve", command
    return str(args.role)


def _proxy(compose: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The nginx service and its configuration as nginx reads it (compose turns `$$` into `$`)."""
    (proxy,) = (svc for svc in compose["services"].values() if str(svc.get("image", "")).startswith("nginx"))
    (config,) = proxy["configs"]
    assert config["target"].startswith("/etc/nginx/conf.d/"), config
    return proxy, compose["configs"][config["source"]]["content"].replace("$$", "$")


def _image_listen_port() -> int:
    env = " ".join(v for k, v in _instructions() if k == "ENV")
    found = re.search(r"\bFEEDSVC_LISTEN=\S*:(\d+)\b", env)
    assert found, "the Dockerfile sets FEEDSVC_LISTEN"
    return int(found.group(1))


def test_scale_compose_runs_two_workers_and_two_web_servers_of_our_cli() -> None:
    roles = {name: _role(svc["command"]) for name, svc in _feedsvc_services(_scale()).items()}
    assert sorted(roles.values()) == ["web", "web", "worker", "worker"], roles


def test_scale_compose_sets_only_declared_settings_with_valid_values() -> None:
    declared = {s.env for s in SETTINGS} | {"FEEDSVC_CONFIG"}
    for name, svc in _feedsvc_services(_scale()).items():
        env = {key: str(value) for key, value in svc["environment"].items()}
        unknown = sorted(key for key in env if key.startswith("FEEDSVC_") and key not in declared)
        assert not unknown, f"{name} sets {unknown}: not settings of feedsvc.settings"
        settings = load_settings(ROOT / "config" / "feedsvc.toml", environ=env)  # ConfigError if invalid
        assert settings.database_url.startswith("postgresql+psycopg://"), (name, "several share one store")


def test_scale_compose_runs_the_image_as_the_image_test_checks_it() -> None:
    """A read-only root with tmpfs on /tmp and on /data (owned by the image's user): what make image-test
    shows the image needs (it writes nothing else)."""
    for name, svc in _feedsvc_services(_scale()).items():
        assert svc["read_only"] is True, name
        mounts = {entry.split(":", 1)[0]: entry.partition(":")[2] for entry in svc["tmpfs"]}
        assert set(mounts) == {"/tmp", "/data"}, (name, mounts)
        assert {f"uid={UID}", f"gid={UID}"} <= set(mounts["/data"].split(",")), (name, mounts)


def test_scale_compose_proxy_sends_every_request_to_the_web_servers() -> None:
    compose = _scale()
    web = {name for name, svc in _feedsvc_services(compose).items() if _role(svc["command"]) == "web"}
    proxy, conf = _proxy(compose)
    raw = compose["configs"][proxy["configs"][0]["source"]]["content"]
    assert not re.search(r"(?<!\$)\$(?!\$)", raw.replace("$$", "")), "a lone $: compose would interpolate it"
    upstreams = {
        name: set(re.findall(r"^\s*server\s+([^\s;]+)", body, flags=re.M))
        for name, body in re.findall(r"\bupstream\s+(\S+)\s*\{([^}]*)\}", conf)
    }
    passes = re.findall(r"\bproxy_pass\s+http://([^\s;/]+)", conf)
    assert passes and all(target in upstreams for target in passes), (passes, upstreams)
    port = _image_listen_port()
    assert {server for target in passes for server in upstreams[target]} == {f"{w}:{port}" for w in web}
    assert web <= set(proxy["depends_on"])
    (published,) = proxy["ports"]
    listen = re.findall(r"^\s*listen\s+(\d+)\s*;", conf, flags=re.M)
    assert listen == [published.rsplit(":", 1)[1]], (listen, published)
    public = {svc["environment"]["FEEDSVC_PUBLIC_URL"] for svc in _feedsvc_services(compose).values()}
    assert {urlsplit(url).port for url in public} == {int(published.split(":")[0])}, "readers reach the proxy"


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
    # Not our PYTHONPATH (a source tree on it, with the feedsvc.egg-info `pip wheel` leaves there, would
    # make pip take feedsvc for installed already and skip the wheel).
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    subprocess.run([*pip, "--require-hashes", "-r", LOCK], env=clean, check=True)
    subprocess.run([*pip, *map(str, wheels.glob("*.whl"))], env=clean, check=True)
    port = free_port()
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
    config: dict[str, Any] = json.loads(buildah("inspect", "--type", "image", IMAGE).stdout)["Docker"][
        "config"
    ]
    return config


def _wait_for_every_source(run: Run, timeout: float = 120) -> None:
    """Until each demo source's feed has entries: its first fetch is done and `all` was rebuilt after."""
    config = tomllib.loads((ROOT / "config" / "feedsvc.toml").read_text(encoding="utf-8"))
    names = [source["name"] for source in config["sources"]]
    deadline = time.monotonic() + timeout
    while True:
        assert run.process.poll() is None, f"the container exited: {run.output()}"
        feeds = [httpx.get(run.url(f"/feeds/{name}.atom"), timeout=10) for name in names]
        if all(f.status_code == 200 and _entry_ids(f.content) for f in feeds):
            return
        assert time.monotonic() < deadline, f"sources never all fetched: {[f.status_code for f in feeds]}"
        time.sleep(0.2)


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
    containers = [new_container(IMAGE), new_container(IMAGE)]
    try:
        root = Path(buildah("mount", containers[0]).stdout.strip())
        before = _tree(root)
        first = start(containers[0], data, command)
        first.wait_ready()
        _wait_for_every_source(first)
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
        health_down = first.exec(*health[1:])
        after = _tree(root)
        written = sorted(
            p for p, mtime in after.items() if before.get(p) != mtime and not Path(root, p).is_dir()
        )
        written += sorted(p for p in after if p not in before)
        owners = {p.stat().st_uid for p in [data, *data.rglob("*")]}

        second = start(containers[1], data, command)
        try:
            second.wait_ready()
            ids_after = _entry_ids(httpx.get(second.url("/feeds/all.atom"), timeout=10).content)
        finally:
            second.stop(timeout=stop_timeout + 30)
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
            buildah("rm", container, check=False)


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
    container = new_container(IMAGE)
    try:
        probe = (
            "import psycopg, sqlalchemy; sqlalchemy.create_engine('postgresql+psycopg://h/db'); "
            "print(psycopg.pq.__impl__)"
        )
        done = buildah("run", container, "--", "python", "-c", probe, check=False)
        checked = buildah("run", container, "--", "python", "-m", "pip", "--version", check=False)
    finally:
        buildah("rm", container, check=False)
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
    container = new_container(IMAGE)
    try:
        run = start(container, data, list(image.get("Entrypoint") or []) + list(image["Cmd"]))
        try:
            code = run.process.wait(timeout=120)
        finally:
            if run.process.poll() is None:
                run.process.kill()
    finally:
        buildah("rm", container, check=False)
    return code, [
        line for line in run.stderr().splitlines() if line.strip() and not BUILDAH_NOISE.match(line)
    ]


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


# ---------------------------------------------------------------------------------------------------------
# docker-compose.scale.yml run as compose runs it (make image-test): every feedsvc service of the file a
# container of the built image with the service's command and environment, on the host's PostgreSQL.


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None


def _get(url: str, etag: str | None = None) -> Answer:
    headers = {"If-None-Match": etag} if etag else {}
    r = httpx.get(url, headers=headers, timeout=10)
    return Answer(r.status_code, r.content, r.headers.get("etag"), r.headers.get("last-modified"))


def _agreed(urls: list[str], timeout: float = 30) -> list[Answer]:
    """The same feed from each URL, asked again until all answer 200 with the same bytes and validators (a
    web server may be a notification behind for a moment) or the timeout passes: the last round."""
    deadline = time.monotonic() + timeout
    while True:
        answers = [_get(url) for url in urls]
        if (answers[0].status == 200 and len(set(answers)) == 1) or time.monotonic() > deadline:
            return answers
        time.sleep(0.2)


@dataclass
class Composition:
    runs: dict[str, Run]  # by compose service name
    roles: dict[str, str]

    def named(self, role: str) -> list[str]:
        return sorted(name for name, r in self.roles.items() if r == role)

    def feed_urls(self, path: str = "/feeds/all.atom") -> list[str]:
        return [self.runs[name].url(path) for name in self.named("web")]


@pytest.fixture(scope="module")
def scale_database() -> Iterator[str]:
    yield from pg.fresh_database()


@pytest.fixture(scope="module")
def composition(
    image: dict[str, Any], scale_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Composition]:
    """Every feedsvc service of docker-compose.scale.yml started at once, as compose starts them once
    PostgreSQL is healthy: the service's command and environment (its database URL pointed at a fresh
    database on the host's PostgreSQL), an empty /data owned by the image's user (compose: a tmpfs), a
    tmpfs on /tmp, a read-only root; then until each is ready and every demo source is in the feeds."""
    services = _feedsvc_services(_scale())
    entrypoint = list(image.get("Entrypoint") or [])
    containers: dict[str, tuple[str, Path]] = {}
    runs: dict[str, Run] = {}
    with contextlib.ExitStack() as stack:
        for name, svc in services.items():
            container = new_container(IMAGE)
            stack.callback(buildah, "rm", container, check=False)
            if svc.get("read_only"):
                stack.enter_context(read_only_root(container))
            containers[name] = (container, tmp_path_factory.mktemp(name))
            os.chown(containers[name][1], UID, UID)
        for name, svc in services.items():  # all at once (the schema is made by whichever comes first)
            env = {key: str(value) for key, value in svc["environment"].items()}
            env["FEEDSVC_DATABASE_URL"] = scale_database
            tmpfs = any(entry.split(":")[0] == "/tmp" for entry in svc.get("tmpfs", []))
            runs[name] = start(*containers[name], entrypoint + list(svc["command"]), env, tmpfs=tmpfs)
            stack.callback(runs[name].stop, timeout=30)
        composed = Composition(runs, {name: _role(svc["command"]) for name, svc in services.items()})
        every = list(runs.values())
        until("every service ready", lambda: all(r.ready() == 200 for r in every), every, timeout=180)
        for name in composed.named("web"):
            _wait_for_every_source(runs[name])
        yield composed


@dataclass
class Failover:
    before: list[Answer]  # all.atom from each web server, then with If-None-Match: its ETag
    not_modified: list[int]
    ready: dict[str, int]
    healthy: dict[str, int]  # the exit code of the image's HEALTHCHECK in each container
    fetched: dict[str, list[str]]  # service -> the sources it fetched
    leading: dict[str, list[str]]  # worker -> its leadership events, before the kill
    killed: str
    survivor_events: list[str]
    ready_after: dict[str, int]
    after: list[Answer]
    not_modified_after: list[int]
    read_only_errors: list[str]
    root_writes: dict[str, str]  # what root got when it wrote outside /data and /tmp, per container


def _leadership(run: Run) -> list[str]:
    return [e["event"] for e in run.events() if e["event"] in ("leading", "leadership_lost")]


@pytest.fixture(scope="module")
def failover(image: dict[str, Any], composition: Composition) -> Failover:
    """The composition's feeds, readiness, health and fetches, then SIGKILL of the worker that leads (the
    publisher) and the same again once the other worker says it leads."""
    runs = composition.runs
    before = _agreed(composition.feed_urls())
    not_modified = [_get(url, before[0].etag).status for url in composition.feed_urls()]
    ready = {name: run.ready() for name, run in runs.items()}
    health = image["Healthcheck"]["Test"][1:]
    healthy = {name: run.exec(*health).returncode for name, run in runs.items()}
    fetched = {
        name: [e["source"] for e in run.events() if e["event"] == "fetch"] for name, run in runs.items()
    }
    workers = composition.named("worker")
    leading = {name: _leadership(runs[name]) for name in workers}
    leaders = [name for name in workers if leading[name][-1:] == ["leading"]]
    assert len(leaders) == 1, f"not one worker leads: {leading}"
    (killed,) = leaders
    (survivor,) = set(workers) - {killed}
    runs[killed].stop(signal.SIGKILL)
    alive = [run for name, run in runs.items() if name != killed]
    until("the other worker leading", lambda: _leadership(runs[survivor])[-1:] == ["leading"], alive, 60)
    until("every remaining service ready", lambda: all(r.ready() == 200 for r in alive), alive, timeout=60)
    after = _agreed(composition.feed_urls())
    return Failover(
        before,
        not_modified,
        ready,
        healthy,
        fetched,
        leading,
        killed,
        _leadership(runs[survivor]),
        {name: run.ready() for name, run in runs.items() if name != killed},
        after,
        [_get(url, after[0].etag).status for url in composition.feed_urls()],
        [
            f"{name}: {line}"
            for name, run in runs.items()
            for line in run.output().splitlines()
            if "read-only file system" in line.lower()
        ],
        {
            name: buildah("run", "--user", "0", run.container, "--", "touch", "/probe", check=False).stderr
            for name, run in runs.items()
            if name != killed
        },
    )


@image_test
def test_scale_every_service_ready_and_healthy(failover: Failover) -> None:
    assert failover.ready == dict.fromkeys(failover.ready, 200)
    assert failover.healthy == dict.fromkeys(failover.ready, 0)
    assert len(failover.ready) == 4


@image_test
def test_scale_workers_fetch_every_demo_source_once(failover: Failover, composition: Composition) -> None:
    config = tomllib.loads((ROOT / "config" / "feedsvc.toml").read_text(encoding="utf-8"))
    fetched = sorted(source for name in composition.named("worker") for source in failover.fetched[name])
    assert fetched == sorted(source["name"] for source in config["sources"])
    assert not any(failover.fetched[name] for name in composition.named("web")), failover.fetched


@image_test
def test_scale_web_servers_serve_identical_bytes_and_validators(failover: Failover) -> None:
    first, *others = failover.before
    assert first.status == 200 and first.etag and first.last_modified, first
    assert len(_entry_ids(first.body)) >= 5
    assert all(other == first for other in others), "the web servers disagree"
    assert failover.not_modified == [304] * len(failover.before)


@image_test
def test_scale_one_worker_leads_and_the_other_takes_over_when_it_is_killed(failover: Failover) -> None:
    assert [events[-1:] for events in failover.leading.values()].count(["leading"]) == 1, failover.leading
    assert failover.survivor_events[-1:] == ["leading"], failover.survivor_events
    assert failover.ready_after == dict.fromkeys(failover.ready_after, 200)
    assert failover.not_modified_after == [304] * len(failover.after)


@image_test
def test_scale_a_new_leader_serves_the_same_bytes_and_validators(failover: Failover) -> None:
    """Nothing changed, so nothing is re-published: readers are not sent the feed again."""
    assert failover.after == failover.before


@image_test
def test_scale_writes_nothing_outside_data_and_tmp(failover: Failover) -> None:
    assert failover.read_only_errors == []
    assert len(failover.root_writes) == 3
    assert all("Read-only file system" in error for error in failover.root_writes.values()), (
        "the root file system was writable: compose's read_only was not in force"
    )


# nginx as the compose file's proxy runs it: its own main configuration (the official image's, trimmed to
# what matters here, logging the upstream each request went to) around the compose file's server block.
NGINX_MAIN = """daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log notice;
events {{ worker_connections 64; }}
http {{
    log_format upstream '$upstream_addr $status';
    access_log {prefix}/access.log upstream;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/default.conf;
}}
"""


@dataclass
class Proxied:
    direct: Answer  # all.atom from the first web server, just before
    proxied: list[Answer]  # all.atom through nginx, a request per web server and one more
    not_modified: list[int]  # the same with If-None-Match: the ETag
    upstreams: list[str]  # the web server each request went to (nginx's access log)
    web: list[str]  # the web servers' addresses


@pytest.fixture(scope="module")
def proxied(composition: Composition, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    """nginx with the compose file's configuration (`web-1:8080` and its kind pointed at the web servers'
    ports, a free port to listen on), then all.atom and a conditional GET through it."""
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.fail("FEEDSVC_IMAGE_TEST=1 but nginx is not installed (apt-get install nginx-light)")
    prefix = tmp_path_factory.mktemp("nginx")
    _, conf = _proxy(_scale())
    web = {name: composition.runs[name].port for name in composition.named("web")}
    for name, port in web.items():
        conf = re.sub(rf"\b{re.escape(name)}:{_image_listen_port()}\b", f"127.0.0.1:{port}", conf)
    assert not any(name in conf for name in web), conf
    port = free_port()
    conf = re.sub(r"^(\s*listen\s+)\d+\s*;", rf"\g<1>127.0.0.1:{port};", conf, flags=re.M)
    (prefix / "default.conf").write_text(conf, encoding="utf-8")
    (prefix / "nginx.conf").write_text(NGINX_MAIN.format(prefix=prefix), encoding="utf-8")
    server = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/feeds/all.atom"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (prefix / "error.log").read_text()
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "nginx never answered"
                time.sleep(0.1)
        direct = _agreed(composition.feed_urls())[0]
        proxied = [_get(url) for _ in range(len(web) + 1)]
        not_modified = [_get(url, direct.etag).status for _ in range(len(web) + 1)]
        log = (prefix / "access.log").read_text().splitlines()
        yield Proxied(
            direct,
            proxied,
            not_modified,
            [line.split()[0] for line in log[1:]],  # the first is the start-up probe
            [f"127.0.0.1:{p}" for p in web.values()],
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


@image_test
def test_scale_proxy_answers_with_the_web_servers_bytes_and_validators(proxied: Proxied) -> None:
    assert proxied.direct.status == 200
    assert proxied.proxied == [proxied.direct] * len(proxied.proxied)
    assert proxied.not_modified == [304] * len(proxied.not_modified)


@image_test
def test_scale_proxy_spreads_requests_over_both_web_servers(proxied: Proxied) -> None:
    assert set(proxied.upstreams) == set(proxied.web), proxied.upstreams


@dataclass(frozen=True)
class Stopped:
    grace: float  # compose's stop_grace_period: SIGKILL after it
    seconds: dict[str, float]
    codes: dict[str, int]


@pytest.fixture(scope="module")
def stopped(composition: Composition, failover: Failover, proxied: Proxied) -> Stopped:
    """After the other checks: `docker compose stop` of the services still running, one at a time (SIGTERM,
    SIGKILL after the grace period)."""
    services = _feedsvc_services(_scale())
    (grace,) = {parse_duration(services[name]["stop_grace_period"]) for name in composition.runs}
    seconds, codes = {}, {}
    for name, run in composition.runs.items():
        if run.process.poll() is None:
            sent = time.monotonic()
            codes[name] = run.stop(signal.SIGTERM, timeout=grace)
            seconds[name] = time.monotonic() - sent
    return Stopped(grace, seconds, codes)


@image_test
def test_scale_services_stop_on_sigterm_within_the_grace_period(stopped: Stopped) -> None:
    assert len(stopped.codes) == 3, "both web servers and the surviving worker"
    assert stopped.codes == dict.fromkeys(stopped.codes, 0)
    assert max(stopped.seconds.values()) < stopped.grace, stopped.seconds
