"""The parsed DOM: building the soup, small bs4 helpers, page chrome and paid placement, line breaks."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from itertools import pairwise
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, ParserRejectedMarkup, Tag, UnusualUsageWarning
from bs4.element import NavigableString

from feedsvc.extract.clean import clean_line

_log = logging.getLogger(__package__)  # the package's logger, "feedsvc.extract.html"

# Elements that never hold story text, whatever their class or position.
_NEVER_TEXT = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "button", "select", "input", "textarea", "figcaption",
)  # fmt: skip
_NEVER_TEXT_NAMES = frozenset(_NEVER_TEXT)
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figure", "footer", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre", "section", "table", "td", "th",
    "tr", "ul",
})  # fmt: skip
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "dialog", "alertdialog"})
# Page chrome recognised by class/id words. Prefixes catch "cookieBanner", "subscription", "advertorial";
# "ad" must be a whole word or it would hit "header", "thread" and "badge".
# "promo" is not one: news sites call their own story cards promos (BBC's "gs-c-promo").
_CHROME_PREFIXES = (
    "cookie",
    "consent",
    "gdpr",
    "banner",
    "newsletter",
    "subscri",
    "advert",
    "sponsor",
)
_CHROME_WORDS = frozenset({
    "ad", "ads", "adslot", "adunit", "adsbygoogle", "dfp", "onetrust", "cmp", "popup", "modal", "breadcrumb",
    "breadcrumbs", "share", "shares", "sharing", "sharebar", "sharetools", "sharethis", "addthis", "social",
    "comment", "comments", "commenting", "disqus", "outbrain", "taboola", "tweet", "instagram", "tiktok",
    # screen-reader-only text ("Published" before a time): not shown, so not "as shown"
    "sronly", "visuallyhidden", "screenreader", "screenreadertext", "vh",
})  # fmt: skip
# A record carrying one of these is paid placement; "promo" is missing on purpose: news sites call their
# own story cards promos (BBC's "gs-c-promo"), and a profile must be able to select them.
_SPONSOR_PREFIXES = ("sponsor", "advert", "promoted", "paidcontent", "paidpost")
_SPONSOR_WORDS = frozenset({"ad", "ads", "nativead"})
_SPONSOR_LABELS = frozenset({
    "sponsored", "ad", "ads", "advertisement", "promoted", "paid content", "paid post", "paid partnership",
    "sponsored content", "partner content", "paid for by", "sponsored by", "promoted by", "pr", "[pr]",
    "広告", "スポンサー", "プロモーション", "anzeige", "werbung", "gesponsert", "publicité", "sponsorisé",
    "contenu sponsorisé", "annonce", "patrocinado", "publicidad", "contenido patrocinado", "pubblicità",
    "sponsorizzato", "advertentie", "reklama", "реклама", "赞助", "广告", "광고",
})  # fmt: skip
_SPONSOR_LINE_RE = re.compile(
    r"^(?:(?:sponsored|promoted|paid for|presented) by|sponsorisé par|präsentiert von|anzeige von)\s",
    re.IGNORECASE,
)
# Links through an ad network: a card whose link goes there is paid placement, whatever it shows.
_AD_HOST_RE = re.compile(
    r"^(?:[a-z0-9-]+\.)*(?:doubleclick\.net|googleadservices\.com|googlesyndication\.com|taboola\.com"
    r"|outbrain\.com|criteo\.(?:com|net)|adnxs\.com|beap\.gemini\.yahoo\.com|beap\.bc\.yahoo\.com"
    r"|zemanta\.com|revcontent\.com|mgid\.com|adclick\.g\.doubleclick\.net|amazon-adsystem\.com)$"
)
_SEPARATOR_RE = re.compile(r"\s*(?:[•·‣▪◦|]|\s[-–—]\s)\s*")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT_RE = re.compile(r"[-_]+")
# A class token that is a word (or words): letters, digits and dashes/underscores only. Atomic CSS
# ("Bxsh(modalShadow)", "C(#959595)", "md:block", "w-1/2", "[&>p]:mt-2") is not: its parts are values.
_WORDISH_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# Real camelCase ("cookieBanner", "StreamMegaItem") splits into words; a hash ("xAdKq", "JtKRv") does not.
_CAMEL_WORD_RE = re.compile(r"^(?:[a-z]{2,}|[A-Z][a-z]{2,})(?:[A-Z][a-z]{2,}|[0-9]+)*$")
_ALPHA_RE = re.compile(r"^[A-Za-z]+$")
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_UNPARSEABLE_RE = re.compile("[\x00\ud800-\udfff]")
_SCRIPT_SPLIT_RE = re.compile(r"(<script\b[^>]*>.*?</script\s*>)", re.IGNORECASE | re.DOTALL)
# A block's start or end tag (custom elements such as <fluent-card> and <c-wiz> are blocks too), or a
# <br>/<hr>; group 1 is the slash of an end tag. Attribute values may hold ">" inside quotes.
_BLOCK_NAMES = "|".join(sorted(_BLOCKS, key=len, reverse=True))
_BLOCK_TAG_RE = re.compile(
    rf"<(/?)(?:{_BLOCK_NAMES}|br|[a-z][a-z0-9]*-[a-z0-9-]*)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>",
    re.IGNORECASE,
)
_FIGURE = frozenset({"figure"})
_CARD_PARENTS = frozenset({"article", "main", "section", "li", "aside"})


# -- small helpers over bs4 ------------------------------------------------------------------------------


def _attr(el: Tag, name: str) -> str | None:
    value = el.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def _words(el: Tag) -> frozenset[str]:
    """The words of an element's class and id, camelCase split, plus joined neighbours ("site-name").

    Only word-like tokens count: atomic CSS ("D(n)", "Bxsh(modalShadow)", "hover:underline") and hashed
    names ("css-1x2y3z", "sc-bdVaJa", "_3xX9f", "JtKRv") carry no words, so none of them can look like
    "ad" or "modal"."""
    classes = el.get("class")
    if isinstance(classes, list):
        classes = " ".join(classes)
    ident = el.get("id")
    if not classes and not ident:
        return _NO_WORDS
    return _words_of(f"{classes or ''} {ident if isinstance(ident, str) else ''}")


_NO_WORDS: frozenset[str] = frozenset()


@lru_cache(maxsize=8192)
def _words_of(raw: str) -> frozenset[str]:
    """Pages repeat the same class lists on every card: each is split once."""
    found: set[str] = set()
    for token in raw.split():
        if _WORDISH_RE.match(token):
            words = [w for part in _WORD_SPLIT_RE.split(token) for w in _word_parts(part)]
            found.update(words)
            found.update(a + b for a, b in pairwise(words))
    return frozenset(found)


def _word_parts(part: str) -> list[str]:
    """A dash/underscore-separated part of a class token as lower-case words; [] for a hash."""
    if not part:
        return []
    if part.islower() or part.isupper():
        # "adslot", "ad", "sc", "1nhdoj2": digits glued inside letters ("x2y3z") mark a hash
        core = part.rstrip("0123456789")
        return [part.lower()] if _ALPHA_RE.match(core) or part.isdigit() else []
    if _CAMEL_WORD_RE.match(part):
        return [w.lower() for w in _CAMEL_RE.sub(" ", part).split()]
    return []


def _has_hint(el: Tag, hints: frozenset[str]) -> bool:
    return bool(_words(el) & hints) or (_attr(el, "itemprop") or "").lower() in hints


def _tags(root: Tag, name: str | list[str] | frozenset[str] | None = None) -> Iterator[Tag]:
    """The elements under ``root`` in document order, optionally only those of the given name(s). A plain
    walk: bs4's find_all builds a filter per call, which costs more than the walk on big pages."""
    if name is None:
        for el in root.descendants:
            if isinstance(el, Tag):
                yield el
        return
    names = {name} if isinstance(name, str) else set(name)
    for el in root.descendants:
        if isinstance(el, Tag) and el.name in names:
            yield el


