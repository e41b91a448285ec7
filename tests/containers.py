"""Containers of an image run as Docker and compose run them, with buildah (chroot isolation, the host's
network): `docker run` (:func:`start`), `docker exec` (:meth:`Run.exec`), `docker kill`/`stop`
(:meth:`Run.stop`) and compose's ``read_only: true`` (:func:`read_only_root`). Needs root and buildah;
tests/test_container.py uses it when FEEDSVC_IMAGE_TEST=1 (`make image-test`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from feedsvc.logs import fields as log_fields
from tests.ports import free_port

BUILDAH_ENV = {**os.environ, "BUILDAH_ISOLATION": "chroot"}


def buildah(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["buildah", *args], env=BUILDAH_ENV, capture_output=True, text=True, check=check)


# Lines buildah itself adds to a failed `buildah run`, after the command's own output.
BUILDAH_NOISE = re.compile(r"^(subprocess exited|Error: exit status|error running container)")


@dataclass
class Run:
    """One `buildah run` of the image's command, as `docker run` would start it."""

    container: str
    port: int
    process: subprocess.Popen[str]
    logs: Path  # the command's stdout goes to logs.out, its stderr to logs.err

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def exec(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """A second process in the same container (like `docker exec`), with the run's environment."""
        return buildah(
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

    def ready(self) -> int:
        """The status of /readyz (0 while nothing listens)."""
        try:
            return httpx.get(self.url("/readyz"), timeout=5).status_code
        except httpx.TransportError:
            return 0

    def wait_ready(self, timeout: float = 120) -> None:
        until("ready", lambda: self.ready() == 200, [self], timeout)

    def output(self) -> str:
        """What the command printed so far (stdout, then stderr)."""
        return self.logs.with_suffix(".out").read_text() + self.stderr()

    def stderr(self) -> str:
        return self.logs.with_suffix(".err").read_text()

    def events(self) -> list[dict[str, Any]]:
        """The fields of every event logged so far, in order (JSON lines or key=value lines)."""
        found = []
        for line in self.stderr().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                entry = log_fields(line[line.find("event=") :]) if "event=" in line else {}
            if isinstance(entry, dict) and "event" in entry:
                found.append(entry)
        return found

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``sig`` to the command's own process and wait for `buildah run` to end (killed at the
        timeout); its exit code."""
        if self.process.poll() is None:
            os.kill(self.main_pid(), sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def new_container(image: str) -> str:
    container = buildah("from", "--pull-never", image).stdout.strip()
    # buildah 1.28 mounts a throwaway volume over the image's VOLUME (/data) even when -v names it; Docker
    # and compose honour the bind mount, so drop the image volume from this working container only.
    buildah("config", "--volume", "/data-", container)
    return container


def start(
    container: str, data: Path, command: list[str], env: Mapping[str, str] | None = None, tmpfs: bool = False
) -> Run:
    """`docker run` of ``command`` with ``data`` on /data, ``env`` over the image's environment and its own
    FEEDSVC_LISTEN port on the host's network; ``tmpfs``: a fresh tmpfs on /tmp (compose's ``tmpfs:``).
    The output goes to files beside ``data``."""
    port = free_port()
    settings = {**(env or {}), "FEEDSVC_LISTEN": f"127.0.0.1:{port}"}
    argv = ["buildah", "run", *(f"--env={k}={v}" for k, v in settings.items()), "-v", f"{data}:/data"]
    if tmpfs:
        argv.append("--mount=type=tmpfs,destination=/tmp")
    logs = data.with_name(f"{data.name}-{port}.log")
    with logs.with_suffix(".out").open("w") as out, logs.with_suffix(".err").open("w") as err:
        process = subprocess.Popen(
            [*argv, container, "--", *command], env=BUILDAH_ENV, stdout=out, stderr=err, text=True
        )
    return Run(container, port, process, logs)


def until(what: str, check: Callable[[], bool], runs: list[Run], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        for run in runs:
            assert run.process.poll() is None, f"a container exited while waiting for {what}: {run.output()}"
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.2)


@contextlib.contextmanager
def read_only_root(container: str) -> Iterator[None]:
    """compose's ``read_only: true`` as far as buildah allows: the container's root file system mounted
    read-only over itself, after one `buildah run` has made the mount points buildah needs (Docker makes
    its own before it mounts the root read-only). /data and /tmp are mounts of their own; so is /run, a
    tmpfs only root may write (buildah writes /run/.containerenv at every run; the service's user cannot)."""
    root = buildah("mount", container).stdout.strip()
    buildah("run", container, "--", "true")
    with contextlib.ExitStack() as mounted:
        subprocess.run(["mount", "--bind", root, root], check=True)
        mounted.callback(subprocess.run, ["umount", root], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", root], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", f"{root}/run"], check=True)
        mounted.callback(subprocess.run, ["umount", f"{root}/run"], check=True)
        yield
