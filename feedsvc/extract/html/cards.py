"""Story cards: find the headlines, widen each to its card, read the card's fields, keep real stories."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from urllib.parse import urlsplit

from feedsvc.extract import times
from feedsvc.extract.clean import clean_body, is_chrome
from feedsvc.extract.html.dom import (
    _TREE,
    TITLE_WORDS,
    Tag,
    Text,
    _ancestor,
    _attr,
    _edited,
    _Fence,
    _get_text,
    _has_hint,
    _is_label,
    _remembered,
    _set_text,
    _strings,
    _tags,
    _text,
    _text_parent,
    _text_runs,
    clean_line,
)
from feedsvc.extract.html.fields import (
    _CATEGORY_HINTS,
    _OUTLET_HINTS,
    _bare_block,
    _cited,
    _Fields,
    _find_when,
    _hinted,
    _hinted_category,
    _hinted_outlet,
    _name_before,
    _provided_by,
    _run_on,
    _shown_host,
    _snippet,
)
from feedsvc.extract.html.images import block_image
from feedsvc.extract.html.page import _article_like, _Page, _stamp

_HEADING_TAGS = ("h2", "h3", "h4", "h5", "h6")
_PARAGRAPH = frozenset({"p"})  # h1 is the page's own title, never a card's
_TITLE_HINTS = TITLE_WORDS
_NAME_HINTS = _OUTLET_HINTS | _CATEGORY_HINTS  # the meta line's parts kept out of the snippet


@dataclass
class _Headline:
    anchor: Tag
    element: Tag  # the heading (or the link itself) whose text is the title
    key: str  # the link target: several links to one story are one headline
    strong: bool  # a heading or a title-classed link, not just a long link text
    base: Tag | None = None  # where its card starts when not at the link (an overlay link's card)


def _headlines(root: Tag, fence: _Fence) -> list[_Headline]:
    found: list[_Headline] = []
    fenced = fence.inside
    plain = not _TREE.get().ruby  # an element's text holds its descendants' (without ruby annotations)
    for a in _tags(root, "a"):
        href = (a.get("href") or "").strip()
        if id(a) in fenced or not href or href.startswith(("mailto:", "tel:")):
            continue
        heading = _heading(a)
        base = None
        if heading is None:
            if plain and not _get_text(a).strip():
                # its title would be its text or a part of it, which is empty: an image link, unless it
                # is a card's overlay naming an unlinked headline beside it
                overlaid = _overlaid_title(a)
                if overlaid is None:
                    continue
                heading, base = overlaid
            else:
                heading = _hinted_title(a)
        strong = heading is not None or _has_hint(a, _TITLE_HINTS)
        element = heading if heading is not None else _inner_title(a)
        title = _text(element)
        size = _size(title)
        if size < 3 or len(title) > _MAX_TITLE or size > _MAX_WORDS or is_chrome(title):
            continue  # a menu entry, or a caption or snippet that happens to be linked
        # A script-driven card ("#", "javascript:") is still a story, without a URL; its title tells it apart.
        key = href if _navigable(href) else f"title:{title}"
        if strong or (size >= 5 and _ancestor(a, _PARAGRAPH) is None):
            found.append(_Headline(a, element, key, strong, base))
    return found


# A headline is a line, not a paragraph: longer text behind a link is a photo caption or a snippet.
_MAX_TITLE = 300
_MAX_WORDS = 45
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _size(text: str) -> int:
    """Words in ``text``; in Chinese, Japanese and Korean (unspaced) two characters count one."""
    return len(text.split()) + len(_CJK_RE.findall(text)) // 2


def _navigable(href: str) -> bool:
    return not href.startswith(("#", "javascript:", "data:"))


def _inner_title(a: Tag) -> Tag:
    """The headline inside a link that is a whole card (image, outlet, headline and time in one <a>): the
    first text of headline length (five words) that is not a time or a label, else the longest such text;
    widened to the element that holds only it."""
    if sum(1 for text in _text_runs(a) if text.strip()) < 2:
        return a  # one text (the usual headline link): no text nodes to make
    nodes = [n for n in _strings(a) if n.strip()]
    best: tuple[int, Text] | None = None
    for node in nodes:
        text = clean_line(str(node))
        size = _size(text)
        if size < 3 or times.strip_icon(text) or _is_label(text):
            continue
        if size >= 5:
            best = (size, node)
            break
        if best is None or size > best[0]:
            best = (size, node)
    if best is None:
        return a
    node = best[1]
    el = _text_parent(node)
    if el is None:
        return a
    if el is a:
        # bare text beside the outlet/time spans: give the headline its own element
        return _wrap(node)
    text = clean_line(str(node))
    while (parent := el.getparent()) is not None and parent is not a and _text(parent) == text:
        el = parent
    return el


def _wrap(node: Text) -> Tag:
    """Put a text node into a <span> of its own, in its place."""
    owner = node.getparent()
    span = owner.makeelement("span")
    _set_text(span, str(node))
    if node.is_tail:
        owner.tail = None
        owner.addnext(span)
    else:
        owner.text = None
        owner.insert(0, span)
    _edited()
    return span


def _heading(a: Tag) -> Tag | None:
    """The heading inside or around a link."""
    found = next(a.iterdescendants(*_HEADING_TAGS), None) if len(a) else None  # most links hold only text
    if found is not None:
        return found
    parent = a.getparent()  # a headline's link sits in its heading
    if parent is not None and parent.tag in _HEADING_TAGS:
        return parent
    return next(a.iterancestors(*_HEADING_TAGS), None)


def _overlaid_title(a: Tag) -> tuple[Tag, Tag] | None:
    """The headline an empty link stretched over its card names by its aria-label (or title): the card's
    heading holds no link of its own, and the link's label is its text (the Guardian's fronts: "<a
    aria-label='Otters return …' class=dcr-2yd10d></a> … <h3><div>Kicker</div><span>Otters return …</span>
    </h3>"). The element in the heading whose text the label is (or starts with: "… – video") is the
    title, so a kicker the heading holds beside it stays out. Looked for up to two levels above the link;
    with the title, the element holding both, where the card starts."""
    label = clean_line(a.get("aria-label") or a.get("title") or "").casefold()
    if _size(label) < 3:
        return None
    box = a
    for _ in range(2):
        box = box.getparent()
        if box is None:
            return None
        for el, text in _remembered("overlay titles", box, _unlinked_titles):
            if text == label or label.startswith(text):
                return el, box
    return None


def _unlinked_titles(box: Tag) -> list[tuple[Tag, str]]:
    """The headings under ``box`` that hold no link and sit in none, as (element, folded text) for each
    heading and each element in it with a title's words; none where ``box`` holds more headings than a
    card does (a section or a page: read once per box, so a page of overlay links costs one pass each)."""
    headings: list[Tag] = []
    for heading in box.iterdescendants(*_HEADING_TAGS):
        if len(headings) == _OVERLAY_HEADINGS:
            return []
        headings.append(heading)
    found = []
    for heading in headings:
        if next(heading.iter("a"), None) is not None or next(heading.iterancestors("a"), None) is not None:
            continue
        if len(_get_text(heading)) > _MAX_TITLE:
            continue  # longer than a headline: nothing in it is one (and each element's text would be read)
        for el in (heading, *_tags(heading)):
            text = _text(el).casefold()
            if text and _size(text) >= 3:
                found.append((el, text))
    return found


_OVERLAY_HEADINGS = 4  # a card's headings: its headline, perhaps a kicker or a section's name


def _hinted_title(a: Tag) -> Tag | None:
    """A link without a heading: itself when its parent is title-classed, else a title-classed element in
    it."""
    parent = a.getparent()
    if parent is not None and _has_hint(parent, _TITLE_HINTS):
        return a
    found = next((el for el in _tags(a) if _has_hint(el, _TITLE_HINTS)), None) if len(a) else None
    for _ in range(_TITLE_DEPTH):
        if found is None or not len(found):
            break
        # a title-classed element inside it holding a headline's words is the headline itself, and what
        # is beside it a label (CNN: "<div class=container__headline><span class=…text-label>Live updates
        # </span><span class=container__headline-text>Storm Edda …</span></div>")
        whole = _size(_text(found))
        inner = next(
            (el for el in _tags(found) if _has_hint(el, _TITLE_HINTS) and 2 * _size(_text(el)) > whole), None
        )  # (most of its words: a kicker, label or badge classed "title-…" holds fewer)
        if inner is None or _size(_text(inner)) < 3:
            break
        found = inner
    return found


# Title-classed elements nested in a title followed at most (real markup: two or three; each costs its text).
_TITLE_DEPTH = 3


def _containers(headlines: list[_Headline], stops: set[int]) -> list[tuple[_Headline, Tag]]:
    """Each headline's card: its widest ancestor that holds no other story's headline. A heading
    counts only other headings, so sub-links listed inside a card do not split it. Where several links of
    one story share a card (image, headline), a heading's wins over a linked caption."""
    # Per ancestor: the one story key it holds, or _SEVERAL.
    strong: dict[int, object] = {}
    every: dict[int, object] = {}
    for h in headlines:
        key = h.key
        for parent in h.anchor.iterancestors():
            pid = id(parent)
            held = every.get(pid)
            if held is None:
                every[pid] = key
            elif held != key:
                if held is _SEVERAL and (not h.strong or strong.get(pid) is _SEVERAL):
                    # every ancestor of an element holding several holds them too: all marked already
                    break
                every[pid] = _SEVERAL
            if h.strong:
                held = strong.get(pid)
                if held is None:
                    strong[pid] = key
                elif held != key:
                    strong[pid] = _SEVERAL
    chosen: dict[int, tuple[_Headline, Tag]] = {}
    for h in headlines:
        counts = strong if h.strong else every
        box = h.base if h.base is not None and id(h.base) not in stops else h.anchor
        while (
            (parent := box.getparent()) is not None
            and id(parent) not in stops
            and counts[id(parent)] is not _SEVERAL
        ):
            box = parent
        held = chosen.get(id(box))
        if held is None or (h.strong and not held[0].strong):
            chosen[id(box)] = (h, box)
    return list(chosen.values())


