"""Stories -> cluster assignments: find syndicated copies of one story with MinHash + LSH, then verify.

What counts as a duplicate
--------------------------
Two stories are copies when one outlet's text is another's, give or take what syndication does to wire
copy: a rewritten headline, a dateline added ("WASHINGTON (AP) —"), a credit line or outlet footer
appended, ad and widget lines inside, the last paragraphs cut, only the first paragraph or two shown (a
brief or an aggregator card), light copy edits, other quote/dash/space typography, paragraphs run
together, or a new top paragraph in a later update. Two outlets' own write-ups of the same event are
*not* copies, however alike their topic, names, numbers and quotes; nor is a follow-up story that reuses
background paragraphs; nor are two briefs that share a footer.

How it is decided
-----------------
1. Text is NFKC-normalised, case-folded and cut into Unicode word tokens (``\\w+``), so typography and
   paragraph breaks do not matter. Shingles are runs of ``shingle_size`` tokens, hashed to 32 bits with
   a fixed polynomial hash (stable across processes and machines; computed for the whole text at once
   with numpy). The body is what is compared; the title only when the body is too short to say
   anything, because outlets rewrite headlines. A fingerprint keeps the body's set of shingles and, in
   text order, the shingles of its first ``lead_words`` words (the *lead*).
2. Boilerplate shingles, those seen in ``boilerplate_df`` or more *unrelated* stories (footers, promos,
   chrome, stock phrases), are dropped before signing and verifying. The service counts a story's
   shingles only when it starts a new cluster (copies of one story do not make each other boilerplate),
   in a count-min sketch with conservative update whose counts halve every ``HALF_LIFE`` new clusters,
   so it never fills up however long the service runs (the store persists it): text counts as
   boilerplate while it keeps turning up in a few of every few thousand new stories. A batch
   (``cluster_texts``) counts exactly instead, once per group of copies: texts that would match with
   nothing known as boilerplate, or whose leads resemble.
3. MinHash signatures (datasketch's ``affine32`` scheme, computed in bulk with numpy) of the body and of
   the lead go into one banded LSH index: the body bands find copies with cuts, footers, edits and new
   top paragraphs; the lead bands find briefs, whose resemblance to the full story is far too low for
   any body threshold. Bands are hashed to 60-bit keys in one dict (or, given ``storage_config``, kept in
   datasketch ``MinHashLSH`` indexes, e.g. on Redis, for several workers).
4. Every candidate is verified on the exact shingle sets: it merges when the resemblance (Jaccard)
   reaches ``resemblance`` or the containment of the smaller set in the larger reaches ``containment``
   (each shingle weighted 1, or 1/(df-1) when three or more unrelated stories have it: text shared by a
   few stories, short of boilerplate, such as a templated sentence, is weak evidence of a copy)
   -- and, in both cases, the two texts *start alike*: most of the first ``START_SHINGLES`` content
   shingles of one of them occur in the other. That last rule is what keeps apart two briefs whose
   shared footer is longer than their own text, and two write-ups that share a long quote: copies of
   one story start the same way (a dateline, an ad line or a new top paragraph on one side still
   leaves the other's start intact), different stories do not. The rule is symmetric, so the outcome
   does not depend on which story came first.
5. Verified matches are unioned. A cluster keeps the id it was minted with; when one story joins two
   clusters, the older id survives and the younger cluster is folded into it.

Defaults (see ``feedsvc.settings``) come from ``python -m bench dedup``, which measures them on a
generated, labelled corpus of syndicated copies and hard negatives against plain-LSH baselines.

False-merge risks
-----------------
* A footer not yet known as boilerplate (the first few times it is seen) after briefs whose own text is
  under about ten words: their starts are then mostly footer, and two such briefs merge. Longer briefs
  are kept apart by the start rule, known footers by the boilerplate counts.
* A brief that shows nothing but a quote, when another outlet's story carries the same quote near its
  start: the brief's whole text is in that story. The evaluation's closest call is of this kind
  (containment 0.59 against the 0.6 default), which is why ``containment`` should not go lower.
* A story that quotes most of another verbatim, its start included, merges with it (rare in news, and
  arguably the same story); so do two templated reports (earnings wraps, sports agate) that open with
  the same sentence and share most of their text.
* Very short texts (under ``MIN_SHINGLES`` content shingles) merge only when their content is identical.

Recall risks
------------
A copy edited in nearly every sentence; a copy with a new top paragraph *and* most of its end cut (it
neither starts like the story nor resembles it as a whole); a brief under an outlet footer the counter
has not learned yet (its containment is too low until the footer counts as boilerplate). If a story's
copies keep failing to match, each starts a new cluster and counts its text again: after
``boilerplate_df`` such misses the story's own text is boilerplate until the counts decay.

Cost
----
About 160 us per 400-word story on one core for the whole ingest path (fingerprint, signatures, query,
verification, insert, boilerplate count) in a fresh index and about 180 us at 1M indexed stories, and
about 5 KB of memory per indexed story: 2 KB of fingerprint, the rest the index, a plain dict of 60-bit
band keys (42 bands per story with the defaults).
"""

