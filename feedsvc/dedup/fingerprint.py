"""Fingerprints: what dedup keeps of a story, its serialisation, and its content under boilerplate counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from feedsvc.dedup.shingles import U32, U64, shingle_sequence, sorted_unique, token_hashes
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
    probed: tuple[int, list[str | list[str] | None]] | None = None  # (index epoch, what query found)


def fingerprint(title: str, body: str, settings: DedupSettings) -> Fingerprint:
    """The body's shingles (the title's too when the body is too short to say anything) and its lead."""
    size = settings.shingle_size
    hashes = token_hashes(body)
    if hashes.size < size + MIN_SHINGLES:
        hashes = np.concatenate((token_hashes(title), hashes))
    sequence = shingle_sequence(hashes, size)
    lead_count = max(1, min(hashes.size, settings.lead_words) - size + 1)
    return Fingerprint(shingles=sorted_unique(sequence), lead=sequence[:lead_count].copy())


def fingerprint_to_bytes(fp: Fingerprint) -> tuple[bytes, bytes]:
    return fp.shingles.tobytes(), fp.lead.tobytes()


def fingerprint_from_bytes(shingles: bytes, lead: bytes) -> Fingerprint:
    return Fingerprint(np.frombuffer(shingles, dtype=np.uint32), np.frombuffer(lead, dtype=np.uint32))
