"""Per-site CSS-selector profiles: check selectors, spare what they pick, read records' fields by them."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError
from soupsieve import compile as soupsieve_compile

from feedsvc.extract.clean import clean_body
from feedsvc.extract.html.cards import _card_fields, _headlines
from feedsvc.extract.html.dom import _attr, _Fence, _paragraph_tags, _sponsored, _text
from feedsvc.extract.html.fields import _Fields, _outlet_of
from feedsvc.extract.html.page import _Page, _stamp
from feedsvc.models import SiteProfile

_log = logging.getLogger(__package__)  # the package's logger, "feedsvc.extract.html"


def selector_problem(selector: str) -> str | None:
    """Why ``selector`` is not a usable CSS selector, or None when it is."""
    try:
        soupsieve_compile(selector)
    except SelectorSyntaxError as exc:
        return f"invalid CSS selector {selector!r}: {str(exc).splitlines()[0]}"
    return None


def _select(root: Tag, selector: str | None) -> list[Tag]:
    if not selector:
        return []
    try:
        return list(root.select(selector))
    except SelectorSyntaxError as exc:
        # Settings should have caught it; one bad selector must not take the whole source down.
        _log.warning("invalid CSS selector %r in site profile: %s", selector, exc)
        return []


def _protected(soup: BeautifulSoup, profile: SiteProfile | None) -> tuple[list[Tag], set[int]]:
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
            keep.update({id(el), *(id(p) for p in el.parents)})
    return records, keep


def _override(page: _Page, box: Tag, profile: SiteProfile, fields: _Fields) -> _Fields:
    """Fields whose selector the profile gives come from it (missing when it matches nothing)."""
    first = {name: next(iter(_select(box, sel)), None) for name, sel in _profile_fields(profile)}
    changes: dict[str, Any] = {}
    if profile.title:
        changes["title"] = _text(first["title"]) if first["title"] else ""
    if profile.link:
        changes["url"] = page.url(_href(first["link"])) if first["link"] else None
    if profile.outlet:
        changes["outlet"] = _outlet_of(first["outlet"]) if first["outlet"] else None
    if profile.category:
        changes["category"] = (_text(first["category"]) or None) if first["category"] else None
    if profile.time:
        el = first["time"]
        text = (_text(el) or None) if el else None
        changes["published"], changes["published_text"] = _stamp(
            page, [_attr(el, "datetime")] if el else [], text
        )
    if profile.body:
        changes["body"] = clean_body(
            [p.get_text() for el in _select(box, profile.body) for p in _paragraphs_of(el)]
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
    if el.name == "a":
        return _attr(el, "href")
    inner = el.find("a", href=True) or el.find_parent("a", href=True)
    return _attr(inner, "href") if isinstance(inner, Tag) else None


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
    anchor = title_el if title_el.name == "a" else title_el.find_parent("a") or title_el.find("a")
    if not isinstance(anchor, Tag):
        anchor = auto.anchor if auto else None
    fields = _override(page, record, profile, _card_fields(page, record, title_el, anchor))
    return fields if fields.title else None
