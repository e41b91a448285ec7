"""feedsvc.dedup: the signer, shingling, the index, matching rules and their invariants."""

from __future__ import annotations

import itertools
import random
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterable, Iterator

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import (
    CARRIERS,
    FULL_CARRIERS,
    VARIATIONS,
    Doc,
    Story,
    base_story,
    follow_up,
    make_copy,
    make_corpus,
    same_event,
)
from feedsvc.dedup import (
    BoilerplateCounter,
    Deduper,
    ExactCounts,
    Fingerprint,
    Signer,
    band_params,
    cluster_stream,
    cluster_texts,
    fingerprint_from_bytes,
    fingerprint_to_bytes,
    shingle_hashes,
    token_hashes,
    tokens,
)
from feedsvc.dedup import index as dedup_index
from feedsvc.dedup.fingerprint import _Content
from feedsvc.dedup.many import narrow
from feedsvc.dedup.shingles import _PLAIN_TYPOGRAPHY, _hash_points, token_hashes_many
from feedsvc.dedup.signature import permutations
from feedsvc.settings import DedupSettings

SETTINGS = DedupSettings()
AGGREGATORS = [c for c in CARRIERS if c.brief_footer]


def partition(labels: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key, label in labels.items():
        groups.setdefault(label, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def original(story: Story) -> Doc:
    return Doc(f"{story.id}-orig", story.title, "\n\n".join(story.paragraphs), story.id, story.style.name, ())


def stream(docs: Iterable[Doc], deduper: Deduper | None = None) -> dict[str, str]:
    """Cluster as the service ingests: one at a time, boilerplate learned only from what came before."""
    return cluster_stream(((d.id, d.title, d.body) for d in docs), SETTINGS, deduper)


def batch(docs: Iterable[Doc]) -> dict[str, str]:
    return cluster_texts(((d.id, d.title, d.body) for d in docs), SETTINGS)


# ---------------------------------------------------------------------------------------------------------
# Signatures and shingles


@settings(max_examples=60, deadline=None)
@given(
    hashes=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=300),
    num_perm=st.sampled_from([16, 64, 128]),
    seed=st.integers(0, 2**16),
)
def test_numpy_signer_equals_datasketch_update_batch(hashes: list[int], num_perm: int, seed: int) -> None:
    reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda value: value, scheme="affine32")
    reference.update_batch(hashes)
    signed = Signer(num_perm, seed).sign(np.array(hashes, dtype=np.uint32))
    assert signed.dtype == np.uint32
    assert np.array_equal(signed, reference.hashvalues)


@pytest.mark.parametrize(("num_perm", "seed"), [(16, 0), (64, 1), (128, 1), (256, 7), (128, 2**31 - 1)])
def test_permutations_are_datasketchs_affine32(num_perm: int, seed: int) -> None:
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    ours_a, ours_b = permutations(num_perm, seed)
    assert ours_a.dtype == ours_b.dtype == np.uint32
    assert np.array_equal(ours_a, a) and np.array_equal(ours_b, b)


