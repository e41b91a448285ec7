"""The one module that imports datasketch: the MinHash permutations feedsvc signs with."""

from __future__ import annotations

import numpy as np

from feedsvc.dedup.shingles import U32

SCHEME = "affine32"


def permutations(num_perm: int, seed: int) -> tuple[U32, U32]:
    """The (a, b) parameters of datasketch's ``affine32`` permutations for ``num_perm`` and ``seed``.

    datasketch is imported here, not at the top: it brings scipy (about a second of start-up), and a web
    server, ``check-config`` or ``status`` never sign anything."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)
