"""Stories -> cluster assignments: find syndicated copies of one story with MinHash + LSH, then verify.

What counts as a duplicate
--------------------------
Two stories are copies when one outlet's text is another's, give or take what syndication does to wire
copy: a rewritten headline, a dateline added ("WASHINGTON (AP) —"), a credit line or outlet footer
appended, ad and widget lines inside, the last paragraphs cut, only the first paragraph or two shown (a
brief or an aggregator card), light copy edits, other quote/dash/space typography, paragraphs run
together, or a new top paragraph in a later update. Two outlets' own write-ups of the same event are
*not* copies, however alike their topic, names and quotes; nor are two briefs that share a footer.

How it is decided
-----------------
1. Text is NFKC-normalised, case-folded and cut into Unicode word tokens, so typography and paragraph
   breaks do not matter. Shingles are runs of ``shingle_size`` tokens, hashed to 32 bits (stable across
   processes and machines). The body is what is compared; the title is used only when the body is too
   short to say anything, because outlets rewrite headlines.
2. Boilerplate shingles, those seen in many *unrelated* stories (footers, promos, chrome), are dropped
   before signing and verifying. Their document frequency is counted once per new cluster (copies of one
   story do not make each other boilerplate) in a small count-min sketch that the store persists.
3. Two MinHash signatures (datasketch's ``affine32`` scheme, computed in bulk with numpy for the whole
   shingle array at once) go into two MinHash LSH indexes: one of the whole body, which finds copies with
   cuts, footers and edits, and one of the *lead* (the first ``lead_words`` words), which finds briefs
   whose resemblance to the full story is far too low for any LSH threshold.
4. Every candidate is verified on the exact shingle sets: it merges when the resemblance (Jaccard) reaches
   ``resemblance`` or the containment of the shorter text in the longer reaches ``containment`` -- and,
   in both cases, the lead of the shorter text is found in the longer one. That last rule is what keeps
   apart two briefs whose shared footer is longer than their own text, and two write-ups that share a
   long quote: copies of one story start the same way, different stories do not.
5. Verified matches are unioned. A cluster keeps the id it was minted with; when one story joins two
   clusters, the older id survives and the younger cluster is folded into it.

False-merge risks
-----------------
A footer not yet known as boilerplate (the first few times it is seen) that is longer than the briefs it
follows: the lead rule stops that merge. A story that quotes most of another story verbatim, lead
included, merges with it: this is rare in news and is arguably the same story. Very short texts (under
``_MIN_SHINGLES`` shingles after boilerplate is removed) only merge when identical.
"""

from __future__ import annotations

import gc
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH

from feedsvc.settings import DedupSettings

SCHEME = "affine32"
_MIN_SHINGLES = 8
_LEAD_MIN = 0.5  # share of the shorter text's lead shingles that must appear in the longer text
_WORD_RE = re.compile(r"\w+")
_MASK32 = np.uint64(0xFFFFFFFF)
_PRIME = np.uint64(0x100000001B3)  # FNV-64 prime: mixes token hashes into a shingle hash

U32 = npt.NDArray[np.uint32]


def tokens(text: str) -> list[str]:
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())


@lru_cache(maxsize=200_000)
def _token_hash(token: str) -> int:
    return zlib.crc32(token.encode("utf-8"))


def shingle_hashes(words: list[str], size: int) -> U32:
    """Sorted unique 32-bit hashes of every run of ``size`` words (one hash for fewer words)."""
    if not words:
        return np.empty(0, dtype=np.uint32)
    th = np.fromiter((_token_hash(w) for w in words), dtype=np.uint64, count=len(words))
    n = max(1, len(words) - size + 1)
    acc = th[:n].copy()
    for j in range(1, min(size, len(words))):
        acc = acc * _PRIME + th[j : j + n]
    folded = ((acc ^ (acc >> np.uint64(32))) & _MASK32).astype(np.uint32)
    return np.unique(folded)


def _fmix32(h: U32) -> U32:
    """MurmurHash3's finalizer: the pre-mix datasketch's affine32 scheme applies to every input hash."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


class Signer:
    """MinHash signatures for whole shingle arrays at once, equal to datasketch's ``update_batch``."""

    def __init__(self, num_perm: int, seed: int) -> None:
        template = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME)
        a, b = template.permutations
        self.a = np.asarray(a, dtype=np.uint32)[None, :]
        self.b = np.asarray(b, dtype=np.uint32)[None, :]
        self.num_perm = num_perm
        self.seed = seed
        self.empty = np.full(num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)

    def sign(self, hashes: U32) -> U32:
        if hashes.size == 0:
            return self.empty.copy()
        with np.errstate(over="ignore"):
            permuted = _fmix32(hashes)[:, None] * self.a + self.b
        return permuted.min(axis=0)