def test_signing_imports_neither_datasketch_nor_scipy() -> None:
    """datasketch brings scipy, about a second of CPU: a process that signs never pays for it."""
    code = (
        "import sys; from feedsvc.dedup import Deduper; from feedsvc.settings import DedupSettings; "
        "d = Deduper(DedupSettings()); fp = d.fingerprint('t', 'some words of a story ' * 20); "
        "d.add('a', fp, count_boilerplate=True); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('datasketch', 'scipy')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@settings(max_examples=30, deadline=None)
@given(hashes=st.sets(st.integers(0, 2**32 - 1), min_size=1, max_size=200), data=st.data())
def test_signing_a_part_with_the_whole_equals_signing_it_alone(hashes: set[int], data: st.DataObject) -> None:
    part = data.draw(st.sets(st.sampled_from(sorted(hashes))))
    whole_array = np.array(sorted(hashes), dtype=np.uint32)
    part_array = np.array(sorted(part), dtype=np.uint32)
    signer = Signer(64, 1)
    whole, piece = signer.sign_with_part(whole_array, part_array)
    assert np.array_equal(whole, signer.sign(whole_array))
    assert np.array_equal(piece, signer.sign(part_array))


def test_empty_signature_is_datasketch_empty() -> None:
    signer = Signer(64, 1)
    assert np.array_equal(signer.sign(np.empty(0, dtype=np.uint32)), MinHash(num_perm=64, seed=1).hashvalues)


def test_band_params_match_datasketch() -> None:
    from datasketch.lsh import _optimal_param

    for threshold in (0.3, 0.5, 0.7):
        for num_perm in (64, 128):
            assert band_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_token_hashes_are_stable_and_ignore_typography_case_and_layout() -> None:
    plain = 'He said "it\'s over" -- then left. Café'
    fancy = "HE  said\u00a0\u201cit\u2019s over\u201d \u2014 then\n\nleft\u2026 Cafe\u0301"
    assert np.array_equal(token_hashes(plain), token_hashes(fancy))
    assert token_hashes(plain).size == len(tokens(plain)) == 8
    # Fixed values: a change here changes every stored fingerprint (bump FINGERPRINT_VERSION).
    assert token_hashes("the quick fox").tolist() == token_hashes("The Quick FOX").tolist()
    assert shingle_hashes("one two three four five six", 5).size == 2


def test_ascii_and_unicode_paths_hash_alike() -> None:
    words = "Le conseil a voté mardi pour la proposition"
    assert np.array_equal(token_hashes(words)[2:], token_hashes("x y " + words.replace("é", "e\u0301"))[4:])
    assert np.array_equal(token_hashes("naive cafe"), token_hashes("naive cafe\u200b"))


@given(st.text(max_size=200))
def test_token_hashes_agree_with_the_regex_tokenizer_on_any_text(text: str) -> None:
    assert token_hashes(text).size == len(tokens(text))


def test_word_character_table_is_the_regex_word_class_for_every_code_point() -> None:
    from feedsvc.dedup.shingles import _word_chars

    everything = "".join(map(chr, range(0x110000)))
    expected = np.zeros(0x110000, dtype=np.bool_)
    for run in re.finditer(r"\w+", everything):
        expected[run.start() : run.end()] = True
    assert expected.sum() > 100_000  # letters of every script, not only ASCII
    assert np.array_equal(_word_chars(), expected)


def _unicode_path_hashes(text: str) -> np.ndarray:
    """token_hashes by the general path: NFKC, case-folded, every code point hashed (no ASCII shortcut)."""
    folded = unicodedata.normalize("NFKC", text).casefold().encode("utf-32-le", "surrogatepass")
    return _hash_points(np.frombuffer(folded, dtype=np.uint32))[0]


# ASCII, the typography the ASCII path takes, and what must keep a text off it (marks that combine with
# what precedes them, letters NFKC or case-folding change, symbols NFKC turns into words, a word joiner).
_PIECES = [*"aZ09_ -'.,\n\t\"", *_PLAIN_TYPOGRAPHY, "\u0301", "é", "ß", "İ", "ﬁ", "™", "½", "\u200b"]
_TRICKY = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)


def test_plain_typography_is_no_word_and_stays_none_under_nfkc_and_case_folding() -> None:
    for mark in _PLAIN_TYPOGRAPHY:
        assert not re.match(r"\w", mark) and unicodedata.combining(mark) == 0
        assert re.findall(r"\w", unicodedata.normalize("NFKC", mark).casefold()) == []


@settings(max_examples=300, deadline=None)
@given(text=_TRICKY)
def test_ascii_shortcuts_hash_as_the_unicode_path_does(text: str) -> None:
    assert token_hashes(text).tolist() == _unicode_path_hashes(text).tolist()


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(_TRICKY | st.text(max_size=30), max_size=6))
def test_a_page_of_texts_hashes_as_each_text_alone(texts: list[str]) -> None:
    hashes, starts = token_hashes_many(texts)
    assert [hashes[lo:hi].tolist() for lo, hi in itertools.pairwise(starts.tolist())] == [
        _unicode_path_hashes(text).tolist() for text in texts
    ]


