"""Story fields read from a block of the page: the time and its meta line, outlet, category, snippet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from bs4 import Tag
from bs4.element import NavigableString

from feedsvc.extract import times
from feedsvc.extract.clean import clean_line, is_chrome
from feedsvc.extract.html.dom import _SEPARATOR_RE, _attr, _Fence, _has_hint, _is_label, _lines, _tags, _text

_OUTLET_HINTS = frozenset(
    {"source", "provider", "outlet", "publisher", "attribution", "sitename", "publication"}
)
_CATEGORY_HINTS = frozenset({"category", "categories", "kicker", "eyebrow", "rubric", "topic"})
_SNIPPET_HINTS = frozenset({
    "summary", "snippet", "excerpt", "description", "desc", "dek", "teaser", "standfirst", "abstract",
    "blurb",
})  # fmt: skip
# Words that share a meta line with a time but are not outlets ("Updated • 2 hours ago").
_NOT_OUTLETS = frozenset({
    "published", "updated", "posted", "last updated", "modified", "live", "breaking", "breaking news",
    "video", "watch", "listen", "opinion", "analysis", "exclusive", "read more", "new",
})  # fmt: skip
_PROVIDED_RE = re.compile(r"^\s*(?:provided by|source:)\s*(?P<name>.*)$", re.IGNORECASE)
_OUTLET_PREFIX_RE = re.compile(r"^(?:provided by|source:|from|via|by)\s+", re.IGNORECASE)
_READ_TIME_RE = re.compile(r"^\d+\s*min(?:ute)?s?\s+read$", re.IGNORECASE)
_TIME = ""  # marks the time's place among the parts of a meta line


@dataclass
class _When:
    machine: str | None  # a machine-readable datetime (attribute, JSON-LD, meta)
    text: str | None  # the time as the page shows it
    outlet: str | None = None  # an outlet named on the same meta line ("Reuters • 2 hours ago")
    line: Tag | None = None  # the meta line element, kept out of the snippet


@dataclass
class _Fields:
    title: str
    url: str | None = None
    outlet: str | None = None
    category: str | None = None
    published: datetime | None = None
    published_text: str | None = None
    body: tuple[str, ...] = ()


def _find_when(scope: Tag, fence: _Fence) -> _When | None:
    """The first time in ``scope``: a <time> or datePublished element, else a recognisable time phrase."""
    for el in _tags(scope):
        if fence.covers(el):
            continue
        if el.name == "time" or (_attr(el, "itemprop") or "").lower() == "datepublished":
            machine = _attr(el, "datetime") or _attr(el, "content")
            shown = _text(el)
            text = times.strip_icon(shown) or shown or None
            return _When(machine, text, *_meta_line(el, scope, fence, text))
    for node in scope.find_all(string=True):
        if type(node) is not NavigableString or not isinstance(node.parent, Tag) or fence.covers(node.parent):
            continue
        phrase = _phrase_in(str(node))
        if phrase:
            return _When(None, phrase, *_meta_line(node.parent, scope, fence, phrase))
    return None


def _phrase_in(text: str) -> str | None:
    for part in _SEPARATOR_RE.split(clean_line(text)):
        phrase = times.strip_icon(part)
        glued = None if phrase else times.split_glued(part)
        if phrase or glued:
            return phrase or (glued[1] if glued else None)
    return None


def _meta_line(el: Tag, scope: Tag, fence: _Fence, phrase: str | None) -> tuple[str | None, Tag]:
    """Climb from the time to the widest short line around it; return the outlet it names and the line."""
    line = el
    while line is not scope and isinstance(line.parent, Tag) and line.parent is not scope:
        parent = line.parent
        text = parent.get_text()
        if fence.touches(parent) or len(text.strip()) > 120 or len(_lines(parent)) > 4:
            break
        line = parent
    return _outlet_in_lines(_lines(line), phrase, byline_is_author=True), line


def _outlet_in_lines(lines: list[str], phrase: str | None, byline_is_author: bool) -> str | None:
    """The outlet among a meta line's parts: the name nearest before the time ("Reuters • 2 hours ago";
    what follows a time is a section link more often than an outlet), or the first name without a time."""
    parts: list[str | None] = []
    for line in lines:
        for part in _SEPARATOR_RE.split(line):
            if not part:
                continue
            glued = times.split_glued(part)
            if part == phrase or times.strip_icon(part):
                parts.append(_TIME)
            elif glued:
                parts.extend([_outlet_name(glued[0], byline_is_author), _TIME])
            else:
                parts.append(_outlet_name(part, byline_is_author))
    if _TIME in parts:
        before = [p for p in parts[: parts.index(_TIME)] if p]
        return before[-1] if before else None
    return next((p for p in parts if p), None)


def _outlet_name(text: str, byline_is_author: bool = False) -> str | None:
    name = clean_line(text).strip(" •·|-–—:©")
    if byline_is_author and name[:3].lower() == "by ":
        return None  # "By Jane Doe": a reporter, not an outlet
    name = _OUTLET_PREFIX_RE.sub("", name).strip()
    if not name or len(name) > 60 or len(name.split()) > 8 or name.endswith((".", "!", "?", ",")):
        return None
    folded = name.casefold()
    if folded in _NOT_OUTLETS or _is_label(name) or _READ_TIME_RE.match(name) or times.strip_icon(name):
        return None
    return None if is_chrome(name) else name


def _provided_by(scope: Tag, fence: _Fence) -> str | None:
    """The outlet a republishing page credits: "Provided by Reuters" (the name may sit in a sibling)."""
    for node in scope.find_all(string=_PROVIDED_RE):
        el = node.parent
        for _ in range(3):
            if not isinstance(el, Tag) or fence.covers(el):
                break
            for line in _lines(el):
                match = _PROVIDED_RE.match(line)
                name = _outlet_name(match.group("name")) if match else None
                if name:
                    return name
            logo = el.find("img", alt=True)
            if isinstance(logo, Tag) and (name := _logo_name(_attr(logo, "alt"))):
                return name
            el = el.parent
    return None


def _hinted(scope: Tag, hints: frozenset[str], fence: _Fence) -> Iterator[Tag]:
    for el in _tags(scope):
        if not fence.covers(el) and el.find_parent("figure") is None and _has_hint(el, hints):
            yield el


def _outlet_of(el: Tag) -> str | None:
    """An outlet element's name: its text (minus any time on the same line), else its logo's alt text."""
    name = _outlet_in_lines(_lines(el), None, byline_is_author=False)
    if name:
        return name
    for inner in _tags(el):
        alt = _attr(inner, "content") if _attr(inner, "itemprop") == "name" else _attr(inner, "alt")
        if name := _logo_name(alt):
            return name
    return None


def _logo_name(alt: str | None) -> str | None:
    return _outlet_name(re.sub(r"\s+logo$", "", alt or "", flags=re.IGNORECASE)) if alt else None


def _hinted_outlet(scope: Tag, fence: _Fence) -> str | None:
    for el in _hinted(scope, _OUTLET_HINTS, fence):
        name = _outlet_of(el)
        if name:
            return name
    return None


def _hinted_category(scope: Tag, fence: _Fence) -> str | None:
    for el in _hinted(scope, _CATEGORY_HINTS, fence):
        text = _text(el)
        if text and len(text) <= 40 and not _is_label(text):
            return text
    return None


def _snippet(scope: Tag, fence: _Fence, title: str) -> str | None:
    """A card's summary: a summary-like element first, else its first real <p>."""
    candidates = [
        *_hinted(scope, _SNIPPET_HINTS, fence),
        *(p for p in _tags(scope, "p") if not fence.touches(p)),
    ]
    for el in candidates:
        if fence.touches(el):
            continue
        text = _text(el)
        if text and text != title and len(text.split()) >= 4 and not is_chrome(text):
            return text
    return None
