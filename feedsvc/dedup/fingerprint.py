"""Fingerprints: what dedup keeps of a story, its serialisation, and its content under boilerplate counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from feedsvc.dedup.shingles import (
    U32,
    U64,
    shingle_sequence,
    sorted_unique,
    split,
    token_hashes,
    token_hashes_many,
)
from feedsvc.settings import DedupSettings

# Bump when shingle hashing or the lead's layout changes: stored prints then differ, and the next start
# re-fingerprints every stored copy from its text. 3: stores written before the power tables were made
# thread-safe may hold copies hashed wrongly (several pages fingerprinted at once): re-fingerprinted once.
FINGERPRINT_VERSION = 3
MIN_SHINGLES = 8  # fewer content shingles than this: merge only when identical


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What dedup keeps of one story: its shingle set (sorted) and its lead's shingles (in text order)."""

    shingles: U32
    lead: U32

    def nbytes(self) -> int:
        return int(self.shingles.nbytes + self.lead.nbytes)


@dataclass(slots=True)
class _Content:
    """A fingerprint under the boilerplate counts of the moment: content shingles and signatures."""

    shingles: U32  # sorted
    df: npt.NDArray[Any]  # of each content shingle: in how many unrelated stories it was seen
    head: U32  # the first START_SHINGLES content shingles of the lead, in text order
    body_sig: U32 | None = None  # None: nothing left to sign
    lead_sig: U32 | None = None
    bands: U64 | None = None  # the memory index's band keys, computed once for query and insert
    band_list: list[int] | None = None  # the same, as Python ints (dict keys)
    # (index epoch, what query found in each band: None when nothing in any)
    probed: tuple[int, list[str | list[str] | None] | None] | None = None
    frozen: tuple[int, list[int]] | None = None  # (frozen runs' generation, story numbers found there)


def fingerprint(title: str, body: str, settings: DedupSettings) -> Fingerprint:
    """The body's shingles (the title's too when the body is too short to say anything) and its lead."""
    size = settings.shingle_size
    hashes = token_hashes(body)
    if hashes.size < size + MIN_SHINGLES:
        hashes = np.concatenate((token_hashes(title), hashes))
    sequence = shingle_sequence(hashes, size)
    lead_count = max(1, min(hashes.size, settings.lead_words) - size + 1)
    return Fingerprint(shingles=sorted_unique(sequence), lead=sequence[:lead_count].copy())


def fingerprints(items: Sequence[tuple[str, str]], settings: DedupSettings) -> list[Fingerprint]:
    """``fingerprint(title, body)`` of every item, in one pass of numpy calls for all of them (a page's
    stories): shingles of the concatenated token hashes, each story's sorted in place in one buffer and
    deduplicated in one pass. A story short enough to need its title is fingerprinted alone."""
    # (Array methods, not the np.* functions that wrap them: a wrapper costs ~0.5 us a call, as much
    # as the work on a page's few thousand values.)
    size = settings.shingle_size
    hashes, starts = token_hashes_many([body for _, body in items])
    counts = starts[1:] - starts[:-1]
    whole = counts >= size + MIN_SHINGLES
    out: list[Fingerprint | None] = [None] * len(items)
    for i in (~whole).nonzero()[0].tolist():
        out[i] = fingerprint(*items[i], settings)
    picked = whole.nonzero()[0]
    if picked.size:
        sequence = shingle_sequence(hashes, size)  # some shingles span two stories: not taken
        numbers = counts[picked] - (size - 1)  # each story's shingles
        ends = numbers.cumsum()
        at = np.arange(int(ends[-1]), dtype=np.intp)
        at += (starts[picked] - (ends - numbers)).repeat(numbers)
        mine = sequence[at]
        ordered = mine.copy()
        for piece in split(ordered, numbers):
            piece.sort()  # story by story: numpy sorts a few hundred values far faster than thousands
        keep = np.empty(ordered.size, dtype=np.bool_)
        np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
        keep[ends - numbers] = True  # each story's first shingle
        sets = split(ordered[keep], np.add.reduceat(keep, ends - numbers, dtype=np.intp))
        lead_numbers = np.maximum(np.minimum(counts[picked], settings.lead_words) - (size - 1), 1)
        lead_ends = lead_numbers.cumsum()
        lead_at = np.arange(int(lead_ends[-1]), dtype=np.intp)
        lead_at += (ends - numbers - (lead_ends - lead_numbers)).repeat(lead_numbers)
        leads = split(mine[lead_at], lead_numbers)
        for i, shingles, lead in zip(picked.tolist(), sets, leads, strict=True):
            out[i] = Fingerprint(shingles=shingles, lead=lead)
    return out  # type: ignore[return-value]


def fingerprint_to_bytes(fp: Fingerprint) -> tuple[bytes, bytes]:
    return fp.shingles.tobytes(), fp.lead.tobytes()


def fingerprint_from_bytes(shingles: bytes, lead: bytes) -> Fingerprint:
    return Fingerprint(np.frombuffer(shingles, dtype=np.uint32), np.frombuffer(lead, dtype=np.uint32))
