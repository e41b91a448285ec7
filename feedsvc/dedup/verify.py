"""Verification of a candidate pair on exact shingle sets: weighted resemblance, containment, start rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from feedsvc.dedup.fingerprint import MIN_SHINGLES, _Content
from feedsvc.dedup.shingles import U32
from feedsvc.settings import DedupSettings

START_SHINGLES = 20  # how much of a text's start is compared by the start rule
START_AGREE = 0.5  # share of one text's first START_SHINGLES content shingles found in the other


@dataclass(frozen=True)
class Match:
    key: str
    resemblance: float
    containment: float


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
