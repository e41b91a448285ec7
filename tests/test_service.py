"""The pipeline end to end on the demo pages: merging, stable ids across restarts, failures contained."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest

from feedsvc.extract import Extraction
from feedsvc.models import Page, Source
from feedsvc.publish import RENDERERS
from feedsvc.service import Service
from feedsvc.settings import Settings


def _run(settings: Settings) -> Service:
    service = Service(settings)
    service.start()
    service.run_once()
    return service


def _entries(service: Service, name: str = "all") -> list[feedparser.FeedParserDict]:
    feed = service.publisher.get(f"{name}.atom")
    assert feed is not None
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return list(parsed.entries)


def test_demo_pages_merge_syndicated_copies(demo_settings: Callable[[], Settings]) -> None:
    service = _run(demo_settings())
    try:
        entries = _entries(service)
        titles = [e.title for e in entries]
        assert "Putin Invites Trump to Moscow After Failure to Reach Deal" in titles
        assert any(t.startswith("Rubio doubles down") for t in titles)
        by_outlets = {frozenset(a.name for a in e.authors): e for e in entries}
        assert frozenset({"NBC News", "AP News", "ABC News"}) in by_outlets  # one drone story, three outlets
        assert frozenset({"Los Angeles Times", "PBS News"}) in by_outlets
        assert frozenset({"Yahoo", "Daily Beast"}) in by_outlets
        # Same-topic originals stay apart: the Reuters write-up of the Rubio call is its own entry.
        assert frozenset({"Reuters"}) in by_outlets and frozenset({"CNN"}) in by_outlets
        assert len(entries) == 9
        assert len({e.id for e in entries}) == len(entries)
        drone = by_outlets[frozenset({"NBC News", "AP News", "ABC News"})]
        assert "Also reported by" in drone.content[0].value
    finally:
        service.close()


def test_restart_keeps_ids_and_bytes(demo_settings: Callable[[], Settings]) -> None:
    first = _run(demo_settings())
    ids = [e.id for e in _entries(first)]
    before = first.publisher.get("all.atom")
    first.close()
    second = _run(demo_settings())
    try:
        assert [e.id for e in _entries(second)] == ids
        after = second.publisher.get("all.atom")
        assert before is not None and after is not None
        assert after.content == before.content and after.etag == before.etag
        assert after.last_modified == before.last_modified
        assert second.store.counts() == {"copies": 13, "clusters": 9}
    finally:
        second.close()


def test_a_copy_seen_in_a_later_run_joins_the_existing_entry(tmp_path: Path) -> None:
    from feedsvc.settings import load_settings
    from tests.conftest import write_config

    config = write_config(tmp_path, pages=("daily8-putin-invites-trump.txt",))
    first = _run(load_settings(config, environ={}))
    drone_id = next(e.id for e in _entries(first) if e.title.startswith("A Ukrainian startup"))
    first.close()
    config = write_config(
        tmp_path, pages=("daily8-putin-invites-trump.txt", "daily8-ukraine-security-talks.txt")
    )
    second = _run(load_settings(config, environ={}))
    try:
        drone = next(e for e in _entries(second) if e.id == drone_id)
        assert {a.name for a in drone.authors} == {"NBC News", "AP News"}
        assert drone.updated_parsed >= drone.published_parsed
    finally:
        second.close()


def test_a_broken_source_keeps_the_last_good_feed(
    demo_settings: Callable[[], Settings], demo_config: Path
) -> None:
    service = _run(demo_settings())
    good = service.publisher.get("habba-ruling-reaction.atom")
    service.close()
    (demo_config.parent / "pages" / "daily8-habba-ruling-reaction.txt").write_text("", encoding="utf-8")
    service = _run(demo_settings())
    try:
        state = service.store.source_state("habba-ruling-reaction")
        assert state.failures == 1 and state.last_error is not None and "empty" in state.last_error
        assert service.publisher.get("habba-ruling-reaction.atom") == good
        assert len(_entries(service)) == 9
    finally:
        service.close()


def test_failures_back_off_and_honour_retry_after(demo_settings: Callable[[], Settings]) -> None:
    from dataclasses import replace as dc_replace
    from datetime import UTC, datetime, timedelta

    import httpx

    from feedsvc.fetch import Fetcher
    from feedsvc.models import Source

    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        return httpx.Response(503, headers={"Retry-After": "7200"}, text="busy")

    settings = demo_settings()
    remote = Source(name="remote", url="https://aggregator.example/page", interval=900)
    settings = dc_replace(settings, sources=(*settings.sources, remote))
    service = Service(settings, fetcher=Fetcher(transport=httpx.MockTransport(handler)))
    try:
        report = service.run_source(remote)
        assert not report.ok and report.error is not None and "503" in report.error
        state = service.store.source_state("remote")
        now = datetime.now(UTC)
        assert state.failures == 1 and state.backoff_until is not None
        assert state.backoff_until >= now + timedelta(seconds=7000)
        pages_before = calls.count("/page")
        skipped = service.run_source(remote)
        assert skipped.error is not None and "backing off" in skipped.error
        assert calls.count("/page") == pages_before  # no request while backing off
        assert service.run_source(remote, force=True).ok is False  # run-once still tries
        assert service.store.source_state("remote").failures == 2
        row = next(r for r in service.status() if r["source"] == "remote")
        assert row["backoff"].startswith("until") and "2 failures" in row["backoff"]
    finally:
        service.close()


def test_a_site_profile_from_the_config_file_is_used(tmp_path: Path) -> None:
    """What the README tells a user to write: a [sources.profile] table of CSS selectors."""
    import json
    import shutil

    from feedsvc.settings import load_settings
    from tests.conftest import DATA, write_config

    fixture = DATA / "pages" / "html-profile.html"
    expected = json.loads(fixture.with_suffix(".json").read_text(encoding="utf-8"))
    shutil.copy(fixture, tmp_path / "site.html")
    profile = "".join(f'{key} = "{value}"\n' for key, value in expected["profile"].items() if value)
    extra = f'[[sources]]\nname = "site"\nurl = "site.html"\n[sources.profile]\n{profile}'
    config = write_config(tmp_path, pages=("daily8-putin-invites-trump.txt",), extra=extra)
    service = _run(load_settings(config, environ={}))
    try:
        titles = {e.title for e in _entries(service, "site")}
        assert titles == {s["title"] for s in expected["stories"]}
    finally:
        service.close()


def test_signatures_are_stored_and_a_parameter_change_refingerprints_for_good(tmp_path: Path) -> None:
    import sqlite3
    from dataclasses import replace as dc_replace

    from feedsvc.settings import load_settings
    from tests.conftest import write_config

    def sig_sizes() -> set[int]:
        with sqlite3.connect(tmp_path / "db" / "feedsvc.db") as conn:
            return {len(row[0]) for row in conn.execute("SELECT body_sig FROM copies")}

    config = write_config(tmp_path, pages=("daily8-putin-invites-trump.txt",))
    settings = load_settings(config, environ={})
    first = _run(settings)
    first.close()
    assert sig_sizes() == {settings.dedup.num_perm * 4}

    changed = dc_replace(settings, dedup=dc_replace(settings.dedup, num_perm=32))
    second = Service(changed)
    assert second.ingestor.restore() == 4
    second.close()
    assert sig_sizes() == {32 * 4}  # written back, so the next start needs no re-fingerprinting

    config = write_config(
        tmp_path, pages=("daily8-putin-invites-trump.txt", "daily8-ukraine-security-talks.txt")
    )
    third = _run(dc_replace(load_settings(config, environ={}), dedup=changed.dedup))
    try:
        drone = next(e for e in _entries(third) if e.title.startswith("A Ukrainian startup"))
        assert {a.name for a in drone.authors} == {
            "NBC News",
            "AP News",
        }  # old story found after both restarts
    finally:
        third.close()


def test_an_unexpected_error_on_one_page_is_recorded_and_the_others_go_on(
    demo_settings: Callable[[], Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedsvc.service as service_module

    real_extract = service_module.extract_page

    def extract_page(page: Page, source: Source, max_bytes: int | None = None) -> Extraction:
        if source.name == "habba-ruling-reaction":
            raise UnicodeEncodeError(
                "utf-8", "\ud800", 0, 1, "surrogates not allowed"
            )  # a bug, not a FeedsvcError
        return real_extract(page, source, max_bytes)

    monkeypatch.setattr(service_module, "extract_page", extract_page)
    service = Service(demo_settings())
    service.start()
    try:
        reports = {r.source: r for r in service.run_once()}
        broken = reports["habba-ruling-reaction"]
        assert not broken.ok and broken.error is not None and "unexpected UnicodeEncodeError" in broken.error
        assert reports["putin-invites-trump"].ok and reports["ukraine-security-talks"].ok
        row = next(r for r in service.status() if r["source"] == "habba-ruling-reaction")
        assert "UnicodeEncodeError" in row["last error"] and row["last fetch"] != "never"
        assert service.store.source_state("habba-ruling-reaction").failures == 1
        assert service.metrics.fetches.labels("habba-ruling-reaction", "error")._value.get() == 1
        assert len(_entries(service)) == 6  # the other two pages' entries are served
    finally:
        service.close()


def test_readiness_waits_for_real_fetches_and_fails_when_feeds_cannot_be_written(
    demo_settings: Callable[[], Settings], demo_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import feedsvc.published as publish_module
    from feedsvc.cli import main

    service = Service(demo_settings())
    service.start()
    try:
        assert any("never fetched yet" in p for p in service.not_ready())
        service.run_once()
        assert service.not_ready() == []

        real_replace = publish_module.os.replace

        def disk_full(src: str, dst: str) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(publish_module.os, "replace", disk_full)
        (demo_config.parent / "pages" / "daily8-habba-ruling-reaction.txt").write_text(
            (demo_config.parent / "pages" / "daily8-ukraine-security-talks.txt").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
        service.run_once()
        problems = service.not_ready()
        assert problems and all("No space left on device" in p for p in problems)
        assert service.publisher.get("all.atom") is not None  # the last good bytes are still served
        monkeypatch.setattr(publish_module.os, "replace", real_replace)
        service.publish_feeds()
        assert service.not_ready() == []
    finally:
        service.close()

    monkeypatch.setattr(publish_module.os, "replace", disk_full)
    (demo_config.parent / "pages" / "daily8-habba-ruling-reaction.txt").write_text(
        (demo_config.parent / "pages" / "daily8-putin-invites-trump.txt").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert main(["run-once", "--config", str(demo_config)]) == 1  # not "feeds written", exit 0


def test_a_new_public_url_reaches_the_served_feeds_at_start_up(demo_settings: Callable[[], Settings]) -> None:
    from dataclasses import replace as dc_replace

    first = _run(demo_settings())
    before = first.publisher.get("all.atom")
    first.close()
    moved = dc_replace(demo_settings(), public_url="https://feeds.example.org")
    second = Service(moved)
    second.start()  # no fetch: the feeds are rebuilt from the store because the context changed
    try:
        after = second.publisher.get("all.atom")
        assert before is not None and after is not None and after.etag != before.etag
        assert after.last_modified > before.last_modified
        parsed = feedparser.parse(after.content)
        assert parsed.feed.links[0].href.startswith("https://feeds.example.org/")
        assert all(e.link.startswith("https://feeds.example.org/") for e in parsed.entries)
        assert [e.id for e in parsed.entries] == [e.id for e in feedparser.parse(before.content).entries]
    finally:
        second.close()


def test_the_start_after_a_run_that_named_its_sources_rebuilds_nothing(tmp_path: Path) -> None:
    """A page's title names its source's feed; the feeds built with it are noted under the fingerprint of
    what they were built with, so the next start finds none of them outdated (it rebuilt every one)."""
    import shutil

    from feedsvc.settings import load_settings
    from tests.conftest import DATA, write_config

    extra = '[[sources]]\nname = "fr"\nurl = "pages/fr.html"\ndate_order = "DMY"\n'
    config = write_config(tmp_path, extra, pages=("daily8-putin-invites-trump.txt",))
    shutil.copy(DATA / "pages" / "html-fr-aggregator.html", tmp_path / "pages" / "fr.html")
    first = _run(load_settings(config, environ={}))
    first.close()
    assert "fr" in first.store.source_titles()  # the page named its source (the feed's title changed)
    second = Service(load_settings(config, environ={}))
    try:
        assert second.publisher.load(second._fingerprint()) == 9  # what Service.start loads
        assert second._outdated() == []
    finally:
        second.close()


def test_a_run_whose_pages_are_all_unchanged_never_loads_the_dedup_index(
    demo_settings: Callable[[], Settings],
) -> None:
    """`run-once` starts without restoring the index: a run of 304s needs none (loading it and making the
    signer cost more than the run), and the first changed page loads it."""
    from datetime import UTC, datetime

    from feedsvc.fetch import Fetcher, Validators

    class Unchanged(Fetcher):
        def fetch(self, source: Source, validators: Validators | None = None) -> Page:
            now = datetime.now(UTC)
            return Page(source=source.name, url=source.url, content=b"", fetched_at=now, not_modified=True)

    _run(demo_settings()).close()
    service = Service(demo_settings(), fetcher=Unchanged())
    service.start(restore=False)
    try:
        reports = service.run_once()
        assert reports and all(r.ok and r.not_modified for r in reports)
        assert not service.ingestor.restored and service.ingestor._deduper is None
        source = service.settings.sources[0]
        service.fetcher.close()
        service.fetcher = Fetcher()
        assert service.run_source(source, force=True).stories  # a changed page: the index is loaded
        assert service.ingestor.restored and len(service.ingestor.deduper) == 13
        assert service.store.counts() == {"copies": 13, "clusters": 9}
    finally:
        service.close()


def test_ready_only_once_the_publisher_built_what_the_first_fetches_found(
    demo_settings: Callable[[], Settings],
) -> None:
    service = Service(demo_settings())
    service.start()
    try:
        assert service.lead() is not None  # the only process: it leads, and publishes (empty) feeds at once
        assert any("never fetched yet" in p for p in service.not_ready())
        for source in service.settings.sources:
            assert service.run_source(source, force=True).ok
        assert service.not_ready() == ["publishing what the first fetches found"]
        service.lead()
        assert service.not_ready() == []
        assert len(_entries(service)) == 9
    finally:
        service.close()


def test_a_run_renders_only_the_feeds_whose_entries_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import feedsvc.publish as publish_module
    from feedsvc.settings import load_settings
    from tests.conftest import write_config

    rendered: list[str] = []
    for ext, render in list(publish_module.RENDERERS.items()):

        def counted(spec, entries, ctx, language=None, shared=None, render=render, ext=ext):  # type: ignore[no-untyped-def]
            rendered.append(f"{spec.name}.{ext}")
            return render(spec, entries, ctx, language=language, shared=shared)

        monkeypatch.setitem(publish_module.RENDERERS, ext, counted)

    listing = Path(__file__).parent / "data" / "pages" / "text-listing-category.txt"
    extra = '[[sources]]\nname = "listing"\nurl = "pages/listing.txt"\ndate_order = "DMY"\n'
    config = write_config(tmp_path, extra, pages=("daily8-putin-invites-trump.txt",))
    page = tmp_path / "pages" / "listing.txt"
    page.write_text("", encoding="utf-8")  # no stories yet (the source fails)

    def run() -> dict[str, bytes]:
        rendered.clear()
        service = _run(load_settings(config, environ={}))
        try:
            return {n: f.content for n in service.publisher.names() if (f := service.publisher.get(n))}
        finally:
            service.close()

    first = run()
    assert sorted(rendered) == sorted(first) and len(first) == 9  # all, and one feed per source: 3 formats
    assert run() == first and rendered == []  # a new process, the same stories: nothing rendered
    page.write_bytes(listing.read_bytes())  # the listing's stories come: two of the three feeds change
    third = run()
    assert sorted(rendered) == sorted(f"{name}.{ext}" for name in ("all", "listing") for ext in RENDERERS)
    assert {n for n in third if third[n] != first[n]} == set(rendered)
    # What was kept is what a full build gives: rebuilt from the store alone, no feed changes.
    shutil.rmtree(tmp_path / "data" / "feeds")
    settings = load_settings(tmp_path / "feedsvc.toml", environ={})
    service = Service(settings)
    service.start()
    try:
        rendered.clear()
        assert service.publish_feeds() == 0 and len(rendered) == 9
        assert {n: f.content for n in service.publisher.names() if (f := service.publisher.get(n))} == third
    finally:
        service.close()


def test_a_claimed_run_keeps_its_source_on_the_schedule_grid(demo_settings: Callable[[], Settings]) -> None:
    # Each source's slot is claimed moments after it falls due, a fraction of a second into a second: the
    # next run is exactly one interval later (the run's start cut to the second once made it "that second
    # + interval", up to a second early, so a late first run could be followed by a fetch every 3 s).
    from datetime import UTC, datetime, timedelta

    service = Service(demo_settings())
    try:
        service.start()
        names = [s.name for s in service.settings.sources]
        slot = datetime.now(UTC)
        service.store.ensure_sources(dict.fromkeys(names, slot), {n: 900.0 for n in names})
        claims = service.claim(len(names))
        assert sorted(c.source for c in claims) == sorted(names)
        for claim in claims:
            assert service.run_claimed(claim).ok
            assert claim.scheduled is not None
            assert service.store.source_state(claim.source).next_run == claim.scheduled + timedelta(
                seconds=900
            )
    finally:
        service.close()


def _stored_sources(service: Service) -> dict[str, int]:
    """Copies stored per source."""
    counts: dict[str, int] = {}
    for cluster in service.store.recent_clusters(limit=1000):
        for copy in cluster.copies:
            counts[copy.source or ""] = counts.get(copy.source or "", 0) + 1
    return counts


def _embedded(tmp_path: Path) -> Settings:
    """The demo on SQLite: where run_once batches its pages' decisions."""
    from feedsvc.settings import load_settings
    from tests.conftest import write_config

    return load_settings(write_config(tmp_path), environ={})