def _strings(root: Tag) -> Iterator[NavigableString]:
    """The text nodes under ``root`` (no comments, CDATA or doctype), in document order."""
    for node in root.descendants:
        if type(node) is NavigableString:
            yield node


def _ancestor(el: Tag | NavigableString, names: frozenset[str]) -> Tag | None:
    """The nearest ancestor of ``el`` named in ``names`` (a plain walk up, no bs4 filter)."""
    parent = el.parent
    while parent is not None:
        if parent.name in names:
            return parent
        parent = parent.parent
    return None


def _first(root: Tag, names: frozenset[str]) -> Tag | None:
    return next(_tags(root, names), None)


def _lines(el: Tag) -> list[str]:
    return [line for raw in el.get_text().split("\n") if (line := clean_line(raw))]


def _text(el: Tag) -> str:
    return clean_line(el.get_text())


def _within(el: Tag, container: Tag) -> bool:
    return el is container or any(parent is container for parent in el.parents)


class _Fence:
    """Elements to keep out of a search, with their subtrees and their ancestors."""

    def __init__(self, tags: Iterable[Tag | None]) -> None:
        self.inside: set[int] = set()
        self.around: set[int] = set()
        for tag in tags:
            if tag is None:
                continue
            self.inside.add(id(tag))
            self.inside.update(id(d) for d in tag.descendants)
            self.around.update(id(p) for p in tag.parents)

    def covers(self, el: Tag) -> bool:
        return id(el) in self.inside

    def touches(self, el: Tag) -> bool:
        return id(el) in self.inside or id(el) in self.around


