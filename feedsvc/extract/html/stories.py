"""HTML text -> stories: parse, drop the chrome, then take a profile's records or the main story and cards."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from feedsvc.extract import limits
from feedsvc.extract.html.cards import _card_fields, _containers, _headlines, _is_story, _joined_rows
from feedsvc.extract.html.dom import (
    _TREE,
    Tag,
    _attached,
    _drop_chrome,
    _Fence,
    _index_texts,
    _parse,
    _Parsed,
    _sponsored,
    _tags,
)
from feedsvc.extract.html.fields import _Fields
from feedsvc.extract.html.main import _find_main, _main_story, _whole
from feedsvc.extract.html.page import _Page, _read_page
from feedsvc.extract.html.profile import _override, _profile_story, _protected
from feedsvc.extract.html.title import page_title
from feedsvc.models import DateOrder, SiteProfile, Story


@dataclass(frozen=True)
class ParsedPage:
    stories: list[Story]
    title: str | None = None  # the page's name for people (see feedsvc.extract.html.title)
    refused: str | None = None  # why the parsed tree is beyond the bounds of feedsvc.extract.limits


def parse_html(
    text: str,
    *,
    page_url: str | None,
    fetched_at: datetime,
    date_order: DateOrder,
    profile: SiteProfile | None,
) -> list[Story]:
    """The page's stories in page order, main story first; [] when it shows none. Never raises on bad HTML."""
    return parse_html_page(
        text, page_url=page_url, fetched_at=fetched_at, date_order=date_order, profile=profile
    ).stories


def parse_html_page(
    text: str,
    *,
    page_url: str | None,
    fetched_at: datetime,
    date_order: DateOrder,
    profile: SiteProfile | None,
) -> ParsedPage:
    """parse_html, with the title the page gives itself."""
    parsed = _parse(text)
    if parsed is None:
        return ParsedPage([])
    problem = limits.tree_problem(parsed.elements, parsed.depth)
    if problem is not None:
        return ParsedPage([], refused=problem)
    token = _TREE.set(parsed.tree)
    try:
        return _parse_page(parsed, text, page_url, fetched_at, date_order, profile)
    finally:
        _TREE.reset(token)


def _parse_page(
    parsed: _Parsed,
    text: str,
    page_url: str | None,
    fetched_at: datetime,
    date_order: DateOrder,
    profile: SiteProfile | None,
) -> ParsedPage:
    soup = parsed.root
    page = _read_page(parsed, text, page_url, fetched_at, date_order)
    is_article = not page.listing and (
        page.ld is not None or page.meta.get("og:type", "").lower().startswith("article")
    )
    title = page_title(page, is_article)
    records, keep = _protected(soup, profile)
    _drop_chrome(parsed, keep)  # the text is line-structured already (dom._flatten)
    _index_texts(soup)
    found: list[tuple[_Fields, Tag | None]]
    if profile is not None and profile.record:
        found = []
        for record in records:
            fields = _profile_story(page, record, profile) if _attached(record, soup) else None
            if fields is not None:
                found.append((fields, record))
    else:
        found = _auto_stories(page, profile)
    return ParsedPage(_finish(page, found), title)


def _auto_stories(page: _Page, profile: SiteProfile | None) -> list[tuple[_Fields, Tag | None]]:
    soup = page.soup
    main = _find_main(page)
    fence = _Fence([main.h1, main.body] if main else [])
    stops = {id(soup), *(id(el) for el in _tags(soup, ["html", "body", "main"]))}
    for anchor in (main.h1, main.body, main.scope) if main else ():
        if anchor is not None:
            stops.update({id(anchor), *(id(p) for p in anchor.iterancestors())})
    cards: list[tuple[_Fields, Tag]] = []
    taken: set[int] = set()
    boxes = _joined_rows(page, _containers(_headlines(soup, fence), stops))
    _index_texts(soup)  # again if a headline was given an element of its own (cards._wrap)
    for h, box in boxes:
        # A sub-link inside a card already taken is part of that card, not a story of its own.
        if not taken.isdisjoint(map(id, box.iterancestors())) or _sponsored(box):
            continue
        fields = _card_fields(page, box, h.element, h.anchor, h.strong)
        if profile is not None:
            fields = _override(page, box, profile, fields)
        if _is_story(page, fields, h.strong):
            cards.append((fields, box))
            taken.add(id(box))
    stories: list[tuple[_Fields, Tag | None]] = list(cards)
    main_fields = _main_story(page, main, [box for _, box in cards]) if main else None
    if main and main_fields and _whole(page, main):
        if profile is not None and main.scope is not None:
            main_fields = _override(page, main.scope, profile, main_fields)
        stories.insert(0, (main_fields, None))
    return stories


def _finish(page: _Page, found: list[tuple[_Fields, Tag | None]]) -> list[Story]:
    """Drop the card a cut-off page ends in and repeats of one link; build the stories."""
    stories: list[Story] = []
    seen: set[str] = set()
    for fields, box in found:
        if box is not None and page.is_cut(box):
            continue
        if fields.outlet and fields.category and fields.outlet.casefold() == fields.category.casefold():
            fields = replace(fields, outlet=None)  # a section label read as an outlet: unknown beats wrong
        key = fields.url or f"title:{fields.title}"
        if key in seen:
            continue
        seen.add(key)
        stories.append(
            Story(
                title=fields.title,
                outlet=fields.outlet,
                published=fields.published,
                published_text=fields.published_text,
                body=fields.body,
                url=fields.url,
                category=fields.category,
                image=fields.image,
            )
        )
    return stories
