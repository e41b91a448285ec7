"""Dedup across workers: several Ingestors on one store decide one at a time and see each other's copies."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import event

from feedsvc.dedup import Deduper
from feedsvc.ingest import Ingestor, choose_canonical, content_hash
from feedsvc.models import Story
from feedsvc.settings import DedupSettings
from feedsvc.store import ClusterState, Store

NOW = datetime(2025, 8, 19, 12, 0, tzinfo=UTC)
WORDS = [
    "council",
    "bridge",
    "river",
    "vote",
    "budget",
    "school",
    "harbour",
    "train",
    "station",
    "mayor",
    "district",
    "farmers",
    "market",
    "storm",
    "hospital",
    "nurses",
    "strike",
    "museum",
    "library",
    "festival",
    "court",
    "ruling",
    "appeal",
    "minister",
    "talks",
    "border",
    "drone",
    "startup",
    "factory",
    "wages",
    "union",
    "airport",
    "runway",
    "ferry",
    "election",
    "ballot",
    "senator",
    "police",
    "inquiry",
    "report",
    "village",
    "flood",
    "dam",
    "rainfall",
    "drought",
    "wildfire",
    "forest",
    "park",
    "rangers",
    "tourists",
    "hotel",
]
FOOTER = "Sign up for our morning newsletter to get the day's top stories in your inbox every weekday."


def _body(rng: random.Random, n: int = 90) -> tuple[str, ...]:
    words = [rng.choice(WORDS) for _ in range(n)]
    half = n // 2
    return (" ".join(words[:half]).capitalize() + ".", " ".join(words[half:]).capitalize() + ".", FOOTER)


def _stories(count: int, seed: int = 7) -> list[tuple[str, tuple[str, ...]]]:
    rng = random.Random(seed)
    return [(f"Story {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}", _body(rng)) for i in range(count)]


def _copy(title: str, body: tuple[str, ...], outlet: str, source: str) -> Story:
    slug = title.split(":")[0].replace(" ", "-").lower()
    return Story(
        title=title,
        outlet=outlet,
        published=NOW,
        published_text="1 hour ago",
        body=body,
        url=f"https://{outlet.lower().replace(' ', '')}.example/{slug}",
        source=source,
    )


def _ingestor(store: Store) -> Ingestor:
    ingestor = Ingestor(store, DedupSettings(), retention_days=3650, clock=lambda: NOW)
    ingestor.restore()
    return ingestor


def _partition(store: Store) -> set[frozenset[str]]:
    clusters = store.recent_clusters(limit=10_000)
    return {frozenset(c.key for c in cluster.copies) for cluster in clusters}


def test_a_worker_sees_the_copies_another_stored_after_it_started(database_url: str) -> None:
    store = Store(database_url)
    try:
        first, second = _ingestor(store), _ingestor(store)  # both started on an empty store
        (title, body), (other, other_body) = _stories(2)
        assert first.ingest([_copy(title, body, "Wire Service", "a")]).new_clusters == 1
        joined = second.ingest([_copy(title, body, "City Paper", "b"), _copy(other, other_body, "X", "b")])
        assert joined.joined == 1 and joined.new_clusters == 1
        assert store.counts() == {"copies": 3, "clusters": 2}
        assert len(second.deduper) == 3  # caught up with the first worker's copy
    finally:
        store.close()


def test_boilerplate_counts_are_the_same_in_every_worker_and_after_a_restart(database_url: str) -> None:
    store = Store(database_url)
    try:
        workers = [_ingestor(store) for _ in range(3)]
        for i, (title, body) in enumerate(_stories(30)):
            workers[i % 3].ingest([_copy(title, body, f"Outlet {i}", f"s{i % 3}")])
        for worker in workers:
            worker.flush()  # caught up, and the newest counts saved
        counts = [w.deduper.boilerplate for w in workers]
        assert all(c.added == 30 for c in counts)
        assert all(np.array_equal(c.counts, counts[0].counts) for c in counts)
        restarted = _ingestor(store)
        assert np.array_equal(restarted.deduper.boilerplate.counts, counts[0].counts)
        # the shared footer is boilerplate by now, for everyone
        footer = workers[0].deduper.fingerprint("x", FOOTER).shingles
        for worker in [*workers, restarted]:
            assert (worker.deduper.boilerplate.frequency(footer) >= 5).all()
    finally:
        store.close()


def test_boilerplate_counts_a_crash_lost_are_replayed_from_the_stored_copies(database_url: str) -> None:
    """Decisions do not write the counter (megabytes): it is saved minutes after start and on a clean
    stop. An index restored after a crash (no flush) counts the clusters started since from the store."""
    store = Store(database_url)
    try:
        worker = _ingestor(store)
        for i, (title, body) in enumerate(_stories(12)):
            worker.ingest([_copy(title, body, f"Outlet {i}", f"s{i}")])
        assert store.get_blob("boilerplate") is None
        restarted = _ingestor(store)
        assert restarted.deduper.boilerplate.added == worker.deduper.boilerplate.added == 12
        assert np.array_equal(restarted.deduper.boilerplate.counts, worker.deduper.boilerplate.counts)
    finally:
        store.close()


def test_concurrent_workers_cluster_like_one_process(database_url: str, tmp_path: Path) -> None:
    """Four workers ingest pages that carry copies of the same stories at the same moment: every copy of a
    story ends in one cluster, as one process clusters them."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several writing processes need PostgreSQL; SQLite runs one process")
    stories = _stories(24, seed=11)
    pages = []
    for w in range(4):
        rng = random.Random(w)
        picked = rng.sample(stories, 12)
        pages.append([_copy(t, b, f"Outlet {w}", f"site{w}") for t, b in picked])

    store = Store(database_url)
    try:
        workers = [_ingestor(store) for _ in range(4)]
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def run(i: int) -> None:
            try:
                barrier.wait(60)
                for start in range(0, 12, 3):  # several pages each, interleaving with the others
                    workers[i].ingest(pages[i][start : start + 3])
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        shared = _partition(store)
    finally:
        store.close()

    alone = Store(f"sqlite:///{tmp_path}/alone.db")
    try:
        one = _ingestor(alone)
        for i in range(4):
            for start in range(0, 12, 3):
                one.ingest(pages[i][start : start + 3])
        assert _partition(alone) == shared
        assert len(shared) == len({t for page in pages for t in (s.title for s in page)})
    finally:
        alone.close()