def _paragraph_tags(body: Tag, fence: _Fence | None = None) -> list[Tag]:
    return [
        p
        for p in _tags(body, "p")
        if _ancestor(p, _FIGURE) is None and (fence is None or not fence.covers(p))
    ]


# -- parse the page, drop the chrome ------------------------------------------------------------------------


def _parse(text: str) -> BeautifulSoup | None:
    # lxml rejects NULs and lone surrogates; they carry no text anyway.
    text = _flatten(_UNPARSEABLE_RE.sub("", text))
    try:
        with warnings.catch_warnings():
            # "looks like a URL/filename" and "XML parsed as HTML" are guesses about the caller; we know.
            warnings.simplefilter("ignore", UnusualUsageWarning)
            return BeautifulSoup(text, "lxml")
    except (ParserRejectedMarkup, ValueError, UnicodeError, RecursionError) as exc:
        _log.warning("unparseable HTML page: %s", exc)
        return None


def _flatten(text: str) -> str:
    """Make the page's text line-structured before it is parsed: its source line breaks become spaces (in
    HTML a newline in text is only a space) and a newline goes where the page breaks lines (block edges,
    <br>, <hr>), so get_text() keeps "Reuters" and "2 hours ago" in sibling <div>s apart. Scripts keep
    their text (their JSON is read as it is). One pass over the source instead of a tree edit per node."""
    parts = _SCRIPT_SPLIT_RE.split(text)
    for i in range(0, len(parts), 2):
        part = parts[i].replace("\r", " ").replace("\n", " ")
        parts[i] = _BLOCK_TAG_RE.sub(_break_at, part)
    return "".join(parts)


def _break_at(match: re.Match[str]) -> str:
    tag = match.group(0)
    return f"\n{tag}" if match.group(1) else f"{tag}\n"


def _drop_chrome(soup: BeautifulSoup, keep: set[int]) -> None:
    """Remove page chrome in place; ``keep`` holds ids of elements a site profile selected. One walk from
    the top, outer elements first; a removed element's subtree is not visited."""
    _remove(soup, lambda el: el.name in _NEVER_TEXT_NAMES)
    page_chars = len(soup.get_text())

    def chrome(el: Tag) -> bool:
        if id(el) in keep or not _is_chrome_element(el):
            return False
        if _is_label(el.get_text()):
            return False  # a "Sponsored" badge stays so that the card around it is recognised and dropped
        return not _holds_content(el, page_chars, structural=el.name in ("nav", "header", "footer", "form"))

    _remove(soup, chrome)