def test_corpus_texts_hash_as_the_unicode_path_does(small_corpus: list[Doc]) -> None:
    texts = [text for doc in small_corpus for text in (doc.title, doc.body)]
    assert any(not text.isascii() for text in texts)
    for text in texts:
        assert np.array_equal(token_hashes(text), _unicode_path_hashes(text))


def test_short_bodies_use_the_title() -> None:
    deduper = Deduper(SETTINGS)
    with_title = deduper.fingerprint("Storm knocks out power across the county", "Crews are out.")
    other_title = deduper.fingerprint("Council approves new budget for the schools", "Crews are out.")
    assert not np.array_equal(with_title.shingles, other_title.shingles)


# ---------------------------------------------------------------------------------------------------------
# What must merge and what must not


@pytest.fixture(scope="module")
def stories() -> list[Story]:
    return [
        base_story(f"s{i}", f"test:{i}", words=random.Random(i).choice((180, 400, 900))) for i in range(8)
    ]


@pytest.mark.parametrize("variation", [v for v in VARIATIONS if not v.startswith("brief")])
def test_each_variation_merges_with_its_original(stories: list[Story], variation: str) -> None:
    rng = random.Random(variation)
    titles = [s.title for s in stories]
    for story in stories:
        copy = make_copy(
            story, f"{story.id}-copy", rng.choice(FULL_CARRIERS), variation, titles, rng, extra=False
        )
        docs = [original(story), copy]
        assert len(partition(batch(docs))) == 1, (variation, story.id, copy.body[:300])
        assert len(partition(stream(docs))) == 1, (variation, story.id)


@pytest.mark.parametrize("variation", ["brief", "brief_footer"])
def test_briefs_merge_with_their_story_once_the_footer_is_known(stories: list[Story], variation: str) -> None:
    rng = random.Random(variation)
    aggregator = AGGREGATORS[0]
    titles = [s.title for s in stories]
    briefs = [make_copy(s, f"{s.id}-brief", aggregator, variation, titles, rng, extra=False) for s in stories]
    originals = [original(s) for s in stories]
    labels = batch(originals + briefs)
    for story, brief in zip(stories, briefs, strict=True):
        assert labels[brief.id] == labels[f"{story.id}-orig"]
    # The service learns the footer from the briefs that come first; later briefs then join their story.
    labels = stream(briefs[:6] + originals + briefs[6:])
    for story, brief in zip(stories[6:], briefs[6:], strict=True):
        assert labels[brief.id] == labels[f"{story.id}-orig"]
    assert len(partition(labels)) == len(stories)


def test_briefs_sharing_a_footer_stay_apart_even_before_it_is_known(stories: list[Story]) -> None:
    rng = random.Random(5)
    titles = [s.title for s in stories]
    for aggregator in AGGREGATORS:
        briefs = [
            make_copy(s, f"{s.id}-b", aggregator, "brief_footer", titles, rng, extra=False) for s in stories
        ]
        assert len(partition(stream(briefs))) == len(briefs)  # cold start: nothing is boilerplate yet
        assert len(partition(batch(briefs))) == len(briefs)


def test_same_event_write_ups_stay_apart() -> None:
    for i in range(12):
        first = base_story(f"a{i}", f"event:{i}", words=400)
        rng = random.Random(i)
        second = same_event(first, f"b{i}", rng, words=rng.choice((120, 300, 700)))
        docs = [original(first), original(second)]
        assert len(partition(batch(docs))) == 2, i
        assert len(partition(stream(docs))) == 2, i


def test_follow_ups_reusing_background_stay_apart() -> None:
    for i in range(12):
        first = base_story(f"a{i}", f"followed:{i}", words=600)
        later = follow_up(first, f"b{i}", random.Random(i))
        docs = [original(first), original(later)]
        assert len(partition(batch(docs))) == 2, i


def test_different_stories_on_one_topic_stay_apart() -> None:
    from bench.corpus import DOMAINS

    for domain in DOMAINS:
        docs = [
            original(base_story(f"{domain.name}{i}", f"topic:{domain.name}:{i}", domain)) for i in range(4)
        ]
        assert len(partition(batch(docs))) == 4, domain.name


# ---------------------------------------------------------------------------------------------------------
# Invariants


