"""Story cards: find the headlines, widen each to its card, read the card's fields, keep real stories."""

from __future__ import annotations

from dataclasses import dataclass

from bs4 import Tag

from feedsvc.extract.clean import clean_body, is_chrome
from feedsvc.extract.html.dom import _attr, _Fence, _has_hint, _tags, _text
from feedsvc.extract.html.fields import (
    _CATEGORY_HINTS,
    _OUTLET_HINTS,
    _Fields,
    _find_when,
    _hinted,
    _hinted_category,
    _hinted_outlet,
    _provided_by,
    _snippet,
)
from feedsvc.extract.html.page import _Page, _stamp

_HEADINGS = ["h2", "h3", "h4", "h5", "h6"]  # h1 is the page's own title, never a card's
_TITLE_HINTS = frozenset({"title", "headline", "heading", "hed"})


@dataclass
class _Headline:
    anchor: Tag
    element: Tag  # the heading (or the link itself) whose text is the title
    key: str  # the link target: several links to one story are one headline
    strong: bool  # a heading or a title-classed link, not just a long link text


def _headlines(root: Tag, fence: _Fence) -> list[_Headline]:
    found: list[_Headline] = []
    for a in _tags(root, "a"):
        href = (_attr(a, "href") or "").strip()
        if fence.covers(a) or not href or href.startswith(("mailto:", "tel:")):
            continue
        heading = _title_element(a)
        strong = heading is not None or _has_hint(a, _TITLE_HINTS)
        element = heading or a
        title = _text(element)
        if len(title.split()) < 3 or is_chrome(title):
            continue
        # A script-driven card ("#", "javascript:") is still a story, without a URL; its title tells it apart.
        key = href if _navigable(href) else f"title:{title}"
        if strong or (len(title.split()) >= 5 and a.find_parent("p") is None):
            found.append(_Headline(a, element, key, strong))
    return found


def _navigable(href: str) -> bool:
    return not href.startswith(("#", "javascript:", "data:"))


def _title_element(a: Tag) -> Tag | None:
    for found in (a.find(_HEADINGS), a.find_parent(_HEADINGS)):
        if isinstance(found, Tag):
            return found
    parent = a.parent
    if isinstance(parent, Tag) and _has_hint(parent, _TITLE_HINTS):
        return a
    return next((el for el in _tags(a) if _has_hint(el, _TITLE_HINTS)), None)


def _containers(headlines: list[_Headline], stops: set[int]) -> list[tuple[_Headline, Tag]]:
    """Each headline's card: its widest ancestor that holds no other story's headline. A heading
    counts only other headings, so sub-links listed inside a card do not split it."""
    strong: dict[int, set[str]] = {}
    every: dict[int, set[str]] = {}
    for h in headlines:
        for parent in h.anchor.parents:
            every.setdefault(id(parent), set()).add(h.key)
            if h.strong:
                strong.setdefault(id(parent), set()).add(h.key)
    out: list[tuple[_Headline, Tag]] = []
    seen: set[int] = set()
    for h in headlines:
        counts = strong if h.strong else every
        box = h.anchor
        while (
            isinstance(box.parent, Tag) and id(box.parent) not in stops and len(counts[id(box.parent)]) == 1
        ):
            box = box.parent
        if id(box) not in seen:
            seen.add(id(box))
            out.append((h, box))
    return out


def _card_fields(page: _Page, card: Tag, title_el: Tag, anchor: Tag | None) -> _Fields:
    title = _text(title_el)
    fence = _Fence([title_el])
    when = _find_when(card, fence)
    outlet = _provided_by(card, fence) or _hinted_outlet(card, fence) or (when.outlet if when else None)
    used = [title_el, when.line if when else None, *_hinted(card, _OUTLET_HINTS | _CATEGORY_HINTS, fence)]
    snippet = _snippet(card, _Fence(used), title)
    published, published_text = _stamp(page, [when.machine] if when else [], when.text if when else None)
    return _Fields(
        title=title,
        url=page.url(_attr(anchor, "href")) if anchor is not None else None,
        outlet=outlet,
        category=_hinted_category(card, fence),
        published=published,
        published_text=published_text,
        body=clean_body([snippet]) if snippet else (),
    )


def _is_story(fields: _Fields) -> bool:
    """A card is a story when, beside its headline, it shows at least two of outlet, time and snippet: a bare
    "Related" link (or a link with only a time) is navigation, not a story we could date or dedup."""
    shown = (fields.outlet is not None, fields.published_text is not None, bool(fields.body))
    return bool(fields.title) and sum(shown) >= 2
