"""Text -> word-token hashes -> shingle hashes: NFKC, case-folded ``\\w+`` tokens, hashed with numpy."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

_P = np.uint64(0x100000001B3)  # odd multiplier of the token polynomial hash (the FNV-64 prime)
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_SHINGLE_MIX = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=1)
def _word_chars() -> npt.NDArray[np.bool_]:
    """For every code point: is it matched by ``\\w`` (letters, digits, marks, underscore)?"""
    table = np.zeros(0x110000, dtype=np.bool_)
    # every code point in order, surrogates included: decoded from their UTF-32 units (10x a join of chr)
    everything = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    for run in re.finditer(r"\w+", everything):
        table[run.start() : run.end()] = True
    return table


class _Powers:
    """P**i and P**-i (mod 2**64) for i < n, grown on demand. Shared by every thread (pages are
    fingerprinted in parallel): the two tables are published together as one tuple, so a reader never
    pairs a grown table with a short one (numpy broadcasts a one-element table silently: wrong hashes)."""

    def __init__(self) -> None:
        self.tables: tuple[U64, U64] = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))
        self._lock = threading.Lock()

    def at_least(self, n: int) -> tuple[U64, U64]:
        """(P**i, P**-i) tables of at least ``n`` entries."""
        tables = self.tables
        if n <= tables[0].size:
            return tables
        with self._lock:
            tables = self.tables
            if n <= tables[0].size:  # another thread grew them meanwhile
                return tables
            size = max(n, 2 * tables[0].size, 4096)
            with np.errstate(over="ignore"):
                fwd = np.full(size, _P, dtype=np.uint64)
                inv = np.full(size, _P_INV, dtype=np.uint64)
                fwd[0] = inv[0] = 1
                self.tables = (np.multiply.accumulate(fwd), np.multiply.accumulate(inv))
            return self.tables


_POWERS = _Powers()


def _fmix64(h: U64) -> None:
    """MurmurHash3's 64-bit finalizer, in place (array arithmetic wraps silently: no overflow checks)."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)


# Typography that is no word character and that NFKC and case-folding leave alone or turn into no word
# characters (curly quotes, dashes, a no-break space, an ellipsis), none of them combining: in a text
# whose other characters are ASCII, each can be a space instead, and the tokens are the same.
_PLAIN_TYPOGRAPHY = ("\u2018", "\u2019", "\u201c", "\u201d", "\u2013", "\u2014", "\u00a0", "\u2026")
_ASCII_WORD = bytes(int(bool(re.fullmatch(r"\w", chr(c), re.ASCII))) for c in range(256))  # word byte -> 1


def _fold(text: str) -> str:
    """NFKC, case-folded (ASCII needs no NFKC, and its lower() is casefold(); nor does ASCII with plain
    typography, which tokenises as ASCII with spaces in its place: case-folding the rest costs far more)."""
    if text.isascii():
        return text.lower()
    plain = text
    for mark in _PLAIN_TYPOGRAPHY:
        plain = plain.replace(mark, " ")
    if plain.isascii():
        return plain.lower()
    return unicodedata.normalize("NFKC", text).casefold()


def _points(folded: str) -> bytes | U32:
    """The folded text's code points: its ASCII bytes (the common case, 4x less data), else UTF-32."""
    if folded.isascii():
        return folded.encode("ascii")
    return np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _hash_points(text: bytes | U32) -> tuple[U64, npt.NDArray[np.intp]]:
    """Polynomial hashes of the ``\\w+`` runs of code points ``text`` (ASCII bytes or code points),
    and where each run starts."""
    if isinstance(text, bytes):  # which bytes are word characters: one translate, read as booleans
        padded = np.frombuffer(b"\0" + text.translate(_ASCII_WORD) + b"\0", dtype=np.bool_)
        points: npt.NDArray[np.uint8] | U32 = np.frombuffer(text, dtype=np.uint8)
    else:
        points = text
        padded = np.zeros(points.size + 2, dtype=np.bool_)
        padded[1:-1] = _word_chars().take(points)  # take: no conversion of the indices to intp first
    n = points.size
    if n == 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.intp)
    edges = (padded[1:] != padded[:-1]).nonzero()[0]  # start, end, start, end, ...
    if edges.size == 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.intp)
    # sum(c_i * P**(end-1-i)) over a token = P**(end-1) * sum(c_i * P**-i): one pass for all tokens,
    # each token's sum a difference of prefix sums (wrapping mod 2**64 like the rest: exact).
    fwd, inv = _POWERS.at_least(n + 1)
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    np.multiply(points, inv[:n], out=prefix[1:])
    prefix.cumsum(out=prefix)
    bounds = prefix.take(edges)  # one gather for both ends of every token
    starts, ends = edges[::2], edges[1::2]
    result: U64 = bounds[1::2] - bounds[::2]
    result *= fwd.take(ends - 1)
    return result, starts


def token_hashes(text: str) -> U64:
    """64-bit polynomial hashes of the text's word tokens (NFKC, case-folded, ``\\w+``), in order."""
    return _hash_points(_points(_fold(text)))[0]


def token_hashes_many(texts: Sequence[str]) -> tuple[U64, npt.NDArray[np.intp]]:
    """``token_hashes`` of every text, concatenated, and where each text's tokens start (one more entry:
    the end). One pass of numpy calls for all: the texts are folded one by one (NFKC of a whole would
    be the same, but not the lengths) and joined with a newline, which no token spans."""
    folded = [_fold(text) for text in texts]
    hashes, starts = _hash_points(_points("\n".join(folded)))
    bounds = np.zeros(len(folded) + 1, dtype=np.intp)
    np.cumsum([len(f) + 1 for f in folded], out=bounds[1:])
    return hashes, starts.searchsorted(bounds)


def tokens(text: str) -> list[str]:
    """The word tokens ``token_hashes`` hashes (for baselines and diagnostics; slower)."""
    return re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())


def split(values: npt.NDArray[Any], sizes: Sequence[int] | npt.NDArray[np.intp]) -> list[npt.NDArray[Any]]:
    """``values`` cut into consecutive pieces of ``sizes`` (views; np.split costs more per piece)."""
    bounds = [0, *np.add.accumulate(sizes).tolist()]
    return [values[lo:hi] for lo, hi in pairwise(bounds)]


def shingle_sequence(hashes: U64, size: int) -> U32:
    """32-bit hashes of every run of ``size`` tokens, in text order (one hash for fewer tokens)."""
    if hashes.size == 0:
        return np.empty(0, dtype=np.uint32)
    n = max(1, hashes.size - size + 1)
    acc = hashes[:n].copy()
    for j in range(1, min(size, hashes.size)):
        acc *= _SHINGLE_MIX
        acc += hashes[j : j + n]
    _fmix64(acc)
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