_SEVERAL = object()  # an ancestor holding more than one story's headline


def _joined_rows(page: _Page, boxes: list[tuple[_Headline, Tag]]) -> list[tuple[_Headline, Tag]]:
    """In a table of stories a story often spans several rows: the headline's row, then a row with its
    outlet, time and comment count, then a spacer (Hacker News and the forum and portal tables built like
    it); or a thumbnail or date row, then the headline's. The rows between two headlines' show the shape
    of a story's other rows (each row's class and cells); which side of its headline they lie on is told
    at the table's ends: before the first headline the same rows stand again (they lead), or after the
    last (they follow; on a cut-off page, the start of them). Each card that is a table row then takes
    the rows of that shape on that side, up to the next card's row, so a pager, footer or section row stays
    out; where neither end or both tell, the rows stay apart. The rows of a card are put in a <tbody> of
    their own (a table may hold several), which becomes the card (and holds the cut of a cut-off page
    where one of its rows does)."""
    groups: dict[int, list[int]] = {}
    for i, (_, box) in enumerate(boxes):
        parent = box.getparent() if box.tag == "tr" else None
        if parent is not None:
            groups.setdefault(id(parent), []).append(i)
    joined = list(boxes)
    for members in groups.values():
        if len(members) < 2:
            continue  # one row of a table is not a list of stories in rows
        parent = boxes[members[0]][1].getparent()
        rows = [el for el in parent if el.tag == "tr"]
        at = {id(row): n for n, row in enumerate(rows)}
        starts = sorted(at[id(boxes[i][1])] for i in members)
        gaps = [b - a for a, b in pairwise(starts)]
        stride = max(set(gaps), key=gaps.count)  # the rows a story mostly spans
        if stride < 2:
            continue
        extra = stride - 1
        shapes = [_row_shape(row) for row in rows]
        first = next(a for a, b in pairwise(starts) if b - a == stride)
        pattern = shapes[first + 1 : first + stride]
        lead = starts[0] >= extra and shapes[starts[0] - extra : starts[0]] == pattern
        trail = shapes[starts[-1] + 1 : starts[-1] + stride]
        # (a cut-off page may end in the middle of the last story's rows, the last of them half there)
        follows = trail == pattern or (
            page.cut is not None and trail[:-1] == pattern[: max(len(trail) - 1, 0)]
        )
        if lead == follows:
            continue  # the table does not tell (or every row looks alike: quotes, results)
        taken = set(starts)
        for i in members:
            headline, box = boxes[i]
            start = at[id(box)]
            own = [box]
            for k in range(extra):
                n = start + 1 + k if follows else start - 1 - k
                if not 0 <= n < len(rows) or n in taken:
                    break
                if shapes[n] != pattern[k if follows else extra - 1 - k] and not page.is_cut(rows[n]):
                    break  # (the row a cut-off page ends in is half there: its own, whatever its shape)
                own.append(rows[n])
                taken.add(n)
            if len(own) < 2:
                continue
            own.sort(key=lambda row: at[id(row)])
            body = parent.makeelement("tbody")
            own[0].addprevious(body)
            body.extend(own)
            joined[i] = (headline, body)
            if page.cut and not page.cut.isdisjoint(map(id, own)):
                page.cut = page.cut | {id(body)}
    if joined != boxes:
        _edited()
    return joined