@pytest.fixture(scope="module")
def small_corpus() -> list[Doc]:
    return make_corpus(seed=7, stories=16).docs


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_clustering_does_not_depend_on_input_order(small_corpus: list[Doc], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(small_corpus))
    assert partition(batch(shuffled)) == partition(batch(small_corpus))


def test_restore_via_load_gives_the_same_matches(small_corpus: list[Doc]) -> None:
    live = Deduper(SETTINGS)
    stream(small_corpus[:-8], live)
    keys, shingles, leads, _, _ = _stored(live)
    unsigned = [b""] * len(keys)  # stored before signatures were: signed by the load
    restored = Deduper(SETTINGS, BoilerplateCounter(data=live.boilerplate.to_bytes()))
    assert restored.load(keys, shingles, leads, unsigned, unsigned) == len(keys)
    assert len(restored) == len(live)
    for doc in small_corpus[-8:]:
        fp = live.fingerprint(doc.title, doc.body)
        assert restored.matches(fp) == live.matches(fp)


def _stored(deduper: Deduper) -> tuple[list[str], list[bytes], list[bytes], list[bytes], list[bytes]]:
    """The columns a store holds of what ``deduper`` indexed: keys, fingerprints, signatures."""
    keys = list(deduper._prints)
    prints = [deduper._print(key) for key in keys]
    blobs = [fingerprint_to_bytes(fp) for fp in prints if fp is not None]
    signed = [deduper.signatures(fp) for fp in prints if fp is not None]
    return (
        keys,
        [shingles for shingles, _ in blobs],
        [lead for _, lead in blobs],
        [body for body, _ in signed],
        [lead for _, lead in signed],
    )


def test_load_of_stored_columns_partly_signed_and_partly_known(small_corpus: list[Doc]) -> None:
    """A restore's columns where some copies carry no signatures (signed by the load) and some keys are
    indexed already (skipped, as they are): the matches of the index built story by story, for new
    stories and for every stored one, whose fingerprint stays as stored until a match needs it."""
    live = Deduper(SETTINGS)
    stream(small_corpus[:-8], live)
    keys, shingles, leads, body_sigs, lead_sigs = _stored(live)
    body_sigs = [b"" if i % 3 == 0 else sig for i, sig in enumerate(body_sigs)]
    lead_sigs = [b"" if i % 3 == 0 else sig for i, sig in enumerate(lead_sigs)]
    restored = Deduper(SETTINGS, BoilerplateCounter(data=live.boilerplate.to_bytes()))
    known = keys[1::4]
    for key in known:
        fp = live._print(key)
        assert fp is not None
        restored.put(key, fp, live.signatures(fp))
    assert restored.load(keys, shingles, leads, body_sigs, lead_sigs) == len(keys) - len(known)
    assert len(restored) == len(live) and all(key in restored for key in keys)
    assert all(isinstance(restored._prints[key], tuple) for key in keys if key not in known)
    found = 0
    for doc in small_corpus:
        fp = live.fingerprint(doc.title, doc.body)
        assert restored.matches(fp) == live.matches(fp)
        found += bool(live.matches(fp))
    assert found >= len(keys)  # every stored story at least finds itself
    assert restored.load([], [], [], [], []) == 0


def test_remove_and_exclude(small_corpus: list[Doc]) -> None:
    deduper = Deduper(SETTINGS)
    doc = max(small_corpus, key=lambda d: d.words)
    fp = deduper.fingerprint(doc.title, doc.body)
    deduper.add("a", fp, count_boilerplate=True)
    deduper.add("a", fp, count_boilerplate=True)  # idempotent
    assert [m.key for m in deduper.matches(fp)] == ["a"]
    assert deduper.matches(fp, exclude="a") == []
    deduper.remove("a")
    deduper.remove("a")
    assert "a" not in deduper and len(deduper) == 0
    assert deduper.matches(fp) == []


def test_fingerprint_bytes_round_trip() -> None:
    fp = Deduper(SETTINGS).fingerprint("t", "one two three four five six seven eight nine ten eleven twelve")
    back = fingerprint_from_bytes(*fingerprint_to_bytes(fp))
    assert isinstance(back, Fingerprint)
    assert np.array_equal(back.shingles, fp.shingles) and np.array_equal(back.lead, fp.lead)
    assert back.nbytes() == fp.nbytes()


