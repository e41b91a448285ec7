"""The cyclic garbage collector held off while a block makes many objects that all live on."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused(*, keep: bool = False, collect_first: bool = False) -> Iterator[None]:
    """The cyclic GC off for the block: it would rescan the block's new, long-lived objects for nothing.

    ``keep``: what exists when the block ends is frozen (kept out of later collections), for objects that
    live as long as the process (a loaded index). Cyclic garbage of that moment is frozen with it: a full
    collection would scan every object of the process to find little.
    ``collect_first``: a full collection before the block, and what survives it frozen, so collections
    during and after the block skip what was there before.
    """
    if collect_first:
        gc.collect()
        gc.freeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()
        if enabled:
            gc.enable()
