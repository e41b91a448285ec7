"""Story fields read from a block of the page: the time and its meta line, outlet, category, snippet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain, islice

from lxml import etree

from feedsvc.extract import time_words, times
from feedsvc.extract.clean import is_chrome
from feedsvc.extract.html.dom import (
    _FIGURE,
    _LOGO_SUFFIX_RE,
    _SEPARATOR_RE,
    _TREE,
    Tag,
    Text,
    _ancestor,
    _attr,
    _current_texts,
    _Fence,
    _find,
    _get_text,
    _has_itemprops,
    _has_testids,
    _is_label,
    _is_tag,
    _lines,
    _next_tag,
    _nodes,
    _page_has,
    _placed_strings,
    _previous_siblings,
    _remembered,
    _tags,
    _tags_or_itemprops,
    _text,
    _text_parent,
    _TextIndex,
    _within,
    _words_of,
    clean_line,
)
from feedsvc.extract.html.images import is_photo
from feedsvc.extract.html.page import _machine_time

_OUTLET_HINTS = frozenset(
    {"source", "provider", "outlet", "publisher", "attribution", "sitename", "publication"}
)
_CATEGORY_HINTS = frozenset({"category", "categories", "kicker", "eyebrow", "rubric", "topic"})
_TAG_HINTS = frozenset({"tag"})  # a tag's link (Lobsters' a.tag) or label (BBC's card-metadata-tag)
# What a label classed "tag" says when it marks the kind or the access of a story, not its topic.
_BADGES = frozenset({
    "premium", "exclusive", "video", "videos", "live", "breaking", "breaking news", "new", "podcast", "audio",
    "gallery", "photos", "watch", "listen", "sponsored", "paid", "paid content", "members", "members only",
    "subscriber", "subscribers", "subscribers only", "free", "updated", "trending", "popular", "featured",
    "promoted", "ad", "advertisement", "plus", "pro", "editor's pick", "editors' pick", "most read",
    "most popular", "free to read", "members-only", "top story", "must read", "long read", "recommended",
    "just in", "hot", "interactive", "free article", "subscriber exclusive",
})  # fmt: skip
_SNIPPET_HINTS = frozenset({
    "summary", "snippet", "excerpt", "description", "desc", "dek", "teaser", "standfirst", "abstract",
    "blurb",
})  # fmt: skip
_HINTS = _OUTLET_HINTS | _CATEGORY_HINTS | _SNIPPET_HINTS | _TAG_HINTS
# Words that share a meta line with a time but are not outlets ("Updated • 2 hours ago").
_NOT_OUTLETS = frozenset({
    "published", "updated", "posted", "submitted", "last updated", "modified", "posted on", "published on",
    "updated on",
    "posted in", "filed under", "live", "breaking", "breaking news",
    # what an icon's alt says of the field beside it ("<img alt=time> 2 hours ago")
    "clock", "calendar", "icon", "author", "comments",
    "video", "watch", "listen", "opinion", "analysis", "exclusive", "read more", "new", "配信", "提供",
    "より", "provided by", "source", "quelle", "fourni par",
    # section labels shown above headlines
    "news", "world", "world news", "politics", "business", "sport", "sports", "tech", "technology", "science",
    "health", "entertainment", "lifestyle", "culture", "travel", "climate", "money", "markets", "economy",
    "us", "u.s.", "uk", "europe", "asia", "local", "national", "top stories", "more headlines",
    "full coverage",
})  # fmt: skip
# "Provided by Reuters", "提供：共同通信", "Quelle: dpa"; and the label after the name or time: "… 配信".
_PROVIDED_RE = re.compile(
    r"^\s*(?:provided by|source\s?:|bereitgestellt von|quelle\s?:|fourni par|fuente\s?:|proporcionado por"
    r"|fornito da|提供\s*[:：]|配信元\s*[:：]?|出典\s*[:：]?)\s*(?P<name>.*)$",
    re.IGNORECASE,
)
_PROVIDED_AFTER_RE = re.compile(r"^(?P<name>.*?)\s*(?:配信|提供)$")
# A clock time or a Japanese date with its weekday is a time, never part of an outlet's name.
_CLOCK_RE = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)|\d{1,2}/\d{1,2}\s*[(（]")
_OUTLET_PREFIX_RE = re.compile(
    r"^(?:(?:provided by|source:|quelle:|fonte:|fuente:|from|via|by)\s+"
    r"|(?:来源|來源|出典|提供|配信)\s*[:：]\s*)",
    re.IGNORECASE,
)
# A date's weekday ("Tue" of "Tue, 08/19/2025"), alone or with a piece of the date after its comma
# ("Tue, 0" where a time was read from "8/19/2025"), is never an outlet's name.
_WEEKDAY_RE = re.compile(rf"^{time_words.EN_WEEKDAY}(?:$|,)", re.IGNORECASE)
_READ_TIME_RE = re.compile(r"^\d+\s*min(?:ute)?s?\s+read$", re.IGNORECASE)
_FIELD_LABEL_RE = re.compile(r"^(?:topics?|tags?|categor(?:y|ies)|sections?|keywords?)\s*:", re.IGNORECASE)
# A place in a series ("Round 4", "Week 3", "Part 2") heads a fixture or a part of a story, never an outlet.
_SERIES_RE = re.compile(
    r"^(?:round|week|game|match|matchday|leg|stage|part|chapter|episode|day|season|heat|race|lap)\s+\d+$",
    re.IGNORECASE,
)
# A count a card shows of its story ("214 points", "1.2k comments", "97 replies"), or a line it starts
# ("214 points by marlowe"), is never an outlet's name.
_COUNT_RE = re.compile(
    r"^\d[\d.,]*\s*[km]?\s+(?:points?|votes?|upvotes?|comments?|replies|reply|likes?|shares?|views?"
    r"|reactions?|kommentare?|commentaires?|comentarios?|commenti|reacties)\b",
    re.IGNORECASE,
)
# What a link aggregator shows of the linked site ("example.com", "blog.example.co.uk", "github.com/owner").
_SHOWN_HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}(?:/[^\s/]+)?$")
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
    image: str | None = None


def _find_when(scope: Tag, fence: _Fence, languages: str | None = None) -> _When | None:
    """The first time in ``scope``: a <time> or datePublished element, else a recognisable time phrase.
    Headings are never searched: "now" in a headline is a word of it, not its time."""
    for el in _tags_or_itemprops(scope, "time"):
        if el.tag != "time" and (el.get("itemprop") or "").lower() != "datepublished":
            continue
        if not fence.covers(el) and _ancestor(el, _HEADING_NAMES) is None:
            machine = _attr(el, "datetime") or _attr(el, "content")
            shown = _text(el)
            text = times.strip_icon(shown, languages) or shown or None
            if text or machine:
                return _When(machine, text, *_meta_line(el, scope, fence, text, languages))
    stamped, carried = _stamped(scope, fence, languages)
    if stamped is not None:
        return stamped
    fenced = fence.inside
    for text, parent in _placed_strings(scope):
        if text in _LAYOUT or parent is None or id(parent) in fenced:
            continue  # a layout run cleans to nothing, which is no time
        phrase = _phrase_in(text, languages)
        if phrase and not _in_prose(parent, phrase):
            machine = carried or _titled(parent, scope)
            return _When(machine, phrase, *_meta_line(parent, scope, fence, phrase, languages))
    return _When(carried, None) if carried else None


def _stamped(scope: Tag, fence: _Fence, languages: str | None) -> tuple[_When | None, str | None]:
    """The time an element in ``scope`` carries in a data attribute instead of a <time>
    (``<bsp-timestamp data-timestamp="1755597600000">``, ``<span data-time="1755597600">09:43</span>``):
    the attribute is the machine value, the element's text (often empty, filled in by a script) the time
    as shown. A stamp element of its own wins over a card that carries the time on itself
    (``<div class="promo" data-posted-date-timestamp=…>``), whose text is the whole card: that one's value
    is returned second, for the time phrase the card shows, if any. An update, expiry or start time is not
    a publication time."""
    if not _TREE.get().time_attributes:  # most pages have none (dom._source_names)
        return None, None
    container: str | None = None
    for el in _TIME_ATTRIBUTE_BEARERS(scope):
        if fence.covers(el) or _ancestor(el, _HEADING_NAMES) is not None:
            continue
        machine = next((value for name, value in el.items() if _publication_stamp(name, value)), None)
        if machine is None:
            continue
        shown = _text(el)
        if id(el) in fence.around or len(shown) > _MAX_STAMP_TEXT:  # it holds the headline, or more
            container = container or machine
            continue
        text = times.strip_icon(shown, languages) or shown or None
        return _When(machine, text, *_meta_line(el, scope, fence, text, languages)), None
    return None, container


def _titled(el: Tag, scope: Tag) -> str | None:
    """The exact time a shown time phrase carries in its tooltip: the ``title`` of its element or of the
    one around it ("<span class="age" title="2025-08-19T08:12:40 1755591160"><a>3 hours ago</a></span>" on
    Hacker News, "<span title="2025-08-19 05:12:40 -0500">3 hours ago</span>" on Lobsters), as ISO 8601
    (its date and clock, and an offset after a space) or RFC 822. A tooltip that is no such time is none."""
    for _ in range(2):
        title = el.get("title")
        if title and (match := _TITLE_TIME_RE.match(title.strip())):
            value = f"{match['date']}T{match['clock']}{match['offset'] or ''}"
            if _machine_time(value) is not None:
                return value
        if title and title[:1].isalpha() and (stamp := _machine_time(title)) is not None:
            return stamp.isoformat()  # "Tue, 19 Aug 2025 08:12:40 GMT"
        if el is scope or (el := el.getparent()) is None:
            break
    return None


_TITLE_TIME_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<clock>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"
    r"(?:\s*(?P<offset>Z|[+-]\d{2}:?\d{2}))?(?:\s|$)"
)


_MAX_STAMP_TEXT = 60  # "Updated 3:15 PM EDT, August 19, 2025" fits; a card's headline and snippet do not


# Elements with a "data-" attribute whose name speaks of a time or date (the name is checked word by word
# in Python: XPath 1.0 has no regular expressions).
_TIME_ATTRIBUTE_BEARERS = etree.XPath(
    "descendant-or-self::*"
    "[@*[starts-with(name(), 'data-') and (contains(name(), 'time') or contains(name(), 'date'))]]"
)
_STAMP_NAMES = frozenset({"time", "timestamp", "date", "datetime"})
# The words a publication time's name may hold before its last ("data-published-date", "data-post-timestamp"):
# an event's, a countdown's, an update's or an expiry's date is no story's.
_PUBLICATION_WORDS = frozenset({
    "publish", "published", "publication", "pub", "posted", "post", "created", "create", "story", "article",
    "item", "date", "time", "timestamp", "datetime", "first", "original", "unix", "epoch", "utc", "iso",
})  # fmt: skip
_EARLIEST_STAMP = datetime(2000, 1, 1, tzinfo=UTC)


def _publication_stamp(name: str, value: str) -> bool:
    """A data attribute naming a publication time ("data-time", "data-posted-date-timestamp") that holds a
    date this century (epoch seconds or milliseconds, ISO 8601): "data-runtime", "data-update-time",
    "data-event-date", "data-countdown-date" and a "data-time" of "3:45" (a clip's length) are not."""
    words = _ATTRIBUTE_WORD_RE.split(name.lower())
    if words[0] != "data" or words[-1] not in _STAMP_NAMES or not _PUBLICATION_WORDS.issuperset(words[1:-1]):
        return False
    value = value.strip()
    if not ((value.isascii() and value.isdigit()) or _ISO_DATE_RE.match(value)):
        return False
    when = _machine_time(value)
    return when is not None and when >= _EARLIEST_STAMP


_ATTRIBUTE_WORD_RE = re.compile(r"[-_:.]+")
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?")


_HEADING_NAMES = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LAYOUT = frozenset({" ", "\n"})  # what the parse leaves of the page's layout whitespace (dom._parse)
_DIGIT_RE = re.compile(r"\d")
_LINK = frozenset({"a"})
_IMG = frozenset({"img"})


def _in_prose(parent: Tag, phrase: str) -> bool:
    """A bare time word ("now", "today") inside a heading or running text is a word of that text, not a
    time stamp: it counts only as a part of its line of its own ("Reuters • now") or ending a short line
    ("Updated now"). A phrase with digits ("2 hours ago") stands on its own. ``parent`` is the element
    the text sits in."""
    if parent.tag in _HEADING_NAMES or _ancestor(parent, _HEADING_NAMES) is not None:
        return True
    if _DIGIT_RE.search(phrase):
        return False
    line = parent
    while line is not None and line.tag not in _LINE_NAMES:
        line = line.getparent()
    text = clean_line(_get_text(line)) if line is not None else phrase
    if len(text) > len(phrase) + 40:
        return True
    folded = phrase.casefold()
    parts = [part.casefold() for part in _SEPARATOR_RE.split(text)]
    return folded not in parts and not text.casefold().endswith(folded)


_LINE_NAMES = frozenset({
    "a", "p", "li", "div", "time", "section", "article", "td", "dd", "dt", "header", "footer", "aside",
    "figure", "blockquote", "main", "body", "ul", "ol",
})  # fmt: skip


def _phrase_in(text: str, languages: str | None = None) -> str | None:
    return _phrase(str(text), languages) if len(text) <= 512 else _phrase.__wrapped__(text, languages)


@lru_cache(maxsize=16384)
def _phrase(text: str, languages: str | None) -> str | None:
    line = clean_line(text)
    if _SEPARATOR_RE.search(line) and (
        whole := times.strip_icon(line, languages) or _byline_time(line, languages)
    ):
        # a dateline whose clock follows a dash ("Tue, 08/19/2025 - 09:12") is one time, in a byline too
        # (Drupal's "Submitted by admin on Tue, 08/19/2025 - 13:05")
        return whole
    for part in _SEPARATOR_RE.split(line):
        phrase = times.strip_icon(part, languages) or _byline_time(part, languages)
        glued = (
            None
            if phrase
            else (_comma_split(part, languages) or times.split_glued(part, languages=languages))
        )
        if phrase or glued:
            return phrase or (glued[1] if glued else None)
    return None


def _byline_time(part: str, languages: str | None) -> str | None:
    """The time a byline sentence gives in the middle of its line: "Posted by Rosa Hartley on 19 Aug 2025
    in Local", "Posted on August 19, 2025 by admin", "By Rosa Hartley, 19 Aug 2025 under Council" (a blog
    theme's meta line, plain text). The line starts with a posting verb or "By", the time follows "on",
    "at" or the name's comma, and what may follow it is the category or the author, after "in", "by" or
    "under"."""
    if " on " not in part and " at " not in part and ", " not in part:  # most lines: substring tests
        return None
    match = _BYLINE_RE.match(part)
    if match is None or not (match["verb"] or match["who"]):
        return None
    tail = match["tail"][: _BYLINE_TAIL_MAX + 1]  # (a longer phrase is no time: strip_icon refuses it)
    for end in (*(cut.start() for cut in _BYLINE_TAIL_RE.finditer(tail)), len(tail)):
        if phrase := times.strip_icon(tail[:end], languages):
            return phrase
    return None


_BYLINE_RE = re.compile(
    r"^(?:(?P<verb>posted|published|written|submitted|filed|added)\s+)?"
    r"(?:by\s+(?P<who>[^\d,;]{1,60}?)(?:,|\s+on|\s+at)|on|at)\s+(?P<tail>.+)$",
    re.IGNORECASE,
)
_BYLINE_TAIL_MAX = 4 * times.MAX_PHRASE_CHARS  # each cut of the tail is read: a page-long line, once
_BYLINE_TAIL_RE = re.compile(r",?\s+(?:in|by|under|filed under)\s+", re.IGNORECASE)


def _comma_split(part: str, languages: str | None = None) -> tuple[str, str] | None:
    """("RFI", "il y a 5 heures") from "RFI, il y a 5 heures": a name, a comma, then a whole time phrase."""
    head, comma, tail = part.rpartition(", ")
    if comma and head and times.strip_icon(tail, languages) and _outlet_name(head):
        return head, tail.strip()
    return None


def _meta_line(
    el: Tag, scope: Tag, fence: _Fence, phrase: str | None, languages: str | None = None
) -> tuple[str | None, Tag]:
    """Climb from the time to the widest short line around it; return the outlet it names and the line.
    The line is read by its text pieces, so spans glued without a space ("Kyodo News" + "5 hours ago",
    "毎日新聞" + "3/9(木) 18:45") stay apart."""
    line = el
    inside, around = fence.inside, fence.around
    while line is not scope and (parent := line.getparent()) is not None and parent is not scope:
        if id(parent) in inside or id(parent) in around:
            break  # the fence touches it
        text = _get_text(parent)
        if len(text.strip()) > 120 or sum(map(bool, map(str.strip, text.split("\n")))) > 4:
            break  # longer than a line, or more than four rows with text
        line = parent
    pieces = _pieces(line, el if el.tag == "time" else None)
    outlet = _outlet_in_lines(pieces, phrase, True, languages) or _name_beside(line, fence)
    return outlet, line


def _name_beside(line: Tag, fence: _Fence) -> str | None:
    """The short text just before a time that shares its parent with the headline ("<a>Headline</a>
    <span>BBC News</span><time>…</time>"): the nearest sibling with text, if it is a name."""
    for sibling in _previous_siblings(line):
        if _is_tag(sibling):
            if fence.touches(sibling):
                return None
            text = _text(sibling)
        else:
            text = clean_line(str(sibling))
        text = text.strip(" •·|-–—,")
        if text:
            return _outlet_name(text, byline_is_author=True)
    return None


def _pieces(line: Tag, time_el: Tag | None) -> list[str]:
    """The texts of a meta line, one per text node; a <time> element's whole text is one piece, and a
    source logo's alt text stands for the name it shows."""
    texts = _current_texts()
    span = texts.spans.get(id(line)) if texts is not None else None
    if texts is not None and span is not None and (time_el is None or id(time_el) in texts.spans):
        return _indexed_pieces(texts, span, line, time_el)
    out: list[str] = []
    time_done = False
    for node in _nodes(line):
        if _is_tag(node):
            if node.tag == "img" and (alt := _badge_name(node)):
                out.append(alt)
            continue
        if time_el is not None and _inside(node, time_el):
            if not time_done and (text := _text(time_el)):
                out.append(text)
            time_done = True
        elif text := clean_line(str(node)):
            out.append(text)
    return out


def _indexed_pieces(texts: _TextIndex, span: tuple[int, int], line: Tag, time_el: Tag | None) -> list[str]:
    """:func:`_pieces` read from the text index: a run is inside the <time> when it lies in its span, and
    a logo comes before the run its span starts at (its tail)."""
    out: list[str] = []
    inside = texts.spans.get(id(time_el)) if time_el is not None else None
    logos = [(texts.spans[id(img)][0], img) for img in line.iterdescendants("img")] if len(line) else []
    logos.reverse()
    time_done = False
    for i in range(*span):
        while logos and logos[-1][0] <= i:
            if alt := _badge_name(logos.pop()[1]):
                out.append(alt)
        if inside is not None and inside[0] <= i < inside[1]:
            if not time_done and time_el is not None and (text := _text(time_el)):
                out.append(text)
            time_done = True
        elif (run := texts.runs[i]) not in _LAYOUT and (text := clean_line(run)):
            out.append(text)  # (a layout run cleans to nothing)
    for _, img in reversed(logos):
        if alt := _badge_name(img):
            out.append(alt)
    return out


def _inside(node: Text, el: Tag) -> bool:
    parent = _text_parent(node)
    return parent is el or any(p is el for p in parent.iterancestors())


def _outlet_in_lines(
    lines: list[str], phrase: str | None, byline_is_author: bool, languages: str | None = None
) -> str | None:
    """The outlet among a meta line's parts: the name nearest before the time ("Reuters • 2 hours ago";
    what follows a time is a section link more often than an outlet), or the first name without a time.
    A listing repeats its meta lines ("Reuters", "2 hours ago") on many cards: each is read once."""
    key = tuple(map(str, lines))
    if sum(map(len, key)) <= 512:
        return _outlet_in_parts(key, phrase, byline_is_author, languages)
    return _outlet_in_parts.__wrapped__(key, phrase, byline_is_author, languages)


@lru_cache(maxsize=16384)
def _outlet_in_parts(
    lines: tuple[str, ...], phrase: str | None, byline_is_author: bool, languages: str | None
) -> str | None:
    parts: list[str | None] = []
    author_next = False  # after a "By" of its own, the next part is the reporter it names
    for line in lines:
        split = _SEPARATOR_RE.split(line)
        if line == phrase and not any(times.strip_icon(part, languages) for part in split):
            parts.append(_TIME)  # the time element's whole text ("Tue, 08/19/2025 - 13:05") is the time
            continue  # (unless a part of it is one: "<time>Reuters · 2h</time>")
        for part in split:
            if not part:
                continue
            if byline_is_author and (author_next or part.strip(" :").casefold() == "by"):
                author_next = not author_next
                parts.append(None)
                continue
            glued = _comma_split(part, languages) or times.split_glued(part, languages=languages)
            if part == phrase or times.strip_icon(part, languages) or _byline_time(part, languages):
                parts.append(_TIME)  # (a byline sentence's name is its reporter's)
            elif glued:
                parts.extend([_outlet_name(glued[0], byline_is_author), _TIME])
            else:
                parts.append(_outlet_name(part, byline_is_author))
    if _TIME in parts:
        before = [p for p in parts[: parts.index(_TIME)] if p]
        return before[-1] if before else None
    return next((p for p in parts if p), None)


def _outlet_name(text: str, byline_is_author: bool = False) -> str | None:
    return (
        _name(str(text), byline_is_author) if len(text) <= 512 else _name.__wrapped__(text, byline_is_author)
    )


@lru_cache(maxsize=16384)
def _name(text: str, byline_is_author: bool) -> str | None:
    name = clean_line(text).strip(" •·|-–—:©")
    if byline_is_author and name[:3].lower() == "by ":
        return None  # "By Jane Doe": a reporter, not an outlet
    if _POSTED_BY_RE.search(name):
        return None  # "Posted by Rosa Hartley (on)": a reporter or a user, whatever the line
    name = _OUTLET_PREFIX_RE.sub("", name).strip()
    if not name or len(name) > 60 or len(name.split()) > 8 or name.endswith((".", "!", "?", ",")):
        return None
    if not any(map(str.isalnum, name)):
        return None  # an icon's glyph or a currency sign ("£" for a paywall), never a name
    folded = name.casefold()
    if _CLOCK_RE.search(name) or name.isdigit():
        return None
    if folded in _NOT_OUTLETS or _is_label(name) or _READ_TIME_RE.match(name) or _WEEKDAY_RE.match(name):
        return None
    if _COUNT_RE.match(name) or _SERIES_RE.match(name) or _FIELD_LABEL_RE.match(name):
        return None
    if folded in _BADGES or folded in _FIELD_LABELS:
        return None  # a count, a place in a series, a labelled list ("Topics: Climate UK"), a badge
    if times.strip_icon(name) or _PHOTO_CREDIT_RE.search(name):
        return None
    return None if is_chrome(name) else name


# A byline's start, or its piece left before a date ("Rosa Hartley on" of "By Rosa Hartley on 19 Aug"):
# a person.
_POSTED_BY_RE = re.compile(
    r"^(?:posted|written|submitted|added|uploaded|shared|filed|published)\s+(?:by|in|on)\b"
    r"|\s(?-i:on|at)(?:\s+the)?$",  # a byline's "on" is lower case; an outlet's name ("Game On") is not
    re.IGNORECASE,
)


def _shown_host(scope: Tag, fence: _Fence, url: str) -> str | None:
    """The outlet a link aggregator shows as the address of the site its headline links to ("(example.com)"
    on Hacker News, "example.com" on Lobsters, "github.com/owner" for a repository): a text of the card that
    is the host of the headline's link, or a domain above it ("example.com" for "www.example.com")."""
    # the host of an absolute link, read off the string (urlsplit costs ten times as much, on every card)
    host = url.partition("://")[2].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2].split(":", 1)[0]
    if len(host) > 253:
        return None  # no DNS name is longer (and the domains above a longer one cost its square)
    labels = host.lower().split(".")
    names = [".".join(labels[i:]) for i in range(len(labels) - 1)]  # the host and the domains above it
    text = _get_text(scope)  # (sites print addresses in lower case: no lower-cased copy of every card)
    if not any(name in text for name in names):
        return None  # no text of the card names the site (substring tests in C: most cards)
    host = names[0]
    fenced = fence.inside
    for text, parent in _placed_strings(scope):
        if parent is None or id(parent) in fenced or len(text) > 120:
            continue
        shown = clean_line(text).strip("()[] ").lower()
        if _SHOWN_HOST_RE.match(shown):
            name = shown.split("/", 1)[0]
            if host == name or host.endswith(f".{name}"):
                return shown
    return None


