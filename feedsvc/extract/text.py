"""Split a text rendering of an aggregator page (the Daily8 family) into stories.

A page is lines. Site chrome lines ("Related Articles", "DOWNLOAD THE APP", ...) end whatever section
they follow. Every story has one *header*: its title (often shown twice), then meta lines in some order:
an outlet line, a time line ("time2 minutes ago", "9 minutes ago", "time11-06-2025"), outlet and category
bullets ("• CNN", "- CNN"), or an outlet glued to its time ("Yahoo4 days ago"); the title may be shown
again after the meta. The body is every line after the header up to the next header or chrome line,
one paragraph per line. Meta lines anchor headers, so records need no blank lines between them.

A main story may have no meta line at all (title twice at the top of the page). A page cut off in the
middle of its last record keeps only complete records: the cut one is dropped, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from feedsvc.extract import times
from feedsvc.extract.clean import clean_body, clean_line, clean_text, is_chrome
from feedsvc.models import DateOrder, Story

_BULLET_RE = re.compile(r"^[•·‣▪◦]\s*(?P<v>\S.*)$|^[-–]\s+(?P<d>\S.*)$")
_PARTIAL_TIME_RE = re.compile(r"^time\s*\d")
_TERMINAL = tuple(".!?'\"”’)…]")
# Outlets whose names end in a digit, so "News244 days ago" splits as News24 + 4 days.
_KNOWN_OUTLETS = frozenset({"News24", "France 24", "Channel 4", "Channel 4 News", "Channel 5", "Sky News 2"})


@dataclass
class _Header:
    start: int  # index of the first header line (the title)
    end: int  # index after the last header line
    title: str
    outlet: str | None = None
    category: str | None = None
    time_text: str | None = None
    meta: bool = True  # False for a main story recognised by its doubled title alone
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


class _Page:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.chrome = [is_chrome(line) for line in lines]
        bullets = {b for line in lines if (b := _bullet(line))}
        self.known = frozenset(bullets | _KNOWN_OUTLETS)
        self.kind: list[str] = []
        self.value: list[tuple[str | None, str | None]] = []  # (outlet, time phrase) per meta line
        for i, line in enumerate(lines):
            self.kind.append(self._classify(i, line))

    def _classify(self, i: int, line: str) -> str:
        if self.chrome[i]:
            self.value.append((None, None))
            return "chrome"
        phrase = times.strip_icon(line)
        if phrase:
            self.value.append((None, phrase))
            return "time"
        bullet = _bullet(line)
        if bullet:
            self.value.append((bullet, None))
            return "bullet"
        glued = times.split_glued(line, self.known)
        if glued and glued[0][-1:] != " ":
            self.value.append(glued)
            return "glued"
        if _PARTIAL_TIME_RE.match(line):
            self.value.append((None, None))
            return "partial"
        self.value.append((None, None))
        return "text"

    def is_meta(self, i: int) -> bool:
        return 0 <= i < len(self.lines) and self.kind[i] in ("time", "bullet", "glued", "partial")

    def is_text(self, i: int) -> bool:
        return 0 <= i < len(self.lines) and self.kind[i] == "text"

    def headers(self) -> list[_Header]:
        found: list[_Header] = []
        i, n = 0, len(self.lines)
        while i < n:
            if not self.is_meta(i):
                i += 1
                continue
            first = i
            # A short outlet line right before the first meta line ("NBC News" above "time2 minutes ago").
            if (
                self.is_text(first - 1)
                and self.is_text(first - 2)
                and _short(self.lines[first - 1], 6)
                and self.lines[first - 1] != self.lines[first - 2]
                and self.kind[first] == "time"
            ):
                first -= 1
            # Consume meta lines and short lines sandwiched between meta lines.
            last = i
            while True:
                if self.is_meta(last + 1):
                    last += 1
                elif self.is_text(last + 1) and _short(self.lines[last + 1], 6) and self.is_meta(last + 2):
                    last += 2
                else:
                    break
            title_at = first - 1
            if not self.is_text(title_at):
                i = last + 1
                continue
            title = self.lines[title_at]
            start = title_at - 1 if title_at > 0 and self.lines[title_at - 1] == title else title_at
            end = last + 1
            while end < n and self.lines[end] == title:  # the title shown again after the meta
                end += 1
            header = _Header(start=start, end=end, title=title)
            self._fill_meta(header, range(first, last + 1))
            found.append(header)
            i = end
        return found

    def _fill_meta(self, header: _Header, span: range) -> None:
        outlet_line: str | None = None
        for j in span:
            kind = self.kind[j]
            outlet, phrase = self.value[j]
            if kind == "bullet" and outlet:
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

    def main_without_meta(self, limit: int) -> _Header | None:
        """A main story at the top whose header is only its title, shown twice."""
        i = 0
        while i < limit and self.chrome[i]:
            i += 1
        if (
            i + 1 < limit
            and self.is_text(i)
            and self.lines[i] == self.lines[i + 1]
            and len(self.lines[i]) <= 250
        ):
            return _Header(start=i, end=i + 2, title=self.lines[i], meta=False)
        return None

    def body_end(self, start: int, limit: int) -> int:
        for j in range(start, limit):
            if self.chrome[j] or self.is_meta(j):
                return j
            if j + 1 < limit and self.lines[j] == self.lines[j + 1]:
                return j  # a doubled line is the next header's title, even a cut one
        return limit


def parse_text(text: str, fetched_at: datetime, date_order: DateOrder = "DMY") -> list[Story]:
    """Stories of a text-rendered aggregator page, in page order."""
    lines = [line for line in clean_text(text).split("\n") if line]
    page = _Page(lines)
    headers = page.headers()
    first_start = headers[0].start if headers else len(lines)
    main = page.main_without_meta(first_start)
    if main is not None:
        headers.insert(0, main)
    ends_with_chrome = any(page.chrome[headers[-1].end :]) if headers else False

    stories: list[Story] = []
    for k, header in enumerate(headers):
        limit = headers[k + 1].start if k + 1 < len(headers) else len(lines)
        stop = page.body_end(header.end, limit)
        body = clean_body(lines[header.end : stop])
        is_last = k + 1 == len(headers)
        if is_last and not ends_with_chrome and not _complete(body, stop, limit, len(lines)):
            continue
        published = times.resolve(header.time_text, fetched_at, date_order)
        stories.append(
            Story(
                title=clean_line(header.title),
                outlet=header.outlet,
                published=published,
                published_text=header.time_text,
                body=body,
                category=header.category,
            )
        )
    return stories


def _complete(body: tuple[str, ...], stop: int, limit: int, total: int) -> bool:
    """The last record of a page without closing chrome: keep it only if nothing suggests a cut."""
    if stop < limit:  # something header-like follows the body: the record itself ended
        return True
    return bool(body) and body[-1].endswith(_TERMINAL) and limit == total
