"""Stories of one page -> clusters in the store: identity, merging and canonical copies.

A copy's key is stable across fetches (source, outlet and link or title), so a page fetched again adds
nothing. A new copy joins the cluster of the stories it verifiably copies; when it bridges two clusters
the older one survives and the younger is folded into it. Cluster ids are minted once, sortable by time.
An entry's ``updated`` moves only when what a reader sees changes: the canonical text or the outlets.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from feedsvc.dedup import (
    FINGERPRINT_VERSION,
    SCHEME,
    BoilerplateCounter,
    Deduper,
    Fingerprint,
    fingerprint_from_bytes,
    fingerprint_to_bytes,
)
from feedsvc.errors import StoreError
from feedsvc.gcpause import gc_paused
from feedsvc.models import Copy, Story, cluster_image
from feedsvc.settings import DedupSettings
from feedsvc.store import (
    Claim,
    ClusterState,
    ClusterWrite,
    Decision,
    Deferred,
    IndexRow,
    LeaseLost,
    PageLookup,
    Store,
    StoredCopy,
    retention_cutoff,
)

log = logging.getLogger(__name__)

_WIRE_OUTLETS = {"associated press", "ap", "ap news", "the associated press", "reuters", "afp"}
_WIRE_CREDIT = re.compile(
    r"\((?:AP|Reuters|AFP)\)\s*[—–-]|writes for the Associated Press|Associated Press writer"
)
_DEDUP_PARAMS = ("shingle_size", "num_perm", "seed", "lead_words")
_BOILERPLATE_SAVE_EVERY = 300.0  # seconds


def copy_key(story: Story) -> str:
    ident = story.url or story.title.casefold()
    raw = "\x1f".join([story.source or "", (story.outlet or "").casefold(), ident])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def mint_cluster_id(now: datetime) -> str:
    """Time-ordered, unique, URL-safe: milliseconds since the epoch in hex plus 32 random bits."""
    return f"{int(now.timestamp() * 1000):011x}{secrets.token_hex(4)}"


def _words(copy: Copy) -> int:
    return sum(len(p.split()) for p in copy.body)


def _is_wire(copy: Copy) -> bool:
    return (copy.outlet or "").casefold() in _WIRE_OUTLETS or bool(_WIRE_CREDIT.search(" ".join(copy.body)))


def choose_canonical(members: Sequence[Copy]) -> Copy:
    """The most complete text (within 10% of the longest); among those the wire original, then the
    earliest published, then the first seen."""
    words = [_words(c) for c in members]  # once per copy
    longest = max(words)
    complete = [c for c, n in zip(members, words, strict=True) if n >= 0.9 * longest]
    far_future = datetime.max.replace(tzinfo=UTC)
    return min(
        complete,
        key=lambda c: (not _is_wire(c), c.published or far_future, c.first_seen, c.key),
    )


def content_hash(canonical: Copy, members: Sequence[Copy]) -> str:
    visible: list[Any] = [
        canonical.key,
        canonical.title,
        list(canonical.body),
        sorted({(c.outlet or "", c.url or "") for c in members}),
    ]
    image = cluster_image(canonical, members)
    if image is not None:  # only then: entries stored without pictures keep their hash (and `updated`)
        visible.append(image)
    return hashlib.sha256(json.dumps(visible, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass
class IngestResult:
    stories: int = 0
    new_copies: int = 0
    new_clusters: int = 0
    joined: int = 0  # new copies that joined an existing cluster
    folded: int = 0  # clusters folded into older ones
    changed: list[str] = field(default_factory=list)  # cluster ids whose entries changed
    grown: int = 0  # stored copies whose body the page now shows in full
    pictured: int = 0  # stored copies without a picture that the page now shows with one


@dataclass(frozen=True)
class Prepared:
    """What one page's decision needs that takes no lock: the stories by copy key, what the store held of
    them, fingerprints of the new ones, and new fingerprints of stored ones the page shows longer."""

    keyed: dict[str, Story]
    prints: dict[str, Fingerprint]
    lookup: PageLookup
    grown: dict[str, Fingerprint]
    generation: int  # the index's, when prepared (a rebuilt index prepares the page again)


class Ingestor:
    """Owns the dedup index and keeps it in step with the store."""

    def __init__(
        self,
        store: Store,
        settings: DedupSettings,
        retention_days: int,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.retention_days = retention_days
        self.clock = clock or (lambda: datetime.now(UTC).replace(microsecond=0))
        # Made at its first use, after the restore (the fingerprints of every stored copy): a run whose
        # pages are all unchanged never needs one.
        self._deduper: Deduper | None = None
        self.cluster_of: dict[str, str] = {}
        self.members: dict[str, set[str]] = {}
        self._boilerplate_dirty = False
        # The first save is due a few minutes after start, not at the first decision: a run-once saves at
        # its clean stop, and what a crash loses a restore replays from the stored copies (new_cluster).
        self._boilerplate_saved = time.monotonic()
        self.seq = 0  # the last copy sequence number this index has caught up with
        self.bp_seq = 0  # the last sequence number the boilerplate counts include
        self.prune_seq = 0  # the prunes this index has forgotten the copies of
        self.server = ""  # the database server the index was built from (Counters.server)
        self.generation = 0  # how many times the index was rebuilt
        self.decision_seconds: deque[float] = deque(maxlen=100_000)  # time each decision held the lock
        # Restored once before the first use: by :meth:`restore`, by a background restore started at
        # start-up (so a server answers from its stored feeds while the index loads), or by the first use.
        self._restored = threading.Event()
        self._restoring = threading.Lock()
        self._restore_failed: Exception | None = None
        self._batch: _Batch | None = None  # decisions sharing a transaction (see :meth:`batched`)

    @property
    def deduper(self) -> Deduper:
        """The dedup index (used once restored: see :meth:`ready`)."""
        if self._deduper is None:
            self._deduper = Deduper(self.settings)
        return self._deduper

    @deduper.setter
    def deduper(self, deduper: Deduper) -> None:
        self._deduper = deduper

    def restore(self) -> int:
        """Rebuild the in-memory index from the store; returns the number of copies indexed. Done inside a
        decision (no other worker decides meanwhile), so the index starts exactly at a sequence number."""
        with self.store.decision() as conn:
            count = self._restore(conn)
        self._restore_failed = None
        self._restored.set()
        return count

    def restore_in_background(self, done: Callable[[int, float], None]) -> threading.Thread:
        """Start restoring the index in a thread; ``done(copies, seconds)`` is called when it is loaded.
        Every use of the index waits for it (a failure is retried by the next use, which reports it)."""

        def run() -> None:
            started = time.monotonic()
            with self._restoring:
                if self._restored.is_set():
                    return
                try:
                    count = self.restore()
                except Exception as exc:  # the store went away meanwhile: the first use tries again
                    log.error("event=restore_failed error=%r", str(exc))
                    self._restore_failed = exc
                    return
            done(count, time.monotonic() - started)

        thread = threading.Thread(target=run, name="dedup-restore", daemon=True)
        thread.start()
        return thread

    @property
    def restored(self) -> bool:
        return self._restored.is_set()

    def ready(self) -> None:
        """Return once the index is restored: waiting for a restore under way, or restoring it now."""
        if self._restored.is_set():
            return
        with self._restoring:
            if not self._restored.is_set():
                self.restore()

    def _restore(self, conn: Decision) -> int:
        params = json.dumps(
            {k: getattr(self.settings, k) for k in _DEDUP_PARAMS}
            | {"scheme": SCHEME, "fingerprint_version": FINGERPRINT_VERSION}
        )
        stored = self.store.set_meta_default("dedup_params", params)
        self.seq, self.bp_seq = self.store.sequence(conn)
        counters = self.store.counters(conn)
        self.prune_seq, self.server = counters.prune_seq, counters.server
        self.generation += 1
        blob = self.store.get_blob("boilerplate")
        self.deduper = Deduper(self.settings, BoilerplateCounter(data=blob) if blob else None)
        self.cluster_of, self.members = {}, {}
        since = retention_cutoff(self.clock(), self.retention_days)
        with gc_paused():  # a few objects per stored copy, all kept: the cyclic GC would rescan them
            return self._load(stored, params, list(self.store.index_rows(since=since)))

    def _load(self, stored: str, params: str, rows: list[IndexRow]) -> int:
        """Index ``rows`` (every stored copy in the retention window): :meth:`_restore`'s second half,
        column by column (nothing is made per copy beyond its entries in the index and its cluster)."""
        # The stored counts include decisions up to bp_seq: replay the clusters started after it, in order.
        self._replay_boilerplate(rows)
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(IndexRow._fields)
        rows.clear()  # freed now: the columns hold what is kept
        keys, cluster_ids, shingles, leads, body_sigs, lead_sigs = columns[:6]
        # Every copy in its cluster (what _assign does, without its checks: the index is empty).
        self.cluster_of = dict(zip(keys, cluster_ids, strict=True))
        members = self.members
        for key, cluster_id in zip(keys, cluster_ids, strict=True):
            group = members.get(cluster_id)
            if group is None:
                members[cluster_id] = {key}
            else:
                group.add(key)
        if stored != params:
            # Signatures made with other parameters never compare: re-fingerprint from stored text.
            log.warning(
                "dedup parameters changed (%s -> %s): re-fingerprinting stored copies", stored, params
            )
            prints = self._refingerprint(list(cluster_ids))
            updated = [
                (key, *fingerprint_to_bytes(fp), *self.deduper.signatures(fp)) for key, fp in prints.items()
            ]
            self.store.update_fingerprints(updated)
            keys, shingles, leads, body_sigs, lead_sigs = (
                tuple(zip(*updated, strict=True)) if updated else ((), (), (), (), ())
            )
            self.store.set_meta("dedup_params", params)  # after the new prints are safely stored
        # The index exactly as it was: under the signatures each copy was added with.
        return self.deduper.load(keys, shingles, leads, body_sigs, lead_sigs)

    def _replay_boilerplate(self, rows: Sequence[IndexRow]) -> None:
        """Count the clusters started after the counts' sequence number, in decision order: every worker
        then holds the same counts as if it had made every decision itself."""
        started = sorted((r for r in rows if r.new_cluster and r.seq > self.bp_seq), key=lambda r: r.seq)
        for row in started:
            self.deduper.boilerplate.add(fingerprint_from_bytes(row.shingles, row.lead).shingles)
        self.bp_seq = max([self.bp_seq, self.seq, *(r.seq for r in started)])

    def _catch_up(self, conn: Decision | None = None) -> set[str] | None:
        """Learn every copy other workers stored or changed, and forget what their prunes removed, since
        this index last looked (one statement; a prune adds a read of the stored keys). Returns the
        clusters those copies were in or went to; None when the index was rebuilt or forgot pruned
        copies (nothing read from the store before then can be trusted). Inside a decision nothing else
        changes meanwhile, so the index is then exactly current; before taking the lock it learns a
        prefix (what was committed by then), so that little is left to learn under it. An index built
        before the database server restarted is rebuilt (a crash may have lost decisions it learnt: see
        Store.decision)."""
        counters, rows = self.store.catch_up(self.seq)
        if counters.server != self.server:
            log.warning("event=index_rebuilt reason=database_restarted")
            if conn is not None:
                self._restore(conn)
            else:
                self.restore()
            return None
        self.seq = counters.copy_seq  # rows and counters are of one snapshot
        self._replay_boilerplate(rows)
        changed: set[str] = set()
        for row in rows:
            if row.key not in self.deduper or row.changed != row.seq:  # new, or its fingerprint may differ
                fp = fingerprint_from_bytes(row.shingles, row.lead)
                self.deduper.put(row.key, fp, (row.body_sig, row.lead_sig))
            changed.update((self.cluster_of.get(row.key, row.cluster_id), row.cluster_id))
            self._assign(row.key, row.cluster_id)
        if counters.prune_seq != self.prune_seq:  # another worker pruned: drop what the store lost
            live = self.store.live_keys()
            self._forget([key for key in self.cluster_of if key not in live])
            self.prune_seq = counters.prune_seq
            return None
        return changed

    def _refingerprint(self, cluster_ids: list[str]) -> dict[str, Fingerprint]:
        out = {}
        for members in self.store.copies_of(sorted(set(cluster_ids))).values():
            for c in members:
                out[c.key] = self.deduper.fingerprint(c.title, "\n\n".join(c.body))
        return out

    def prune(self, before: datetime) -> int:
        """Drop copies past retention from the store and from the index together (between decisions:
        no worker joins a cluster while it is being removed). An index not loaded yet is not loaded for
        it: there is nothing in it to forget, and a restore reads the store as pruned."""
        if not self._restored.is_set():
            with self._restoring:  # a restore under way ends first
                if not self._restored.is_set():
                    with self.store.decision():
                        return len(self.store.prune(before))
        with self.store.decision() as conn:
            gone = self.store.prune(before)
            pruned = self.store.counters(conn).prune_seq
        self._forget(gone)
        if pruned == self.prune_seq + 1:  # no other prune since this index last looked: this one is known
            self.prune_seq = pruned
        return len(gone)

    def _forget(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.deduper.remove(key)
            cluster_id = self.cluster_of.pop(key, None)
            if cluster_id is not None:
                self.members.get(cluster_id, set()).discard(key)

    def _assign(self, key: str, cluster_id: str) -> None:
        old = self.cluster_of.get(key)
        if old is not None and old != cluster_id:
            self.members.get(old, set()).discard(key)
        self.cluster_of[key] = cluster_id
        self.members.setdefault(cluster_id, set()).add(key)

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Until the block ends, the pages this thread ingests share decision transactions on the embedded
        store (elsewhere: one each, as always): one BEGIN, catch-up and commit for many pages, each page in
        a savepoint of its own, so a page that fails takes back only its own writes. The transaction holds
        the store's write lock until :meth:`commit_batch` or the end of the block, which commits it."""
        if not self.store.embedded or self._batch is not None:
            yield
            return
        batch = self._batch = _Batch(self.store)
        try:
            yield
        except BaseException:
            self._batch = None
            if batch.conn is not None:  # what the block left open is not known to be whole: taken back
                batch.close(failed=True)
                self.restore()
            raise
        self._batch = None
        batch.close()

    def batch_age(self) -> float:
        """Seconds the open batch has held the write lock (0 when none is open)."""
        return self._batch.age() if self._batch is not None else 0.0

    def batch_lost(self) -> bool:
        """True once after a failure rolled back the whole open batch (the pages ingested in it since its
        last commit are not stored); the next page begins a new one."""
        lost = self._batch is not None and self._batch.lost
        if lost:
            assert self._batch is not None
            self._batch.lost = False
        return lost

    def commit_batch(self) -> None:
        """Commit the decisions of the open batch; StoreError when they could not be (none of them is
        then stored, and the index is rebuilt from what is)."""
        if self._batch is None:
            return
        try:
            self._batch.commit()
        except Exception:
            self.restore()  # the index learnt decisions the store lost
            raise

    def prepare(self, stories: Sequence[Story]) -> Prepared:
        """The part of ingesting that needs no lock (several workers do this in parallel): the page's keys,
        one read of what the store holds of them, fingerprints of the new stories and of the stored ones
        the page shows longer (a card's snippet replaced by the full article)."""
        self.ready()
        generation = self.generation  # before the lookup: a rebuild after it makes the page stale
        keyed = {copy_key(s): s for s in stories}
        lookup = self.store.lookup(list(keyed))
        new = [k for k in keyed if k not in lookup.clusters]
        found = self.deduper.fingerprints([(keyed[k].title, keyed[k].body_text) for k in new])
        prints = dict(zip(new, found, strict=True))
        grown = {
            key: self.deduper.fingerprint(old.title, keyed[key].body_text)
            for key, old in lookup.copies.items()
            if keyed[key].body and sum(len(p.split()) for p in keyed[key].body) > _words(old)
        }
        return Prepared(keyed, prints, lookup, grown, generation)

    def ingest(self, stories: Sequence[Story] | Prepared, lease: Claim | None = None) -> IngestResult:
        """Apply one page's stories; all of it is stored in one transaction, or none of it (nothing when
        ``lease`` no longer holds). The decision is made under the store's decision lock, after catching up
        with every copy stored since this index last looked; the statements it runs under the lock do
        not grow with the page (one read to catch up, one of the clusters it changes, then the writes)."""
        self.ready()
        prepared = stories if isinstance(stories, Prepared) else self.prepare(stories)
        if self._batch is not None and lease is None:
            return self._ingest_batched(prepared, self._batch)
        locked: float | None = None
        ahead: dict[str, ClusterState] = {}
        try:
            if not self.store.embedded:  # the embedded store has no other workers to learn from
                self._catch_up()  # most of what other workers stored, learnt before taking the lock
                ahead = self.store.cluster_states(sorted(self._likely_clusters(prepared)))
            with self.store.decision(lease) as conn:
                locked = time.perf_counter()
                changed = self._catch_up(conn)
                if changed is None or self._stale(prepared):
                    ahead = {}
                    prepared = self.prepare(list(prepared.keyed.values()))  # looked up again, under the lock
                else:  # what no decision changed since it was read (after the first catch-up) holds
                    ahead = {cid: state for cid, state in ahead.items() if cid not in changed}
                result = self._ingest(prepared, conn, ahead)
            self.decision_seconds.append(time.perf_counter() - locked)
            return result
        except LeaseLost:
            if locked is not None:  # the index may hold what the store refused: rebuild it
                self.restore()
            raise  # raised before taking the lock: the index learnt only what is stored
        except Exception:
            self.restore()  # the index may hold what the store refused or never got: rebuild it
            raise

    def _ingest_batched(self, prepared: Prepared, batch: _Batch) -> IngestResult:
        """:meth:`ingest` inside the open batch's transaction, in a savepoint: the index caught up when the
        transaction began, and no other writer can change the store while it is open."""
        fresh = batch.conn is None
        conn = batch.open()
        locked = time.perf_counter()
        before = batch.deferred.mark()
        try:
            with self.store.savepoint(conn):
                changed = self._catch_up(conn) if fresh else set()
                if changed is None or self._stale(prepared):
                    prepared = self.prepare(list(prepared.keyed.values()))  # looked up again, in the batch
                result = self._ingest(prepared, conn, {}, batch.deferred)
        except Exception:
            # The savepoint is gone: the index may hold what it took back. Rebuilt from the batch's
            # transaction (earlier pages of the batch included, their deferred writes written first); if
            # that fails too, the batch is lost.
            batch.deferred.rewind(before)
            try:
                self.store.write_deferred(conn, batch.deferred)
                self._restore(conn)
            except Exception:
                batch.close(failed=True)
                self.restore()
                raise
            raise
        self.decision_seconds.append(time.perf_counter() - locked)
        return result

    def _likely_clusters(self, prepared: Prepared) -> set[str]:
        """The stored clusters the page's decision will probably change (read before the lock): those of
        the index's candidates for its new stories, and of its stored copies that may grow or get a
        picture."""
        out = set()
        for key, old in prepared.lookup.copies.items():
            if key in prepared.grown or (old.image is None and prepared.keyed[key].image):
                out.add(self.cluster_of.get(key, prepared.lookup.clusters[key]))
        self.deduper.warm(list(prepared.prints.values()))
        for fp in prepared.prints.values():
            out.update(self.cluster_of[k] for k in self.deduper.candidates(fp) if k in self.cluster_of)
        return out

    def _stale(self, prepared: Prepared) -> bool:
        """Whether the store changed the page's copies since its lookup (under the lock, caught up): a
        prune may have removed some, and a copy the lookup did not find that the index holds now was
        stored meanwhile (by a run of the same source without a lease: a lease keeps others away)."""
        lookup = prepared.lookup
        if lookup.prune_seq != self.prune_seq or prepared.generation != self.generation:
            return True
        return any(k in self.cluster_of for k in prepared.keyed if k not in lookup.clusters)

    def _ingest(
        self,
        prepared: Prepared,
        conn: Decision,
        ahead: dict[str, ClusterState],
        deferred: Deferred | None = None,
    ) -> IngestResult:
        keyed = prepared.keyed
        now = self.clock()
        result = IngestResult(stories=len(keyed))
        # The index knows the current cluster of every copy it holds (caught up under the lock); a copy
        # it does not hold has not changed since the index last looked, before the page's lookup.
        known = {k: self.cluster_of.get(k, cluster_id) for k, cluster_id in prepared.lookup.clusters.items()}
        created: dict[str, datetime] = {}
        page: dict[str, str] = {}  # copies of this page stored in this decision -> their cluster
        started: set[str] = set()  # copies that started a cluster (their shingles count for boilerplate)
        new_copies: list[StoredCopy] = []
        moved: dict[str, str] = {}
        touched: set[str] = set()
        stored = prepared.lookup.copies
        grown = self._grown(prepared, known)
        touched.update(c.cluster_id for c in grown)
        pictured = self._pictured(keyed, known, stored, {c.copy.key for c in grown})
        touched.update(cluster_id for cluster_id, _ in pictured)
        self.deduper.warm(list(prepared.prints.values()))  # the page's new stories prepared at once
        for key, story in keyed.items():
            if key in known:
                continue
            fp = prepared.prints.get(key) or self.deduper.fingerprint(story.title, story.body_text)
            clusters = self._clusters_of([m.key for m in self.deduper.matches(fp)], page)
            copy = Copy(
                key=key,
                title=story.title,
                outlet=story.outlet,
                url=story.url,
                published=story.published,
                body=story.body,
                category=story.category,
                source=story.source,
                first_seen=now,
                image=story.image,
            )
            if clusters:
                target = self._fold(clusters, created, moved)
                result.joined += 1
            else:
                target = mint_cluster_id(now)
                created[target] = now
                result.new_clusters += 1
                started.add(key)
            self._assign(key, target)
            page[key] = target
            body_sig, lead_sig = self.deduper.add(key, fp, count_boilerplate=not clusters)
            shingles, lead = fingerprint_to_bytes(fp)
            new_copies.append(StoredCopy(copy, target, shingles, lead, body_sig, lead_sig))
            touched.add(target)
        result.new_copies = len(new_copies)
        result.folded = len(moved)
        # A later story of this page may have folded the cluster an earlier one joined.
        new_copies = [replace(c, cluster_id=self._survivor(c.cluster_id, moved)) for c in new_copies]
        touched = {self._survivor(c, moved) for c in touched}
        replaced = [(c.cluster_id, c.copy) for c in [*new_copies, *grown]] + pictured
        writes = self._cluster_writes(touched, created, moved, replaced, now, ahead)
        result.changed = [w.id for w in writes]
        seq = self.store.apply(
            new_copies=new_copies,
            seen_keys=list(known),
            moved=moved,
            cluster_writes=writes,
            boilerplate=self._boilerplate_to_save(result.new_clusters > 0),
            seen_at=now,
            grown_copies=grown,
            new_cluster_keys=frozenset(started),
            pictured=[(copy.key, copy.image) for _, copy in pictured if copy.image],
            conn=conn,
            copy_seq=self.seq,  # caught up under the lock: the store's own
            deferred=deferred,  # a batch writes the sequence number and last sightings once, at its commit
        )
        self.seq = self.bp_seq = seq  # this index made the decision: it is caught up
        result.grown = len(grown)
        result.pictured = len(pictured)
        return result

    def _grown(self, prepared: Prepared, known: dict[str, str]) -> list[StoredCopy]:
        """Stored copies that this page shows with a longer body (fingerprinted before the lock):
        re-indexed under their key, kept in their cluster (and given the page's picture if they had
        none)."""
        out = []
        for key, fp in prepared.grown.items():
            old, story = prepared.lookup.copies[key], prepared.keyed[key]
            self.deduper.remove(key)
            body_sig, lead_sig = self.deduper.add(key, fp, count_boilerplate=False)
            self._assign(key, known[key])  # indexed now, if it was not (seen before the last restore)
            shingles, lead = fingerprint_to_bytes(fp)
            grown = replace(old, body=story.body, image=old.image or story.image)
            out.append(StoredCopy(grown, known[key], shingles, lead, body_sig, lead_sig))
        return out

    @staticmethod
    def _pictured(
        keyed: dict[str, Story], known: dict[str, str], stored: dict[str, Copy], grown: set[str]
    ) -> list[tuple[str, Copy]]:
        """(cluster id, copy) of stored copies without a picture that this page shows with one (stored
        before pictures were kept, or shown without one before). A picture once kept is not replaced: an
        image CDN's changing query strings would otherwise touch the entry on every fetch."""
        return [
            (known[key], replace(old, image=keyed[key].image))
            for key, old in stored.items()
            if key not in grown and old.image is None and keyed[key].image
        ]

    def _boilerplate_to_save(self, changed: bool, force: bool = False) -> bytes | None:
        """The counter's bytes when they are due to be saved: it is megabytes, and advisory (losing a few
        minutes of counts to a crash only makes boilerplate known a little later), so it is written at
        most every few minutes, and on a clean stop."""
        self._boilerplate_dirty |= changed
        due = time.monotonic() - self._boilerplate_saved >= _BOILERPLATE_SAVE_EVERY
        if not self._boilerplate_dirty or not (due or force):
            return None
        self._boilerplate_dirty = False
        self._boilerplate_saved = time.monotonic()
        return self.deduper.boilerplate.to_bytes()

    def _clusters_of(self, keys: Sequence[str], page: dict[str, str]) -> set[str]:
        """The clusters of the matched copies ``keys``: every copy the index holds has its current cluster
        in ``cluster_of`` (caught up under the lock, prunes forgotten), so this reads nothing."""
        return {page[k] if k in page else self.cluster_of[k] for k in keys}

    def flush(self) -> None:
        """Save what is only in memory (the boilerplate counter); called on a clean stop. Inside a
        decision and caught up, so the counts written are the newest (never older ones over newer)."""
        if not self._restored.is_set():  # nothing counted yet
            return
        with self.store.decision() as conn:
            self._catch_up(conn)
            blob = self._boilerplate_to_save(False, force=True)
            if blob is not None:
                Store.save_boilerplate(conn, blob, self.bp_seq)

    @staticmethod
    def _survivor(cluster_id: str, moved: dict[str, str]) -> str:
        while cluster_id in moved:
            cluster_id = moved[cluster_id]
        return cluster_id

    def _fold(self, ids: set[str], created: dict[str, datetime], moved: dict[str, str]) -> str:
        """Merge clusters ``ids`` into the oldest; returns the survivor."""
        ids = {self._survivor(i, moved) for i in ids}
        if len(ids) == 1:
            return ids.pop()
        rows = self.store.cluster_rows(sorted(i for i in ids if i not in created))
        age = {
            i: (created[i] if i in created else rows[i].created, i) for i in ids if i in created or i in rows
        }
        survivor = min(age, key=lambda i: age[i])
        for other in ids - {survivor}:
            moved[other] = survivor
            for key in self.members.pop(other, set()):
                self._assign(key, survivor)
        return survivor

    def _cluster_writes(
        self,
        touched: set[str],
        created: dict[str, datetime],
        moved: dict[str, str],
        replaced: Sequence[tuple[str, Copy]],
        now: datetime,
        ahead: dict[str, ClusterState],
    ) -> list[ClusterWrite]:
        """The clusters ``touched`` as they should be now; their stored state comes from ``ahead`` (read
        before the lock, and unchanged since) or is read now, in one statement."""
        wanted = sorted((touched - set(created)) | set(moved))
        states = {cid: ahead[cid] for cid in wanted if cid in ahead and ahead[cid].row is not None}
        states |= self.store.cluster_states([cid for cid in wanted if cid not in states])
        # Each cluster's copies by key, in order (linear in its size: a copy is replaced by key).
        by_key: dict[str, dict[str, Copy]] = {cid: {} for cid in touched}
        for cid, state in states.items():
            group = by_key.setdefault(self._survivor(cid, moved), {})
            group.update((c.key, c) for c in state.copies)
        # new copies, and stored ones whose text grew or that got a picture (they replace their old rows)
        for cluster_id, copy in replaced:
            group = by_key.setdefault(self._survivor(cluster_id, moved), {})
            group.pop(copy.key, None)  # the new version goes last
            group[copy.key] = copy
        writes = []
        for cid in sorted(touched):
            members = list(by_key[cid].values())
            canonical = choose_canonical(members)
            digest = content_hash(canonical, members)
            times = [c.published for c in members if c.published is not None]
            published = min(times) if times else min(c.first_seen for c in members)
            if cid in created:
                # A new entry is as of its publication: readers and validators dislike many equal stamps.
                writes.append(
                    ClusterWrite(cid, now, published, published, canonical.key, digest, is_new=True)
                )
                continue
            old = states[cid].row
            if old is None:
                raise StoreError(f"cluster {cid} is in the dedup index but not in the store")
            if digest == old.content_hash and published == old.published:
                continue
            updated = max(now, old.updated + timedelta(seconds=1))
            writes.append(ClusterWrite(cid, old.created, updated, published, canonical.key, digest, False))
        return writes