# A photo's credit, never an outlet's name: "AP Photo/Jane Doe", "REUTERS/Jane Doe", "AFP via Getty Images",
# "Photo: Jane Doe", "Courtesy of the city", "Shutterstock" (an alt or caption line beside a card's photo).
_PHOTO_CREDIT_RE = re.compile(
    r"\b(?:photos?|pictures?|images?|credits?)\s*(?:[:/]|by\b)|^(?:ap|reuters|afp|epa|upi|ansa|dpa)\s*/"
    r"|\bvia getty\b|getty images|\bcourtesy\b|\bhandout\b|shutterstock|istock|alamy",
    re.IGNORECASE,
)


def _provided_by(scope: Tag, fence: _Fence) -> str | None:
    """The outlet a republishing page credits: "Provided by Reuters", "毎日新聞 配信" (the name may sit in a
    sibling, or be the alt text of the provider's logo)."""
    credits = _placed_strings(scope) if _has_credit_word(_get_text(scope)) else []  # no credit word: none
    for text, el in credits:
        if not _is_credit(text):
            continue
        for _ in range(3):
            if el is None or fence.covers(el):
                break
            for line in _lines(el):
                match = _PROVIDED_RE.match(line) or (len(line) <= 30 and _PROVIDED_AFTER_RE.match(line))
                name = _outlet_name(match.group("name")) if match else None
                if name:
                    return name
            logo = _find(el, "img", "alt")
            if logo is not None and (name := _badge_name(logo)):
                return name
            el = el.getparent()
    return _logo_outlet(scope, fence)


