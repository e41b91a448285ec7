"""Build the real Dockerfile with buildah, on a Debian bookworm + Python 3.11 base made locally.

Image registries are out of reach on the project's machines, so the Dockerfile's base
(``python:3.11-slim-bookworm@sha256:...``) cannot be pulled. This script makes a stand-in with the same
shape (Debian bookworm, Python 3.11 as ``python``, pip, venv, CA certificates, tzdata) using debootstrap
from Debian's packages, keeps it as a tarball under the cache directory, imports it into buildah's storage
and builds the Dockerfile with ``--build-arg PYTHON_IMAGE=<that base>``: chroot isolation, host network
(pip reaches PyPI), ``--pull=never`` and ``--format docker`` (the OCI format drops HEALTHCHECK).

    python3 tools/image_build.py [--tag NAME] [--dockerfile F] [--context DIR]   build; print the name last
    python3 tools/image_build.py --base-only                         make or reuse the base only

The base costs a few minutes once (debootstrap) and seconds afterwards; buildah's layer cache (--layers)
and the Dockerfile's pip cache mount make a rebuild with an unchanged requirements.lock cost seconds.
Cache directory: $FEEDSVC_IMAGE_CACHE, default /var/cache/feedsvc-image-test. Debian mirror:
$FEEDSVC_DEBIAN_MIRROR, default the first ``.../debian`` URI of this machine's apt sources.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "localhost/feedsvc:image-test"
SUITE = "bookworm"
# What the official python:3.11-slim-bookworm has that feedsvc's image relies on: `python`, pip (the runtime
# stage installs with `python -m pip --python`), venv, CA certificates, /etc/services, time zones.
PACKAGES = (
    "python3",
    "python-is-python3",
    "python3-pip",
    "python3-venv",
    "ca-certificates",
    "netbase",
    "tzdata",
)
# Trimmed from the base as debian:bookworm-slim does (documentation, manuals, translations, apt's downloads).
TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/cache/apt",
    "var/lib/apt/lists",
)
RECIPE_VERSION = "1"  # bump to force a new base when the recipe changes in ways the key does not see


def log(msg: str) -> None:
    print(f"image-build: {msg}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    path = Path(os.environ.get("FEEDSVC_IMAGE_CACHE", "/var/cache/feedsvc-image-test"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def base_key() -> str:
    recipe = "\n".join([RECIPE_VERSION, SUITE, "minbase", *PACKAGES, *TRIM])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def base_name() -> str:
    return f"localhost/feedsvc-test-base:{SUITE}-py311-{base_key()}"


def debian_mirror() -> str:
    """The machine's own Debian mirror, read from its apt sources (deb822 or one-line format)."""
    if os.environ.get("FEEDSVC_DEBIAN_MIRROR"):
        return os.environ["FEEDSVC_DEBIAN_MIRROR"]
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.is_file() and path.suffix in ("", ".list", ".sources"):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    for text in texts:
        for uri in re.findall(r"^\s*(?:URIs:|deb(?:\s+\[[^\]]*\])?)\s+(\S+)", text, flags=re.M):
            if uri.rstrip("/").endswith("/debian"):
                return str(uri)
    raise SystemExit("image-build: no Debian mirror in /etc/apt/sources*: set FEEDSVC_DEBIAN_MIRROR")


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def image_exists(name: str) -> bool:
    found = subprocess.run(
        ["buildah", "inspect", "--type", "image", name], capture_output=True, text=True, check=False
    )
    return found.returncode == 0


def make_rootfs_tarball(tarball: Path) -> None:
    mirror = debian_mirror()
    log(f"debootstrap {SUITE} from {mirror} (a few minutes, once)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=tarball.parent, prefix="rootfs-") as tmp:
        root = Path(tmp) / "root"
        out = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(root),
                mirror,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
            raise SystemExit(f"image-build: debootstrap failed (exit {out.returncode})")
        for rel in TRIM:
            target = root / rel
            if target.is_dir():
                shutil.rmtree(target)
                target.mkdir()
        partial = tarball.with_suffix(".partial")
        run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."])
        partial.rename(tarball)
    log(f"base rootfs ready in {time.monotonic() - started:.0f} s: {tarball}")


def ensure_base() -> str:
    """The local base image's name; made from the cached tarball, or from debootstrap when there is none."""
    name = base_name()
    cache = cache_dir()
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image_exists(name):
            return name
        tarball = cache / f"base-{SUITE}-{base_key()}.tar"
        if not tarball.exists():
            make_rootfs_tarball(tarball)
        log(f"importing {tarball.name} as {name}")
        ctr = run(["buildah", "from", "scratch"], capture_output=True).stdout.strip()
        try:
            run(["buildah", "add", "--quiet", ctr, str(tarball), "/"], capture_output=True)
            run(
                [
                    "buildah",
                    "config",
                    "--env",
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--env",
                    "LANG=C.UTF-8",
                    "--cmd",
                    "python3",
                    "--label",
                    f"feedsvc.test-base={base_key()}",
                    ctr,
                ]
            )
            run(["buildah", "commit", "--quiet", "--format", "docker", ctr, name], capture_output=True)
        finally:
            subprocess.run(["buildah", "rm", ctr], capture_output=True, check=False)
    return name


def ca_volume() -> list[str]:
    """RUN steps see this machine's CA bundle (for pip's HTTPS to PyPI through whatever TLS proxy this
    machine trusts); it is bind-mounted for the build only and never lands in a layer."""
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    return ["--volume", f"{bundle}:{bundle}:ro"] if bundle.is_file() else []


def build(tag: str, dockerfile: Path, context: Path = ROOT) -> None:
    base = ensure_base()
    log(
        f"building {dockerfile.relative_to(ROOT) if dockerfile.is_relative_to(ROOT) else dockerfile} as {tag}"
    )
    started = time.monotonic()
    cmd = [
        "buildah",
        "bud",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "--pull=never",
        "--format",
        "docker",
        "--layers",
        "--force-rm",
        *ca_volume(),
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        "--file",
        str(dockerfile),
        "--tag",
        tag,
        str(context),
    ]
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"image-build: buildah bud failed (exit {done.returncode}): the Dockerfile does not build"
        )
    log(f"built {tag} in {time.monotonic() - started:.1f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=IMAGE)
    parser.add_argument("--dockerfile", type=Path, default=ROOT / "Dockerfile")
    parser.add_argument("--context", type=Path, default=ROOT, help="build context (default: this work tree)")
    parser.add_argument("--base-only", action="store_true")
    args = parser.parse_args(argv)
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            raise SystemExit(f"image-build: {tool} is not installed (apt-get install buildah debootstrap)")
    if args.base_only:
        print(ensure_base())
        return
    build(args.tag, args.dockerfile, args.context)
    print(args.tag)


if __name__ == "__main__":
    main()
