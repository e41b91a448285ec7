"""Reloading the configuration: the pure diff, the apply step in process, the pid file, and a real
`feedsvc serve` reloaded by SIGHUP and by `feedsvc reload`."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from feedsvc.cli import main
from feedsvc.models import FeedSpec, Source
from feedsvc.reload import (
    Changes,
    Reloader,
    claim_pid_file,
    diff,
    effective,
    find_services,
    is_feedsvc,
    read_settings,
    release_pid_file,
    rescheduled_run,
)
from feedsvc.service import Service
from feedsvc.settings import DedupSettings, Settings
from feedsvc.store import SourceState
from feedsvc.web import create_web
from tests.conftest import write_config
from tests.ports import free_port

A = Source(name="a", url="/pages/a.txt", interval=900.0)
B = Source(name="b", url="/pages/b.txt", interval=900.0)
C = Source(name="c", url="/pages/c.txt", interval=900.0)
NOW = datetime(2025, 8, 19, 12, 0, tzinfo=UTC)


# -- the pure part -------------------------------------------------------------------------------------


def test_diff_names_sources_and_feeds_added_removed_and_changed() -> None:
    old = Settings(sources=(A, B), feeds=(FeedSpec(name="world", title="World", keywords=("war",)),))
    new = Settings(
        sources=(replace(A, interval=60.0, title="Agency A"), C),
        feeds=(
            FeedSpec(name="world", title="World", keywords=("peace",)),
            FeedSpec(name="sport", title="Sport"),
        ),
    )
    changes = diff(old, new)
    assert changes.sources_added == ("c",) and changes.sources_removed == ("b",)
    assert changes.sources_changed == {"a": ("interval", "title")}
    assert changes.rescheduled == ("a",)
    # The per-source feeds follow their sources; a source's title is its feed's title.
    assert set(changes.feeds_added) == {"c", "sport"} and changes.feeds_removed == ("b",)
    assert set(changes.feeds_changed) == {"a", "world"}
    assert changes.settings_live == () and changes.settings_restart == ()
    assert changes.summary() == "sources +c -b ~a(interval,title); feeds +c +sport -b ~a ~world"
    assert (
        diff(old, old) == Changes() and diff(old, old).empty and diff(old, old).summary() == "nothing changed"
    )


def test_settings_that_cannot_change_live_keep_their_running_value() -> None:
    old = Settings(listen="127.0.0.1:8080", data_dir=Path("data"), feed_entries=100, sources=(A,))
    new = replace(
        old,
        listen="0.0.0.0:9000",
        data_dir=Path("elsewhere"),
        database_url="sqlite:///other.db",
        feed_entries=20,
        log_level="DEBUG",
        dedup=DedupSettings(num_perm=128),
        sources=(A, B),
    )
    changes = diff(old, new)
    assert set(changes.settings_live) == {"service.feed_entries", "service.log_level"}
    assert set(changes.settings_restart) == {
        "service.listen",
        "service.data_dir",
        "service.database_url",
        "dedup.num_perm",
    }
    applied = effective(old, new, changes)
    assert applied.listen == "127.0.0.1:8080" and applied.data_dir == Path("data")
    assert applied.database_url == old.database_url and applied.dedup == old.dedup
    assert applied.feed_entries == 20 and applied.log_level == "DEBUG"
    assert applied.sources == (A, B)
    assert "needs a restart" in changes.summary() and "service.listen" in changes.summary()


def test_an_interval_change_reschedules_from_the_last_fetch() -> None:
    fetched = SourceState(name="a", last_fetch=NOW - timedelta(minutes=10), next_run=NOW + timedelta(hours=1))
    assert rescheduled_run(fetched, 3600.0, NOW) == NOW + timedelta(minutes=50)  # longer: later
    assert rescheduled_run(fetched, 300.0, NOW) == NOW  # shorter and overdue: now
    assert rescheduled_run(SourceState(name="a"), 60.0, NOW) is None  # first run still to come
    backing_off = replace(fetched, backoff_until=NOW + timedelta(hours=2))
    assert rescheduled_run(backing_off, 60.0, NOW) is None  # the backoff stands


# -- the apply step, in process -----------------------------------------------------------------------


def _config(tmp_path: Path, database_url: str | None = None) -> Path:
    return write_config(
        tmp_path,
        pages=("daily8-putin-invites-trump.txt", "daily8-habba-ruling-reaction.txt"),
        database_url=database_url,
    )


# One process on SQLite, and a worker on PostgreSQL (leases, row locks): the same apply step.
ENGINES_AND_ROLES = pytest.mark.parametrize(
    ("database_url", "role"), [("sqlite", "all"), ("postgresql", "worker")], indirect=["database_url"]
)


def _rewrite(config: Path, edit: Callable[[str], str]) -> None:
    config.write_text(edit(config.read_text(encoding="utf-8")), encoding="utf-8")


ADD_C = '[[sources]]\nname = "ukraine"\nurl = "pages/daily8-ukraine-security-talks.txt"\ninterval = "15m"\n'


def _add_ukraine(config: Path) -> None:
    import shutil

    from tests.conftest import DEMO_PAGES

    shutil.copy(DEMO_PAGES / "daily8-ukraine-security-talks.txt", config.parent / "pages")
    _rewrite(config, lambda text: text.replace("[[sources]]", ADD_C + "[[sources]]", 1))


def _drop_habba(config: Path) -> None:
    _rewrite(
        config,
        lambda text: text.replace(
            '[[sources]]\nname = "habba-ruling-reaction"\nurl = "pages/daily8-habba-ruling-reaction.txt"\n'
            'interval = "15m"\n',
            "",
        ),
    )


@ENGINES_AND_ROLES
def test_reload_applies_sources_and_feeds_and_the_publisher_settles(
    tmp_path: Path, database_url: str, role: str
) -> None:
    config = _config(tmp_path, database_url)
    service = Service(read_settings(config), role=role)
    try:
        service.start()
        service.ensure_schedule()
        service.run_once()
        assert service.lead() is not None
        assert service.serves("habba-ruling-reaction") and not service.serves("ukraine")
        _add_ukraine(config)
        _drop_habba(config)
        _rewrite(
            config, lambda t: t.replace('log_level = "WARNING"', 'log_level = "WARNING"\nfeed_entries = 3')
        )
        outcome = Reloader(service).reload()
        assert outcome.applied and outcome.problems == ()
        assert outcome.changes.sources_added == ("ukraine",)
        assert outcome.changes.sources_removed == ("habba-ruling-reaction",)
        assert outcome.changes.settings_live == ("service.feed_entries",)
        assert [s.name for s in service.settings.sources] == ["ukraine", "putin-invites-trump"]
        assert service.serves("ukraine") and not service.serves("habba-ruling-reaction")
        # The new source has a schedule row and is due; the removed one is no longer claimed.
        due = service.claim(10)
        assert [c.source for c in due] == ["ukraine"]
        for claim in due:
            assert service.run_claimed(claim).ok
        # The publisher builds the new feed and rebuilds the others for the new entry limit, then settles:
        # the removed source's stored feed (old fingerprint) is not rebuilt on every tick.
        builds = []
        publish = service.publish_feeds
        service.publish_feeds = lambda specs=None: builds.append(1) or publish(specs)  # type: ignore[method-assign]
        assert service.lead()
        assert service.publisher.get("ukraine.atom") is not None
        assert len(builds) == 1
        assert service.lead() == 0 and service.lead() == 0
        assert len(builds) == 1
    finally:
        service.close()


@ENGINES_AND_ROLES
def test_a_reload_leaves_the_lease_of_a_running_source_alone(
    tmp_path: Path, database_url: str, role: str
) -> None:
    config = _config(tmp_path, database_url)
    service = Service(read_settings(config), role=role)
    try:
        service.start()
        service.ensure_schedule()
        running = service.claim(10)  # the first source is due at once, the next a second later
        assert "putin-invites-trump" in {c.source for c in running}
        _add_ukraine(config)
        assert Reloader(service).reload().applied
        claimed = {c.source for c in service.claim(10)}
        assert "ukraine" in claimed and not claimed & {c.source for c in running}  # still leased
        for claim in running:  # the runs that were going on finish and record their results
            assert service.run_claimed(claim).ok
            assert service.store.source_state(claim.source).last_fetch is not None
    finally:
        service.close()


@ENGINES_AND_ROLES
def test_an_interval_change_moves_the_stored_next_run(tmp_path: Path, database_url: str, role: str) -> None:
    config = _config(tmp_path, database_url)
    service = Service(read_settings(config), role=role)
    try:
        service.start()
        service.ensure_schedule()
        service.run_once()
        fetched = service.store.source_state("putin-invites-trump").last_fetch
        assert fetched is not None
        _rewrite(config, lambda t: t.replace('interval = "15m"', 'interval = "6h"', 1))
        outcome = Reloader(service).reload()
        assert outcome.changes.rescheduled == ("putin-invites-trump",)
        next_run = service.store.next_runs()["putin-invites-trump"]
        assert next_run == fetched + timedelta(hours=6)
        assert service.settings.sources[0].interval == 6 * 3600
    finally:
        service.close()


def test_a_bad_config_is_refused_whole_and_every_problem_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(tmp_path)
    service = Service(read_settings(config))
    try:
        service.start()
        running = service.settings
        _add_ukraine(config)  # a good change among bad ones is not applied either
        _rewrite(config, lambda t: t.replace('interval = "15m"', 'interval = "soon"', 1) + "\n[oops]\n")
        with caplog.at_level(logging.ERROR, logger="feedsvc"):
            outcome = Reloader(service).reload()
        assert not outcome.applied and len(outcome.problems) == 2
        assert service.settings is running and not service.serves("ukraine")
        problems = [r.getMessage() for r in caplog.records if "event=reload_problem" in r.getMessage()]
        assert len(problems) == 2 and all(str(config) in p for p in problems)
        assert any("interval" in p and "soon" in p for p in problems)
        assert any("[oops]" in p for p in problems)
        assert any("event=reload_refused" in r.getMessage() for r in caplog.records)
        # A broken selector (checked after loading, as at start-up) is refused too.
        _rewrite(
            config, lambda t: t.replace('interval = "soon"', 'interval = "15m"').replace("\n[oops]\n", "")
        )
        _rewrite(config, lambda t: t + '[sources.profile]\nrecord = "div"\ntitle = "h3[[x"\n')
        assert not Reloader(service).reload().applied
        assert service.settings is running
        # An unreadable file as well.
        config.unlink()
        refused = Reloader(service).reload()
        assert not refused.applied and "config file not found" in refused.problems[0]
    finally:
        service.close()


def test_restart_settings_are_logged_and_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = _config(tmp_path)
    service = Service(read_settings(config))
    try:
        service.start()
        _rewrite(
            config,
            lambda t: t.replace("listen = ", "worker_threads = 9\nlisten = ").replace(
                '127.0.0.1:8080"\npublic', '127.0.0.1:9999"\npublic'
            ),
        )
        with caplog.at_level(logging.WARNING, logger="feedsvc"):
            outcome = Reloader(service).reload()
        assert outcome.applied
        assert set(outcome.changes.settings_restart) == {"service.listen", "service.worker_threads"}
        assert service.settings.listen == "127.0.0.1:8080" and service.settings.worker_threads == 4
        warned = [r.getMessage() for r in caplog.records if "event=reload_needs_restart" in r.getMessage()]
        assert sorted(warned) == [
            "event=reload_needs_restart setting=service.listen kept=running_value",
            "event=reload_needs_restart setting=service.worker_threads kept=running_value",
        ]
    finally:
        service.close()


def test_a_web_server_reloads_its_feed_list(tmp_path: Path) -> None:
    config = _config(tmp_path)
    publisher = Service(read_settings(config))
    try:
        publisher.start()
        publisher.run_once()
    finally:
        publisher.close()
    web = Service(read_settings(config), role="web")
    try:
        web.start()
        client = TestClient(create_web(web))
        assert client.get("/feeds/habba-ruling-reaction.atom").status_code == 200
        _drop_habba(config)
        assert Reloader(web).reload().applied
        assert client.get("/feeds/habba-ruling-reaction.atom").status_code == 404
        assert client.get("/feeds/putin-invites-trump.atom").status_code == 200
        assert "habba-ruling-reaction" not in client.get("/").text
        assert "habba-ruling-reaction" not in client.get("/feeds.opml?all=1").text
        assert "habba-ruling-reaction" not in client.get("/status").text
    finally:
        web.close()


# -- the pid file ------------------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    return proc.pid


def test_pid_file_is_written_replaced_when_stale_and_removed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = claim_pid_file(data, "all")
    assert path == data / "feedsvc.pid" and path.read_text() == f"{os.getpid()}\n"
    release_pid_file(path)
    assert not path.exists()
    # Left by a killed service: replaced.
    data.joinpath("feedsvc-worker.pid").write_text(f"{_dead_pid()}\n")
    assert claim_pid_file(data, "worker") == data / "feedsvc-worker.pid"
    assert data.joinpath("feedsvc-worker.pid").read_text() == f"{os.getpid()}\n"
    # A pid file naming some other program (its pid reused) is stale too: never signalled.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not is_feedsvc(other.pid)
        data.joinpath("feedsvc-web.pid").write_text(f"{other.pid}\n")
        assert [(f.role, f.live) for f in find_services(data)] == [("worker", False), ("web", False)]
    finally:
        other.kill()
        other.wait(timeout=60)
    release_pid_file(data / "feedsvc-worker.pid")


def test_reload_command_without_a_running_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert main(["reload", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "no feedsvc service is running from data directory" in err and str(tmp_path / "data") in err
    (tmp_path / "data").mkdir(exist_ok=True)
    stale = tmp_path / "data" / "feedsvc.pid"
    stale.write_text(f"{_dead_pid()}\n")
    assert main(["reload", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert f"removed stale pid file {stale}" in captured.out and "no feedsvc service" in captured.err
    assert not stale.exists()
    # A bad config is reported by the command itself (the service would refuse it anyway).
    _rewrite(config, lambda t: t + "\n[oops]\n")
    assert main(["reload", "--config", str(config)]) == 2
    assert "[oops]: unknown section" in capsys.readouterr().err


# -- a real `feedsvc serve` --------------------------------------------------------------------------


def _wait(check: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"feedsvc serve exited with {proc.returncode}"
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not within {limit} s: {what}")


def _status(url: str) -> int:
    return httpx.get(url, timeout=5).status_code


def _log_lines(log: Path, marker: str) -> list[str]:
    return [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if marker in line]


@pytest.mark.slow
def test_serve_reloads_on_sighup_and_feedsvc_reload(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(
        tmp_path,
        listen=f"127.0.0.1:{port}",
        pages=("daily8-putin-invites-trump.txt", "daily8-habba-ruling-reaction.txt"),
    )
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    pid_file = tmp_path / "data" / "feedsvc.pid"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "feedsvc.cli", "serve", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(lambda: _status(f"{base}/feeds/habba-ruling-reaction.atom") == 200, proc, "habba feed")
        _wait(lambda: pid_file.exists(), proc, "pid file")
        assert pid_file.read_text().strip() == str(proc.pid)
        assert _status(f"{base}/feeds/ukraine.atom") == 404

        # 1. Add one source and remove another; SIGHUP.
        _add_ukraine(config)
        _drop_habba(config)
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: _status(f"{base}/feeds/habba-ruling-reaction.atom") == 404, proc, "removed feed 404")
        _wait(
            lambda: b"<entry>" in httpx.get(f"{base}/feeds/ukraine.atom", timeout=5).content,
            proc,
            "the new source fetched and its feed published",
        )
        index = httpx.get(f"{base}/", timeout=5).text
        assert "/feeds/ukraine.atom" in index and "habba-ruling-reaction" not in index

        # 2. A bad config is refused (every problem logged, naming the file); the running one serves on.
        good = config.read_text(encoding="utf-8")
        _rewrite(config, lambda t: t.replace('interval = "15m"', 'interval = "soon"', 1) + "\n[oops]\n")
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: bool(_log_lines(log, "event=reload_refused")), proc, "the refusal logged")
        problems = _log_lines(log, "event=reload_problem")
        assert len(problems) == 2 and all(str(config) in line for line in problems)
        assert _status(f"{base}/feeds/ukraine.atom") == 200
        assert _status(f"{base}/feeds/putin-invites-trump.atom") == 200
        assert _status(f"{base}/feeds/habba-ruling-reaction.atom") == 404

        # 3. `feedsvc reload`: the source comes back.
        config.write_text(good.replace("[[sources]]", _habba_source() + "[[sources]]", 1), encoding="utf-8")
        sent = subprocess.run(
            [sys.executable, "-m", "feedsvc.cli", "reload", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert sent.returncode == 0, sent.stderr
        assert f"sent SIGHUP to feedsvc serve --role all (pid {proc.pid}" in sent.stdout
        _wait(lambda: _status(f"{base}/feeds/habba-ruling-reaction.atom") == 200, proc, "re-added feed")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert not pid_file.exists()  # removed on a clean exit


def _habba_source() -> str:
    return (
        '[[sources]]\nname = "habba-ruling-reaction"\nurl = "pages/daily8-habba-ruling-reaction.txt"\n'
        'interval = "15m"\n'
    )