_CREDIT_WORD_RE = re.compile(
    r"provided|source|bereitgestellt|quelle|fourni|fuente|proporcionado|fornito|提供|配信|出典", re.IGNORECASE
)


_CREDIT_WORD_LOWER_RE = re.compile(_CREDIT_WORD_RE.pattern)


def _has_credit_word(text: str) -> bool:
    """``_CREDIT_WORD_RE.search(text)``, 5-8x faster on a card: lower-cased first, the search needs no
    case folding and skips ahead by the words' first letters (what IGNORECASE prevents)."""
    # İ, ı and ſ: what the case-insensitive search equates with "i" or "s" and lower() does not turn into them
    if "\u0130" in text or "\u0131" in text or "\u017f" in text:
        return _CREDIT_WORD_RE.search(text) is not None
    return _CREDIT_WORD_LOWER_RE.search(text.lower()) is not None


def _is_credit(text: str | None) -> bool:
    if not text or len(text) < 2 or not _has_credit_word(text):  # the shortest credit word has two letters
        return False
    line = clean_line(text)
    # the label after a name or a time is short: a long line ending in "配信" is a headline ("…を配信")
    return bool(
        (len(line) <= 80 and _PROVIDED_RE.match(line)) or (len(line) <= 30 and _PROVIDED_AFTER_RE.match(line))
    )


