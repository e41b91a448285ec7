"""Dedup evaluation: quality on the labelled corpus against baselines, speed, scaling and memory."""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from math import comb
from typing import Any

from bench.corpus import VARIATIONS, Corpus, Doc, make_corpus, stories_of_length
from bench.dedup_speed import Point, datasketch_references, pin_one_core, scaling, throughput
from feedsvc.dedup import Deduper, UnionFind, cluster_stream, cluster_texts, tokens
from feedsvc.settings import DedupSettings

BENCH = "dedup"


# ---------------------------------------------------------------------------------------------------------
# Metrics


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    ari: float
    true_pairs: int
    predicted_pairs: int


def scores(gold: Mapping[str, str], pred: Mapping[str, str]) -> Scores:
    """Pairwise precision/recall/F1 over same-cluster pairs, and the adjusted Rand index."""
    ids = list(gold)
    cells = Counter((gold[i], pred[i]) for i in ids)
    gold_sizes = Counter(gold[i] for i in ids)
    pred_sizes = Counter(pred[i] for i in ids)
    both = sum(comb(c, 2) for c in cells.values())
    in_gold = sum(comb(c, 2) for c in gold_sizes.values())
    in_pred = sum(comb(c, 2) for c in pred_sizes.values())
    precision = both / in_pred if in_pred else 1.0
    recall = both / in_gold if in_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    total = comb(len(ids), 2)
    expected = in_gold * in_pred / total if total else 0.0
    maximum = (in_gold + in_pred) / 2
    ari = (both - expected) / (maximum - expected) if maximum != expected else 1.0
    return Scores(precision, recall, f1, ari, in_gold, in_pred)