class _Sig:
    """The part of a MinHash that MinHashLSH reads: cheaper than building a LeanMinHash per story."""

    __slots__ = ("hashvalues",)
    scheme = SCHEME

    def __init__(self, hashvalues: U32) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


@dataclass(frozen=True)
class Fingerprint:
    """What dedup keeps of one story: shingle sets (for verification) and their signatures."""

    shingles: U32
    lead: U32

    def nbytes(self) -> int:
        return int(self.shingles.nbytes + self.lead.nbytes)


class BoilerplateCounter:
    """Count-min sketch of how many distinct clusters each shingle has appeared in."""

    def __init__(self, width_bits: int = 21, depth: int = 2, data: bytes | None = None) -> None:
        self.width = 1 << width_bits
        self.depth = depth
        if data is not None and len(data) == self.width * depth * 2:
            self.counts = np.frombuffer(data, dtype=np.uint16).reshape(depth, self.width).copy()
        else:
            self.counts = np.zeros((depth, self.width), dtype=np.uint16)
        self._salts = [np.uint32(0x9E3779B1 * (i + 1) & 0xFFFFFFFF) for i in range(depth)]

    def _rows(self, shingles: U32) -> Iterator[tuple[int, npt.NDArray[np.intp]]]:
        with np.errstate(over="ignore"):
            for row, salt in enumerate(self._salts):
                yield row, (_fmix32(shingles ^ salt) & np.uint32(self.width - 1)).astype(np.intp)

    def add(self, shingles: U32) -> None:
        for row, idx in self._rows(shingles):
            np.add.at(self.counts[row], idx, 1)
            np.minimum(self.counts[row], np.uint16(60000), out=self.counts[row])

    def frequency(self, shingles: U32) -> npt.NDArray[np.uint16]:
        rows = [self.counts[row][idx] for row, idx in self._rows(shingles)]
        return np.minimum.reduce(rows) if rows else np.zeros(shingles.shape, dtype=np.uint16)

    def to_bytes(self) -> bytes:
        return self.counts.tobytes()


@dataclass(frozen=True)
class Match:
    key: str
    resemblance: float
    containment: float