def _name_before(scope: Tag, title_el: Tag) -> str | None:
    """The outlet of a card that shows it as a short line of its own just above the headline, beside the
    source's icon (Google News' favicon and "BBC" over the title, the time further down): the nearest such
    text before the headline. Without the icon a short line there is a kicker ("Europe", "Live") as
    often as an outlet, and unknown beats wrong. A name the icon's alt text repeats is the source's
    whatever short lines follow it ("Lean Left", "High Factuality" badges after "<img alt=X> X")."""
    name: str | None = None
    alts: set[str] = set()
    for node in _nodes(scope):
        if node is title_el:
            return name
        if _is_tag(node):
            if node.tag == "img" and (alt := _badge_name(node)):
                alts.add(alt.casefold())
            continue
        if name is not None and name.casefold() in alts:
            continue  # the source's own name stands
        if _ancestor(node, _LINK) is not None and clean_line(str(node)).casefold() not in alts:
            continue
        text = clean_line(str(node))
        if text:
            name = _outlet_name(text, byline_is_author=True)
            name = name if name and _beside_icon(_text_parent(node)) else None
    return None


def _beside_icon(el: Tag) -> bool:
    """An icon shares a short block with ``el`` (its element or up to two levels above): an image that is
    not a photo (the credit "REUTERS" under a picture is no source's name beside its icon)."""
    for _ in range(3):
        if any(not is_photo(img) for img in _tags(el, _IMG)):
            return True
        parent = el.getparent()
        if parent is None or len(_get_text(parent)) > 80:
            return False
        el = parent
    return False


