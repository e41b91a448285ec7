"""Stories -> cluster assignments: find syndicated copies of one story with MinHash + LSH, then verify.

What counts as a duplicate
--------------------------
Two stories are copies when one outlet's text is another's, give or take what syndication does to wire
copy: a rewritten headline, a dateline added ("WASHINGTON (AP) —"), a credit line or outlet footer
appended, ad and widget lines inside, the last paragraphs cut, only the first paragraph or two shown (a
brief or an aggregator card), light copy edits, other quote/dash/space typography, paragraphs run
together, or a new top paragraph in a later update. Two outlets' own write-ups of the same event are
*not* copies, however alike their topic, names, numbers and quotes; nor is a follow-up story that reuses
background paragraphs; nor are two briefs that share a footer.

How it is decided
-----------------
1. Text is NFKC-normalised, case-folded and cut into Unicode word tokens (``\\w+``), so typography and
   paragraph breaks do not matter. Shingles are runs of ``shingle_size`` tokens, hashed to 32 bits with
   a fixed polynomial hash (stable across processes and machines; computed for the whole text at once
   with numpy). The body is what is compared; the title only when the body is too short to say
   anything, because outlets rewrite headlines. A fingerprint keeps the body's set of shingles and, in
   text order, the shingles of its first ``lead_words`` words (the *lead*).
2. Boilerplate shingles, those seen in ``boilerplate_df`` or more *unrelated* stories (footers, promos,
   chrome, stock phrases), are dropped before signing and verifying. The service counts a story's
   shingles only when it starts a new cluster (copies of one story do not make each other boilerplate),
   in a count-min sketch with conservative update whose counts halve every ``HALF_LIFE`` new clusters,
   so it never fills up however long the service runs (the store persists it): text counts as
   boilerplate while it keeps turning up in a few of every few thousand new stories. A batch
   (``cluster_texts``) counts exactly instead, once per group of copies: texts that would match with
   nothing known as boilerplate, or whose leads resemble.
3. MinHash signatures (datasketch's ``affine32`` scheme, computed in bulk with numpy) of the body and of
   the lead go into one banded LSH index: the body bands find copies with cuts, footers, edits and new
   top paragraphs; the lead bands find briefs, whose resemblance to the full story is far too low for
   any body threshold. Bands are hashed to 60-bit keys, in memory: recent stories in one dict, older
   ones filed every few thousand stories as numpy runs (12 bytes a band key) merged like a binary
   counter, so a merge rewrites only the newest runs and a story's keys are copied about log2(index /
   first run) times in all; one pass of numpy calls looks a story's keys up in every run, and a restart
   builds its run straight from the stored signatures. Several
   workers each keep their own index and catch it up from the store before every decision
   (``feedsvc.ingest``); a shared LSH store (datasketch's Redis storage) was removed: it inserted about
   60x slower, and two processes still verified only against their own fingerprints.
4. Every candidate is verified on the exact shingle sets: it merges when the resemblance (Jaccard)
   reaches ``resemblance`` or the containment of the smaller set in the larger reaches ``containment``
   (each shingle weighted 1, or 1/(df-1) when three or more unrelated stories have it: text shared by a
   few stories, short of boilerplate, such as a templated sentence, is weak evidence of a copy)
   -- and, in both cases, the two texts *start alike*: most of the first ``START_SHINGLES`` content
   shingles of one of them occur in the other. That last rule is what keeps apart two briefs whose
   shared footer is longer than their own text, and two write-ups that share a long quote: copies of
   one story start the same way (a dateline, an ad line or a new top paragraph on one side still
   leaves the other's start intact), different stories do not. The rule is symmetric, so the outcome
   does not depend on which story came first.
5. Verified matches are unioned. A cluster keeps the id it was minted with; when one story joins two
   clusters, the older id survives and the younger cluster is folded into it.

Defaults (see ``feedsvc.settings``) come from ``python -m bench dedup``, which measures them on a
generated, labelled corpus of syndicated copies and hard negatives against plain-LSH baselines.

False-merge risks
-----------------
* A footer not yet known as boilerplate (the first few times it is seen) after briefs whose own text is
  under about ten words: their starts are then mostly footer, and two such briefs merge. Longer briefs
  are kept apart by the start rule, known footers by the boilerplate counts.
* A brief that shows nothing but a quote, when another outlet's story carries the same quote near its
  start: the brief's whole text is in that story. The evaluation's closest call is of this kind
  (containment 0.59 against the 0.6 default), which is why ``containment`` should not go lower.
* A story that quotes most of another verbatim, its start included, merges with it (rare in news, and
  arguably the same story); so do two templated reports (earnings wraps, sports agate) that open with
  the same sentence and share most of their text.
* Very short texts (under ``MIN_SHINGLES`` content shingles) merge only when their content is identical.

Recall risks
------------
A copy edited in nearly every sentence; a copy with a new top paragraph *and* most of its end cut (it
neither starts like the story nor resembles it as a whole); a brief under an outlet footer the counter
has not learned yet (its containment is too low until the footer counts as boilerplate). If a story's
copies keep failing to match, each starts a new cluster and counts its text again: after
``boilerplate_df`` such misses the story's own text is boilerplate until the counts decay.

Cost
----
The whole ingest path (fingerprint, signatures, query, verification, insert, boilerplate count) of a
400-word story costs about 40 numpy calls over a few hundred values each. Ingest prepares a page's new
stories together (``Deduper.fingerprints``, ``Deduper.warm``: about 45 numpy calls for the page), then
decides them one at a time as before, reusing what was prepared while it holds (the same decisions:
a story whose counts an earlier one of the page moved reads its sketch cells again, and keeps its
signatures when no shingle that crossed ``boilerplate_df`` gave one of their values); what is left per
story is that read of the boilerplate sketch (8 MB: cache misses), its update and the index's Python
work. ``python -m bench dedup_speed``
prints its rate against datasketch and rensa on the same stories, its growth to 1M indexed stories and
the memory per story: about 2 KB of fingerprint plus 0.5 KB of index (42 band keys of 12 bytes in the
frozen runs, and their directories) once filed.

Modules
-------
``shingles`` (tokens and shingle hashes), ``signature`` (MinHash signing), ``boilerplate`` (shingle
counts), ``fingerprint`` (what is kept of a story), ``index`` (LSH bands and the in-memory index),
``runs`` (the index's frozen runs), ``many`` (a page's fingerprints prepared at once), ``verify`` (the
matching rules), ``deduper`` (the ``Deduper``) and ``batch`` (``cluster_texts``).
"""