class _Batch:
    """One decision transaction kept open across pages (:meth:`Ingestor.batched`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn: Decision | None = None
        self._stack: ExitStack | None = None
        self._opened = 0.0
        self.lost = False  # a failure rolled the open transaction back whole (Ingestor.batch_lost)
        self.deferred = Deferred()  # what the open transaction's decisions write before it commits

    def open(self) -> Decision:
        if self.conn is None:
            stack = ExitStack()
            self.conn = stack.enter_context(self.store.decision())
            self._stack, self._opened = stack, time.monotonic()
        return self.conn

    def age(self) -> float:
        return time.monotonic() - self._opened if self.conn is not None else 0.0

    def commit(self) -> None:
        self.close()

    def close(self, failed: bool = False) -> None:
        """Commit (or with ``failed``, roll back) the open transaction, if any."""
        stack, conn, self._stack, self.conn = self._stack, self.conn, None, None
        deferred, self.deferred = self.deferred, Deferred()
        if stack is None or conn is None:
            return
        if not failed:
            try:
                Store.write_deferred(conn, deferred)
            except Exception as exc:  # rolled back whole, raised as the StoreError of a failed commit
                stack.__exit__(type(exc), exc, exc.__traceback__)
                raise
        if failed:
            self.lost = True
            error = StoreError("batch abandoned")
            stack.__exit__(type(error), error, None)
        else:
            stack.close()
