"""Per-site CSS-selector profiles: check selectors, spare what they pick, read records' fields by them.

Selectors are CSS Level 3 as cssselect reads them (lxml's CSS engine), matched against the whole page:
"ul li a" looked up inside a record finds the links of that record even when the <ul> lies around it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import lru_cache
from typing import Any

from cssselect import HTMLTranslator, SelectorError
from lxml import etree

from feedsvc.extract.clean import clean_body
from feedsvc.extract.html.cards import _card_fields, _headlines
from feedsvc.extract.html.dom import (
    _TREE,
    Tag,
    _attr,
    _Fence,
    _find,
    _find_parent,
    _get_text,
    _paragraph_tags,
    _sponsored,
    _tags,
    _text,
)
from feedsvc.extract.html.fields import _Fields, _outlet_of
from feedsvc.extract.html.page import _Page, _stamp
from feedsvc.models import SiteProfile

_log = logging.getLogger(__package__)  # the package's logger, "feedsvc.extract.html"


def selector_problem(selector: str) -> str | None:
    """Why ``selector`` is not a usable CSS selector, or None when it is."""
    try:
        _compiled(selector)
    except (SelectorError, etree.XPathError) as exc:
        lines = str(exc).splitlines() or [type(exc).__name__]
        return f"invalid CSS selector {selector!r}: {lines[0]}"
    return None


@lru_cache(maxsize=512)
def _compiled(selector: str) -> etree.XPath:
    return etree.XPath(HTMLTranslator().css_to_xpath(selector, prefix="descendant-or-self::"))


def _select(root: Tag, selector: str | None) -> list[Tag]:
    """The elements under ``root`` (not itself) that ``selector`` matches in the page, in page order. The
    page is searched once per selector and tree edit; each record then only filters its own elements."""
    if not selector:
        return []
    state = _TREE.get()
    cached = state.selections.get(selector)
    if cached is None or cached[0] != state.edits:
        try:
            found = _compiled(selector)(root.getroottree())
        except (SelectorError, etree.XPathError) as exc:
            # Settings should have caught it; one bad selector must not take the whole source down.
            _log.warning("invalid CSS selector %r in site profile: %s", selector, exc)
            return []
        cached = (state.edits, frozenset(map(id, found)) if isinstance(found, list) else frozenset())
        state.selections[selector] = cached
    matched = cached[1]
    if not matched:
        return []
    whole = root.getparent() is None  # the page itself: its root element is one of its elements
    return [el for el in _tags(root) if id(el) in matched and (whole or el is not root)]


def _protected(soup: Tag, profile: SiteProfile | None) -> tuple[list[Tag], set[int]]:
    """The profile's records and the elements its selectors pick, which chrome removal must spare even
    when their classes look like chrome (BBC calls its story cards "promo")."""
    if profile is None or not profile.record:
        return [], set()
    records = _select(soup, profile.record)
    keep: set[int] = set()
    fields = (profile.title, profile.outlet, profile.time, profile.body, profile.link, profile.category)
    for record in records:
        picked = [record, *(el for sel in fields for el in _select(record, sel))]
        for el in picked:
            keep.update({id(el), *(id(p) for p in el.iterancestors())})
    return records, keep


def _override(page: _Page, box: Tag, profile: SiteProfile, fields: _Fields) -> _Fields:
    """Fields whose selector the profile gives come from it (missing when it matches nothing)."""
    first = {name: next(iter(_select(box, sel)), None) for name, sel in _profile_fields(profile)}
    changes: dict[str, Any] = {}
    if profile.title:
        changes["title"] = _text(first["title"]) if first["title"] is not None else ""
    if profile.link:
        changes["url"] = page.url(_href(first["link"])) if first["link"] is not None else None
    if profile.outlet:
        changes["outlet"] = _outlet_of(first["outlet"]) if first["outlet"] is not None else None
    if profile.category:
        changes["category"] = (_text(first["category"]) or None) if first["category"] is not None else None
    if profile.time:
        el = first["time"]
        text = (_text(el) or None) if el is not None else None
        changes["published"], changes["published_text"] = _stamp(
            page, [_attr(el, "datetime")] if el is not None else [], text
        )
    if profile.body:
        changes["body"] = clean_body(
            [_get_text(p) for el in _select(box, profile.body) for p in _paragraphs_of(el)]
        )
    return replace(fields, **changes)


def _profile_fields(profile: SiteProfile) -> list[tuple[str, str | None]]:
    return [
        ("title", profile.title),
        ("link", profile.link),
        ("outlet", profile.outlet),
        ("category", profile.category),
        ("time", profile.time),
    ]


def _href(el: Tag) -> str | None:
    if el.tag == "a":
        return _attr(el, "href")
    inner = _find(el, "a", "href")
    if inner is None:
        inner = _find_parent(el, "a", "href")
    return _attr(inner, "href")


def _paragraphs_of(el: Tag) -> list[Tag]:
    return _paragraph_tags(el) or [el]


def _profile_story(page: _Page, record: Tag, profile: SiteProfile) -> _Fields | None:
    if _sponsored(record):
        return None
    auto = next(iter(_headlines(record, _Fence([]))), None)
    picked = _select(record, profile.title)
    title_el = picked[0] if picked else (auto.element if auto and not profile.title else None)
    if title_el is None:
        return None
    anchor = title_el if title_el.tag == "a" else _find_parent(title_el, "a")
    if anchor is None:
        anchor = _find(title_el, "a")
    if anchor is None:
        anchor = auto.anchor if auto else None
    fields = _override(page, record, profile, _card_fields(page, record, title_el, anchor))
    return fields if fields.title else None
