"""Dedup across workers: several Ingestors on one store decide one at a time and see each other's copies."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from feedsvc.ingest import Ingestor
from feedsvc.models import Story
from feedsvc.settings import DedupSettings
from feedsvc.store import Store

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
                barrier.wait(10)
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
