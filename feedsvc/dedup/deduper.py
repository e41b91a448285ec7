"""The Deduper: an index of fingerprinted stories that finds and verifies the copies of a new one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from feedsvc.dedup.boilerplate import BoilerplateCounter, ShingleCounts
from feedsvc.dedup.fingerprint import (
    Fingerprint,
    _Content,
    fingerprint,
    fingerprint_from_bytes,
    fingerprints,
)
from feedsvc.dedup.index import LEAD_THRESHOLD, _Index, _MemoryIndex, band_params
from feedsvc.dedup.many import Read, contents, narrow
from feedsvc.dedup.shingles import U32
from feedsvc.dedup.signature import Signer
from feedsvc.dedup.verify import START_SHINGLES, Match, _verify
from feedsvc.gcpause import gc_paused
from feedsvc.settings import DedupSettings


class Deduper:
    """An index of fingerprinted stories that answers: which indexed stories is this one a copy of?"""

    def __init__(
        self,
        settings: DedupSettings,
        boilerplate: ShingleCounts | None = None,
    ) -> None:
        self.settings = settings
        self.signer = Signer(settings.num_perm, settings.seed)
        self.boilerplate: ShingleCounts = boilerplate if boilerplate is not None else BoilerplateCounter()
        self.boilerplate_df = settings.boilerplate_df
        body = band_params(settings.lsh_threshold, settings.num_perm)
        lead = band_params(LEAD_THRESHOLD, settings.num_perm)
        self._index: _Index = _MemoryIndex(body, lead)
        # A restored story's fingerprint stays as stored (shingles, lead bytes), decoded at each use
        # (:meth:`_print`): a restore makes no object per story, and the bytes are its smallest form.
        self._prints: dict[str, Fingerprint | tuple[bytes, bytes]] = {}
        self._last: tuple[Fingerprint, int, _Content] | None = None  # what matches() computed last
        self._warm: dict[int, tuple[Fingerprint, int, _Content, Read]] = {}  # id(fp) -> warm()'s

    def __len__(self) -> int:
        return len(self._prints)

    def __contains__(self, key: str) -> bool:
        return key in self._prints

    def fingerprint(self, title: str, body: str) -> Fingerprint:
        return fingerprint(title, body, self.settings)

    def fingerprints(self, items: Sequence[tuple[str, str]]) -> list[Fingerprint]:
        """``fingerprint(title, body)`` of each item, computed together (a page's stories)."""
        return fingerprints(items, self.settings)

    def warm(self, prints: Sequence[Fingerprint]) -> None:
        """Prepare many fingerprints at once (a page's new stories, before deciding them one by one):
        their content under today's boilerplate counts, signatures and band keys in one pass of numpy
        calls, and their look-ups in the index's frozen runs in another. ``matches`` and ``add`` of each
        then reuse them as long as they still hold: the same decisions as without, cheaper (a story
        whose shingles' counts moved since, as an earlier story of the page counted its text, is
        prepared again)."""
        earlier = self._warm  # what an earlier warm() of the same prints made is brought up to date as used
        kept = {id(fp): earlier[id(fp)] for fp in prints if id(fp) in earlier and earlier[id(fp)][0] is fp}
        self._warm = kept
        todo = [fp for fp in prints if fp.shingles.size and id(fp) not in kept]
        if not todo:
            return
        made = contents(todo, self.boilerplate, self.boilerplate_df, self.signer)
        self._index.warm([content for content, _ in made])
        version = self.boilerplate.version
        for fp, (content, read) in zip(todo, made, strict=True):
            self._warm[id(fp)] = (fp, version, content, read)

    def _warmed(self, fp: Fingerprint) -> _Content | None:
        """What ``warm`` prepared for ``fp``, brought up to date with the boilerplate counts: the counts of
        its content shingles as they are now, its content narrowed when some shingle crossed
        ``boilerplate_df`` (as an earlier story of the page counted its text), and ``None`` when its
        signatures may have changed with it."""
        warm = self._warm.get(id(fp))
        if warm is None or warm[0] is not fp:
            return None
        fp, version, content, read = warm
        if version != self.boilerplate.version:
            now = self.boilerplate.frequency(fp.shingles)
            # The counts and content mask as they were are kept as bytes (warm() cuts them from the
            # page's): one conversion and one comparison tell whether anything moved.
            counts = now.tobytes()
            if counts != read.counts:  # some count moved (an earlier story of the page shares text)
                mine = now < self.boilerplate_df
                mask = mine.tobytes()
                if mask != read.mask:
                    before = np.frombuffer(read.mask, dtype=np.bool_)
                    if not narrow(fp, content, before, mine, self.signer):
                        del self._warm[id(fp)]
                        return None
                content.df = now[mine]  # weights moved, maybe the set; the signatures did not
                read = Read(counts, mask)
            self._warm[id(fp)] = (fp, self.boilerplate.version, content, read)
        return content

    def _prepare(self, fp: Fingerprint, *, sign: bool = True) -> _Content:
        last = self._last
        if last is not None and last[0] is fp and last[1] == self.boilerplate.version:
            return last[2]
        if sign and self._warm:
            warmed = self._warmed(fp)
            if warmed is not None:
                self._last = (fp, self.boilerplate.version, warmed)
                return warmed
        df = self.boilerplate.frequency(fp.shingles)
        mine = df < self.boilerplate_df
        shingles = fp.shingles[mine]
        lead = fp.lead
        if lead.size and shingles.size < fp.shingles.size:  # the lead's shingles are some of the body's
            lead = lead[mine[np.searchsorted(fp.shingles, lead)]]
        content = _Content(shingles, df[mine], lead[:START_SHINGLES])
        if sign:
            if shingles.size:  # the lead's shingles are some of the body's: sign both in one pass
                body_sig, lead_sig = self.signer.sign_with_part(shingles, lead)
                content.body_sig = body_sig
                content.lead_sig = lead_sig if lead.size else None
            self._last = (fp, self.boilerplate.version, content)
        return content

    def candidates(self, fp: Fingerprint) -> set[str]:
        return self._index.query(self._prepare(fp))

    def verify(self, a: Fingerprint, b: Fingerprint) -> Match | None:
        return _verify(self._prepare(a, sign=False), self._prepare(b, sign=False), self.settings)

    def matches(self, fp: Fingerprint, exclude: str | None = None) -> list[Match]:
        """Indexed stories that ``fp`` verifiably copies (or is copied by), best first."""
        mine = self._prepare(fp)
        found = self._index.query(mine)
        found.discard(exclude or "")
        out = []
        for key in found:
            other = self._print(key)
            if other is None:
                continue
            match = _verify(mine, self._prepare(other, sign=False), self.settings)
            if match is not None:
                out.append(Match(key, match.resemblance, match.containment))
        return sorted(out, key=lambda m: (-m.resemblance, -m.containment, m.key))

    def add(self, key: str, fp: Fingerprint, *, count_boilerplate: bool) -> Signatures:
        """Index ``fp`` under ``key``; pass count_boilerplate for a story that starts a new cluster.

        Returns the signatures it was indexed under (bytes), for the store: a restart then rebuilds
        exactly this index, without signing again under boilerplate counts that have moved since."""
        if key in self._prints:
            return b"", b""
        content = self._insert(key, fp)
        self._warm.pop(id(fp), None)
        if count_boilerplate:
            self.boilerplate.add(fp.shingles)
        return _to_bytes(content.body_sig), _to_bytes(content.lead_sig)

    def signatures(self, fp: Fingerprint) -> Signatures:
        """The signatures ``add`` would index ``fp`` under right now."""
        content = self._prepare(fp)
        return _to_bytes(content.body_sig), _to_bytes(content.lead_sig)

    def _insert(self, key: str, fp: Fingerprint, signed: Signatures | None = None) -> _Content:
        self._prints[key] = fp
        if signed is not None:  # restored: index under the stored signatures, nothing to compute
            content = _Content(_EMPTY, _EMPTY, _EMPTY, _from_bytes(signed[0]), _from_bytes(signed[1]))
        else:
            content = self._prepare(fp)
        self._index.insert(key, content)
        return content

    def load(
        self,
        keys: Sequence[str],
        shingles: Sequence[bytes],
        leads: Sequence[bytes],
        body_sigs: Sequence[bytes],
        lead_sigs: Sequence[bytes],
    ) -> int:
        """Bulk-restore the index (after a restart) from stored columns, one item per key: each
        fingerprint as ``fingerprint_to_bytes`` made it and the signatures ``add`` returned (a story with
        neither signature is signed now); boilerplate counts come with the counter. Keys already indexed
        are skipped. The band keys go straight into one frozen run, and nothing is made per story
        beyond the index's entries: fingerprints are decoded when a match needs them."""
        if self._prints:  # not a fresh index: only the keys it lacks
            new = [i for i, key in enumerate(keys) if key not in self._prints]
            if len(new) < len(keys):
                keys = [keys[i] for i in new]
                shingles, leads = [shingles[i] for i in new], [leads[i] for i in new]
                body_sigs, lead_sigs = [body_sigs[i] for i in new], [lead_sigs[i] for i in new]
        if not all(body_sigs):  # stored without signatures (or with nothing to sign): sign them now
            body_sigs, lead_sigs = list(body_sigs), list(lead_sigs)
            for i, (body, lead) in enumerate(zip(body_sigs, lead_sigs, strict=True)):
                if not body and not lead:
                    restored = fingerprint_from_bytes(shingles[i], leads[i])
                    body_sigs[i], lead_sigs[i] = self.signatures(restored)
        before = len(self._prints)
        with gc_paused(keep=True):
            self._prints.update(zip(keys, zip(shingles, leads, strict=True), strict=True))
            self._index.load(keys, body_sigs, lead_sigs)
        self._last = None
        return len(self._prints) - before

    def _print(self, key: str) -> Fingerprint | None:
        """The fingerprint indexed under ``key`` (a restored one decoded from its stored bytes)."""
        fp = self._prints.get(key)
        return fingerprint_from_bytes(*fp) if isinstance(fp, tuple) else fp

    def put(self, key: str, fp: Fingerprint, signed: Signatures) -> None:
        """Index ``fp`` under ``key`` with the signatures it was stored with (by this process or another),
        replacing what ``key`` had: how a worker catches up with copies other workers stored."""
        self.remove(key)
        self._insert(key, fp, signed)
        self._last = None

    def remove(self, key: str) -> None:
        if self._prints.pop(key, None) is not None:
            self._index.remove(key)


Signatures = tuple[bytes, bytes]  # (body, lead) as stored; b"" where there was nothing to sign
_EMPTY = np.empty(0, dtype=np.uint32)


def _to_bytes(sig: U32 | None) -> bytes:
    return b"" if sig is None else sig.tobytes()


def _from_bytes(raw: bytes) -> U32 | None:
    return np.frombuffer(raw, dtype=np.uint32) if raw else None