def _row_shape(row: Tag) -> tuple[object, ...]:
    """A table row's make-up, whatever its text: its class, and each cell's tag, class and span."""
    return (row.get("class"), *((cell.tag, cell.get("class"), cell.get("colspan")) for cell in row))


def _card_fields(page: _Page, card: Tag, title_el: Tag, anchor: Tag | None, strong: bool = True) -> _Fields:
    """A card's fields. A bare <div> after the headline is its summary only under a strong headline (a
    heading, a title-classed link): a plain link's card may be a paragraph's worth of an article around a
    "Related" link, whose body text is not that link's summary."""
    title = _text(title_el)
    fence = _Fence([title_el])
    when = _find_when(card, fence, page.language)
    url = page.url(_attr(anchor, "href")) if anchor is not None else None
    # What the page's JSON-LD list says of the story: its time where the card shows none to a machine
    # (a script fills "2 hours ago" in), its publisher where the card names none.
    listed = page.listed.get(url) if url and page.listed else None
    # _provided_by ends in the logo's name (_logo_outlet), so a card without one has no logo to look at
    outlet = (
        _provided_by(card, fence)
        or _hinted_outlet(card, fence)
        or _cited(card, fence, title_el)
        or (_shown_host(card, fence, url) if url else None)
        or (when.outlet if when else None)
        or (_name_before(card, title_el) if when else None)
        or (listed.publisher if listed else None)
    )
    used = [title_el, when.line if when else None, *_hinted(card, _NAME_HINTS, fence)]
    kept_out = _Fence(used)
    snippet = (
        _snippet(card, kept_out, title)
        or _run_on(card, title_el, kept_out)
        or (_bare_block(card, title_el, kept_out) if strong else None)
    )
    machines = [when.machine if when else None, listed.published if listed else None]
    published, published_text = _stamp(page, machines, when.text if when else None)
    return _Fields(
        title=title,
        url=url,
        outlet=outlet,
        category=_hinted_category(card, fence),
        published=published,
        published_text=published_text,
        body=clean_body([snippet]) if snippet else (),
        image=block_image(page, card, outlet=outlet),
    )