class Deduper:
    """An index of fingerprinted stories that answers: which indexed stories is this one a copy of?"""

    def __init__(
        self,
        settings: DedupSettings,
        boilerplate: BoilerplateCounter | None = None,
        storage_config: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.signer = Signer(settings.num_perm, settings.seed)
        self.boilerplate = boilerplate or BoilerplateCounter()
        self.boilerplate_df = settings.boilerplate_df
        self._full = MinHashLSH(
            threshold=settings.lsh_threshold, num_perm=settings.num_perm, storage_config=storage_config
        )
        self._lead = MinHashLSH(threshold=0.5, num_perm=settings.num_perm, storage_config=storage_config)
        self._prints: dict[str, Fingerprint] = {}

    def __len__(self) -> int:
        return len(self._prints)

    def __contains__(self, key: str) -> bool:
        return key in self._prints

    def fingerprint(self, title: str, body: str) -> Fingerprint:
        size = self.settings.shingle_size
        words = tokens(body)
        if len(words) < size + _MIN_SHINGLES:
            words = tokens(title) + words
        return Fingerprint(
            shingles=shingle_hashes(words, size),
            lead=shingle_hashes(words[: self.settings.lead_words], size),
        )

    def _content(self, shingles: U32) -> U32:
        """Shingles minus known boilerplate."""
        if shingles.size == 0:
            return shingles
        return shingles[self.boilerplate.frequency(shingles) < self.boilerplate_df]

    def candidates(self, fp: Fingerprint) -> set[str]:
        found = set(self._full.query(_Sig(self.signer.sign(self._content(fp.shingles)))))
        found.update(self._lead.query(_Sig(self.signer.sign(self._content(fp.lead)))))
        return found

    def verify(self, a: Fingerprint, b: Fingerprint) -> Match | None:
        sa, sb = self._content(a.shingles), self._content(b.shingles)
        if sa.size == 0 or sb.size == 0:
            return None
        shared = np.intersect1d(sa, sb, assume_unique=True).size
        union = sa.size + sb.size - shared
        resemblance = shared / union
        containment = shared / min(sa.size, sb.size)
        if min(sa.size, sb.size) < _MIN_SHINGLES:
            return Match("", resemblance, containment) if resemblance == 1.0 else None
        shorter, longer = (a, sb) if sa.size <= sb.size else (b, sa)
        lead = self._content(shorter.lead)
        if lead.size and np.intersect1d(lead, longer, assume_unique=True).size / lead.size < _LEAD_MIN:
            return None
        if resemblance >= self.settings.resemblance or containment >= self.settings.containment:
            return Match("", resemblance, containment)
        return None

    def matches(self, fp: Fingerprint, exclude: str | None = None) -> list[Match]:
        """Indexed stories that ``fp`` verifiably copies (or is copied by), best first."""
        out = []
        for key in self.candidates(fp):
            if key == exclude:
                continue
            match = self.verify(fp, self._prints[key])
            if match is not None:
                out.append(Match(key, match.resemblance, match.containment))
        return sorted(out, key=lambda m: (-m.resemblance, -m.containment, m.key))

    def add(self, key: str, fp: Fingerprint, *, count_boilerplate: bool) -> None:
        """Index ``fp`` under ``key``; pass count_boilerplate for a story that starts a new cluster."""
        if key in self._prints:
            return
        if count_boilerplate:
            self.boilerplate.add(fp.shingles)
        self._insert(key, fp)

    def _insert(self, key: str, fp: Fingerprint) -> None:
        self._prints[key] = fp
        self._full.insert(key, _Sig(self.signer.sign(self._content(fp.shingles))), check_duplication=False)
        self._lead.insert(key, _Sig(self.signer.sign(self._content(fp.lead))), check_duplication=False)

    def load(self, items: Iterable[tuple[str, Fingerprint]]) -> int:
        """Bulk-restore the index (after a restart); boilerplate counts come with the counter."""
        count = 0
        with _gc_frozen():
            for key, fp in items:
                if key not in self._prints:
                    self._insert(key, fp)
                    count += 1
        return count

    def remove(self, key: str) -> None:
        if self._prints.pop(key, None) is not None:
            self._full.remove(key)
            self._lead.remove(key)


@contextmanager
def _gc_frozen() -> Iterator[None]:
    """Bulk inserts create millions of long-lived objects; the cyclic GC rescanning them dominates."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def fingerprint_to_bytes(fp: Fingerprint) -> tuple[bytes, bytes]:
    return fp.shingles.tobytes(), fp.lead.tobytes()


def fingerprint_from_bytes(shingles: bytes, lead: bytes) -> Fingerprint:
    return Fingerprint(np.frombuffer(shingles, dtype=np.uint32), np.frombuffer(lead, dtype=np.uint32))


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

    Runs the same Deduper as the service. Boilerplate is learned from the whole batch first, so a
    footer shared by many briefs is known before the first of them is compared.
    """
    rows = list(items)
    deduper = Deduper(settings)
    prints = [deduper.fingerprint(title, body) for _, title, body in rows]
    prime_boilerplate(deduper, prints)
    uf = UnionFind()
    for (key, _, _), fp in zip(rows, prints, strict=True):
        uf.add(key)
        found = deduper.matches(fp)
        for match in found:
            uf.union(match.key, key)
        deduper.add(key, fp, count_boilerplate=False)  # the batch was counted up front
    return {key: uf.find(key) for key, _, _ in rows}


def prime_boilerplate(deduper: Deduper, prints: list[Fingerprint]) -> None:
    """Teach the boilerplate counter a batch's shared text before the batch is clustered.

    Each group of stories whose leads resemble each other counts once, so syndicated copies (which share
    their lead) do not make each other boilerplate, while briefs that share only a footer count apart.
    """
    leads = MinHashLSH(threshold=0.5, num_perm=deduper.settings.num_perm)
    for i, fp in enumerate(prints):
        sig = _Sig(deduper.signer.sign(fp.lead))
        if fp.lead.size and not leads.query(sig):
            deduper.boilerplate.add(fp.shingles)
        leads.insert(i, sig, check_duplication=False)
