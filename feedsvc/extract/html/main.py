"""The page's own article: find it, then read its title, URL, outlet, category, time and body."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time

from lxml import etree

from feedsvc.extract.article import Article, read_article
from feedsvc.extract.clean import clean_body, is_chrome
from feedsvc.extract.html.dom import (
    Tag,
    _ancestor,
    _article_body,
    _either,
    _Fence,
    _find,
    _first,
    _get_text,
    _lines,
    _paragraph_tags,
    _tags,
    _text,
    _within,
    clean_line,
)
from feedsvc.extract.html.fields import (
    _Fields,
    _find_when,
    _hinted_category,
    _hinted_outlet,
    _outlet_name,
    _provided_by,
    _When,
)
from feedsvc.extract.html.images import block_image, page_image
from feedsvc.extract.html.page import (
    _article_url,
    _headline_like,
    _ld_name,
    _ld_org,
    _ld_url,
    _Page,
    _stamp,
)
from feedsvc.extract.jsonld import text as _ld_str

_ARTICLE = frozenset({"article"})
_H1 = frozenset({"h1"})
_FIGURE_OR_LINK = frozenset({"figure", "a"})


@dataclass
class _Main:
    scope: Tag | None  # where the main story's header lives
    h1: Tag | None
    body: Tag | None  # holds the body paragraphs


def _find_main(page: _Page) -> _Main | None:
    """The page's own article, when structured data says there is one or an <article> holds the <h1>
    and a body; a listing page ("Latest news with #Ukraine", a category archive that its JSON-LD calls a
    CollectionPage while og:type says "article") has none."""
    if page.listing:
        return None
    soup = page.soup
    body = _article_body(soup)
    article = _ancestor(body, _ARTICLE) if body is not None else None
    if article is None:
        article = _first_article_with_h1(soup)
    h1 = _first(article if article is not None else soup, _H1)
    strong = page.ld is not None or page.meta.get("og:type", "").startswith("article") or body is not None
    if body is None:
        body = _densest(_either(article, _find(soup, "main"), _find(soup, "body"), soup))
    paragraphs = article is not None and body is not None and len(_paragraph_tags(body)) >= 2
    if not strong and not paragraphs and not _prose(body):
        return None
    own = [page.meta.get("og:url"), page.meta.get("canonical"), page.base]
    if article is None and body is not None and _article_url(page, own) is None and _among_cards(body):
        return None  # an archive's <h1> ("Category: Local") over its cards: the text is theirs
    if h1 is None and page.ld is None and _article_url(page, own) is None:
        return None  # "og:type article" without a headline of its own or an article address: a listing
    return _Main(_either(article, _common_ancestor(h1, body)), h1, body)


def _among_cards(body: Tag) -> bool:
    """Whether the would-be body (its <h1> in no <article>) holds a listing's cards, or is the text of one
    card among several (the longest snippet of an archive is the densest block)."""
    if _cards_hold(body):
        return True
    card = body if body.tag == "article" else _ancestor(body, _ARTICLE)
    parent = card.getparent() if card is not None else None
    return parent is not None and _linked_heading(card) and _cards_hold(parent)


def _cards_hold(body: Tag) -> bool:
    """Whether most of the would-be body's text lies in several <article>s inside it, each with a linked
    headline: a listing's cards (an archive's snippets under its <h1>), not one story's paragraphs (an
    article's own text outweighs the related-story cards it may embed, and its own <article> of paragraphs
    stands beside them)."""
    total = len(_get_text(body))
    held, cards = 0, 0
    for card in _outer_articles(body):
        if _linked_heading(card):
            cards += 1
            held += len(_get_text(card))
        elif len(_paragraph_tags(card)) >= 2:
            return False  # an article of paragraphs with no link to itself: the story, beside related cards
    return cards >= _CARDS and 2 * held > total


def _outer_articles(root: Tag) -> Iterator[Tag]:
    """The <article>s under ``root`` that no other <article> under it holds, in page order (each element
    visited once: an article's own elements are not searched)."""
    stack = list(reversed(root))
    while stack:
        el = stack.pop()
        if el.tag == "article":
            yield el
        else:
            stack.extend(reversed(el))


_CARDS = 2
# A headline linked from inside (h2 > a) or around it (a > h4).
_linked_heading = etree.XPath(
    "boolean(descendant::*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6]"
    "[descendant::a[@href] or ancestor::a[@href]])"
)


def _first_article_with_h1(soup: Tag) -> Tag | None:
    """The first <article> (in page order) that holds an <h1>: the outermost one around the first <h1>
    that has one around it (an earlier <article> holding a later <h1> would hold that one too). A listing
    has a thousand <article>s and few <h1>s, if any."""
    for h1 in _tags(soup, "h1"):
        outermost = None
        for outermost in h1.iterancestors("article"):  # noqa: B007 (the last one)
            pass
        if outermost is not None:
            return outermost
    return None


# A block of running prose: what an article without any article markup still shows (an old CMS page, a
# portal's table layout): paragraphs side by side in one element. Card snippets each sit in their own card
# (or inside their links), so a listing never reads as one.
_PROSE_PARAGRAPHS = 3
_PROSE_CHARS = 800
_PROSE_PARAGRAPH_CHARS = 80


_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _weight(text: str) -> int:
    """Length in Latin-script terms: a CJK character carries about what three Latin letters do."""
    return len(text) + 2 * len(_CJK_RE.findall(text))


def _prose(block: Tag | None) -> bool:
    # A block's own paragraphs inside a figure or a link (a caption, a card) are no prose.
    if block is None or block.tag in _FIGURE_OR_LINK or _ancestor(block, _FIGURE_OR_LINK) is not None:
        return False
    sizes = [
        _weight(text)
        # side by side in one block: a card grid's snippets each sit in their card
        for p in block.iterchildren("p")
        if _weight(text := _text(p)) >= _PROSE_PARAGRAPH_CHARS and text[-1:] in ".!?。！？\"'”’»)"
    ]
    return len(sizes) >= _PROSE_PARAGRAPHS and sum(sizes) >= _PROSE_CHARS


def _densest(root: Tag) -> Tag | None:
    """The element whose paragraphs hold the most text (a paragraph's grandparent earns half). A paragraph
    in a header or holding a <time> is a dateline or byline, not body."""
    scores: dict[int, float] = {}
    by_id: dict[int, Tag] = {}
    page = root.getroottree().getroot()
    in_header = {id(p): p for header in page.iter("header") for p in header.iter("p")}  # (held: ids stay)
    for p in _tags(root, "p"):
        if len(p) and next(p.iterdescendants("time"), None) is not None:  # (most have no child element)
            continue
        if id(p) in in_header:
            continue
        size = len(_get_text(p).strip())
        up = p.getparent()
        for parent, share in ((up, 1.0), (up.getparent() if up is not None else None, 0.5)):
            if parent is not None and size:
                scores[id(parent)] = scores.get(id(parent), 0.0) + size * share
                by_id[id(parent)] = parent
    if not scores:
        return None
    return by_id[max(scores, key=lambda key: scores[key])]


def _common_ancestor(a: Tag | None, b: Tag | None) -> Tag | None:
    if a is None or b is None:
        return _either(a, b)
    above_b = {id(b), *(id(p) for p in b.iterancestors())}
    for el in (a, *a.iterancestors()):
        if id(el) in above_b:
            return el
    return None


def _main_story(page: _Page, main: _Main, cards: list[Tag]) -> _Fields | None:
    ld = page.ld or {}
    fence = _main_fence(main, cards)
    when = _find_when(main.scope, fence, page.language) if main.scope is not None else None
    title = _main_title(page, main)
    if not title or is_chrome(title):
        return None
    article = _read_article(page)
    published, published_text = _stamp(
        page,
        _time_order(page, when.machine if when else None),
        when.text if when else None,
    )
    if article is not None and article.published is not None and _vaguer(published, article.published):
        # the reader knows more shapes ("Published 19 August 2025, 14:30 BST", "Aug 19, 2025 / 09:47 PM CDT")
        published, _ = _stamp(page, [article.published.isoformat()], None)
    outlet = _main_outlet(page, main, fence, when, article)
    return _Fields(
        title=_without_site(title, [outlet]) if main.h1 is None else title,
        url=_article_url(page, [_ld_url(ld), page.meta.get("og:url"), page.meta.get("canonical"), page.base]),
        outlet=outlet,
        category=_main_category(page, main, fence),
        published=published,
        published_text=published_text,
        body=_main_body(page, main, cards, article),
        image=page_image(page) or _body_image(page, main, cards),
    )


def _body_image(page: _Page, main: _Main, cards: list[Tag]) -> str | None:
    """A photo in the article itself, for a page that declares none: the first in its header or body,
    never one of the cards around it."""
    return block_image(page, _either(main.scope, main.body), _Fence(cards))


_ZONED_RE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _time_order(page: _Page, shown: str | None) -> list[str | None]:
    """Machine times in the order they are believed. The <time> in the article's header is what readers
    see, so it comes first when it names its zone; one without a zone is only a wall clock, and a live
    blog's first <time> is its newest post: then what the publisher declares (JSON-LD, meta) comes first."""
    declared = [_ld_str((page.ld or {}).get("datePublished")), *_meta_times(page)]
    live = "liveblog" in str((page.ld or {}).get("@type", "")).lower()
    if shown and _ZONED_RE.search(shown.strip()) and not live:
        return [shown, *declared]
    return [*declared, shown]


def _vaguer(ours: datetime | None, reader: datetime) -> bool:
    """Whether the article reader's time should replace ours: we have none, or only a day (midnight) that
    its time falls near (a zone can move the day), where it read the clock time too."""
    if ours is None:
        return True
    return (
        ours.time() == dt_time(0) and reader.time() != dt_time(0) and abs(reader - ours) < timedelta(hours=36)
    )


def _main_fence(main: _Main, cards: list[Tag]) -> _Fence:
    """Keep the header search out of the body and the cards. When the body block is the whole article
    (paragraphs straight under <article>), fence only its paragraphs: the header lives in it too."""
    if main.body is not None and main.h1 is not None and _within(main.h1, main.body):
        return _Fence([main.h1, *_paragraph_tags(main.body), *cards])
    return _Fence([main.body, main.h1, *cards])


def _meta_times(page: _Page) -> list[str | None]:
    keys = ("article:published_time", "og:article:published_time", "datepublished", "pubdate", "publish-date")
    return [page.meta.get(key) for key in keys]


def _main_title(page: _Page, main: _Main) -> str | None:
    """The <h1>, else the structured headline, og:title or <title>; never a paragraph-long text (a photo
    caption marked up as the page's heading) and never the site's name alone."""
    if main.h1 is not None and _headline_like(title := _text(main.h1)):
        return title
    ld = page.ld or {}
    site = page.meta.get("og:site_name", "")
    title_tag = _find(page.soup, "title")
    page_title = _get_text(title_tag) if title_tag is not None else None
    for raw in (
        ld.get("headline"),
        ld.get("name"),
        page.meta.get("og:title"),
        page.meta.get("twitter:title"),
        page_title,
    ):
        text = _without_site(clean_line(raw) if isinstance(raw, str) else "", [site, _title_site(page)])
        if text and _headline_like(text) and text != site:
            return text
    return None


_SITE_SEPARATORS = (" | ", " - ", " – ", " — ", ": ")


def _without_site(title: str, names: list[str | None]) -> str:
    """``title`` without a site's name around it: "Headline | Site", "Site - Headline"."""
    for name in dict.fromkeys(n for n in names if n):
        for sep in _SITE_SEPARATORS:
            stripped = title.removesuffix(f"{sep}{name}").removeprefix(f"{name}{sep}")
            if stripped != title and _headline_like(stripped):
                return stripped
    return title


def _title_site(page: _Page) -> str | None:
    """The site's name as the page names itself: og:site_name, application-name, or JSON-LD publisher."""
    for raw in (
        page.meta.get("og:site_name"),
        page.meta.get("application-name"),
        _ld_name((page.ld or {}).get("publisher")),
    ):
        if raw and clean_line(raw):
            return clean_line(raw)
    return None


def _main_outlet(
    page: _Page, main: _Main, fence: _Fence, when: _When | None, article: Article | None = None
) -> str | None:
    """The outlet the page credits ("Provided by Reuters", a source element) before the publishing site;
    then the article reader's site (a "来源：" line, the site name in the page title); a bare name on the
    time's line comes last, as on an outlet's own page it is usually the reporter."""
    ld = page.ld or {}
    if main.scope is not None:
        credited = _provided_by(main.scope, fence) or _hinted_outlet(main.scope, fence)
        if credited:
            return credited
    site = article.site_name if article is not None else None
    for raw in (
        _ld_org(ld.get("author")),
        _ld_name(ld.get("publisher")),
        page.meta.get("og:site_name"),
        site,
    ):
        if raw and (name := _outlet_name(raw)):
            return name
    return when.outlet if when else None


def _main_category(page: _Page, main: _Main, fence: _Fence) -> str | None:
    section = (page.ld or {}).get("articleSection")
    if isinstance(section, list):
        section = next((s for s in section if isinstance(s, str) and s.strip()), None)
    for raw in (section, page.meta.get("article:section")):
        if isinstance(raw, str) and clean_line(raw):
            return clean_line(raw)
    return _hinted_category(main.scope, fence) if main.scope is not None else None


def _dom_body(main: _Main, fence: _Fence) -> tuple[str, ...]:
    if main.body is None:
        return ()
    paragraphs = _paragraph_tags(main.body, fence) if _find(main.body, "p") is not None else []
    return clean_body([_get_text(p) for p in paragraphs] or _lines(main.body))


def _read_article(page: _Page) -> Article | None:
    """The article reader over the page as it stands (chrome already dropped), with the page's JSON-LD;
    not on a page cut off before its end, where it would read a different body than the whole page has.
    No byline search: a story has no author."""
    return read_article(page.soup, page.base, ld=page.ld, byline=False) if page.cut is None else None


_TOKEN_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W_]+")