def test_boilerplate_counter_persists_and_decays() -> None:
    counter = BoilerplateCounter(width_bits=12, half_life=4)
    shingles = np.arange(100, 120, dtype=np.uint32)
    for _ in range(3):
        counter.add(shingles)
    assert counter.frequency(shingles).min() >= 3
    restored = BoilerplateCounter(data=counter.to_bytes())
    assert np.array_equal(restored.frequency(shingles), counter.frequency(shingles))
    counter.add(np.empty(0, dtype=np.uint32))  # the fourth addition halves every count
    assert counter.frequency(shingles).max() <= 2
    assert BoilerplateCounter(data=b"not a counter").frequency(shingles).max() == 0


def _reference_sketch(
    batches: list[np.ndarray], width_bits: int, depth: int, half_life: int
) -> Iterator[np.ndarray]:
    """The counts BoilerplateCounter stores after each batch, computed row by row (the stored format)."""
    counts = np.zeros((depth, 1 << width_bits), dtype=np.uint8)
    mults = [np.uint32((0x9E3779B1 + 0x7F4A7C16 * i) & 0xFFFFFFFF | 1) for i in range(1, depth)]
    for added, batch in enumerate(batches, 1):
        cells = [batch & np.uint32((1 << width_bits) - 1)]
        cells += [(batch * m) >> np.uint32(32 - width_bits) for m in mults]
        estimate = np.min([counts[i][c] for i, c in enumerate(cells)], axis=0)
        for i, c in enumerate(cells):  # a cell twice in a row takes the value written last
            counts[i][c] = np.maximum(counts[i][c], np.minimum(estimate, 254) + 1)
        if added % half_life == 0:
            counts >>= 1
        yield counts


@pytest.mark.parametrize(("width_bits", "depth"), [(10, 2), (8, 3), (12, 1)])
def test_boilerplate_counts_are_the_stored_format_whichever_way_they_are_read(
    width_bits: int, depth: int
) -> None:
    """Counts read a page at a time (frequencies), a story at a time (frequency, then add) or not read
    before adding are those of a plain row-by-row count-min sketch, after every addition: small widths,
    so cells collide within a story and between stories, and the counts halve and saturate."""
    rng = np.random.default_rng(width_bits + depth)
    # Two shingles in one cell of the first row, apart in the others, the second counted less: the cell
    # takes the second's raise (written last), not the first's.
    pair = np.array([5, 5 + (1 << width_bits)], dtype=np.uint32)
    batches = [pair[:1]] * 3 + [pair, np.full(50, 12345, dtype=np.uint32)]  # and one shingle many times
    batches += [
        rng.integers(0, 2**32, rng.integers(0, 300), dtype=np.uint64).astype(np.uint32) for _ in range(120)
    ]
    batches += [batches[10]] * 300  # up to 255: saturated
    counter = BoilerplateCounter(width_bits=width_bits, depth=depth, half_life=40)
    reference = _reference_sketch(batches, width_bits, depth, 40)
    for start in range(0, len(batches), 12):
        page = batches[start : start + 12]
        if start % 24 == 0:
            counter.frequencies(page)
        for number, batch in enumerate(page):
            if number % 3:
                counter.frequency(batch)  # add() then reuses what it read
            counter.add(batch)
            assert np.array_equal(counter.counts, next(reference))
    assert counter.to_bytes()[BoilerplateCounter._HEADER.size :] == counter.counts.tobytes()


def test_boilerplate_counter_does_not_fill_up() -> None:
    """However many unrelated stories it counts, unrelated shingles do not turn into boilerplate."""
    rng = np.random.default_rng(3)
    counter = BoilerplateCounter(width_bits=16, half_life=64)
    for _ in range(2000):  # 800k shingle counts into 65k cells per row
        counter.add(rng.integers(0, 2**32, 400, dtype=np.uint32))
    fresh = rng.integers(0, 2**32, 10_000, dtype=np.uint32)
    assert np.mean(counter.frequency(fresh) >= SETTINGS.boilerplate_df) < 0.01