from __future__ import annotations

import gc
import struct
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH

from feedsvc.settings import DedupSettings

SCHEME = "affine32"
FINGERPRINT_VERSION = 2  # bump when shingle hashing or the lead's layout changes: stored prints then differ
MIN_SHINGLES = 8  # fewer content shingles than this: merge only when identical
START_SHINGLES = 20  # how much of a text's start is compared by the start rule
START_AGREE = 0.5  # share of one text's first START_SHINGLES content shingles found in the other
LEAD_THRESHOLD = 0.3  # Jaccard threshold of the lead bands (the leads of a brief and its story: often 0.5)
HALF_LIFE = 4096  # new clusters after which the boilerplate counts halve

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

_P = np.uint64(0x100000001B3)  # odd multiplier of the token polynomial hash (the FNV-64 prime)
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_SHINGLE_MIX = np.uint64(0x9E3779B97F4A7C15)


# ---------------------------------------------------------------------------------------------------------
# Tokens and shingles


@lru_cache(maxsize=1)
def _word_chars() -> npt.NDArray[np.bool_]:
    """For every code point: is it matched by ``\\w`` (letters, digits, marks, underscore)?"""
    import re

    table = np.zeros(0x110000, dtype=np.bool_)
    everything = "".join(map(chr, range(0x110000)))
    for run in re.finditer(r"\w+", everything):
        table[run.start() : run.end()] = True
    return table


class _Powers:
    """P**i and P**-i (mod 2**64) for i < n, grown on demand."""

    def __init__(self) -> None:
        self.fwd = np.ones(1, dtype=np.uint64)
        self.inv = np.ones(1, dtype=np.uint64)

    def ensure(self, n: int) -> None:
        if n <= self.fwd.size:
            return
        size = max(n, 2 * self.fwd.size, 4096)
        with np.errstate(over="ignore"):
            fwd = np.full(size, _P, dtype=np.uint64)
            inv = np.full(size, _P_INV, dtype=np.uint64)
            fwd[0] = inv[0] = 1
            self.fwd = np.multiply.accumulate(fwd)
            self.inv = np.multiply.accumulate(inv)


_POWERS = _Powers()


def _fmix64(h: U64) -> U64:
    """MurmurHash3's 64-bit finalizer (array arithmetic wraps silently: no overflow checks needed)."""
    h = h ^ (h >> np.uint64(33))
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def token_hashes(text: str) -> U64:
    """64-bit polynomial hashes of the text's word tokens (NFKC, case-folded, ``\\w+``), in order."""
    points: npt.NDArray[np.uint8] | U32
    if text.isascii():  # the common case, 4x less data: ASCII needs no NFKC and lower() is casefold()
        points = np.frombuffer(text.lower().encode("ascii"), dtype=np.uint8)
    else:
        folded = unicodedata.normalize("NFKC", text).casefold()
        points = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n = points.size
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    padded = np.zeros(n + 2, dtype=np.bool_)
    padded[1:-1] = _word_chars()[points]
    edges = np.flatnonzero(padded[1:] != padded[:-1])  # start, end, start, end, ...
    if edges.size == 0:
        return np.empty(0, dtype=np.uint64)
    # sum(c_i * P**(end-1-i)) over a token = P**(end-1) * sum(c_i * P**-i): one pass for all tokens.
    _POWERS.ensure(n + 1)
    scaled = np.empty(n + 1, dtype=np.uint64)
    np.multiply(points, _POWERS.inv[:n], out=scaled[:n])
    scaled[n] = 0
    sums = np.add.reduceat(scaled, edges)[::2]
    result: U64 = sums * _POWERS.fwd[edges[1::2] - 1]
    return result