def _hinted(scope: Tag, hints: frozenset[str], fence: _Fence) -> Iterator[Tag]:
    """The elements in ``scope`` (outside figures and ``fence``) with one of ``hints`` (as
    :func:`_has_hint` reads them)."""
    for el, marks in _remembered("hinted", scope, _hint_bearers):
        if not marks.isdisjoint(hints) and not fence.covers(el):
            yield el


def _hint_bearers(scope: Tag) -> list[tuple[Tag, frozenset[str]]]:
    """The elements in ``scope`` (outside figures) with an outlet, category or snippet hint, each with its
    marks (the words of its class, id and data-testid, and its lower-cased itemprop): a card's fields ask
    for them several times, each time for other hints. A data-testid names what an element is as plainly as
    a class does where the classes are hashes (BBC's ``class="sc-4e537b1-2 eRsxHt"
    data-testid="card-metadata-tag"``)."""
    found: list[tuple[Tag, frozenset[str]]] = []
    itemprops = _has_itemprops()
    testids = _has_testids()
    figures: bool | None = None  # whether the page has a <figure>, looked up at the first hint
    for el in _tags(scope):
        get = el.get
        marks = _hint_marks(
            get("class"),
            get("id"),
            get("itemprop") if itemprops else None,
            get("data-testid") if testids else None,
        )
        if marks is None:
            continue
        if figures is None:
            figures = _page_has("figure")
        if not figures or _ancestor(el, _FIGURE) is None:
            found.append((el, marks))
    return found


