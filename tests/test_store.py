"""The store on SQLite and PostgreSQL: writes where two writers meet never fail, text is bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from feedsvc.ingest import Ingestor
from feedsvc.models import Story
from feedsvc.settings import DedupSettings
from feedsvc.store import SourceState, Store

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
