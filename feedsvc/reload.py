"""Re-reading the configuration while serving (SIGHUP, `feedsvc reload`).

Decided in pure functions: :func:`diff` compares the running settings with the new ones and returns the
:class:`Changes`; :func:`effective` keeps the running value of every setting that cannot change live (the
listening address, the store, the data directory...). :class:`Reloader` applies them in its own thread:
the service switches to the new sources and feeds, a changed interval reschedules its source, and the
publisher rebuilds the feeds at once. A new configuration with any problem is refused as a whole: every
problem is logged (one line each, naming the file) and the service keeps running on the old settings.

``serve`` writes its process id to a pid file in the data directory (:func:`claim_pid_file`), which
`feedsvc reload` reads (:func:`find_services`) to send the signal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from feedsvc.errors import ConfigError, FeedsvcError
from feedsvc.logs import setup_logging
from feedsvc.settings import SETTINGS, Settings, load_settings

if TYPE_CHECKING:
    from feedsvc.schedule import Schedule
    from feedsvc.service import Service
    from feedsvc.store import SourceState

log = logging.getLogger("feedsvc")

# Settings a running service picks up from the new configuration; every other one keeps its running
# value until a restart (it is baked into the server socket, the store, the fetcher, the dedup index...).
LIVE_SETTINGS = frozenset({"service.feed_entries", "service.log_level", "service.log_format"})


@dataclass(frozen=True)
class Changes:
    """What differs between two configurations (names of sources and feeds, ``section.key`` of settings)."""

    sources_added: tuple[str, ...] = ()
    sources_removed: tuple[str, ...] = ()
    sources_changed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> keys changed
    feeds_added: tuple[str, ...] = ()
    feeds_removed: tuple[str, ...] = ()
    feeds_changed: tuple[str, ...] = ()
    settings_live: tuple[str, ...] = ()  # applied now
    settings_restart: tuple[str, ...] = ()  # keep their running value: they need a restart

    @property
    def rescheduled(self) -> tuple[str, ...]:
        """Sources whose interval changed."""
        return tuple(n for n, keys in self.sources_changed.items() if "interval" in keys)

    @property
    def empty(self) -> bool:
        return not (
            self.sources_added
            or self.sources_removed
            or self.sources_changed
            or self.feeds_added
            or self.feeds_removed
            or self.feeds_changed
            or self.settings_live
            or self.settings_restart
        )

    def summary(self) -> str:
        """One line for people and logs: ``sources +bbc -ap ~reuters(interval); feeds +world...``."""
        if self.empty:
            return "nothing changed"
        parts = []
        changed = [f"~{n}({','.join(keys)})" for n, keys in self.sources_changed.items()]
        sources = [f"+{n}" for n in self.sources_added] + [f"-{n}" for n in self.sources_removed] + changed
        if sources:
            parts.append("sources " + " ".join(sources))
        feeds = (
            [f"+{n}" for n in self.feeds_added]
            + [f"-{n}" for n in self.feeds_removed]
            + [f"~{n}" for n in self.feeds_changed]
        )
        if feeds:
            parts.append("feeds " + " ".join(feeds))
        if self.settings_live:
            parts.append("settings " + " ".join(self.settings_live))
        if self.settings_restart:
            parts.append("needs a restart " + " ".join(self.settings_restart))
        return "; ".join(parts)


def _setting_value(settings: Settings, section: str, key: str) -> object:
    return getattr(settings.dedup if section == "dedup" else settings, key)


def diff(old: Settings, new: Settings) -> Changes:
    """The changes from ``old`` to ``new`` (pure)."""
    old_sources = {s.name: s for s in old.sources}
    new_sources = {s.name: s for s in new.sources}
    changed: dict[str, tuple[str, ...]] = {}
    for name, source in new_sources.items():
        before = old_sources.get(name)
        if before is not None and before != source:
            keys = tuple(f.name for f in fields(source) if getattr(before, f.name) != getattr(source, f.name))
            changed[name] = keys
    old_feeds = {f.name: f for f in old.all_feeds()}
    new_feeds = {f.name: f for f in new.all_feeds()}
    differing = [
        f"{s.section}.{s.key}"
        for s in SETTINGS
        if _setting_value(old, s.section, s.key) != _setting_value(new, s.section, s.key)
    ]
    return Changes(
        sources_added=tuple(n for n in new_sources if n not in old_sources),
        sources_removed=tuple(n for n in old_sources if n not in new_sources),
        sources_changed=changed,
        feeds_added=tuple(n for n in new_feeds if n not in old_feeds),
        feeds_removed=tuple(n for n in old_feeds if n not in new_feeds),
        feeds_changed=tuple(n for n, f in new_feeds.items() if n in old_feeds and old_feeds[n] != f),
        settings_live=tuple(k for k in differing if k in LIVE_SETTINGS),
        settings_restart=tuple(k for k in differing if k not in LIVE_SETTINGS),
    )


def effective(old: Settings, new: Settings, changes: Changes) -> Settings:
    """``new`` with the running value of every setting that needs a restart (pure)."""
    kept = [key.split(".", 1) for key in changes.settings_restart]
    service = {key: getattr(old, key) for section, key in kept if section == "service"}
    dedup = {key: getattr(old.dedup, key) for section, key in kept if section == "dedup"}
    return replace(new, **service, dedup=replace(new.dedup, **dedup), config_path=old.config_path)


def rescheduled_run(state: SourceState, interval: float, now: datetime) -> datetime | None:
    """A source's next run after its interval changed to ``interval`` (pure): its last fetch plus the new
    interval, or now when that is past. None (leave it) before its first fetch or while it backs off."""
    if state.last_fetch is None or (state.backoff_until is not None and state.backoff_until > now):
        return None
    return max(now, state.last_fetch + timedelta(seconds=interval))


def read_settings(path: Path | str | None) -> Settings:
    """The settings of ``path`` and the environment, with every check start-up makes (selectors too)."""
    return load_settings(path)  # it compiles the profiles' selectors too


@dataclass(frozen=True)
class Outcome:
    """What one reload did: ``changes`` when applied, ``problems`` when refused."""

    applied: bool
    changes: Changes = field(default_factory=Changes)
    problems: tuple[str, ...] = ()


class Reloader:
    """Re-reads the configuration on request (a signal handler calls :meth:`request`) in its own thread."""

    def __init__(
        self,
        service: Service,
        schedule: Schedule | None = None,
        load: Callable[[Path | None], Settings] = read_settings,
    ) -> None:
        self.service = service
        self.schedule = schedule
        self._load = load
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one reload at a time
        self._thread: threading.Thread | None = None
        self.reloads = 0  # reloads finished (applied or refused)

    def request(self) -> None:
        """Ask for a reload (safe to call from a signal handler: it only sets an event)."""
        self._wanted.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="reload", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            if self._stop.is_set():
                return
            self._wanted.clear()
            try:
                self.reload()
            except Exception as exc:  # a bug must not end reloading, nor the service
                log.exception("event=reload_crashed error=%r", str(exc))

    def reload(self) -> Outcome:
        """Re-read the configuration and apply it, or refuse it and keep the running one."""
        with self._lock:
            try:
                return self._reload()
            finally:
                self.reloads += 1

    def _reload(self) -> Outcome:
        old = self.service.settings
        where = old.config_path or "the configuration"
        try:
            if old.config_path is None:
                raise ConfigError(["no config file to re-read (the service was started without one)"])
            new = self._load(old.config_path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("event=reload_problem problem=%r", problem)
            log.error(
                "event=reload_refused config=%s problems=%d kept=running_settings", where, len(exc.problems)
            )
            return Outcome(applied=False, problems=tuple(exc.problems))
        changes = diff(old, new)
        settings = effective(old, new, changes)
        for key in changes.settings_restart:
            log.warning("event=reload_needs_restart setting=%s kept=running_value", key)
        if not changes.empty:
            self.apply(settings, changes)
        log.info("event=reloaded config=%s changes=%r", where, changes.summary())
        return Outcome(applied=True, changes=changes)

    def apply(self, settings: Settings, changes: Changes) -> None:
        service = self.service
        service.reconfigure(settings)
        if {"service.log_level", "service.log_format"} & set(changes.settings_live):
            setup_logging(settings.log_format, settings.log_level)
        if service.role != "web":
            service.ensure_schedule(startup=False)  # a new source gets a row and a first run now
            now = datetime.now(UTC)
            intervals = {s.name: s.interval for s in settings.sources}
            for name in changes.rescheduled:
                when = rescheduled_run(service.store.source_state(name), intervals[name], now)
                if when is not None:
                    service.store.set_next_run(name, when, now)
        if self.schedule is not None:
            self.schedule.publish_soon()


# -- the pid file: how `feedsvc reload` finds the running service ---------------------------------------

PID_FILES = {"all": "feedsvc.pid", "worker": "feedsvc-worker.pid", "web": "feedsvc-web.pid"}


class ReloadRequests(Protocol):
    """Takes reload requests (a :class:`Reloader`, or feedsvc.early's app while the service is built)."""

    def request(self) -> None: ...


@contextmanager
def reloading(reloader: ReloadRequests, data_dir: Path, role: str) -> Iterator[None]:
    """While serving: SIGHUP asks ``reloader`` for a reload, and the role's pid file names this process
    (written once the handler is in place, removed on a clean exit)."""
    previous = signal.signal(signal.SIGHUP, lambda _signum, _frame: reloader.request())
    pid_file = claim_pid_file(data_dir, role)
    try:
        yield
    finally:
        release_pid_file(pid_file)
        signal.signal(signal.SIGHUP, previous)


def _pid_in(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def is_feedsvc(pid: int) -> bool:
    """Whether ``pid`` is a live `feedsvc serve` process (a pid file left by a killed one may name a pid
    the system gave to another program since: never signal that)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's: the command line tells whether it is ours
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no /proc (macOS): trust the live pid
    except OSError:
        return False
    return b"feedsvc" in cmdline and b"serve" in cmdline.split(b"\0")


def claim_pid_file(data_dir: Path, role: str) -> Path | None:
    """Write this process's id to the role's pid file in ``data_dir``; a stale one (its process is gone)
    is replaced. None, with a warning, when another live service holds it or it cannot be written:
    SIGHUP still reloads, `feedsvc reload` just cannot find this process."""
    path = Path(data_dir) / PID_FILES[role]
    held = _pid_in(path)
    if held is not None and held != os.getpid() and is_feedsvc(held):
        log.warning("event=pid_file_held path=%s pid=%d note='feedsvc reload reaches that one'", path, held)
        return None
    if held is not None and held != os.getpid():
        log.info("event=stale_pid_file_replaced path=%s pid=%d", path, held)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(f"{os.getpid()}\n", encoding="ascii")
        tmp.replace(path)
    except OSError as exc:
        log.warning("event=pid_file_not_written path=%s error=%r", path, exc.strerror or str(exc))
        return None
    return path


def release_pid_file(path: Path | None) -> None:
    """Remove the pid file if it still names this process."""
    if path is not None and _pid_in(path) == os.getpid():
        with contextlib.suppress(OSError):
            path.unlink()


@dataclass(frozen=True)
class Found:
    """A pid file in the data directory: its process runs (``live``) or it is stale."""

    path: Path
    role: str
    pid: int | None
    live: bool


def find_services(data_dir: Path) -> list[Found]:
    found = []
    for role, name in PID_FILES.items():
        path = Path(data_dir) / name
        if not path.exists():
            continue
        pid = _pid_in(path)
        found.append(Found(path, role, pid, pid is not None and is_feedsvc(pid)))
    return found


def signal_services(data_dir: Path) -> tuple[list[Found], list[Found]]:
    """Send SIGHUP to every feedsvc serving from ``data_dir``; remove stale pid files.
    Returns (signalled, stale)."""
    signalled, stale = [], []
    for entry in find_services(data_dir):
        if entry.live and entry.pid is not None:
            try:
                os.kill(entry.pid, signal.SIGHUP)
                signalled.append(entry)
                continue
            except ProcessLookupError:
                pass  # it ended between the check and the signal
            except PermissionError:
                raise FeedsvcError(
                    f"not allowed to signal feedsvc pid {entry.pid} ({entry.path}): run `feedsvc reload` "
                    "as the service's user"
                ) from None
        stale.append(entry)
        with contextlib.suppress(OSError):
            entry.path.unlink()
    return signalled, stale