@lru_cache(maxsize=8192)
def _hint_marks(
    classes: str | None, ident: str | None, itemprop: str | None, testid: str | None = None
) -> frozenset[str] | None:
    """The marks of an element with these class, id, itemprop and data-testid values (see
    :func:`_hint_bearers`), None when they hold no hint: cards repeat their class lists."""
    named = classes or ident or testid
    marks = _words_of(f"{classes or ''} {ident or ''} {testid or ''}") if named else frozenset()
    if itemprop:
        marks = marks | {itemprop.lower()}
    return None if marks.isdisjoint(_HINTS) else marks


def _outlet_of(el: Tag) -> str | None:
    """An outlet element's name: its text (minus any time on the same line), else its logo's alt text."""
    name = _outlet_in_lines(_lines(el), None, byline_is_author=False)
    if name:
        return name
    for inner in _tags(el):
        if _attr(inner, "itemprop") == "name":
            name = _logo_name(_attr(inner, "content"))
        else:
            name = _badge_name(inner) if inner.tag == "img" else _logo_name(_attr(inner, "alt"))
        if name:
            return name
    return None


_LOGO_ALT_RE = re.compile(r"\blogo$", re.IGNORECASE)


def _logo_outlet(scope: Tag, fence: _Fence) -> str | None:
    """A source logo's name: an image whose alt says "... logo", whose file is a logo, or whose alt is
    the name shown beside it ("<img alt=Reuters><span>Reuters</span>")."""
    for img in _tags(scope, "img"):
        alt = clean_line(img.get("alt") or "")
        if not alt or fence.covers(img):
            continue
        src = f"{img.get('src') or ''} {img.get('data-src') or ''}".lower()
        beside = _next_tag(img)
        shown = _text(beside) if beside is not None else ""
        is_logo = _LOGO_ALT_RE.search(alt) or "logo" in src or shown.casefold() == alt.casefold()
        if is_logo and (name := _badge_name(img)):
            return name
    return None