def test_empty_and_tiny_texts() -> None:
    deduper = Deduper(SETTINGS)
    empty = deduper.fingerprint("", "")
    assert empty.shingles.size == 0 and deduper.matches(empty) == []
    deduper.add("empty", empty, count_boilerplate=True)
    tiny = deduper.fingerprint("", "Flood warning")
    deduper.add("tiny", tiny, count_boilerplate=True)
    assert [m.key for m in deduper.matches(deduper.fingerprint("", "FLOOD  warning!"))] == ["tiny"]
    assert deduper.matches(deduper.fingerprint("", "Flood watch")) == []


def test_frozen_index_answers_as_the_dict_does(
    small_corpus: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merging into the frozen runs (often),
    removing and re-adding stories, and bulk loading all give the matches of the dict-only index."""
    docs = small_corpus
    plain = Deduper(SETTINGS)
    stream(docs[:-10], plain)
    monkeypatch.setattr(dedup_index, "MIN_MERGE", 7)
    merged = Deduper(SETTINGS)
    stream(docs[:-10], merged)
    loaded = Deduper(SETTINGS, BoilerplateCounter(data=plain.boilerplate.to_bytes()))
    assert loaded.load(*_stored(plain)) == len(plain)
    assert len(merged._index.frozen) and len(loaded._index.frozen)
    gone = [d.id for d in docs[: len(docs) // 3]]
    readd = {}  # back in after removal, as a worker's catch-up re-adds the copies another one changed
    for doc in docs[: len(docs) // 3 : 2]:
        fp = plain.fingerprint(doc.title, doc.body)
        readd[doc.id] = (fp, plain.signatures(fp))
    for deduper in (plain, merged, loaded):
        for key in gone:
            deduper.remove(key)
        for key, (fp, signed) in readd.items():
            deduper.put(key, fp, signed)
    for deduper in (merged, loaded):
        for doc in docs:
            fp = deduper.fingerprint(doc.title, doc.body)
            assert deduper._index.query(deduper._prepare(fp)) == plain._index.query(plain._prepare(fp))
            assert deduper.matches(fp) == plain.matches(fp)
    assert any(merged._index.query(merged._prepare(merged.fingerprint(d.title, d.body))) for d in docs)


def test_token_hashes_are_right_when_threads_grow_the_shared_power_tables_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker fingerprints several pages at once. The first of them grew the shared tables of P**i while
    others read them: a thread could pair the grown table with the one-element old one, which numpy
    broadcasts without a word, and hash a whole story wrongly (its copies then never matched it)."""
    import threading

    from feedsvc.dedup import shingles

    texts = [" ".join(f"word{i % 97} {j}" for i in range(40 * (k + 1))) for j, k in enumerate(range(24))]
    expected = [shingles.token_hashes(t) for t in texts]
    for _ in range(20):
        monkeypatch.setattr(shingles, "_POWERS", shingles._Powers())  # fresh: every thread grows it
        results: dict[int, np.ndarray] = {}
        start = threading.Barrier(len(texts))

        def run(k: int, start: threading.Barrier = start, results: dict[int, np.ndarray] = results) -> None:
            start.wait()
            results[k] = shingles.token_hashes(texts[k])

        threads = [threading.Thread(target=run, args=(k,)) for k in range(len(texts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for k, want in enumerate(expected):
            assert np.array_equal(results[k], want), f"text {k} hashed wrongly"


# ---------------------------------------------------------------------------------------------------------
# A page at a time: fingerprints(), warm()


def test_fingerprints_of_a_page_equal_each_story_fingerprinted_alone(small_corpus: list[Doc]) -> None:
    deduper = Deduper(SETTINGS)
    items = [(doc.title, doc.body) for doc in small_corpus[:40]]
    items += [("Title only here", "short"), ("", ""), ("Ünïcödé ﬁ", "Straße ＡＢＣ ǅ " * 9), ("", "\n\n")]
    items += [("Σ", "ΟΔΥΣΣΕΥΣ όλα καλά " * 12), ("x", "word " * 13)]
    random.Random(3).shuffle(items)
    for size in (1, 5, 13, len(items)):
        for start in range(0, len(items), size):
            page = items[start : start + size]
            for (title, body), got in zip(page, deduper.fingerprints(page), strict=True):
                alone = deduper.fingerprint(title, body)
                assert got.shingles.dtype == np.uint32 and got.lead.dtype == np.uint32
                assert np.array_equal(got.shingles, alone.shingles), (title, body[:40])
                assert np.array_equal(got.lead, alone.lead), (title, body[:40])


def _prepared(fp: Fingerprint, content: np.ndarray) -> _Content:
    """``fp`` prepared from scratch (``Deduper._prepare``) with the shingles ``content`` marks as content."""
    boilerplate = fp.shingles[~content]
    deduper = Deduper(SETTINGS, ExactCounts([boilerplate] * SETTINGS.boilerplate_df))
    return deduper._prepare(fp)


def test_narrowing_a_warmed_content_keeps_it_only_while_its_signatures_hold() -> None:
    """narrow() takes shingles that turned boilerplate (or back) out of (or into) a prepared content,
    keeping its signatures only when no shingle that went in or out gave or would give one of their
    values: then it equals the content prepared from scratch. A shingle or two of 80 in or out: about
    one time in ten no signature value changes, one in ten only the lead's does."""
    rng = np.random.default_rng(5)
    signer = Signer(SETTINGS.num_perm, SETTINGS.seed)
    narrowed = 0
    for trial in range(400):
        values = np.unique(rng.integers(0, 2**32, 80, dtype=np.uint64).astype(np.uint32))
        fp = Fingerprint(values, rng.choice(values, 20))
        before = rng.random(values.size) < (0.9 if trial % 9 else 0.0)  # some with no content at all
        after = before.copy()
        after[rng.integers(0, values.size, 1 + trial % 2)] = trial % 3 == 0  # some come back (halved)
        content = _prepared(fp, before)
        if narrow(fp, content, before, after, signer):
            narrowed += 1
            want = _prepared(fp, after)
            assert content.shingles.tolist() == want.shingles.tolist()
            assert content.head.tolist() == want.head.tolist()
            for got, expected in ((content.body_sig, want.body_sig), (content.lead_sig, want.lead_sig)):
                assert (got is None) == (expected is None)
                assert got is None or expected is None or got.tolist() == expected.tolist()
    assert 10 < narrowed < 200


Decision = tuple[list[tuple[str, float]], tuple[bytes, bytes]]


def _decide(docs: list[Doc], page: int, warm: bool, half_life: int) -> list[Decision]:
    """Each story's matches and stored signatures, pages decided as ingest does, optionally warmed."""
    deduper = Deduper(SETTINGS, BoilerplateCounter(half_life=half_life))
    out: list[Decision] = []
    for start in range(0, len(docs), page):
        items = [(doc.title, doc.body) for doc in docs[start : start + page]]
        prints = deduper.fingerprints(items) if warm else [deduper.fingerprint(*item) for item in items]
        if warm:
            deduper.warm(prints)
        for number, fp in enumerate(prints, start):
            found = deduper.matches(fp)
            signed = deduper.add(str(number), fp, count_boilerplate=not found)
            out.append(([(m.key, m.resemblance + m.containment) for m in found], signed))
            if number % 23 == 7:  # removals leave tombstones in the frozen runs
                deduper.remove(str(number - 5))
    return out


@pytest.mark.parametrize(("page", "half_life"), [(12, 4096), (40, 30), (7, 9)])
def test_warmed_pages_decide_exactly_as_one_story_at_a_time(
    page: int, half_life: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """warm() prepares a page under the counts before it; a story whose content an earlier story of the
    page changed (its text counted as boilerplate, the counts halved) is prepared again. Small frozen
    runs, so look-ups made by warm() go stale when a merge files the recent stories mid-page."""
    monkeypatch.setattr(dedup_index, "MIN_MERGE", 50)
    docs = make_corpus(seed=11, stories=60).docs
    random.Random(page).shuffle(docs)
    alone, warmed = _decide(docs, page, False, half_life), _decide(docs, page, True, half_life)
    assert sum(1 for found, _ in alone if found) > len(docs) // 3  # the pages have copies to find
    assert warmed == alone
