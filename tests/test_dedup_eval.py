"""The dedup evaluation gate: a reduced labelled corpus must keep the pinned quality floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.corpus import make_corpus
from bench.dedup_eval import Result, evaluate
from feedsvc.settings import DedupSettings

FLOORS = json.loads((Path(__file__).parent / "data" / "dedup_floors.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    corpus = make_corpus(**FLOORS["corpus"])
    return {r.name: r for r in evaluate(corpus, DedupSettings())}


@pytest.mark.parametrize("method", ["feedsvc (batch)", "feedsvc (stream)"])
def test_quality_floors(results: dict[str, Result], method: str) -> None:
    floors = FLOORS[method]
    scores = results[method].scores
    assert scores.f1 >= floors["f1"], scores
    assert scores.ari >= floors["ari"], scores
    assert scores.precision >= floors["precision"], scores


@pytest.mark.parametrize("method", ["feedsvc (batch)", "feedsvc (stream)"])
def test_no_hard_negative_is_merged(results: dict[str, Result], method: str) -> None:
    assert results[method].false_merges <= FLOORS["hard_negative_false_merges"], results[method].negatives


def test_feedsvc_beats_plain_lsh(results: dict[str, Result]) -> None:
    best_plain = max(r.scores.f1 for name, r in results.items() if name.startswith("plain MinHashLSH"))
    assert results["feedsvc (batch)"].scores.f1 >= best_plain + FLOORS["margin_over_best_plain_lsh_f1"]
    assert results["feedsvc (stream)"].scores.f1 >= best_plain + FLOORS["margin_over_best_plain_lsh_f1"]
    # the briefs with shared footers are what plain LSH cannot tell apart
    assert all(
        r.negatives["shared_footer"][0] > 0
        for name, r in results.items()
        if name.startswith("plain MinHashLSH")
    )