@pytest.mark.parametrize("name", ["feedsvc-0.1.db", "feedsvc-pre-signatures.db"])
def test_a_store_of_an_earlier_release_is_numbered_and_its_stories_still_match(
    tmp_path: Path, name: str
) -> None:
    import shutil
    import sqlite3

    from tests.conftest import DATA

    path = tmp_path / name
    shutil.copy(DATA / "legacy" / name, path)
    store = Store(f"sqlite:///{path}")
    try:
        with sqlite3.connect(path) as raw:
            seqs = [row[0] for row in raw.execute("SELECT seq FROM copies ORDER BY seq")]
            title, body, cluster = raw.execute(
                "SELECT title, body, cluster_id FROM copies ORDER BY first_seen LIMIT 1"
            ).fetchone()
        assert seqs == list(range(1, len(seqs) + 1))
        worker = _ingestor(store)
        assert worker.seq == len(seqs) and len(worker.deduper) == len(seqs)
        copy = _copy(title, tuple(json.loads(body)), "Another Outlet", "elsewhere")
        assert worker.ingest([copy]).joined == 1
        joined = {c.cluster_id for c in [*store.index_rows(changed_after=len(seqs))]}
        assert joined == {cluster}
    finally:
        store.close()


class _Statements:
    """Counts the statements a store runs while this thread holds its decision lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.count = 0
        event.listen(store.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        if self.store.in_decision:
            self.count += 1

    def during(self, call: Callable[[], object]) -> int:
        before = self.count
        call()
        return self.count - before


def test_a_decision_runs_the_same_few_statements_however_many_stories_a_page_has(database_url: str) -> None:
    """Under the decision lock a page costs one catch-up read, one read of the clusters it changes and
    its writes, in one statement each, not one query per story: the lock is held as briefly as possible."""
    stories = _stories(40, seed=3)
    store = Store(database_url)
    try:
        worker, other = _ingestor(store), _ingestor(store)
        count = _Statements(store)
        counts = {
            # 40 new clusters (the boilerplate counts are not saved by a decision: due minutes later)
            "new": count.during(lambda: worker.ingest([_copy(t, b, "Wire", "a") for t, b in stories])),
            # another worker: 40 copies that join 40 clusters it learns of in the same catch-up read
            "joined": count.during(lambda: other.ingest([_copy(t, b, "Paper", "b") for t, b in stories])),
            # the first page again: 40 copies seen, none new
            "seen": count.during(lambda: worker.ingest([_copy(t, b, "Wire", "a") for t, b in stories])),
            "small": count.during(
                lambda: worker.ingest([_copy(t, b, "Gazette", "c") for t, b in stories[:2]])
            ),
        }
        assert counts["joined"] <= 5, counts  # catch up, clusters, clusters upsert, copies, sequence
        assert counts["seen"] <= 5, counts
        assert counts["new"] <= 5, counts  # catch up, clusters, copies, sequence (and the lock on PostgreSQL)
        assert counts["joined"] == counts["small"], counts  # the page's size does not matter
        assert store.counts() == {"copies": 82, "clusters": 40}
    finally:
        store.close()


def _stored_seqs(store: Store) -> dict[str, tuple[int, datetime]]:
    """Each stored copy's (sequence number, last sighting), by key."""
    from sqlalchemy import select

    from feedsvc.store import copies

    with store.engine.connect() as conn:
        rows = conn.execute(select(copies.c.key, copies.c.seq, copies.c.last_seen)).all()
    return {row.key: (row.seq, row.last_seen.replace(tzinfo=UTC)) for row in rows}