def test_a_page_that_fails_in_a_runs_batch_takes_back_only_its_own_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedsvc.service as service_module

    monkeypatch.setattr(service_module, "_BATCH_SECONDS", 3600.0)  # the three pages in one transaction
    service = Service(_embedded(tmp_path))
    service.start()
    service.ingestor.ready()  # the index restored (one decision) before the counting starts
    real_apply = service.store.apply
    transactions = []
    real_begin = service.store.decision

    def decision(*args: object, **kwargs: object) -> object:
        transactions.append(1)
        return real_begin(*args, **kwargs)  # type: ignore[arg-type]

    def apply(**kwargs: object) -> int:
        seq = real_apply(**kwargs)  # written, then the page fails: its savepoint takes the writes back
        if any(c.copy.source == "ukraine-security-talks" for c in kwargs["new_copies"]):  # type: ignore[attr-defined]
            raise RuntimeError("a bug met on this page")
        return seq

    monkeypatch.setattr(service.store, "apply", apply)
    monkeypatch.setattr(service.store, "decision", decision)
    try:
        reports = {r.source: r for r in service.run_once()}
        assert not reports["ukraine-security-talks"].ok
        assert reports["putin-invites-trump"].ok and reports["habba-ruling-reaction"].ok
        assert len(transactions) == 2  # one for the three pages' decisions, one for the prune
        stored = _stored_sources(service)
        assert set(stored) == {"putin-invites-trump", "habba-ruling-reaction"}  # before and after it
        monkeypatch.setattr(service.store, "apply", real_apply)
        assert all(r.ok for r in service.run_once())  # the failed page again, the others add nothing
        assert _stored_sources(service) == stored | {"ukraine-security-talks": 4}
        assert len(_entries(service)) == 9  # as a clean run (test_demo_pages_merge_syndicated_copies)
    finally:
        service.close()


def test_a_batch_that_cannot_be_committed_leaves_its_pages_to_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedsvc.ingest as ingest_module
    import feedsvc.service as service_module
    from feedsvc.errors import StoreError

    monkeypatch.setattr(service_module, "_BATCH_SECONDS", 3600.0)
    real_commit = ingest_module._Batch.commit

    def commit(self: ingest_module._Batch) -> None:  # as a commit the database refuses: nothing stored
        self.close(failed=True)
        raise StoreError("store write failed: disk I/O error")

    monkeypatch.setattr(ingest_module._Batch, "commit", commit)
    service = Service(_embedded(tmp_path))
    service.start()
    try:
        reports = service.run_once()
        assert [r.ok for r in reports] == [False, False, False]
        assert all(r.error and "not stored" in r.error and "disk I/O" in r.error for r in reports)
        assert _stored_sources(service) == {} and not service.ingestor.cluster_of  # index rebuilt
        assert all(s.last_fetch is None for s in service.source_states().values())  # fetched again
        monkeypatch.setattr(ingest_module._Batch, "commit", real_commit)
        assert all(r.ok and r.stories for r in service.run_once())
        assert len(_entries(service)) == 9
    finally:
        service.close()