def tokens(text: str) -> list[str]:
    """The word tokens ``token_hashes`` hashes (for baselines and diagnostics; slower)."""
    import re

    return re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())


def shingle_sequence(hashes: U64, size: int) -> U32:
    """32-bit hashes of every run of ``size`` tokens, in text order (one hash for fewer tokens)."""
    if hashes.size == 0:
        return np.empty(0, dtype=np.uint32)
    n = max(1, hashes.size - size + 1)
    acc = hashes[:n].copy()
    for j in range(1, min(size, hashes.size)):
        acc *= _SHINGLE_MIX
        acc += hashes[j : j + n]
    acc = _fmix64(acc)
    acc ^= acc >> np.uint64(32)
    return acc.astype(np.uint32)


def sorted_unique(values: U32) -> U32:
    """np.unique for a small 1-D array, without its overhead."""
    ordered = np.sort(values)
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def shingle_hashes(text: str, size: int) -> U32:
    """Sorted unique shingle hashes of ``text``."""
    return sorted_unique(shingle_sequence(token_hashes(text), size))


# ---------------------------------------------------------------------------------------------------------
# MinHash


def _fmix32(h: U32) -> U32:
    """MurmurHash3's finalizer: the pre-mix datasketch's affine32 scheme applies to every input hash."""
    h = h ^ (h >> np.uint32(16))
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


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
        permuted = _fmix32(hashes)[:, None] * self.a
        permuted += self.b
        result: U32 = permuted.min(axis=0)
        return result

    def sign_with_part(self, hashes: U32, part: U32) -> tuple[U32, U32]:
        """``(sign(hashes), sign(part))`` for sorted unique ``hashes`` and a sorted subset ``part`` of
        them, permuting each hash once."""
        if hashes.size == 0:
            return self.empty.copy(), self.empty.copy()
        permuted = _fmix32(hashes)[:, None] * self.a
        permuted += self.b
        whole: U32 = permuted.min(axis=0)
        if part.size == 0:
            return whole, self.empty.copy()
        piece: U32 = permuted[np.searchsorted(hashes, part)].min(axis=0)
        return whole, piece


@lru_cache(maxsize=64)
def band_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising the false-positive plus false-negative area around ``threshold``, as
    datasketch's MinHashLSH chooses them (so a threshold means the same here as there)."""
    step = 0.001
    below = np.arange(0.0, threshold, step) + step / 2
    above = np.arange(threshold, 1.0, step) + step / 2
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            false_pos = float(np.sum(1.0 - (1.0 - below**r) ** b)) * step
            false_neg = float(np.sum((1.0 - above**r) ** b)) * step
            err = 0.5 * false_pos + 0.5 * false_neg
            if err < best_err:
                best, best_err = (b, r), err
    return best


# ---------------------------------------------------------------------------------------------------------
# Fingerprints and boilerplate


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What dedup keeps of one story: its shingle set (sorted) and its lead's shingles (in text order)."""

    shingles: U32
    lead: U32

    def nbytes(self) -> int:
        return int(self.shingles.nbytes + self.lead.nbytes)


class ShingleCounts(Protocol):
    """How many unrelated stories each shingle was seen in (boilerplate when at or above the df)."""

    version: int  # changes whenever the counts do

    def add(self, shingles: U32) -> None: ...

    def frequency(self, shingles: U32) -> npt.NDArray[Any]: ...

    def to_bytes(self) -> bytes: ...


