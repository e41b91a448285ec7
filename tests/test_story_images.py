"""Pictures through the pipeline: story -> copy -> store -> the cluster's image; page titles per source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedsvc.ingest import Ingestor, content_hash
from feedsvc.models import Copy, Story, cluster_image
from feedsvc.settings import DedupSettings
from feedsvc.store import IMAGE_URL_MAX, SourceState, Store
from tests import pg

NOW = datetime(2025, 8, 19, 12, 0, tzinfo=UTC)
BODY = (
    "The city council voted on Tuesday to rebuild the old river bridge with a wider footpath and two "
    "protected cycle lanes, after a year of public meetings about the crossing and its traffic.",
    "Work is planned to start next spring and to last about eighteen months, the council said.",
)
PHOTO = "https://img.courier.example/2025/08/bridge-1200.jpg"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Both engines, as for the store's own tests (PostgreSQL: a fresh database)."""
    if request.param == "postgresql":
        yield from pg.fresh_database()
    else:
        yield f"sqlite:///{tmp_path}/db/feedsvc.db"


def _story(outlet: str = "Riverside Courier", image: str | None = PHOTO, **kw: object) -> Story:
    slug = outlet.lower().replace(" ", "")
    fields: dict[str, object] = {
        "title": "Council votes to rebuild the river bridge",
        "outlet": outlet,
        "published": NOW,
        "published_text": "2 hours ago",
        "body": BODY,
        "url": f"https://{slug}.example/bridge",
        "source": "local",
        "image": image,
    }
    fields.update(kw)
    return Story(**fields)  # type: ignore[arg-type]


def _ingestor(store: Store, clock: list[datetime] | None = None) -> Ingestor:
    times = clock or [NOW]
    ingestor = Ingestor(store, DedupSettings(), retention_days=3650, clock=lambda: times[0])
    ingestor.restore()
    return ingestor


def _copy(key: str, image: str | None, published: datetime | None, seen: int = 0) -> Copy:
    return Copy(
        key=key,
        title="t",
        outlet=key,
        url=None,
        published=published,
        body=("b",),
        category=None,
        source="s",
        first_seen=NOW + timedelta(minutes=seen),
        image=image,
    )


def test_the_clusters_image_is_the_canonical_copys_else_the_earliest_that_has_one() -> None:
    early, late = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    canonical = _copy("c", None, late)
    copies = [canonical, _copy("b", "https://i/b.jpg", late), _copy("a", "https://i/a.jpg", early)]
    assert cluster_image(canonical, copies) == "https://i/a.jpg"
    assert cluster_image(replace(canonical, image="https://i/c.jpg"), copies) == "https://i/c.jpg"
    undated = [canonical, _copy("x", "https://i/x.jpg", None, seen=1), _copy("y", "https://i/y.jpg", None)]
    assert cluster_image(canonical, undated) == "https://i/y.jpg"  # no page-given time: first seen
    assert cluster_image(canonical, [canonical]) is None


def test_an_image_changes_the_content_hash_only_when_there_is_one() -> None:
    plain = _copy("c", None, NOW)
    before = content_hash(plain, [plain])
    pictured = replace(plain, image="https://i/c.jpg")
    assert content_hash(pictured, [pictured]) != before
    # the hash of an entry without a picture is what earlier releases computed: no spurious `updated`
    assert content_hash(replace(plain, image=None), [plain]) == before


def test_a_storys_image_is_stored_with_its_copy_and_reaches_the_cluster(database_url: str) -> None:
    store = Store(database_url)
    try:
        ingestor = _ingestor(store)
        ingestor.ingest([_story()])
        ingestor.ingest([_story(outlet="Valley Post", image=None)])  # joins, brings no picture
        [cluster] = store.recent_clusters(limit=10)
        assert len(cluster.copies) == 2
        assert {c.outlet: c.image for c in cluster.copies} == {
            "Riverside Courier": PHOTO,
            "Valley Post": None,
        }
        assert cluster.image == PHOTO
    finally:
        store.close()


def test_a_stored_copy_gets_the_picture_its_page_shows_later_and_keeps_it(database_url: str) -> None:
    store = Store(database_url)
    clock = [NOW]
    try:
        ingestor = _ingestor(store, clock)
        ingestor.ingest([_story(image=None)])  # stored before pictures were kept, or shown without one
        [before] = store.recent_clusters(limit=10)
        assert before.image is None
        seq = store.change_seq()

        clock[0] = NOW + timedelta(minutes=10)
        result = ingestor.ingest([_story(image=PHOTO)])
        assert result.pictured == 1 and result.changed == [before.id]
        [after] = store.recent_clusters(limit=10)
        assert after.image == PHOTO and after.updated > before.updated
        assert store.change_seq() > seq  # the publisher sees a change to rebuild from

        clock[0] = NOW + timedelta(minutes=20)
        again = ingestor.ingest([_story(image=PHOTO + "?v=2")])  # a CDN's new query string
        assert again.pictured == 0 and again.changed == []
        missing = ingestor.ingest([_story(image=None)])  # a page that no longer shows it
        assert missing.changed == []
        [kept] = store.recent_clusters(limit=10)
        assert kept.image == PHOTO and kept.updated == after.updated

        # a second worker restored from the store sees the same picture
        assert _ingestor(store).store.recent_clusters(limit=10)[0].image == PHOTO
    finally:
        store.close()


def test_a_grown_copy_takes_the_picture_with_its_text(database_url: str) -> None:
    store = Store(database_url)
    try:
        ingestor = _ingestor(store)
        ingestor.ingest([_story(image=None, body=BODY[:1])])
        longer = (*BODY, "The council said the footpath would stay open for most of the work on the bridge.")
        result = ingestor.ingest([_story(image=PHOTO, body=longer)])
        assert result.grown == 1
        [cluster] = store.recent_clusters(limit=10)
        assert cluster.image == PHOTO and cluster.copies[0].body == longer
    finally:
        store.close()


def test_an_image_address_too_long_for_its_column_is_left_out_not_cut(database_url: str) -> None:
    store = Store(database_url)
    try:
        _ingestor(store).ingest([_story(image="https://i.example/" + "x" * IMAGE_URL_MAX)])
        [cluster] = store.recent_clusters(limit=10)
        assert cluster.image is None
    finally:
        store.close()


def test_page_titles_are_kept_per_source(database_url: str) -> None:
    store = Store(database_url)
    try:
        store.save_source_state(SourceState(name="gn", page_title="World – Google News"))
        store.save_source_state(SourceState(name="text-feed"))
        store.save_source_state(SourceState(name="long", page_title="T" * 500))
        assert store.source_state("gn").page_title == "World – Google News"
        titles = store.source_titles()
        assert titles["gn"] == "World – Google News" and "text-feed" not in titles
        assert len(titles["long"]) == 200  # bounded by its column
    finally:
        store.close()
