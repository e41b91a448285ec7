"""Batch clustering (``feedsvc cluster``, the evaluation): exact boilerplate priming, then union-find."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from feedsvc.dedup.boilerplate import ExactCounts, ShingleCounts
from feedsvc.dedup.deduper import Deduper
from feedsvc.dedup.fingerprint import Fingerprint, _Content, fingerprint
from feedsvc.dedup.index import LEAD_THRESHOLD, _MemoryIndex, band_params
from feedsvc.dedup.shingles import U32, sorted_unique
from feedsvc.dedup.signature import Signer
from feedsvc.gcpause import gc_paused
from feedsvc.settings import DedupSettings


class UnionFind:
    """Cluster labels for `feedsvc cluster` and the evaluation: the first-added key of a set labels it."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.order: dict[str, int] = {}

    def add(self, key: str) -> None:
        if key not in self.parent:
            self.parent[key] = key
            self.order[key] = len(self.order)

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.order[rb] < self.order[ra]:
            ra, rb = rb, ra
        self.parent[rb] = ra  # the older label survives


def cluster_texts(items: Iterable[tuple[str, str, str]], settings: DedupSettings) -> dict[str, str]:
    """Cluster (id, title, body) items; returns id -> cluster label (the id of its first member).

    Runs the same matching as the service, with boilerplate counted exactly over the whole batch first
    (see ``prime_boilerplate``), so a footer shared by many briefs is known before the first of them is
    compared. The partition does not depend on the order of the items (only the labels do).
    """
    rows = list(items)
    keys = [key for key, _, _ in rows]
    prints = [fingerprint(title, body, settings) for _, title, body in rows]
    with gc_paused(keep=True, collect_first=True):
        return _cluster(keys, prints, settings, prime_boilerplate(settings, prints, keys))


def cluster_stream(
    items: Iterable[tuple[str, str, str]], settings: DedupSettings, deduper: Deduper | None = None
) -> dict[str, str]:
    """Cluster (id, title, body) items one at a time, as the service ingests pages: boilerplate is learned
    only from what came before (each new cluster counts once). Pass ``deduper`` to continue an index."""
    deduper = deduper if deduper is not None else Deduper(settings)
    uf = UnionFind()
    keys = []
    for key, title, body in items:
        keys.append(key)
        fp = deduper.fingerprint(title, body)
        uf.add(key)
        found = deduper.matches(fp)
        for match in found:
            uf.union(match.key, key)
        deduper.add(key, fp, count_boilerplate=not found)
    return {key: uf.find(key) for key in keys}


def _cluster(
    keys: Sequence[str], prints: Sequence[Fingerprint], settings: DedupSettings, counts: ShingleCounts
) -> dict[str, str]:
    deduper = Deduper(settings, boilerplate=counts)
    uf = UnionFind()
    for key, fp in zip(keys, prints, strict=True):
        uf.add(key)
        for match in deduper.matches(fp):
            uf.union(match.key, key)
        deduper.add(key, fp, count_boilerplate=False)  # the batch was counted up front
    return {key: uf.find(key) for key in keys}


def prime_boilerplate(
    settings: DedupSettings, prints: Sequence[Fingerprint], keys: Sequence[str] | None = None
) -> ExactCounts:
    """Exact shingle counts of a batch, each group of copies counted once (as the service counts each
    story only when it starts a new cluster).

    Groups are the connected components of two relations, both symmetric, so the counts do not depend
    on the order of ``prints``: "would match if nothing were boilerplate yet" (what the service sees
    at a cold start; it joins a copy with a new top paragraph to its story) and "leads resemble"
    (Jaccard >= LEAD_THRESHOLD; it joins a brief to its story even when a long footer hides it).
    Briefs that share only a footer start differently and count apart, so the footer becomes known.
    """
    keys = list(keys) if keys is not None else [str(i) for i in range(len(prints))]
    uf = UnionFind()
    for key in keys:
        uf.add(key)
    raw = _cluster(keys, prints, settings, ExactCounts(()))
    for key in keys:
        uf.union(raw[key], key)
    signer = Signer(settings.num_perm, settings.seed)
    index = _MemoryIndex((0, 0), band_params(LEAD_THRESHOLD, settings.num_perm))
    leads = {key: sorted_unique(fp.lead) for key, fp in zip(keys, prints, strict=True)}
    for key in keys:
        lead = leads[key]
        if lead.size == 0:
            continue
        content = _Content(lead, np.zeros(lead.size), lead, lead_sig=signer.sign(lead))
        for other in index.query(content):
            shared = np.intersect1d(lead, leads[other], assume_unique=True).size
            if shared / (lead.size + leads[other].size - shared) >= LEAD_THRESHOLD:
                uf.union(other, key)
        index.insert(key, content)
    groups: dict[str, list[U32]] = {}
    for key, fp in zip(keys, prints, strict=True):
        groups.setdefault(uf.find(key), []).append(fp.shingles)
    return ExactCounts(np.concatenate(parts) for parts in groups.values())