from feedsvc.dedup.batch import UnionFind, cluster_stream, cluster_texts, prime_boilerplate
from feedsvc.dedup.boilerplate import HALF_LIFE, BoilerplateCounter, ExactCounts, ShingleCounts
from feedsvc.dedup.deduper import Deduper, Signatures
from feedsvc.dedup.fingerprint import (
    FINGERPRINT_VERSION,
    MIN_SHINGLES,
    Fingerprint,
    fingerprint,
    fingerprint_from_bytes,
    fingerprint_to_bytes,
)
from feedsvc.dedup.index import LEAD_THRESHOLD, band_params
from feedsvc.dedup.shingles import (
    U32,
    U64,
    shingle_hashes,
    shingle_sequence,
    sorted_unique,
    token_hashes,
    tokens,
)
from feedsvc.dedup.signature import SCHEME, Signer
from feedsvc.dedup.verify import START_AGREE, START_SHINGLES, Match

__all__ = [
    "FINGERPRINT_VERSION",
    "HALF_LIFE",
    "LEAD_THRESHOLD",
    "MIN_SHINGLES",
    "SCHEME",
    "START_AGREE",
    "START_SHINGLES",
    "U32",
    "U64",
    "BoilerplateCounter",
    "Deduper",
    "ExactCounts",
    "Fingerprint",
    "Match",
    "ShingleCounts",
    "Signatures",
    "Signer",
    "UnionFind",
    "band_params",
    "cluster_stream",
    "cluster_texts",
    "fingerprint",
    "fingerprint_from_bytes",
    "fingerprint_to_bytes",
    "prime_boilerplate",
    "shingle_hashes",
    "shingle_sequence",
    "sorted_unique",
    "token_hashes",
    "tokens",
]
