from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from feedsvc.gcpause import gc_paused


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # frozen objects go back to the oldest generation, as if never frozen
    if enabled:
        gc.enable()
    else:
        gc.disable()


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_the_collector_is_off_in_the_block_and_on_again_after_it_even_on_an_error() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused(keep=True):
        raise RuntimeError("failed inside")
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off() -> None:
    gc.disable()
    with gc_paused(keep=True, collect_first=True):
        pass
    assert not gc.isenabled()


def test_keep_freezes_what_the_block_made_and_only_then() -> None:
    gc.unfreeze()
    with gc_paused():
        made = [_Node() for _ in range(1000)]
    assert gc.get_freeze_count() == 0
    with gc_paused(keep=True):
        made += [_Node() for _ in range(1000)]
    assert gc.get_freeze_count() >= 2000  # the block's objects among them


def test_collect_first_frees_cyclic_garbage_before_the_block() -> None:
    gc.unfreeze()
    gc.disable()  # no automatic collection between the lines below
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    with gc_paused():
        assert gone() is not None  # nothing collects it in a plain pause
    with gc_paused(collect_first=True):
        assert gone() is None
        assert gc.get_freeze_count() > 0  # what survived is frozen, out of the block's collections