class BoilerplateCounter:
    """Count-min sketch (conservative update, uint8 cells) of how many new clusters each shingle has
    appeared in; every ``half_life`` additions all counts halve, so old text fades and the sketch never
    fills up however long the service runs (one shingle seen in 5 of the last few thousand clusters
    stays boilerplate)."""

    _MAGIC = b"BPC2"
    _HEADER = struct.Struct("<4sBBHIQ")  # magic, width bits, depth, reserved, half-life, additions

    def __init__(
        self, width_bits: int = 22, depth: int = 2, half_life: int = HALF_LIFE, data: bytes | None = None
    ) -> None:
        self.width_bits, self.depth, self.half_life, self.added = width_bits, depth, half_life, 0
        self.counts = np.zeros((depth, 1 << width_bits), dtype=np.uint8)
        if data is not None and len(data) >= self._HEADER.size:
            magic, bits, rows, _, life, added = self._HEADER.unpack_from(data)
            body = data[self._HEADER.size :]
            if magic == self._MAGIC and len(body) == rows << bits:
                self.width_bits, self.depth, self.half_life, self.added = bits, rows, life, added
                self.counts = np.frombuffer(body, dtype=np.uint8).reshape(rows, 1 << bits).copy()
        self._mask = np.uint32((1 << self.width_bits) - 1)
        self._shift = np.uint32(32 - self.width_bits)
        self._mults = [
            np.uint32((0x9E3779B1 + 0x7F4A7C16 * i) & 0xFFFFFFFF | 1) for i in range(1, self.depth)
        ]
        self.version = 0

    def _cells(self, shingles: U32) -> list[U32]:
        # Shingle hashes are already uniform: the first row takes their low bits, the others the high
        # bits of a multiplicative rehash (cheap, and independent enough for a count-min sketch).
        return [shingles & self._mask] + [(shingles * m) >> self._shift for m in self._mults]

    def add(self, shingles: U32) -> None:
        self.version += 1
        if shingles.size:
            cells = self._cells(shingles)
            rows = [self.counts[i][c] for i, c in enumerate(cells)]
            new = np.minimum.reduce(rows)
            np.minimum(new, 254, out=new)
            new += 1  # conservative update: raise only the cells at the estimate, and cap at 255
            for i, c in enumerate(cells):
                self.counts[i][c] = np.maximum(rows[i], new)
        self.added += 1
        if self.half_life and self.added % self.half_life == 0:
            self.counts >>= 1

    def frequency(self, shingles: U32) -> npt.NDArray[np.uint8]:
        if shingles.size == 0:
            return np.zeros(0, dtype=np.uint8)
        rows = [self.counts[i][c] for i, c in enumerate(self._cells(shingles))]
        result: npt.NDArray[np.uint8] = np.minimum.reduce(rows)
        return result

    def to_bytes(self) -> bytes:
        header = self._HEADER.pack(self._MAGIC, self.width_bits, self.depth, 0, self.half_life, self.added)
        return header + self.counts.tobytes()


class ExactCounts:
    """Exact shingle counts of a finished batch (``cluster_texts``): no sketch error, no decay."""

    def __init__(self, groups: Iterable[U32]) -> None:
        parts = [np.unique(g) for g in groups]
        merged = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint32)
        self.keys, counts = np.unique(merged, return_counts=True)
        self.counts = counts.astype(np.int64)
        self.version = 0

    def add(self, shingles: U32) -> None:  # a batch is counted once, up front
        self.version += 1

    def frequency(self, shingles: U32) -> npt.NDArray[np.int64]:
        if self.keys.size == 0 or shingles.size == 0:
            return np.zeros(shingles.shape, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, shingles), self.keys.size - 1)
        return np.where(self.keys[at] == shingles, self.counts[at], 0)

    def to_bytes(self) -> bytes:
        return self.keys.tobytes() + self.counts.astype(np.uint32).tobytes()


# ---------------------------------------------------------------------------------------------------------
# Candidate index


class _Sig:
    """The part of a MinHash that MinHashLSH reads: cheaper than building a LeanMinHash per story."""

    __slots__ = ("hashvalues",)
    scheme = SCHEME

    def __init__(self, hashvalues: U32) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