def _logo_name(alt: str | None) -> str | None:
    return _outlet_name(_LOGO_SUFFIX_RE.sub("", alt)) if alt else None


def _cited(scope: Tag, fence: _Fence, title_el: Tag) -> str | None:
    """The outlet a card names in a <cite> before its headline, the way Techmeme and the sites built like
    it credit a story ("<cite>Dana Whitlow / <a>Harbor Ledger</a>:</cite>"): the cite's link text, else its
    text after the reporter's name and "/". A cite holding an address ("https://example.com › news") names
    none."""
    if not _page_has("cite"):
        return None
    cite = None
    for el in scope.iter():
        if el is title_el:
            break
        if el.tag == "cite":
            cite = el
            break
    if cite is None or fence.touches(cite):
        return None
    text = _text(cite)
    if "://" in text or "›" in text:
        return None
    link = _find(cite, "a")
    name = _text(link) if link is not None else text.rpartition(" / ")[2]
    return _outlet_name(name.rstrip(": "))


def _badge_name(img: Tag) -> str | None:
    """The source an image's alt names when the image is a badge or logo; a photo's alt ("REUTERS" on a
    Reuters picture, its caption "REUTERS" beside it) names no outlet (images.is_photo)."""
    name = _logo_name(img.get("alt"))  # (most photos' alts name nothing: that is read first, from a cache)
    if name is None or name in _ICON_ALTS:
        return None  # the icon of the field beside it ("<img alt=time> 2 hours ago"), lower case: no "TIME"
    return None if is_photo(img) else name


_ICON_ALTS = frozenset(
    {"time", "date"}
)  # ("clock", "source" and the like are no names anywhere: _NOT_OUTLETS)


def _hinted_outlet(scope: Tag, fence: _Fence) -> str | None:
    for el in _hinted(scope, _OUTLET_HINTS, fence):
        name = _outlet_of(el)
        if name:
            return name
    return None


def _hinted_category(scope: Tag, fence: _Fence) -> str | None:
    """A block's category: the link its CMS marks as the category (WordPress' ``rel="category tag"``), else
    an element whose class names a category or kicker, else a tag (``rel="tag"``, a link classed "tag", BBC's
    ``<span data-testid="card-metadata-tag">Europe</span>``; a ``<span class="tag">Premium</span>`` is a
    badge). Of a hinted element holding another (AllSides' "<div class=date-topic>August 19th, 2025 <div
    class=story-id-page-topic><a>Labor</a></div></div>"), the inner one is the field, the outer its row."""
    tagged = _rel_links(scope, fence)
    # (not an element around the headline: a WordPress <article class="category-world"> is the card)
    hinted = [el for el in _hinted(scope, _CATEGORY_HINTS, fence) if id(el) not in fence.around]
    last = len(hinted) - 1
    finest = [el for i, el in enumerate(hinted) if i == last or not _within(hinted[i + 1], el)]
    fine = {id(el) for el in finest}
    rows = (el for el in hinted if id(el) not in fine)  # tried after what they hold, if need be
    categories = chain((a for a, rel in tagged if "category" in rel), finest, rows)
    tag_hinted = (el for el in _hinted(scope, _TAG_HINTS, fence) if id(el) not in fence.around)
    tags = chain((a for a, rel in tagged if "tag" in rel), tag_hinted)  # if need be
    for read, elements in ((_field_value, categories), (_text, tags)):
        for el in elements:
            links = [a for a in islice(_tags(el, _LINK), 4) if _text(a)] if len(el) else []
            if len(links) >= 2:
                el = links[0]  # a list of topics or tags: its first (with a name: not an icon's link)
            text = read(el).strip(_CATEGORY_EDGES)
            if not _category_text(text):
                continue
            if read is _text and el.tag != "a" and (text.casefold() in _BADGES or _DIGIT_RE.search(text)):
                continue  # a badge or count classed "tag" (<span class="tag">Premium</span>), not a topic
            return text
    return None


def _category_text(text: str) -> bool:
    """Whether ``text`` may be a category: a word or two with a letter, not a field's label ("Category",
    "Tags:"), a sponsor's, a count or a reading time ("12", "5 min read")."""
    if not text or len(text) > 40 or not any(map(str.isalpha, text)) or text.endswith(":"):
        return False
    folded = text.casefold()
    return folded not in _FIELD_LABELS and not _is_label(text) and not _READ_TIME_RE.match(text)


_CATEGORY_EDGES = " |•·-–—/"
_FIELD_LABELS = frozenset({
    "category", "categories", "tag", "tags", "topic", "topics", "section", "sections", "filed under",
    "posted in",
})  # fmt: skip


