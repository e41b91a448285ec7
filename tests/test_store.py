"""The store on SQLite and PostgreSQL: writes where two writers meet never fail, text is bounded."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from feedsvc.ingest import Ingestor
from feedsvc.models import Feed, Story
from feedsvc.settings import DedupSettings
from feedsvc.store import LeaseLost, SourceState, Store

NOW = datetime(2025, 8, 19, 12, 0, tzinfo=UTC)
BODY = (
    "The city council voted on Tuesday to rebuild the old river bridge with a wider footpath and two "
    "protected cycle lanes, after a year of public meetings about the crossing and its traffic.",
    "Work is planned to start next spring and to last about eighteen months, the council said.",
)


def _story(title: str = "Council votes to rebuild the river bridge", **kw: object) -> Story:
    fields: dict[str, object] = {
        "title": title,
        "outlet": "Riverside Courier",
        "published": NOW,
        "published_text": "2 hours ago",
        "body": BODY,
        "url": "https://courier.example/bridge",
        "category": "Local",
        "source": "local",
    }
    fields.update(kw)
    return Story(**fields)  # type: ignore[arg-type]


def _ingestor(store: Store) -> Ingestor:
    ingestor = Ingestor(store, DedupSettings(), retention_days=3650, clock=lambda: NOW)
    ingestor.restore()
    return ingestor


def test_meta_blobs_and_sources_are_upserts(database_url: str) -> None:
    store = Store(database_url)
    try:
        assert store.set_meta_default("k", "first") == "first"
        assert store.set_meta_default("k", "second") == "first"
        store.set_meta("k", "third")
        store.set_meta("k", "fourth")
        assert store.get_meta("k") == "fourth"
        store.save_blob("b", b"1")
        store.save_blob("b", b"22")
        assert store.get_blob("b") == b"22"
        store.save_source_state(SourceState(name="s", stories=1))
        store.save_source_state(SourceState(name="s", stories=2, last_error="x" * 5000))
        assert store.source_state("s").stories == 2
    finally:
        store.close()


def test_over_long_outlet_and_category_are_cut_to_their_columns(database_url: str) -> None:
    store = Store(database_url)
    try:
        result = _ingestor(store).ingest([_story(outlet="O" * 450, category="C" * 300)])
        assert result.new_copies == 1
        (copy,) = next(iter(store.copies_of(result.changed).values()))
        assert copy.outlet == "O" * 200 and copy.category == "C" * 200
    finally:
        store.close()


def test_two_writers_storing_the_same_page_do_not_fail(database_url: str) -> None:
    """Two ingestors that both believe a copy is new (each has its own index) write it twice: the second
    write is absorbed, not a unique-key violation that fails the page."""
    store = Store(database_url)
    try:
        first, second = _ingestor(store), _ingestor(store)
        story = _story()
        assert first.ingest([story]).new_copies == 1
        assert second.ingest([story]).new_copies == 0  # the store knows the key: seen, not new
        assert store.counts() == {"copies": 1, "clusters": 1}
    finally:
        store.close()


def _schedule(store: Store, names: list[str], at: datetime) -> None:
    store.ensure_sources(dict.fromkeys(names, at), dict.fromkeys(names, 60.0))


def test_claims_lease_each_due_source_to_one_worker(database_url: str) -> None:
    store = Store(database_url)
    try:
        names = [f"s{i}" for i in range(5)]
        _schedule(store, names, NOW)
        _schedule(store, names, NOW + timedelta(hours=1))  # idempotent: a second worker starting
        assert store.claim_due("a", names, NOW - timedelta(seconds=1), 30, 10) == []  # nothing due yet
        first = store.claim_due("a", names, NOW, 30, 3)
        second = store.claim_due("b", names, NOW, 30, 10)
        assert len(first) == 3 and len(second) == 2
        assert {c.source for c in first}.isdisjoint(c.source for c in second)
        assert store.claim_due("c", names, NOW + timedelta(seconds=29), 30, 10) == []  # all leased
    finally:
        store.close()


def test_an_expired_lease_is_taken_over_and_can_no_longer_write(database_url: str) -> None:
    store = Store(database_url)
    try:
        _schedule(store, ["s"], NOW)
        (dead,) = store.claim_due("dead", ["s"], NOW, 30, 1)
        (alive,) = store.claim_due("alive", ["s"], NOW + timedelta(seconds=31), 30, 1)
        assert dead.token != alive.token
        assert not store.finish(dead, SourceState(name="s", stories=99))  # fenced: nothing written
        assert store.source_state("s").stories == 0
        assert store.finish(alive, SourceState(name="s", stories=3, next_run=NOW + timedelta(minutes=1)))
        assert store.source_state("s").stories == 3
        # released: due again at its next run, not before
        assert store.claim_due("x", ["s"], NOW + timedelta(seconds=59), 30, 1) == []
        assert len(store.claim_due("x", ["s"], NOW + timedelta(seconds=61), 30, 1)) == 1
    finally:
        store.close()


def test_a_page_is_not_written_under_a_lost_lease(database_url: str) -> None:
    store = Store(database_url)
    try:
        now = datetime.now(UTC)
        _schedule(store, ["local"], now)
        (lost,) = store.claim_due("dead", ["local"], now, 0.001, 1)
        with pytest.raises(LeaseLost):
            _ingestor(store).ingest([_story()], lease=lost)
        assert store.counts() == {"copies": 0, "clusters": 0}
        (held,) = store.claim_due("alive", ["local"], datetime.now(UTC), 60, 1)
        assert _ingestor(store).ingest([_story()], lease=held).new_copies == 1
    finally:
        store.close()


def test_host_locks_exclude_each_other_across_connections(database_url: str) -> None:
    store, other = Store(database_url), Store(database_url)
    try:
        order: list[str] = []
        inside = threading.Event()

        def second() -> None:
            inside.wait(60)
            with other.host_lock("news.example"):
                order.append("second")

        thread = threading.Thread(target=second)
        with store.host_lock("news.example"):
            thread.start()
            inside.set()
            if store.engine.dialect.name == "postgresql":
                # the other process's request waits for ours: give it the chance to jump the queue
                thread.join(0.5)
                assert thread.is_alive()
            order.append("first")
        thread.join(60)
        if store.engine.dialect.name == "postgresql":
            assert order == ["first", "second"]
        with store.host_lock("news.example"), other.host_lock("other.example"):
            pass  # different hosts never wait for each other
    finally:
        store.close()
        other.close()


def test_stored_feeds_keep_validators_for_the_same_bytes_and_move_forward_otherwise(
    database_url: str,
) -> None:
    store = Store(database_url)
    try:
        first = store.put_feed(Feed("all.atom", "application/atom+xml", b"<a/>", '"1"', NOW), "fp")
        same = store.put_feed(
            Feed("all.atom", "application/atom+xml", b"<a/>", '"1"', NOW + timedelta(1)), "fp"
        )
        assert same == first
        changed = store.put_feed(Feed("all.atom", "application/atom+xml", b"<b/>", '"2"', NOW), "fp")
        assert changed.last_modified == NOW + timedelta(seconds=1)  # strictly later, even from a slow clock
        assert store.feed_versions() == {"all.atom": ('"2"', changed.last_modified)}
        ((stored, fingerprint),) = store.feeds(["all.atom"])
        assert stored == changed and fingerprint == "fp"
    finally:
        store.close()


def test_one_publisher_at_a_time_and_a_standby_takes_over(database_url: str) -> None:
    leader, standby = Store(database_url), Store(database_url)
    try:
        assert leader.try_lead()
        if leader.embedded:
            return  # one process: it always leads
        assert leader.try_lead()  # still leading
        assert not standby.try_lead()
        leader.close()  # a clean stop (a killed one's session ends the same way)
        assert standby.try_lead()
    finally:
        standby.close()
        leader.close()


def test_a_renewed_lease_outlives_its_first_expiry_and_a_lost_one_is_reported(database_url: str) -> None:
    store = Store(database_url)
    try:
        _schedule(store, ["long", "lost"], NOW)
        claims = store.claim_due("a", ["long", "lost"], NOW, 30, 2)
        assert store.renew(claims, NOW + timedelta(seconds=20), 30) == []  # held until 50 s now
        assert store.claim_due("b", ["long", "lost"], NOW + timedelta(seconds=40), 30, 2) == []
        (taken,) = store.claim_due("b", ["lost"], NOW + timedelta(seconds=51), 30, 1)  # a stopped renewing
        assert store.renew(claims, NOW + timedelta(seconds=55), 30) == ["lost"]
        (long_run,) = [c for c in claims if c.source == "long"]
        assert store.finish(long_run, SourceState(name="long", stories=1))
        assert store.finish(taken, SourceState(name="lost", stories=2))
        assert not store.finish(next(c for c in claims if c.source == "lost"), SourceState(name="lost"))
        assert store.source_state("lost").stories == 2
    finally:
        store.close()


def test_feeds_and_source_states_are_stored_in_one_go(database_url: str) -> None:
    store = Store(database_url)
    try:
        store.put_feed(Feed("all.atom", "application/atom+xml", b"<a/>", '"1"', NOW), "fp")
        stored = store.put_feeds(
            [
                (Feed("x.atom", "application/atom+xml", b"<x/>", '"x"', NOW), "fp"),
                (Feed("all.atom", "application/atom+xml", b"<b/>", '"2"', NOW), "fp2"),
                (Feed("all.rss", "application/rss+xml", b"<r/>", '"r"', NOW), None),
            ]
        )
        assert [f.name for f in stored] == ["x.atom", "all.atom", "all.rss"]  # in the order given
        assert stored[1].last_modified == NOW + timedelta(seconds=1)  # changed: strictly later
        assert store.feed_versions() == {f.name: (f.etag, f.last_modified) for f in stored}
        assert dict((f.name, fp) for f, fp in store.feeds(["all.atom", "all.rss"])) == {
            "all.atom": "fp2",
            "all.rss": None,
        }
        states = [SourceState(name=f"s{i}", etag=f'"{i}"', failures=i, last_fetch=NOW) for i in range(3)]
        store.save_source_states(states)
        store.save_source_states([SourceState(name="s1", etag='"new"')])  # an upsert, every column
        assert store.all_source_states() == {
            "s0": states[0],
            "s1": SourceState(name="s1", etag='"new"'),
            "s2": states[2],
        }
        assert store.source_state("s2") == states[2] and store.source_state("nope") == SourceState("nope")
    finally:
        store.close()
