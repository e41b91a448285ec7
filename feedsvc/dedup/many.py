"""A page's fingerprints under the boilerplate counts in one pass of numpy calls: content, signatures.

What ``Deduper._prepare`` does for one fingerprint, done for many at once: the fingerprints' shingles
are concatenated and keyed by (story, shingle), so one look-up of the counts, one permutation of every
content shingle and one ``minimum.reduceat`` give every story's content and body signature (and the
same for the leads' content shingles, their lead signatures). ``narrow``
brings one of them up to date when an earlier story of the page made some of its text boilerplate."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from feedsvc.dedup.boilerplate import ShingleCounts
from feedsvc.dedup.fingerprint import Fingerprint, _Content
from feedsvc.dedup.shingles import U32, split
from feedsvc.dedup.signature import Signer
from feedsvc.dedup.verify import START_SHINGLES


class Read(NamedTuple):
    """A fingerprint's boilerplate counts when last read, as bytes (compared as bytes: fastest)."""

    counts: bytes  # of each of its shingles
    mask: bytes  # of each of its shingles: content (under boilerplate_df), as booleans


def _keyed(arrays: Sequence[U32], sizes: npt.NDArray[np.intp]) -> npt.NDArray[np.uint64]:
    """The arrays concatenated, each value keyed by its array's number in the high 32 bits."""
    owner = (np.arange(len(arrays), dtype=np.uint64) << np.uint64(32)).repeat(sizes)
    owner |= np.concatenate(arrays)
    return owner


def _starts(sizes: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    starts = np.zeros(sizes.size, dtype=np.intp)
    sizes[:-1].cumsum(out=starts[1:])
    return starts


_SCRATCH = threading.local()  # each thread's buffer for a page's permuted shingles
_SCRATCH_MAX = 1 << 20  # values kept from one page to the next, at most (4 MB)


def _scratch(rows: int, columns: int) -> U32 | None:
    """A ``(rows, columns)`` view of this thread's reused buffer (writing a fresh array of a page's
    permuted shingles costs more), or None when that is too large to keep."""
    if rows * columns > _SCRATCH_MAX:
        return None
    buffer: U32 | None = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.shape[0] != rows or buffer.shape[1] < columns:
        buffer = np.empty((rows, max(columns, _SCRATCH_MAX // rows // 4)), dtype=np.uint32)
        _SCRATCH.buffer = buffer
    return buffer[:, :columns]


def contents(
    prints: Sequence[Fingerprint], counts: ShingleCounts, boilerplate_df: int, signer: Signer
) -> list[tuple[_Content, Read]]:
    """(content, the counts it was made under) of each fingerprint, each content equal to what
    ``Deduper._prepare`` gives under the same counts. Every fingerprint must have shingles (and so a lead)."""
    # (Array methods, not the np.* wrappers: see ``fingerprint.fingerprints``.)
    sizes = np.fromiter((fp.shingles.size for fp in prints), dtype=np.intp, count=len(prints))
    lead_sizes = np.fromiter((fp.lead.size for fp in prints), dtype=np.intp, count=len(prints))
    every = _keyed([fp.shingles for fp in prints], sizes)  # sorted: each set is, and numbered in order
    shingles = every.astype(np.uint32)
    df = counts.frequencies([fp.shingles for fp in prints])  # each story's cells kept for its turn
    mine = df < boilerplate_df
    content = shingles[mine]
    content_df = df[mine]
    content_sizes = np.add.reduceat(mine, _starts(sizes), dtype=np.intp)
    # Each lead shingle's place among all shingles, whether it is content, and then its place there.
    at = every.searchsorted(_keyed([fp.lead for fp in prints], lead_sizes))
    lead_mine = mine[at]
    lead_at = (mine.cumsum() - 1)[at[lead_mine]]
    lead_content_sizes = np.add.reduceat(lead_mine, _starts(lead_sizes), dtype=np.intp)
    lead_content = content[lead_at]
    # Signatures: every content shingle permuted once, each story's columns reduced (the leads' apart).
    body_of: dict[int, U32] = {}
    lead_of: dict[int, U32] = {}
    signed = content_sizes.nonzero()[0]
    if signed.size:
        permuted = signer.permuted(content, _scratch(signer.num_perm, content.size))
        body_sigs = np.minimum.reduceat(permuted, _starts(content_sizes)[signed], axis=1).T.copy()
        body_of = dict(zip(signed.tolist(), body_sigs, strict=True))
        led = lead_content_sizes.nonzero()[0]  # a story has content in its lead only if it has any
        if led.size:  # permuting the page's few hundred lead shingles again beats gathering their columns
            lead_permuted = signer.permuted(lead_content)
            lead_sigs = np.minimum.reduceat(lead_permuted, _starts(lead_content_sizes)[led], axis=1)
            lead_of = dict(zip(led.tolist(), lead_sigs.T.copy(), strict=True))
    out = []
    content_ends = content_sizes.cumsum().tolist()
    ends = sizes.cumsum().tolist()
    # Each story's counts and content mask as bytes, cut from the page's: what Deduper compares them with
    width, counted, masked = df.itemsize, df.tobytes(), mine.tobytes()
    for i, (lo, hi, head, start, end) in enumerate(
        zip(
            [0, *content_ends[:-1]],
            content_ends,
            split(lead_content, lead_content_sizes),
            [0, *ends[:-1]],
            ends,
            strict=True,
        )
    ):
        item = _Content(
            content[lo:hi], content_df[lo:hi], head[:START_SHINGLES], body_of.get(i), lead_of.get(i)
        )
        out.append((item, Read(counted[start * width : end * width], masked[start:end])))
    return out


Mask = npt.NDArray[np.bool_]  # of a fingerprint's shingles: which are content


def narrow(fp: Fingerprint, content: _Content, before: Mask, after: Mask, signer: Signer) -> bool:
    """Bring ``content``, ``fp``'s content under mask ``before``, to mask ``after`` in place (all but its
    counts, ``df``), when no shingle that went in or out of it gave or would give a signature value:
    each value is the minimum of one permutation over the content (distinct shingles permute to distinct
    values), so it holds, and so do the band keys and look-ups made of them. False, ``content``
    untouched, otherwise (or when a signature is to be made where there was none)."""
    moved = before != after
    at = fp.shingles.searchsorted(fp.lead)
    changed = fp.shingles[moved]
    if changed.size:  # (a lead shingle moves only with its entry among the shingles)
        if content.body_sig is None:
            return False
        # Each changed shingle under every permutation, once for both signatures (the lead's changed
        # shingles are some of these columns): a value at or under a signature's value gave or would
        # give it, as signing the changed shingles alone and comparing that signature would tell.
        permuted = signer.permuted(changed)
        if (permuted <= content.body_sig[:, None]).any():
            return False
        lead_moved = moved[at]
        if lead_moved.any():
            if content.lead_sig is None:
                return False
            columns = changed.searchsorted(fp.lead[lead_moved])
            if (permuted[:, columns] <= content.lead_sig[:, None]).any():
                return False
    content.shingles = fp.shingles[after]
    content.head = fp.lead[after[at]][:START_SHINGLES]
    return True