def _rel_links(scope: Tag, fence: _Fence) -> list[tuple[Tag, frozenset[str]]]:
    """The links in ``scope`` (outside ``fence``) whose rel marks a category or a tag, each with its rel
    words: ``<a href="/category/local/" rel="category tag">Local</a>`` (WordPress' cat-links, "Posted in
    Local"), ``<a rel="tag">``."""
    alive = _TREE.get().alive
    if alive and not _remembered("rel links", alive[0], _marked_rel_links):
        return []  # no link of the page marks one (most listings: one look per page, not one per card)
    found = []
    for a in _rel_bearers(scope):
        rel = frozenset((a.get("rel") or "").lower().split())
        if rel & _REL_WORDS and not fence.covers(a):
            found.append((a, rel))
    return found


def _marked_rel_links(root: Tag) -> bool:
    """Whether a link of the page marks a category or a tag (its links with a rel found in C: most pages
    have few, and many a listing none)."""
    return any(_REL_WORDS.intersection((a.get("rel") or "").lower().split()) for a in _rel_bearers(root))


_REL_WORDS = frozenset({"category", "tag"})
_rel_bearers = etree.XPath("descendant::a[@rel]")


def _field_value(el: Tag) -> str:
    """A field's shown value: its text without the label a CMS puts before it ("<div class=field__label>
    Topic</div><div class=field__item>Parks</div>" is "Parks")."""
    text = _text(el)
    for child in el:
        if _is_tag(child) and "label" in _words_of(child.get("class") or ""):
            label = _text(child)
            text = text[len(label) :].strip() if label and text.startswith(label) else text
    return text


def _run_on(scope: Tag, title_el: Tag, fence: _Fence) -> str | None:
    """A summary that runs on after the headline in the headline's own block, with no element of its own
    ("<div><strong><a>Headline</a></strong> — The plant will start…</div>" on Techmeme): the text after the
    headline, in its own flow (:func:`_in_flow`), up to the first text that is not (or that ``fence``
    keeps out of the snippet: the meta line, names), without the dash or colon that joins it. Eight
    words at least: a shorter run is a label or a count ("Video", "12 comments")."""
    block = title_el
    while block is not scope and block.tag not in _BLOCK_NAMES and (parent := block.getparent()) is not None:
        block = parent
    inside = {id(el) for el in title_el.iter()}
    after = False
    parts: list[str] = []
    for text, parent in _placed_strings(block):
        if id(parent) in inside:
            after = True
        elif after:
            if fence.covers(parent) or not _in_flow(parent, block):
                break  # the headline's line ends: a time, a byline or a list after it is no summary
            parts.append(text)
    run = clean_line(" ".join(parts)).lstrip(" —–-:|•·")
    return run if len(run.split()) >= 8 and not is_chrome(run) else None


_BLOCK_NAMES = frozenset({"div", "li", "td", "p", "article", "section", "dd", "blockquote"})
_ELEMENT = etree.Element  # lxml's iter() filter for elements only (no comments or processing instructions)


def _bare_block(scope: Tag, title_el: Tag, fence: _Fence) -> str | None:
    """A summary in a <div> of its own after the headline, with no class that names it (the Guardian's
    fronts: "<div class=dcr-14sd7ha>Researchers measured …</div>"): the first <div> after the headline
    holding only text and inline formatting, in no link, outside ``fence``, of eight words at least (a
    shorter one is a label, a byline or a count), and the only one: several are an article's paragraphs
    written as <div>s, around an inline "related" headline that is no card."""
    after = False
    found = None
    for el in scope.iter(_ELEMENT):
        if el is title_el:
            after = True
        elif after and el.tag == "div" and not fence.touches(el) and _bare_text(el, scope):
            text = _field_value(el)  # without a label before it ("<span class=label-opinion>Opinion</span>")
            if len(text.split()) >= 8 and not is_chrome(text) and not _BYLINE_OR_CREDIT_RE.match(text):
                if found is not None:
                    return None  # a second such <div>: paragraphs of prose around a related link, no card's
                found = text
    return found


# A byline or a picture's caption credit in a <div> of its own is no summary ("By Rosa Hartley in
# Westminster", "Photograph: Jane Doe for the Harbour Trust").
_BYLINE_OR_CREDIT_RE = re.compile(
    r"^(?:by|von|par|por|di|door)\s|^(?:photograph|photo|picture|image|credit|illustration|video|listen)\s*:",
    re.IGNORECASE,
)


def _bare_text(el: Tag, scope: Tag) -> bool:
    """``el`` holds text and inline formatting only, in no link below ``scope``."""
    if any(child.tag not in _INLINE_NAMES for child in el if _is_tag(child)):
        return False
    up = el.getparent()
    while up is not None and up is not scope:
        if up.tag == "a":
            return False
        up = up.getparent()
    return True


def _in_flow(el: Tag, block: Tag) -> bool:
    """Text in ``el`` runs on in ``block``'s own line of text: ``el`` is the block or inline formatting in
    it. A link's text is a related story's, a list's or a paragraph's is a part of the card of its own."""
    while el is not block:
        if el.tag not in _INLINE_NAMES:
            return False
        el = el.getparent()
    return True


_INLINE_NAMES = frozenset({
    "span", "em", "i", "b", "strong", "small", "mark", "q", "abbr", "sub", "sup", "u", "s", "font", "bdi",
})  # fmt: skip


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