@dataclass(slots=True)
class _Content:
    """A fingerprint under the boilerplate counts of the moment: content shingles and signatures."""

    shingles: U32  # sorted
    df: npt.NDArray[Any]  # of each content shingle: in how many unrelated stories it was seen
    head: U32  # the first START_SHINGLES content shingles of the lead, in text order
    body_sig: U32 | None = None  # None: nothing left to sign
    lead_sig: U32 | None = None
    bands: list[int] | None = None  # the memory index's band keys, computed once for query and insert
    probed: tuple[int, list[str | list[str] | None]] | None = None  # (index epoch, what query found)


class _Index(Protocol):
    """Banded LSH over (body, lead) signatures; an empty signature (no content) is not indexed."""

    def query(self, content: _Content) -> set[str]: ...

    def insert(self, key: str, content: _Content) -> None: ...

    def remove(self, key: str) -> None: ...


class _MemoryIndex:
    """Banded LSH of body and lead signatures in one dict: 60-bit band key -> key (or list of keys).

    Much smaller and faster than MinHashLSH's dict storage (a set and a bytes object per band per
    story) and cheap for the garbage collector (no container per entry)."""

    def __init__(self, body: tuple[int, int], lead: tuple[int, int]) -> None:
        self.shapes = (body, lead)
        gen = np.random.default_rng(20250611)  # fixed: keys are only compared within one process
        self.mult = gen.integers(1, 1 << 63, size=max(body[1], lead[1], 1), dtype=np.uint64) | np.uint64(1)
        salts = gen.integers(0, 1 << 63, size=body[0] + lead[0], dtype=np.uint64)
        self.salts = (salts[: body[0]], salts[body[0] :])
        self.table: dict[int, str | list[str]] = {}
        self.keys: dict[str, list[int]] = {}
        self.epoch = 0  # changes with every insert and remove: a query's look-ups stay valid until then

    def _band_keys(self, content: _Content) -> list[int]:
        if content.bands is not None:
            return content.bands
        out: list[int] = []
        sigs = (content.body_sig, content.lead_sig)
        for sig, (bands, rows), salts in zip(sigs, self.shapes, self.salts, strict=True):
            if sig is None or bands == 0:
                continue
            # A salted random linear combination of the band's rows, remixed: 60-bit keys.
            keys = (sig[: bands * rows].reshape(bands, rows) * self.mult[:rows]).sum(axis=1, dtype=np.uint64)
            keys ^= salts
            keys *= np.uint64(0xBF58476D1CE4E5B9)
            keys >>= np.uint64(4)
            out += keys.tolist()
        content.bands = out
        return out

    def query(self, content: _Content) -> set[str]:
        hits = list(map(self.table.get, self._band_keys(content)))
        content.probed = (self.epoch, hits)
        found: set[str] = set()
        for hit in hits:
            if hit is None:
                continue
            if isinstance(hit, str):
                found.add(hit)
            else:
                found.update(hit)
        return found

    def insert(self, key: str, content: _Content) -> None:
        bands = self._band_keys(content)
        self.keys[key] = bands
        table = self.table
        probed = content.probed
        if probed is not None and probed[0] == self.epoch:  # the usual path: matches(), then add()
            table.update(
                dict.fromkeys([b for b, hit in zip(bands, probed[1], strict=True) if hit is None], key)
            )
            taken = [b for b, hit in zip(bands, probed[1], strict=True) if hit is not None]
        else:
            taken = bands
        for band in taken:
            hit = table.setdefault(band, key)
            if hit is key:
                continue
            if isinstance(hit, str):
                if hit != key:
                    table[band] = [hit, key]
            elif key not in hit:
                hit.append(key)
        self.epoch += 1

    def remove(self, key: str) -> None:
        self.epoch += 1
        for band in self.keys.pop(key, ()):
            hit = self.table.get(band)
            if hit == key:
                del self.table[band]
            elif isinstance(hit, list) and key in hit:
                hit.remove(key)
                if len(hit) == 1:
                    self.table[band] = hit[0]


