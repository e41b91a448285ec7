"""The title a page gives itself, as a name for the feed made from it ("World – Google News").

A listing's own title names what it lists: its Open Graph title (what the site wants shown when the page
is shared, without the search-engine tagline <title> often carries: "Yahoo News - Latest World News &
Headlines" vs "World News"), else its <title>; the site's name follows when the title does not hold it
already. An article page's titles are one story's headline, which changes with every story the page
leads with: its site's name is the page's name.
"""

from __future__ import annotations

import re

from feedsvc.extract.clean import clip
from feedsvc.extract.html.dom import _find, _get_text, clean_line
from feedsvc.extract.html.page import _ld_name, _Page

MAX_PAGE_TITLE = 120
_EDGE_SEPARATORS = " |-–—:·•"
_SPACE_RE = re.compile(r"\s+")


def page_title(page: _Page, is_article: bool) -> str | None:
    """The page's name for people, or None when it gives none."""
    site = _site_name(page)
    if is_article:
        return _bounded(site)
    own = next(
        (
            text
            for raw in (page.meta.get("og:title"), page.meta.get("twitter:title"), _title_tag(page))
            if (text := _cleaned(raw))
        ),
        None,
    )
    if own is None:
        return _bounded(site)
    if site:
        rest = _without_site(own, site)
        if rest is not None:
            own = f"{rest} – {site}" if rest else site
        elif site.casefold() not in own.casefold():
            own = f"{own} – {site}"
    return _bounded(own)


_SEPARATORS = (" | ", " - ", " – ", " — ", ": ", " · ")


def _without_site(title: str, site: str) -> str | None:
    """``title`` without the site's name at its start or end ("Europe | Eurodesk News", "Google News -
    World"): the same order ("Section – Site") for every source. "" when the title is the name alone;
    None when the name is not at either end."""
    if title.casefold() == site.casefold():
        return ""
    folded, name = title.casefold(), site.casefold()
    for sep in _SEPARATORS:
        if folded.endswith(f"{sep}{name}"):
            return _cleaned(title[: -len(sep) - len(site)]) or ""
        if folded.startswith(f"{name}{sep}"):
            return _cleaned(title[len(site) + len(sep) :]) or ""
    return None


def _site_name(page: _Page) -> str | None:
    for raw in (
        page.meta.get("og:site_name"),
        page.meta.get("application-name"),
        _ld_name((page.ld or {}).get("publisher")),
    ):
        if text := _cleaned(raw):
            return text
    return None


def _title_tag(page: _Page) -> str | None:
    tag = _find(page.soup, "title")
    return _get_text(tag) if tag is not None else None


def _cleaned(raw: str | None) -> str | None:
    """One line, no separator left dangling at either end ("| Daily8" -> "Daily8"), None when empty."""
    text = _SPACE_RE.sub(" ", clean_line(raw or "")).strip(_EDGE_SEPARATORS)
    return text or None


def _bounded(text: str | None) -> str | None:
    return clip(text, MAX_PAGE_TITLE) if text else None