def _shingles(paragraphs: tuple[str, ...]) -> set[tuple[str, ...]]:
    words = [w for p in paragraphs for w in _TOKEN_RE.findall(p.casefold())]
    return {tuple(words[i : i + 4]) for i in range(max(len(words) - 3, 1))} if words else set()


def _reader_wins(reader: tuple[str, ...], dom: tuple[str, ...]) -> bool:
    """The reader's body replaces the DOM paragraphs only when it holds clearly more of the story: it keeps
    most of what the DOM found and adds a quarter again (the rest of a body split over several blocks, the
    articleBody of a page that shows a teaser). Where both agree, the DOM's paragraphs stay as shown."""
    if not reader:
        return False
    if not dom:
        return True
    got, shown = _shingles(reader), _shingles(dom)
    kept = len(got & shown) / len(shown) if shown else 1.0
    return (kept >= 0.6 and len(got) >= 1.25 * len(shown)) or (kept < 0.6 and len(got) >= 2 * len(shown))


def _main_body(page: _Page, main: _Main, cards: list[Tag], article: Article | None = None) -> tuple[str, ...]:
    """The article reader's body where it holds clearly more than the DOM paragraphs; else DOM paragraphs as
    shown; else JSON-LD articleBody; else the page's description as one paragraph."""
    body = _dom_body(main, _Fence(cards))
    if article is not None:
        read = _not_in_cards(article.body, cards)
        if _reader_wins(read, body):
            return read
    if body:
        return body
    article_body = (page.ld or {}).get("articleBody")
    if isinstance(article_body, str) and article_body.strip():
        return clean_body(re.split(r"\n\s*\n|\n", article_body))
    description = page.meta.get("og:description") or page.meta.get("description")
    return clean_body([description]) if description else ()


def _not_in_cards(paragraphs: tuple[str, ...], cards: list[Tag]) -> tuple[str, ...]:
    """The article reader's paragraphs without those that are a card's text: the reader reads the page as a
    whole, and a story page that lists other outlets' coverage of its story (an AllSides roundup: each
    outlet's headline, name and snippet under the summary) holds their snippets, which are theirs."""
    if not cards or not paragraphs:
        return paragraphs
    shown = "\n".join(_text(card) for card in cards)
    return tuple(p for p in paragraphs if p not in shown)


def _whole(page: _Page, main: _Main) -> bool:
    """On a cut page, a main story is whole only if its DOM body was reached and closed before the cut."""
    if page.cut is None:
        return True
    return bool(_dom_body(main, _Fence([]))) and not page.is_cut(main.body, main.h1)