class _DatasketchIndex:
    """The same bands in two datasketch MinHashLSH indexes, for shared storage (``storage_config``,
    e.g. Redis) when several workers share one index."""

    def __init__(
        self, body: tuple[int, int], lead: tuple[int, int], num_perm: int, storage_config: dict[str, Any]
    ) -> None:
        self.body = MinHashLSH(num_perm=num_perm, params=body, storage_config=_named(storage_config, "body"))
        self.lead = MinHashLSH(num_perm=num_perm, params=lead, storage_config=_named(storage_config, "lead"))

    def query(self, content: _Content) -> set[str]:
        found: set[str] = set()
        for index, sig in ((self.body, content.body_sig), (self.lead, content.lead_sig)):
            if sig is not None:
                found.update(index.query(_Sig(sig)))
        return found

    def insert(self, key: str, content: _Content) -> None:
        for index, sig in ((self.body, content.body_sig), (self.lead, content.lead_sig)):
            if sig is not None:
                index.insert(key, _Sig(sig), check_duplication=False)

    def remove(self, key: str) -> None:
        for index in (self.body, self.lead):
            if key in index:
                index.remove(key)


def _named(config: dict[str, Any], part: str) -> dict[str, Any]:
    if "basename" not in config:
        return dict(config)
    return {**config, "basename": bytes(config["basename"]) + b"_" + part.encode()}


# ---------------------------------------------------------------------------------------------------------
# The deduper


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
        boilerplate: ShingleCounts | None = None,
        storage_config: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.signer = Signer(settings.num_perm, settings.seed)
        self.boilerplate: ShingleCounts = boilerplate if boilerplate is not None else BoilerplateCounter()
        self.boilerplate_df = settings.boilerplate_df
        body = band_params(settings.lsh_threshold, settings.num_perm)
        lead = band_params(LEAD_THRESHOLD, settings.num_perm)
        self._index: _Index = (
            _MemoryIndex(body, lead)
            if storage_config is None
            else _DatasketchIndex(body, lead, settings.num_perm, storage_config)
        )
        self._prints: dict[str, Fingerprint] = {}
        self._last: tuple[Fingerprint, int, _Content] | None = None  # what matches() computed last

    def __len__(self) -> int:
        return len(self._prints)

    def __contains__(self, key: str) -> bool:
        return key in self._prints

    def fingerprint(self, title: str, body: str) -> Fingerprint:
        return fingerprint(title, body, self.settings)

    def _content(self, shingles: U32) -> U32:
        """Shingles minus known boilerplate (order kept)."""
        if shingles.size == 0:
            return shingles
        return shingles[self.boilerplate.frequency(shingles) < self.boilerplate_df]

    def _prepare(self, fp: Fingerprint, *, sign: bool = True) -> _Content:
        last = self._last
        if last is not None and last[0] is fp and last[1] == self.boilerplate.version:
            return last[2]
        both = np.concatenate((fp.shingles, fp.lead))  # one look-up for both
        df = self.boilerplate.frequency(both)
        keep = df < self.boilerplate_df
        n = fp.shingles.size
        mine = keep[:n]
        lead = fp.lead[keep[n:]]
        shingles = fp.shingles[mine]
        content = _Content(shingles, df[:n][mine], lead[:START_SHINGLES])
        if sign:
            if shingles.size:  # the lead's shingles are some of the body's: sign both in one pass
                body_sig, lead_sig = self.signer.sign_with_part(shingles, sorted_unique(lead))
                content.body_sig = body_sig
                content.lead_sig = lead_sig if lead.size else None
            self._last = (fp, self.boilerplate.version, content)
        return content

    def candidates(self, fp: Fingerprint) -> set[str]:
        return self._index.query(self._prepare(fp))

    def verify(self, a: Fingerprint, b: Fingerprint) -> Match | None:
        return _verify(self._prepare(a, sign=False), self._prepare(b, sign=False), self.settings)

    def matches(self, fp: Fingerprint, exclude: str | None = None) -> list[Match]:
        """Indexed stories that ``fp`` verifiably copies (or is copied by), best first."""
        mine = self._prepare(fp)
        found = self._index.query(mine)
        found.discard(exclude or "")
        out = []
        for key in found:
            other = self._prints.get(key)
            if other is None:
                continue
            match = _verify(mine, self._prepare(other, sign=False), self.settings)
            if match is not None:
                out.append(Match(key, match.resemblance, match.containment))
        return sorted(out, key=lambda m: (-m.resemblance, -m.containment, m.key))

    def add(self, key: str, fp: Fingerprint, *, count_boilerplate: bool) -> None:
        """Index ``fp`` under ``key``; pass count_boilerplate for a story that starts a new cluster."""
        if key in self._prints:
            return
        self._insert(key, fp)
        if count_boilerplate:
            self.boilerplate.add(fp.shingles)

    def _insert(self, key: str, fp: Fingerprint) -> None:
        self._prints[key] = fp
        self._index.insert(key, self._prepare(fp))

    def load(self, items: Iterable[tuple[str, Fingerprint]]) -> int:
        """Bulk-restore the index (after a restart); boilerplate counts come with the counter."""
        count = 0
        with _gc_frozen():
            for key, fp in items:
                if key not in self._prints:
                    self._insert(key, fp)
                    count += 1
        self._last = None
        return count

    def remove(self, key: str) -> None:
        if self._prints.pop(key, None) is not None:
            self._index.remove(key)