def _remove(root: Tag, drop: Callable[[Tag], bool]) -> None:
    """Extract every element for which ``drop`` holds, outermost first (children indexed from the end, so
    no extraction searches its parent's children for its place)."""
    stack = [root]
    while stack:
        node = stack.pop()
        children = node.contents
        for i in range(len(children) - 1, -1, -1):
            child = children[i]
            if not isinstance(child, Tag):
                continue
            if drop(child):
                child.extract(_self_index=i)
            else:
                stack.append(child)


def _attached(el: Tag, soup: BeautifulSoup) -> bool:
    return any(parent is soup for parent in el.parents)


def _is_chrome_element(el: Tag) -> bool:
    if el.name in ("nav", "form", "dialog"):
        return True
    if el.name in ("header", "footer") and _ancestor(el, _CARD_PARENTS) is None:
        return True
    if (_attr(el, "role") or "").lower() in _CHROME_ROLES:
        return True
    if el.has_attr("hidden") or _HIDDEN_STYLE_RE.search(_attr(el, "style") or ""):
        return True
    if _attr(el, "aria-hidden") == "true" and (el.name != "a" or el.get_text().strip()):
        # Hidden from screen readers only: its text repeats what is shown. A link without text is a
        # card's thumbnail (Yahoo marks the picture's duplicate link so), shown to everyone: it stays.
        return True
    if _is_label(_attr(el, "aria-label") or ""):
        return True
    return any(w in _CHROME_WORDS or w.startswith(_CHROME_PREFIXES) for w in _words(el))


def _holds_content(el: Tag, page_chars: int, structural: bool) -> bool:
    """A chrome-looking element that wraps the page's real content (an ASP.NET page-wide <form>,
    a <div class="has-ads"> wrapper) must stay; a site header holding the logo's <h1> must not."""
    if el.name in ("html", "body", "main"):
        return True
    first_h1 = True
    for inner in _tags(el):
        if inner.name == "main" or (inner.has_attr("itemprop") and _is_article_body(inner)):
            return True
        if inner.name == "h1" and first_h1:
            first_h1 = False
            if not structural or len(inner.get_text().split()) >= 4:
                return True  # a headline, not a logo
    return len(el.get_text()) * 2 > page_chars > 500


def _is_article_body(el: Tag) -> bool:
    """The element matches [itemprop~=articleBody] (without running a CSS selector over the page)."""
    return "articleBody" in (_attr(el, "itemprop") or "").split()


def _article_body(root: Tag) -> Tag | None:
    return next((el for el in _tags(root) if el.has_attr("itemprop") and _is_article_body(el)), None)


def _ad_link(href: str) -> bool:
    href = href.strip()
    if not href.startswith(("http:", "https:", "//")):
        return False
    try:
        host = urlsplit(href).hostname
    except ValueError:
        return False
    return bool(host and _AD_HOST_RE.match(host.lower()))


def _is_label(text: str) -> bool:
    folded = text.strip().strip(":").casefold()
    return folded in _SPONSOR_LABELS or bool(_SPONSOR_LINE_RE.match(folded))


def _sponsored(record: Tag) -> bool:
    """Paid placement: a sponsor class on the record (or a wrapper), a rel=sponsored link, or a label."""
    if any(w in _SPONSOR_WORDS or w.startswith(_SPONSOR_PREFIXES) for w in _words(record)):
        return True
    for parent in record.parents:
        if isinstance(parent, Tag) and any(w.startswith(_SPONSOR_PREFIXES) for w in _words(parent)):
            return True
    for a in _tags(record, "a"):
        if "sponsored" in (_attr(a, "rel") or "").lower() or _ad_link(_attr(a, "href") or ""):
            return True
    if any(len(node) <= 60 and _is_label(node) for node in _strings(record)):
        return True  # a badge element: <span>Sponsored</span>, even when glued to the brand next to it
    return any(_is_label(part) for line in _lines(record) for part in _SEPARATOR_RE.split(line))