def test_a_batch_writes_the_sequence_and_last_sightings_once_and_a_failed_page_leaves_them_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decisions sharing a transaction (the embedded store's run) write the copy sequence number and the
    last sightings once, before the commit, not once per page; a page that fails in between takes back
    its own, and the pages after it number their copies on from where the store stands."""
    store = Store(f"sqlite:///{tmp_path}/feedsvc.db")
    clock = [NOW]
    ingestor = Ingestor(store, DedupSettings(), retention_days=3650, clock=lambda: clock[0])
    ingestor.restore()
    stories = _stories(10, seed=11)
    page = {
        name: [_copy(t, b, f"Outlet {name}", name) for t, b in stories[i : i + 2]]
        for name, i in (("a", 0), ("b", 2), ("c", 4), ("d", 6), ("e", 8))
    }
    sql: list[str] = []  # each statement with its parameters
    event.listen(store.engine, "before_cursor_execute", lambda *args: sql.append(f"{args[2]} {args[3]}"))
    try:
        with ingestor.batched():
            for name in "ab":
                ingestor.ingest(page[name])
            clock[0] = NOW + timedelta(hours=1)
            ingestor.ingest(page["a"])  # seen again, nothing new
        meta = [s for s in sql if s.startswith("INSERT INTO meta") and "copy_seq" in s]
        seen = [s for s in sql if s.startswith("UPDATE copies SET last_seen")]
        assert len(meta) == 1 and len(seen) == 1, sql
        assert store.change_seq() == 4
        stored = _stored_seqs(store)
        assert sorted(seq for seq, _ in stored.values()) == [1, 2, 3, 4]
        later = {k for k, (_, when) in stored.items() if when == NOW + timedelta(hours=1)}
        assert later == {k for k, (seq, _) in stored.items() if seq in (1, 2)}  # page a's, seen again

        real_apply = store.apply

        def failing(**kwargs: object) -> int:
            real_apply(**kwargs)  # written, then the page fails: its savepoint takes them back
            raise RuntimeError("a bug met on this page")

        clock[0] = NOW + timedelta(hours=2)
        with ingestor.batched():
            ingestor.ingest(page["b"])  # seen again
            ingestor.ingest(page["c"])  # copies 5 and 6: deferred, written before the failed page's restore
            monkeypatch.setattr(store, "apply", failing)
            with pytest.raises(RuntimeError):
                ingestor.ingest([*page["a"], *page["d"]])
            monkeypatch.setattr(store, "apply", real_apply)
            assert ingestor.seq == 6  # rebuilt from the batch's transaction: the failed page is not in it
            ingestor.ingest(page["e"])
        stored = _stored_seqs(store)
        assert store.change_seq() == 8 and sorted(seq for seq, _ in stored.values()) == list(range(1, 9))
        assert {k for k, (_, when) in stored.items() if when == NOW + timedelta(hours=2)} == {
            k for k, (seq, _) in stored.items() if seq > 2
        }  # pages b, c and e; page a's copies were seen only by the page that failed
        assert Ingestor(store, DedupSettings(), retention_days=3650).restore() == 8
    finally:
        store.close()


def test_a_prune_by_another_worker_is_learnt_before_the_next_decision(database_url: str) -> None:
    """A worker whose index still holds copies another worker pruned starts a new cluster for a copy of
    them (it never joins a cluster that is gone), and re-reads a page it looked up before the prune."""
    (title, body), (other, other_body) = _stories(2, seed=5)
    store = Store(database_url)
    try:
        pruner, worker = _ingestor(store), _ingestor(store)
        pruner.ingest([_copy(title, body, "Wire", "a")])
        worker.ingest([_copy(other, other_body, "Paper", "b")])  # caught up: its index holds the wire copy
        prepared = worker.prepare([_copy(other, other_body, "Paper", "b")])  # looked up: stored
        assert prepared.lookup.clusters
        assert pruner.prune(NOW + timedelta(days=1)) == 2  # both copies, past their last sighting
        again = worker.ingest(prepared)
        assert (again.new_copies, again.new_clusters) == (1, 1)  # stored anew, not counted as seen
        copy = worker.ingest([_copy(title, body, "City Paper", "c")])
        assert (copy.new_clusters, copy.joined) == (1, 0)
        assert store.counts() == {"copies": 2, "clusters": 2}
        assert all(c.copies for c in store.recent_clusters(limit=10))
    finally:
        store.close()


def test_a_prune_before_the_index_is_loaded_leaves_it_unloaded_and_the_next_load_agrees(
    database_url: str,
) -> None:
    """An index nothing has used yet (a run whose pages were all unchanged) is not loaded for a prune: the
    store is pruned alone, no dedup index is made, and the index loaded later holds what is left."""
    (title, body), (other, other_body) = _stories(2, seed=5)
    store = Store(database_url)
    try:
        _ingestor(store).ingest([_copy(title, body, "Wire", "a")])
        later = Ingestor(store, DedupSettings(), retention_days=3650, clock=lambda: NOW + timedelta(days=2))
        later.ingest([_copy(other, other_body, "Paper", "b")])
        idle = Ingestor(store, DedupSettings(), retention_days=3650, clock=lambda: NOW)
        assert idle.prune(NOW + timedelta(days=1)) == 1  # the wire copy, past its last sighting
        assert not idle.restored and idle._deduper is None
        assert store.counts() == {"copies": 1, "clusters": 1}
        copy = idle.ingest([_copy(title, body, "City Paper", "c")])  # loads the index: the wire copy is gone
        assert idle.restored and len(idle.deduper) == 2
        assert (copy.new_clusters, copy.joined) == (1, 0)
    finally:
        store.close()


def test_a_copy_stored_after_the_page_was_looked_up_is_seen_not_stored_twice(database_url: str) -> None:
    """Two runs of one source without leases (their lookups both find nothing): the later decision sees
    the copy the earlier one stored and leaves no empty cluster behind."""
    (title, body), _ = _stories(2, seed=9)
    store = Store(database_url)
    try:
        first, second = _ingestor(store), _ingestor(store)
        early = second.prepare([_copy(title, body, "Wire", "a")])
        assert first.ingest([_copy(title, body, "Wire", "a")]).new_copies == 1
        late = second.ingest(early)
        assert (late.new_copies, late.new_clusters) == (0, 0)
        assert store.counts() == {"copies": 1, "clusters": 1}
    finally:
        store.close()


def test_an_index_built_before_the_database_server_restarted_is_rebuilt(database_url: str) -> None:
    """Decisions commit without waiting for the disk (a server crash may lose the last ones): an index
    that sees another server start time than the one it was built from rebuilds itself before deciding."""
    (title, body), (other, other_body) = _stories(2, seed=13)
    store = Store(database_url)
    try:
        worker = _ingestor(store)
        worker.ingest([_copy(title, body, "Wire", "a")])
        prepared = worker.prepare([_copy(title, body, "Paper", "b")])
        worker.server, built = "a server that has since restarted", worker.generation
        worker.deduper = Deduper(DedupSettings())  # what the rebuild must bring back
        result = worker.ingest(prepared)
        assert worker.generation == built + 1 and worker.server != "a server that has since restarted"
        assert (result.joined, result.new_clusters) == (1, 0)
        assert worker.ingest([_copy(other, other_body, "Wire", "a")]).new_clusters == 1
        assert store.counts() == {"copies": 3, "clusters": 2}
    finally:
        store.close()


def test_a_cluster_another_worker_changes_while_a_decision_waits_is_read_again(database_url: str) -> None:
    """A worker reads the clusters a page will likely change before taking the lock; one that another
    worker's decision changed meanwhile is read again under the lock, so the stored entry covers every
    copy."""
    [(title, body)] = _stories(1, seed=17)
    store = Store(database_url)
    try:
        first, other = _ingestor(store), _ingestor(store)
        other.ingest([_copy(title, body, "Wire", "w")])
        read = store.cluster_states
        meddled: list[int] = []

        def meddle(ids: Sequence[str]) -> dict[str, ClusterState]:
            states = read(ids)
            if ids and not store.in_decision and not meddled:  # read ahead: another decision now
                meddled.append(0)
                meddled[0] = other.ingest([_copy(title, body, "Gazette", "g")]).joined
            return states

        store.cluster_states = meddle  # type: ignore[method-assign]
        assert first.ingest([_copy(title, body, "City Paper", "c")]).joined == 1
        store.cluster_states = read  # type: ignore[method-assign]
        [cluster] = store.recent_clusters(limit=10)
        assert len(cluster.copies) == 2 + len(meddled)
        members = list(cluster.copies)
        stored = store.cluster_states([cluster.id])[cluster.id].row
        assert stored is not None
        assert stored.content_hash == content_hash(choose_canonical(members), members)
        if not store.embedded:  # (SQLite has one worker: nothing is read ahead)
            assert meddled == [1]
    finally:
        store.close()