def _share(head: U32, other: U32) -> float:
    """Share of ``head`` found in the sorted set ``other``."""
    if head.size == 0 or other.size == 0:
        return 0.0
    at = np.minimum(np.searchsorted(other, head), other.size - 1)
    return float(np.count_nonzero(other[at] == head)) / head.size


def _weights(df: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """1 for a shingle no other story has (or one other: a copy that missed its cluster), else
    1/(df-1): text a few unrelated stories share, short of boilerplate, is weak evidence."""
    result: npt.NDArray[np.float64] = 1.0 / np.maximum(df - 1.0, 1.0)
    return result


def _verify(a: _Content, b: _Content, settings: DedupSettings) -> Match | None:
    """Resemblance and containment of the content sets, shingles weighted by ``_weights``."""
    sa, sb = a.shingles, b.shingles
    if sa.size == 0 or sb.size == 0:
        return None
    small, large = (a, b) if sa.size <= sb.size else (b, a)
    at = np.minimum(np.searchsorted(large.shingles, small.shingles), large.shingles.size - 1)
    hit = large.shingles[at] == small.shingles
    if small.shingles.size < MIN_SHINGLES:
        if np.all(hit) and sa.size == sb.size:
            return Match("", 1.0, 1.0)
        return None
    weights_small = _weights(small.df)
    shared = float(weights_small[hit].sum())
    wa, wb = float(weights_small.sum()), float(_weights(large.df).sum())
    resemblance = shared / (wa + wb - shared)
    containment = shared / min(wa, wb)
    if resemblance < settings.resemblance and containment < settings.containment:
        return None
    if max(_share(a.head, sb), _share(b.head, sa)) < START_AGREE:
        return None  # copies start alike; this pair shares only a footer, a quote or a passage
    return Match("", resemblance, containment)


def fingerprint(title: str, body: str, settings: DedupSettings) -> Fingerprint:
    """The body's shingles (the title's too when the body is too short to say anything) and its lead."""
    size = settings.shingle_size
    hashes = token_hashes(body)
    if hashes.size < size + MIN_SHINGLES:
        hashes = np.concatenate((token_hashes(title), hashes))
    sequence = shingle_sequence(hashes, size)
    lead_count = max(1, min(hashes.size, settings.lead_words) - size + 1)
    return Fingerprint(shingles=sorted_unique(sequence), lead=sequence[:lead_count].copy())


@contextmanager
def _gc_frozen() -> Iterator[None]:
    """Bulk inserts create many long-lived objects; the cyclic GC rescanning them dominates. The loaded
    index stays frozen afterwards (it lives as long as the process), so later full collections skip it."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.freeze()


def fingerprint_to_bytes(fp: Fingerprint) -> tuple[bytes, bytes]:
    return fp.shingles.tobytes(), fp.lead.tobytes()


def fingerprint_from_bytes(shingles: bytes, lead: bytes) -> Fingerprint:
    return Fingerprint(np.frombuffer(shingles, dtype=np.uint32), np.frombuffer(lead, dtype=np.uint32))


# ---------------------------------------------------------------------------------------------------------
# Batches


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
    with _gc_frozen():
        return _cluster(keys, prints, settings, prime_boilerplate(settings, prints, keys))


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
