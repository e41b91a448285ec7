"""Split a text rendering of an aggregator page (the Daily8 family) into stories.

A page is lines. Site chrome lines ("Related Articles", "DOWNLOAD THE APP", "Hashtags", ...) end whatever
section they follow. A record is found by its *meta block*, never by blank lines: meta lines are time lines
("time2 minutes ago", "9 minutes ago", "time11-06-2025"), outlet and category bullets ("• CNN", "- CNN") and
an outlet glued to its time ("Yahoo4 days ago"); a short outlet line right above a time line belongs to the
block too. Where the title stands depends on the layout, and the block's neighbours tell which:

- title before the block, shown twice or shown again after it (listing records and the reference page:
  ``Title / Title / Outlet / time / • Category / • Outlet / Title / body``);
- title after the block (article pages without ``logo``, "layout C": ``Outlet / time / - Outlet / Title /
  body``), recognised by the outlet line and the dash bullet naming the same outlet;
- title once before the block (compact listings: ``Title / • Outlet / time / body``).

The body is every line after the header up to the next record or chrome line, one paragraph per line. The
lines before the first record (skipping chrome) are the page's main story: its first line is the title
(often shown twice), the rest its body, with no outlet or time. A page cut off in the middle of its last
record keeps that record with the body it has once the body has begun; a record cut inside its header is
dropped, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from feedsvc.extract import times
from feedsvc.extract.clean import clean_body, clean_line, clean_lines, is_chrome
from feedsvc.models import DateOrder, Story

_BULLET_RE = re.compile(r"^(?:[•·‣▪◦]\s*(?P<v>\S.*)|(?P<dash>[-–])\s+(?P<d>\S.*))$")
_PARTIAL_TIME_RE = re.compile(r"^time\s*\d")
_LETTERS_RE = re.compile(r"[^\W\d_]")
# Outlets whose names end in a digit, so "News244 days ago" splits as News24 + 4 days.
_KNOWN_OUTLETS = frozenset({"News24", "France 24", "Channel 4", "Channel 4 News", "Channel 5", "Sky News 2"})


@dataclass
class _Header:
    start: int  # index of the first header line
    end: int  # index after the last header line
    title: str
    outlet: str | None = None
    category: str | None = None
    time_text: str | None = None
    meta: bool = True  # False for a main story, which shows no outlet or time
    bullets: list[str] = field(default_factory=list)


def _bullet(line: str) -> str | None:
    match = _BULLET_RE.match(line)
    if not match:
        return None
    value = (match.group("v") or match.group("d")).strip()
    if len(value) > 60 or len(value.split()) > 8 or value.endswith((".", ",", ";")):
        return None
    return value


def _short(line: str, words: int = 8) -> bool:
    return len(line) <= 70 and len(line.split()) <= words and not line.endswith((".", ",", ";", ":"))


def _title_like(line: str) -> bool:
    """A line that can be a headline: some words with letters, not a lone "#" or a rule."""
    return len(_LETTERS_RE.findall(line)) >= 3 and len(line) <= 300


# What one line is, before its page's neighbours are looked at: (chrome, bullet value, kind, value,
# outlet+time splits). ``kind`` and ``value`` are final, as _Page keeps them, except for a line with splits,
# which depend on the outlets its page names (``kind`` is then what the line is when none of them is taken).
# A pure function of the line and the languages, and pages repeat their lines (titles shown twice, the same
# outlets and chrome on every page, the same page fetched again), so it is cached.
_Value = tuple[str | None, str | None]  # (outlet, time phrase) of a meta line
_Facts = tuple[bool, str | None, str, _Value, tuple[tuple[str, str], ...]]
_NONE: _Value = (None, None)
_META_KINDS = frozenset({"time", "bullet", "dash", "glued", "partial"})


_CACHED_LINE = 400  # characters


def _classify_line(line: str, languages: tuple[str, ...] | None) -> _Facts:
    bullet = _bullet(line)
    if is_chrome(line):
        return True, bullet, "chrome", _NONE, ()
    phrase = times.strip_icon(line, languages)
    if phrase:
        return False, bullet, "time", (None, phrase), ()
    if bullet:
        return False, bullet, "dash" if line[0] in "-–" else "bullet", (bullet, None), ()
    kind = "partial" if _PARTIAL_TIME_RE.match(line) else "text"
    return False, None, kind, _NONE, times.glued_candidates(line, languages)


def clear_line_caches() -> None:
    """Forget every cached per-line answer (benchmarks measure a page never seen before with it)."""
    _line_facts.cache_clear()
    times.clear_line_caches()


_line_facts = lru_cache(maxsize=32768)(_classify_line)


class _Page:
    def __init__(self, lines: list[str], languages: tuple[str, ...] | None = None) -> None:
        self.lines = lines
        self.languages = languages
        self.n = len(lines)
        key = languages if languages is None or isinstance(languages, (tuple, str)) else tuple(languages)
        # Long lines (paragraphs) are cheap to classify, every time test gives up on them at once, and are
        # not cached: the cache's memory stays bounded by its size times _CACHED_LINE.
        facts = [
            _line_facts(line, key) if len(line) <= _CACHED_LINE else _classify_line(line, key)
            for line in lines
        ]
        self.chrome = [f[0] for f in facts]
        bullets = {f[1] for f in facts if f[1]}
        self.known = frozenset(bullets | _KNOWN_OUTLETS)
        self.kind = [f[2] for f in facts]
        self.value = [f[3] for f in facts]  # (outlet, time phrase) per meta line
        for i, fact in enumerate(facts):
            if fact[4]:
                self._glued(i, fact[4])
        self.meta_at = [kind in _META_KINDS for kind in self.kind] + [False]  # [n]: past the last line

    def _glued(self, i: int, candidates: tuple[tuple[str, str], ...]) -> None:
        """An outlet glued to its time ("Yahoo4 days ago"), when the line splits into one."""
        line = self.lines[i]
        glued = times.pick_glued(candidates, self.known)
        # "USA Today" is an outlet, not "USA" + today: a wordy time only counts when glued on.
        spaced = glued is not None and line[len(glued[0]) : len(glued[0]) + 1].isspace()
        if glued and not (spaced and not any(c.isdigit() for c in glued[1])):
            self.kind[i], self.value[i] = "glued", glued

    def is_meta(self, i: int) -> bool:
        return 0 <= i < self.n and self.meta_at[i]

    def is_text(self, i: int) -> bool:
        return 0 <= i < self.n and self.kind[i] == "text"

    def same(self, i: int, j: int) -> bool:
        return 0 <= i < self.n and 0 <= j < self.n and self.lines[i] == self.lines[j]

    def headers(self) -> list[_Header]:
        found: list[_Header] = []
        i = 0
        meta_at = self.meta_at
        while i < self.n:
            if not meta_at[i]:
                i += 1
                continue
            first, last = i, self._block_end(i)
            # A short outlet line right above a time line ("NBC News" over "time2 minutes ago").
            outlet_at = first - 1 if self._outlet_line_above(first) else None
            header = self._place_title(outlet_at, first, last)
            if header is None:
                i = last + 1
                continue
            self._fill_meta(header, range(outlet_at if outlet_at is not None else first, last + 1))
            found.append(header)
            i = header.end
        return found

    def _block_end(self, i: int) -> int:
        """The last line of the meta block starting at ``i``: meta lines, and short lines between them."""
        last = i
        while True:
            if self.is_meta(last + 1):
                last += 1
            elif self.is_text(last + 1) and _short(self.lines[last + 1], 6) and self.is_meta(last + 2):
                last += 2
            else:
                return last

    def _outlet_line_above(self, first: int) -> bool:
        above = first - 1
        return (
            self.kind[first] == "time"
            and self.is_text(above)
            and _short(self.lines[above], 6)
            and not self.same(above, above - 1)  # a doubled line is a title, not an outlet
        )

    def _place_title(self, outlet_at: int | None, first: int, last: int) -> _Header | None:
        """Where this block's title stands (see the module docstring); None when it has none."""
        top = outlet_at if outlet_at is not None else first
        before, after = top - 1, last + 1
        if self.is_text(before) and (self.same(before, before - 1) or self.same(before, after)):
            start = before - 1 if self.same(before, before - 1) else before
            return _Header(start=start, end=self._skip_repeats(after, before), title=self.lines[before])
        dash_names_outlet = (
            outlet_at is not None
            and self.kind[last] == "dash"
            and (self.value[last][0] or "").casefold() == self.lines[outlet_at].casefold()
        )
        if dash_names_outlet or not self.is_text(before):
            if self.is_text(after) and _title_like(self.lines[after]):
                return _Header(start=top, end=self._skip_repeats(after + 1, after), title=self.lines[after])
            return None  # cut before its title: dropped, never guessed at
        if self.is_text(before) and _title_like(self.lines[before]):
            return _Header(start=before, end=after, title=self.lines[before])
        return None

    def _skip_repeats(self, at: int, title_at: int) -> int:
        while at < self.n and self.same(at, title_at):
            at += 1
        return at

    def _fill_meta(self, header: _Header, span: range) -> None:
        outlet_line: str | None = None
        for j in span:
            kind = self.kind[j]
            outlet, phrase = self.value[j]
            if kind in ("bullet", "dash") and outlet:
                header.bullets.append(outlet)
            elif kind == "glued":
                header.outlet, header.time_text = outlet, phrase
            elif kind == "time":
                header.time_text = phrase
            elif kind == "text" and outlet_line is None:
                outlet_line = self.lines[j]
        if header.bullets:
            header.outlet = header.bullets[-1]
            if len(header.bullets) > 1:
                header.category = header.bullets[0]
        elif header.outlet is None:
            header.outlet = outlet_line

    def main_story(self, limit: int) -> _Header | None:
        """The page's own story above the first record: its first line (often doubled) is the title."""
        i = 0
        while i < limit and self.chrome[i]:
            i += 1
        line = self.lines[i] if i < limit else ""
        # Headlines do not end in a full stop; a page that opens with a sentence has no main story.
        if not self.is_text(i) or not _title_like(line) or (line.endswith(".") and not line.endswith("..")):
            return None
        end = self._skip_repeats(i + 1, i)
        # A lone heading right above the first record ("Top stories") is not a story: a main story is
        # doubled, has a body, or is closed by chrome.
        if end == i + 1 and end >= limit and not (end < self.n and self.chrome[end]):
            return None
        return _Header(start=i, end=end, title=self.lines[i], meta=False)

    def body_end(self, start: int, limit: int) -> int:
        chrome, meta_at = self.chrome, self.meta_at
        for j in range(start, limit):
            if chrome[j] or meta_at[j] or (meta_at[j + 1] and self._outlet_line_above(j + 1)):
                return j
            if self.same(j, j + 1) and j + 1 < limit:
                return j  # a doubled line is the next header's title, even a cut one
        return limit


def parse_text(
    text: str, fetched_at: datetime, date_order: DateOrder = "DMY", languages: tuple[str, ...] | None = None
) -> list[Story]:
    """Stories of a text-rendered aggregator page, in page order; ``languages`` are the languages its times
    are written in (None: any, see feedsvc.extract.times)."""
    lines = [line for line in clean_lines(text) if line]
    page = _Page(lines, languages)
    headers = page.headers()
    main = page.main_story(headers[0].start if headers else len(lines))
    if main is not None:
        headers.insert(0, main)

    stories: list[Story] = []
    for k, header in enumerate(headers):
        limit = headers[k + 1].start if k + 1 < len(headers) else len(lines)
        stop = page.body_end(header.end, limit)
        body = clean_body(lines[header.end : stop], cleaned=True)
        if k + 1 == len(headers) and header.meta and not body and not any(page.chrome[header.end :]):
            continue  # the page ends inside this record's header: cut, not an empty story
        stories.append(
            Story(
                title=clean_line(header.title),
                outlet=header.outlet,
                published=times.resolve(header.time_text, fetched_at, date_order, languages),
                published_text=header.time_text,
                body=body,
                category=header.category,
            )
        )
    return stories