def _is_story(page: _Page, fields: _Fields, strong: bool) -> bool:
    """A card is a story when, beside its headline, it shows an outlet, a time or a snippet: a bare menu or
    "Related" link shows none of them and is navigation. A blurb alone does not make a story of a link to
    a page of the site itself that is no article ("Get the app" -> /apps, "Our newsletters" ->
    /newsletters): that is the site promoting itself. A strong headline (a heading, a title-classed link)
    whose address names its day ("/2025/08/19/europe/harbour-storm-intl") is a story with nothing beside
    it: CNN's fronts show headlines and pictures only, and a menu links to sections, not to days."""
    if not fields.title:
        return False
    if fields.outlet or fields.published_text:
        return True
    if strong and fields.url and "/20" in fields.url and _DATED_PATH_RE.search(fields.url):
        return True
    return bool(fields.body) and not _own_non_article(page, fields.url)


# A day in an address's path: "/2025/08/19/", "/2025/aug/19/" (the Guardian), "/2025-08-19/" or
# "/2025-08-19-slug".
_DATED_PATH_RE = re.compile(
    r"/20\d\d/(?:0?[1-9]|1[0-2]|[a-z]{3})/(?:0?[1-9]|[12]\d|3[01])/[^/?#]"
    r"|/20\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:/[^/?#]|-[^/?#])",
    re.IGNORECASE,
)  # (and a story's name after it: "/2025/08/17/" alone is the day's archive)


def _own_non_article(page: _Page, url: str | None) -> bool:
    """``url`` is on the page's own host (as the page's address or base names it) and not an article's: a
    path of words alone ("/apps", "/newsletters/daily"), where an article's carries a query or a number
    ("/?p=123", "/node/42", "item?id=41234567") when it has no slug."""
    if not url or not page.base:
        return False
    try:
        parts, base = urlsplit(url), urlsplit(page.base)
        same = parts.hostname == base.hostname
    except ValueError:  # a broken IPv6 host
        return False
    return same and not parts.query and not _DIGIT_RE.search(parts.path) and not _article_like(url)


_DIGIT_RE = re.compile(r"[0-9]")