def hard_negative_merges(corpus: Corpus, pred: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """Per kind: (hard-negative story pairs with any two of their texts in one cluster, pairs)."""
    labels: dict[str, set[str]] = defaultdict(set)
    for doc in corpus.docs:
        labels[doc.story].add(pred[doc.id])
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for neg in corpus.hard_negatives:
        out[neg.kind][1] += 1
        if labels[neg.a] & labels[neg.b]:
            out[neg.kind][0] += 1
    return {kind: (merged, total) for kind, (merged, total) in out.items()}


def variation_recall(corpus: Corpus, pred: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """Per variation: (copies clustered with at least one other text of their story, copies)."""
    members: dict[str, list[Doc]] = defaultdict(list)
    for doc in corpus.docs:
        members[doc.story].append(doc)
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for docs in members.values():
        if len(docs) < 2:
            continue
        for doc in docs:
            hit = any(pred[o.id] == pred[doc.id] for o in docs if o is not doc)
            for variation in doc.variations or ("original",):
                out[variation][1] += 1
                out[variation][0] += hit
    order = ("original", *VARIATIONS)
    return {v: (out[v][0], out[v][1]) for v in order if v in out}


# ---------------------------------------------------------------------------------------------------------
# Methods: each maps the corpus to predicted cluster labels


def feedsvc_batch(docs: list[Doc], settings: DedupSettings) -> dict[str, str]:
    """`feedsvc cluster`: boilerplate learned from the whole batch first."""
    return cluster_texts(((d.id, d.title, d.body) for d in docs), settings)


def feedsvc_stream(
    docs: list[Doc], settings: DedupSettings, deduper: Deduper | None = None
) -> dict[str, str]:
    """As the service ingests: one story at a time, boilerplate learned only from what came before."""
    return cluster_stream(((d.id, d.title, d.body) for d in docs), settings, deduper)


def exact_hash(docs: list[Doc]) -> dict[str, str]:
    """Baseline: identical normalised body text (NFKC, case-folded words)."""
    return {d.id: hashlib.sha1(" ".join(tokens(d.body)).encode()).hexdigest() for d in docs}


def plain_lsh(
    docs: list[Doc], thresholds: Iterable[float], shingle: int = 5, num_perm: int = 128
) -> dict[float, dict[str, str]]:
    """Baseline: datasketch MinHash of the body's 5-word shingles into MinHashLSH; union of every hit."""
    from datasketch import MinHash, MinHashLSH

    sketches = []
    for doc in docs:
        words = tokens(doc.body)
        grams = {" ".join(words[i : i + shingle]).encode() for i in range(max(1, len(words) - shingle + 1))}
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch(sorted(grams))
        sketches.append(m)
    out = {}
    for threshold in thresholds:
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        uf = UnionFind()
        for doc, m in zip(docs, sketches, strict=True):
            uf.add(doc.id)
            for key in lsh.query(m):
                uf.union(key, doc.id)
            lsh.insert(doc.id, m)
        out[threshold] = {d.id: uf.find(d.id) for d in docs}
    return out


# ---------------------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class Result:
    name: str
    scores: Scores
    negatives: dict[str, tuple[int, int]]
    seconds: float

    @property
    def false_merges(self) -> int:
        return sum(merged for merged, _ in self.negatives.values())


def evaluate(corpus: Corpus, settings: DedupSettings, baselines: bool = True) -> list[Result]:
    """feedsvc (batch and as the service streams) and, in the same run, the baselines."""
    gold = corpus.gold()
    out = []

    def run(name: str, labels: Mapping[str, str], seconds: float) -> None:
        out.append(Result(name, scores(gold, labels), hard_negative_merges(corpus, labels), seconds))

    for name, method in (("feedsvc (batch)", feedsvc_batch), ("feedsvc (stream)", feedsvc_stream)):
        started = time.perf_counter()
        labels = method(corpus.docs, settings)
        run(name, labels, time.perf_counter() - started)
    if baselines:
        started = time.perf_counter()
        run("exact normalised text", exact_hash(corpus.docs), time.perf_counter() - started)
        started = time.perf_counter()
        plain = plain_lsh(corpus.docs, (0.3, 0.5, 0.7))
        seconds = (time.perf_counter() - started) / 3
        for threshold, labels in plain.items():
            run(f"plain MinHashLSH {threshold}", labels, seconds)
    return out


KINDS = ("same_event", "follow_up", "shared_footer", "same_domain")


def print_quality(results: list[Result]) -> None:
    head = f"{'method':<24} {'P':>7} {'R':>7} {'F1':>7} {'ARI':>7}  false merges among hard negatives"
    print(head)
    for r in results:
        s = r.scores
        kinds = "  ".join(
            f"{k} {r.negatives.get(k, (0, 0))[0]}/{r.negatives.get(k, (0, 0))[1]}" for k in KINDS
        )
        print(f"{r.name:<24} {s.precision:7.4f} {s.recall:7.4f} {s.f1:7.4f} {s.ari:7.4f}  {kinds}")


def print_margins(results: list[Result]) -> None:
    ours = next(r for r in results if r.name == "feedsvc (batch)")
    stream = next(r for r in results if r.name == "feedsvc (stream)")
    print("feedsvc against each baseline (pairwise precision / recall / F1 lost by the baseline):")
    for r in results:
        if r.name.startswith("feedsvc"):
            continue
        print(
            f"  {r.name:<24} precision {r.scores.precision - ours.scores.precision:+.3f}  "
            f"recall {r.scores.recall - ours.scores.recall:+.3f}  F1 {r.scores.f1 - ours.scores.f1:+.3f} "
            f"(stream: F1 {r.scores.f1 - stream.scores.f1:+.3f}), false merges {r.false_merges} vs "
            f"{ours.false_merges}"
        )


def print_variations(corpus: Corpus, settings: DedupSettings) -> None:
    rows = {
        "feedsvc (batch)": variation_recall(corpus, feedsvc_batch(corpus.docs, settings)),
        "feedsvc (stream)": variation_recall(corpus, feedsvc_stream(corpus.docs, settings)),
        "plain LSH 0.5": variation_recall(corpus, plain_lsh(corpus.docs, (0.5,))[0.5]),
    }
    names = list(next(iter(rows.values())))
    print("recall by variation: copies clustered with another text of their story (a copy has several)")
    print(f"{'':<18}" + "".join(f"{n[:12]:>13}" for n in names))
    for method, row in rows.items():
        print(f"{method:<18}" + "".join(f"{f'{row[n][0]}/{row[n][1]}':>13}" for n in names))


SWEEP: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("shingle_size", (3, 4, 5, 6, 7)),
    ("num_perm", (32, 64, 128, 256)),
    ("lsh_threshold", (0.2, 0.3, 0.4, 0.5)),
    ("containment", (0.5, 0.6, 0.7, 0.8)),
    ("resemblance", (0.4, 0.5, 0.6)),
    ("lead_words", (20, 30, 40, 60)),
    ("boilerplate_df", (3, 5, 8)),
)


def sweep(corpora: list[Corpus], base: DedupSettings) -> None:
    """One setting at a time around the defaults, on several corpora: mean F1 (batch, stream), the
    worst F1, all hard-negative false merges (both modes, all corpora), and the streaming cost per text
    (small, dense corpora: every text has candidates to verify)."""
    print(f"{'setting':<15} {'value':>6} {'F1 batch':>9} {'F1 stream':>10} {'worst':>7} ", end="")
    print(f"{'false':>6} {'us/text':>8}")
    for name, values in SWEEP:
        for value in values:
            settings = replace(base, **{name: value})
            f1s: list[float] = []
            streams: list[float] = []
            false = 0
            seconds = 0.0
            docs = 0
            for corpus in corpora:
                results = evaluate(corpus, settings, baselines=False)
                f1s.append(results[0].scores.f1)
                streams.append(results[1].scores.f1)
                false += results[0].false_merges + results[1].false_merges
                seconds += results[1].seconds
                docs += len(corpus.docs)
            mark = " <- default" if getattr(base, name) == value else ""
            print(
                f"{name:<15} {value!s:>6} {sum(f1s) / len(f1s):9.4f} {sum(streams) / len(streams):10.4f} "
                f"{min(f1s + streams):7.4f} {false:6d} {seconds / docs * 1e6:8.0f}{mark}"
            )


def main(argv: list[str]) -> int:
    """python -m bench dedup [--quick]: the whole evaluation (about 8 minutes; --quick: under one)."""
    quick = "--quick" in argv
    print(pin_one_core())
    settings = DedupSettings()
    print(f"settings: {settings}")
    stories = 120 if quick else 300
    started = time.perf_counter()
    corpus = make_corpus(seed=2025, stories=stories)
    describe(corpus, time.perf_counter() - started)

    print("\n## Quality: pairwise precision/recall/F1 and adjusted Rand index on the labelled corpus")
    results = evaluate(corpus, settings)
    print_quality(results)
    print()
    print_margins(results)
    print()
    print_variations(corpus, settings)

    print("\n## Settings sweep (one at a time around the defaults)")
    seeds = (1, 2) if quick else (1, 2, 3)
    sweep([make_corpus(seed=s, stories=stories // (2 if quick else 1)) for s in seeds], settings)

    print("\n## Speed on one core: 400-word stories into a fresh index")
    probes = stories_of_length(1000 if quick else 5000, 400)
    for rate in throughput(probes, settings) + datasketch_references(probes[:300], settings.num_perm):
        print(f"  {rate.name:<58} {rate.per_second:8.0f} stories/s  {rate.micros:7.1f} us/story")

    checkpoints = (10_000, 30_000, 100_000) if quick else (10_000, 30_000, 100_000, 300_000, 1_000_000)
    deduper = print_scaling(settings, checkpoints)

    print(
        f"\n## Quality in the full index: the labelled corpus streamed into the {len(deduper):,}-story index"
    )
    labels = feedsvc_stream(corpus.docs, settings, deduper)
    at_scale = scores(corpus.gold(), labels)
    merged = sum(m for m, _ in hard_negative_merges(corpus, labels).values())
    print(f"  P {at_scale.precision:.4f}  R {at_scale.recall:.4f}  F1 {at_scale.f1:.4f}  ", end="")
    print(f"ARI {at_scale.ari:.4f}  hard-negative false merges {merged}")
    return 0


def print_scaling(settings: DedupSettings, checkpoints: tuple[int, ...]) -> Deduper:
    print(f"\n## Scaling: one index filled to {checkpoints[-1]:,} stories as the service ingests them")
    print("   fill = mean cost per story over the stories added since the last row (garbage collection")
    print("   included); probe = 2,000 realistic 400-word stories matched and added at that size, then")
    print("   removed (after a gc.collect, so one full collection does not land in the small window)")
    print(
        f"{'stories':>11} {'fill us':>9} {'probe us':>9} {'candidates':>11} {'RSS MB':>9} {'bytes/story':>12}"
    )
    base_rss = [0]

    def report(point: Point) -> None:
        per_story = (point.rss - base_rss[0]) / point.indexed
        print(
            f"{point.indexed:>11,} {point.fill_us:9.1f} {point.probe_us:9.1f} {point.candidates:11.2f} "
            f"{point.rss / 1e6:9.0f} {per_story:12.0f}",
            flush=True,
        )

    probes = stories_of_length(2000, 400, seed=99)
    points, deduper, base = scaling(settings, checkpoints, probes, report=report, base_rss=base_rss)
    first, last, before = points[0], points[-1], points[-2]
    added = (last.rss - before.rss) / (last.indexed - before.indexed)
    growth = last.fill_us / first.fill_us
    average = (last.rss - base) / last.indexed
    cost = f"{first.fill_us:.0f} -> {last.fill_us:.0f} us (x{growth:.2f})"
    print(f"   per-story cost {cost} from {first.indexed:,} to {last.indexed:,} stories;")
    print(f"   memory {added:.0f} bytes per story added since {before.indexed:,}", end=" ")
    print(f"({average:.0f} on average, RSS {last.rss / 1e9:.1f} GB)")
    return deduper


def describe(corpus: Corpus, seconds: float) -> None:
    words = sorted(corpus.lengths.values())
    sizes = Counter(d.story for d in corpus.docs)
    kinds = Counter(n.kind for n in corpus.hard_negatives)
    variations = Counter(v for d in corpus.docs for v in d.variations)
    domains = len(set(corpus.domains.values()))
    copied = sum(1 for s in sizes.values() if s > 1)
    texts = len(corpus.docs)
    print(f"corpus: {texts} texts of {len(words)} stories ({domains} domains), made in {seconds:.1f} s")
    print(f"  originals {words[0]}-{words[-1]} words (median {words[len(words) // 2]}); ", end="")
    print(f"{copied} stories with more than one text, largest cluster {max(sizes.values())}")
    print("  hard-negative story pairs: " + ", ".join(f"{k} {kinds[k]}" for k in KINDS))
    print("  copies with each variation: " + ", ".join(f"{v} {variations[v]}" for v in VARIATIONS))
