"""Content decoding with a bound: gzip/deflate bodies inflated step by step, never past a byte limit.

An HTTP client that inflates whole chunks lets a 1.8 KB response with ``Content-Encoding: gzip, gzip``
expand to gigabytes before any size check runs. Here every stage inflates at most ``STEP`` bytes at a time
from what it was given, and counts what it has produced, so memory stays within the limit plus one step
whatever the compression ratio or the number of stacked codings.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

STEP = 64 * 1024
SUPPORTED = ("gzip", "x-gzip", "deflate", "identity")


class TooLarge(Exception):
    """The decoded body passed the limit."""


class BadCoding(Exception):
    """A content coding we do not decode, or bytes that are not what the coding says."""


def codings(header: str | None) -> list[str]:
    """The codings of a Content-Encoding header in the order they were applied (identity left out)."""
    found = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
    for coding in found:
        if coding not in SUPPORTED:
            raise BadCoding(f"unsupported Content-Encoding {coding!r}")
    return [c for c in found if c != "identity"]


def _decompressor(coding: str, first: bytes) -> zlib._Decompress:
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    # "deflate" is meant to be zlib-wrapped, but many servers send raw deflate: tell by the zlib header.
    wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
    return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


def _inflate(chunks: Iterable[bytes], coding: str, limit: int) -> Iterator[bytes]:
    decompressor: zlib._Decompress | None = None
    produced = 0
    for chunk in chunks:
        data = chunk
        while data:
            if decompressor is None:
                decompressor = _decompressor(coding, data)
            try:
                out = decompressor.decompress(data, STEP)
            except zlib.error as exc:
                raise BadCoding(f"body is not valid {coding}: {exc}") from exc
            data = decompressor.unconsumed_tail
            if decompressor.eof:  # a gzip body may hold several members, one after the other
                data = data + decompressor.unused_data
                decompressor = None
            produced += len(out)
            if produced > limit:
                raise TooLarge(f"{coding} body inflates past {limit:,} bytes")
            if out:
                yield out
    if decompressor is not None:
        tail = decompressor.flush(STEP)
        produced += len(tail)
        if produced > limit:
            raise TooLarge(f"{coding} body inflates past {limit:,} bytes")
        if tail:
            yield tail


def decoded(raw: Iterable[bytes], applied: list[str], limit: int) -> Iterator[bytes]:
    """The body bytes of ``raw`` with ``applied`` codings undone (last applied first), each stage bounded."""
    stream: Iterable[bytes] = raw
    for coding in reversed(applied):
        stream = _inflate(stream, coding, limit)
    yield from stream
