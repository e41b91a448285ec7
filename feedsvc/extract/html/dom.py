"""The parsed DOM: one lxml tree, small helpers over it, page chrome and paid placement, line breaks.

The page is parsed once, by lxml, into the tree every step reads (and the article reader is handed a copy of).
The helpers keep the text model the extractor was written against: a text node is a run of text between tags
(lxml's ``.text``/``.tail`` slots, read as XPath text nodes that know their element), a whitespace-only run
outside <pre>/<textarea> is one space or one newline, ruby annotations (<rt>, <rp>) are not text, and a
removed element leaves an empty comment in its place so that the texts around it stay apart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HTMLParser, HtmlProcessingInstruction

from feedsvc.extract import clean, limits

_log = logging.getLogger(__package__)  # the package's logger, "feedsvc.extract.html"

# Elements that never hold story text, whatever their class or position.
_NEVER_TEXT = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "button", "select", "input", "textarea", "figcaption",
)  # fmt: skip
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
# The chrome prefixes that are never a kind of post beside a headline's class (see _chrome_raw).
_HARD_CHROME_PREFIXES = tuple(p for p in _CHROME_PREFIXES if p not in ("newsletter", "subscri"))
# Class words naming a headline ("post-preview-title", "card-headline", "hed").
TITLE_WORDS = frozenset({"title", "headline", "heading", "hed"})
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
# Every name _AD_HOST_RE needs (looked for in the lower-cased URL, as the host is lower-cased: the Kelvin
# sign becomes "k"), in one search in C; urlsplit drops tabs and line breaks from a URL before it reads the
# host.
_AD_NAMES = (
    "doubleclick", "googleadservices", "googlesyndication", "taboola", "outbrain", "criteo", "adnxs", "beap",
    "zemanta", "revcontent", "mgid", "amazon-adsystem",
)  # fmt: skip
_AD_NAME_RE = re.compile("|".join(map(re.escape, _AD_NAMES)))
_SEPARATOR_RE = re.compile(r"\s*(?:[•·‣▪◦|]|\s[-–—]\s)\s*")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT_RE = re.compile(r"[-_]+")
# A class token that is a word (or words): letters, digits and dashes/underscores only. Atomic CSS
# ("Bxsh(modalShadow)", "C(#959595)", "md:block", "w-1/2", "[&>p]:mt-2") is not: its parts are values.
_WORDISH_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# Real camelCase ("cookieBanner", "StreamMegaItem") splits into words; a hash ("xAdKq", "JtKRv") does not.
# (possessive: a run of digits is read one way only, not in 2^n splits)
_CAMEL_WORD_RE = re.compile(r"^(?:[a-z]{2,}|[A-Z][a-z]{2,})(?:[A-Z][a-z]{2,}|[0-9]++)*+$")
_ALPHA_RE = re.compile(r"^[A-Za-z]+$")
_LOGO_SUFFIX_RE = re.compile(r"\s+logo$", re.IGNORECASE)  # "Reuters logo": a logo's alt names its source
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_UNPARSEABLE_RE = re.compile("[\x00\ud800-\udfff]")
_SCRIPT_OPEN_RE = re.compile(r"<script\b", re.IGNORECASE)
_SCRIPT_CLOSE_RE = re.compile(r"</script\s*>", re.IGNORECASE)


def _trie(names: Iterable[str]) -> str:
    """A regex alternation matching exactly ``names``, factored by shared prefixes ("d(?:d|iv|l|t)"): the
    engine tries alternatives one by one, and a flat list of 30 names costs 30 tries at every tag."""
    heads: dict[str, list[str]] = {}
    for name in sorted(names):
        heads.setdefault(name[0], []).append(name[1:])
    out = []
    for head, rests in heads.items():
        longer = [rest for rest in rests if rest]
        if not longer:
            out.append(re.escape(head))
        else:
            optional = "?" if len(longer) < len(rests) else ""
            out.append(f"{re.escape(head)}(?:{_trie(longer)}){optional}")
    return "|".join(out)


# A block's start or end tag (custom elements such as <fluent-card> and <c-wiz> are blocks too), or a
# <br>/<hr>; group 1 is the whole tag, group 2 the slash of an end tag. Attribute values may hold ">" inside
# quotes. A name is followed by a word boundary, so the order of the alternatives does not matter; the
# attribute loop is possessive (each step can match one way only, so giving back never helps): no
# backtracking on a tag left open.
_BLOCK_TAG_SPLIT_RE = re.compile(
    rf"(<(/?)(?:{_trie(_BLOCKS | {'br'})}|[a-z][a-z0-9]*-[a-z0-9-]*)\b(?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+>)",
    re.IGNORECASE,
)
_FIGURE = frozenset({"figure"})
_CARD_PARENTS = frozenset({"article", "main", "section", "li", "aside"})


# -- cached text helpers ------------------------------------------------------------------------------------

# A listing repeats its short texts (outlets, "2 hours ago", labels) on every card: each is cleaned once.
_CACHED_CHARS = 512


@lru_cache(maxsize=32768)
def _clean_short(text: str) -> str:
    return clean.clean_line(text)


def clean_line(text: str) -> str:
    """feedsvc.extract.clean.clean_line, remembered for short texts."""
    return _clean_short(str(text)) if len(text) <= _CACHED_CHARS else clean.clean_line(text)


# -- the tree and its text nodes ----------------------------------------------------------------------------

Tag: TypeAlias = HtmlElement
# A text node: a str that knows the element it belongs to (lxml's "smart string" from an XPath text() step).
Text: TypeAlias = Any
_RUBY_NAMES = frozenset({"rt", "rp"})
_ASCII_SPACES = " \n\t\x0c\r"


@dataclass
class _Tree:
    """Per-parse state the helpers consult: whether ruby annotations exist (their text is no text, so the
    fast text paths stay exact without them), a count of tree edits (selector results are cached per edit),
    and every element's proxy, held so that ``id(el)`` names one element for the whole extraction."""

    ruby: bool = False
    edits: int = 0
    alive: list[Any] = field(default_factory=list)
    selections: dict[str, tuple[int, frozenset[int]]] = field(default_factory=dict)
    sponsor_above: dict[int, tuple[Any, bool]] = field(default_factory=dict)
    # per element (held with its result, so that its id stays its own), what a card's readers ask again
    memo: dict[tuple[str, int], tuple[int, Any, Any]] = field(default_factory=dict)
    texts: _TextIndex | None = None  # every text run of the tree as it stood at one edit count
    itemprops: bool = True  # whether an element of the page may have an itemprop (False: none has)
    testids: bool = True  # whether an element of the page may have a data-testid (False: none has)
    # whether an element may have a data attribute naming a time (fields._stamped; False: none has): edits
    # only take elements away or wrap a text in a bare <span>, so a page that had none never gains one
    time_attributes: bool = True


@dataclass
class _TextIndex:
    """The page's text runs in document order, as one walk found them, and per element the slice of them
    that is its text (what ``itertext()`` gives): a card's readers ask for the same texts many times, and
    joining a slice costs a fraction of walking the subtree again. Valid while the tree is not edited."""

    edits: int
    runs: list[str]
    owners: list[Any]  # per run, the element it sits in (a tail's is its node's parent)
    spans: dict[int, tuple[int, int]]  # id(element) -> (first run, end run)
    held: list[Any]  # every element indexed, held so that its id stays its own


_TREE: ContextVar[_Tree] = ContextVar("feedsvc_html_tree", default=_Tree())  # noqa: B039 (never mutated)

_TEXTS = etree.XPath("descendant::text()")
_RUBY_FREE_TEXTS = "descendant::text()[not(ancestor::rt or ancestor::rp)]"
_PLAIN_TEXTS = etree.XPath(_RUBY_FREE_TEXTS)
_PLAIN_TEXT_STRINGS = etree.XPath(_RUBY_FREE_TEXTS, smart_strings=False)  # str, not the tree's text nodes
# One axis, in document order as walked: a union of two axes is sorted by libxml2, in time the square of a
# wide subtree's size.
_NODES = etree.XPath("descendant::node()[self::* or self::text()]")
_PLAIN_NODES = etree.XPath("descendant::node()[self::* or self::text()[not(ancestor::rt or ancestor::rp)]]")
_KEEPS_SPACES = frozenset({"pre", "textarea"})


def _edited() -> None:
    """Record a change to the tree's shape (cached selector results no longer hold)."""
    _TREE.get().edits += 1


def _text_parent(node: Text) -> Tag:
    """The element a text node sits in (a tail's is its element's parent)."""
    owner = node.getparent()
    return owner.getparent() if node.is_tail else owner


def _is_tag(node: Any) -> bool:
    return isinstance(node, HtmlElement)


def _index_texts(root: Tag) -> None:
    """Index the tree's text runs (:class:`_TextIndex`) unless an index of the tree as it stands exists.
    A page with ruby annotations is not indexed (their text is no text, which the slices do not know)."""
    state = _TREE.get()
    if state.ruby or (state.texts is not None and state.texts.edits == state.edits):
        return
    _walk_texts(state, root, list(root.iter()), collapse=False)


def _current_texts() -> _TextIndex | None:
    """The text index of the tree as it stands, None when there is none."""
    state = _TREE.get()
    texts = state.texts
    return texts if texts is not None and texts.edits == state.edits else None


def _indexed(el: Tag) -> list[str] | None:
    """The text runs of ``el`` from a current index, None when there is none (or ``el`` is not in it)."""
    texts = _current_texts()
    if texts is None:
        return None
    span = texts.spans.get(id(el))
    return None if span is None else texts.runs[span[0] : span[1]]


def _placed_strings(root: Tag) -> list[tuple[str, Tag]]:
    """The text nodes of :func:`_strings` as (text, the element it sits in) pairs: from the index when
    there is a current one, else by XPath."""
    state = _TREE.get()
    texts = state.texts
    span = texts.spans.get(id(root)) if texts is not None and texts.edits == state.edits else None
    if texts is None or span is None:
        return [(str(node), _text_parent(node)) for node in _strings(root)]
    first, end = span
    return [pair for pair in zip(texts.runs[first:end], texts.owners[first:end], strict=True) if pair[0]]


def _get_text(el: Tag) -> str:
    """The element's text: every text node under it, ruby annotations left out."""
    state = _TREE.get()
    if not state.ruby or el.tag in _RUBY_NAMES:
        texts = state.texts
        span = texts.spans.get(id(el)) if texts is not None and texts.edits == state.edits else None
        return "".join(el.itertext() if span is None else texts.runs[span[0] : span[1]])  # type: ignore[union-attr]
    if any(a.tag in _RUBY_NAMES for a in el.iterancestors()):
        return ""
    return "".join(_PLAIN_TEXTS(el))


def _attr(el: Tag | None, name: str) -> str | None:
    return None if el is None else el.get(name)


def _words(el: Tag) -> frozenset[str]:
    """The words of an element's class and id, camelCase split, plus joined neighbours ("site-name").

    Only word-like tokens count: atomic CSS ("D(n)", "Bxsh(modalShadow)", "hover:underline") and hashed
    names ("css-1x2y3z", "sc-bdVaJa", "_3xX9f", "JtKRv") carry no words, so none of them can look like
    "ad" or "modal"."""
    classes = el.get("class")
    ident = el.get("id")
    if not classes and not ident:
        return _NO_WORDS
    return _words_of(f"{classes or ''} {ident or ''}")


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
    return not _words(el).isdisjoint(hints) or (el.get("itemprop") or "").lower() in hints


@lru_cache(maxsize=8192)
def _chrome_raw(raw: str) -> bool:
    """Whether a class or id value holds a chrome word (the words of "a b" are those of "a" and "b").

    A headline's class may name the kind of post beside it: "post-preview-title newsletter" is a newsletter
    issue's title on a Substack archive, "title subscriber-only" a paywalled post's. A "newsletter" or
    "subscri…" class of its own beside a class naming a title is that kind, not a sign-up box; within the
    title's own class ("newsletter-title") it still is one, as is every other chrome word anywhere."""
    words = _words_of(raw)
    if not any(w in _CHROME_WORDS or w.startswith(_CHROME_PREFIXES) for w in words):
        return False
    tokens = raw.split()
    if len(tokens) < 2 or words.isdisjoint(TITLE_WORDS):
        return True
    titled = {token for token in tokens if not _words_of(token).isdisjoint(TITLE_WORDS)}
    return any(
        w in _CHROME_WORDS
        or w.startswith(
            _CHROME_PREFIXES if token in titled or not _KIND_TOKEN_RE.match(token) else _HARD_CHROME_PREFIXES
        )
        for token in tokens
        for w in _words_of(token)
    )


# A class that names a post's kind ("newsletter", "subscriber-only", "subscribers"), not a sign-up box
# ("subscribe-box", "subscribe-cta", "newsletter-signup")
_KIND_TOKEN_RE = re.compile(r"^(?:newsletter|subscriber\S*)$", re.IGNORECASE)


def _sponsor_words(el: Tag, prefixes_only: bool) -> bool:
    """Whether the element's class/id words mark paid placement (by a sponsor prefix only, for a wrapper)."""
    classes = el.get("class")
    ident = el.get("id")
    if not classes and not ident:
        return False
    return _sponsor_raw(f"{classes or ''} {ident or ''}", prefixes_only)


@lru_cache(maxsize=8192)
def _sponsor_raw(raw: str, prefixes_only: bool) -> bool:
    if prefixes_only:
        return any(w.startswith(_SPONSOR_PREFIXES) for w in _words_of(raw))
    return any(w in _SPONSOR_WORDS or w.startswith(_SPONSOR_PREFIXES) for w in _words_of(raw))


def _tags(root: Tag, name: str | list[str] | frozenset[str] | None = None) -> Iterator[Tag]:
    """The elements under ``root`` in document order, optionally only those of the given name(s). The page's
    root element (parent None) counts itself: it stands for the whole document."""
    if isinstance(name, str):
        return root.iter(name) if root.getparent() is None else root.iterdescendants(name)  # type: ignore[no-any-return]
    names: tuple[Any, ...] = (etree.Element,) if name is None else tuple(name)
    if root.getparent() is None:
        return root.iter(*names)  # type: ignore[no-any-return]
    return root.iterdescendants(*names)  # type: ignore[no-any-return]


def _tags_or_itemprops(root: Tag, name: str) -> Iterator[Tag]:
    """The elements under ``root`` (as :func:`_tags`) named ``name`` or carrying an itemprop, with maybe
    others: on a page where no element has an itemprop (most listings), only those named ``name``, found
    in C instead of looking at every element."""
    return _tags(root) if _has_itemprops() else _tags(root, name)


def _has_testids() -> bool:
    """Whether an element of the page may have a data-testid: False only when its source never names one
    (see :func:`_parse`); True outside an extraction."""
    return _TREE.get().testids


def _has_itemprops() -> bool:
    """Whether an element of the page may have an itemprop: False only when its source never names one
    (see :func:`_parse`); True outside an extraction."""
    return _TREE.get().itemprops


def _strings(root: Tag) -> list[Text]:
    """The text nodes under ``root`` (no comments, no ruby annotations), in document order."""
    return _PLAIN_TEXTS(root) if _TREE.get().ruby else _TEXTS(root)  # type: ignore[no-any-return]


def _nodes(root: Tag) -> list[Any]:
    """The elements and text nodes under ``root`` in document order (comments left out)."""
    return _PLAIN_NODES(root) if _TREE.get().ruby else _NODES(root)  # type: ignore[no-any-return]


def _previous_siblings(el: Tag) -> Iterator[Any]:
    """What precedes ``el`` in its parent, nearest first: text runs as str, elements, and a comment as its
    text (a removed element's placeholder comment is empty)."""
    prev = el.getprevious()
    while True:
        before = prev.tail if prev is not None else _parent_text(el)
        if before:
            yield before
        if prev is None:
            return
        yield prev if isinstance(prev, HtmlElement) else (prev.text or "")
        prev = prev.getprevious()


def _parent_text(el: Tag) -> str | None:
    parent = el.getparent()
    return parent.text if parent is not None else None


def _next_tag(el: Tag) -> Tag | None:
    """The next element sibling, past text and comments."""
    nxt = el.getnext()
    while nxt is not None and not isinstance(nxt, HtmlElement):
        nxt = nxt.getnext()
    return nxt


def _ancestor(el: Tag | Text, names: frozenset[str]) -> Tag | None:
    """The nearest ancestor of ``el`` (an element or a text node) named in ``names``."""
    if isinstance(el, HtmlElement):
        return next(el.iterancestors(*names), None)
    parent = _text_parent(el)
    if parent is None or parent.tag in names:
        return parent
    return next(parent.iterancestors(*names), None)


def _either(*els: Tag | None) -> Tag | None:
    """The first element given that is not None (an element's truth is its having children)."""
    return next((el for el in els if el is not None), None)


def _first(root: Tag, names: frozenset[str]) -> Tag | None:
    return next(_tags(root, names), None)


def _find(root: Tag, name: str, attr: str | None = None) -> Tag | None:
    """The first element named ``name`` under ``root`` (with attribute ``attr``, when given)."""
    for el in _tags(root, name):
        if attr is None or el.get(attr) is not None:
            return el
    return None


def _find_parent(el: Tag, name: str, attr: str | None = None) -> Tag | None:
    for parent in el.iterancestors(name):
        if attr is None or parent.get(attr) is not None:
            return parent
    return None


def _lines(el: Tag) -> list[str]:
    """The element's text lines, cleaned, empty ones left out."""
    raws = _get_text(el).split("\n")
    if max(map(len, raws)) <= _CACHED_CHARS:  # a card's lines: each cleaned in C when seen before
        return list(filter(None, map(_clean_short, raws)))
    return [line for raw in raws if (line := clean_line(raw))]


def _text(el: Tag) -> str:
    return clean_line(_get_text(el))


def _within(el: Tag, container: Tag) -> bool:
    return el is container or any(parent is container for parent in el.iterancestors())


class _Fence:
    """Elements to keep out of a search, with their subtrees and their ancestors."""

    __slots__ = ("around", "inside")

    def __init__(self, tags: Iterable[Tag | None]) -> None:
        inside: set[int] = set()
        around: set[int] = set()
        for tag in tags:
            if tag is not None:
                inside.update(map(id, tag.iter()))
                around.update(map(id, tag.iterancestors()))
        self.inside = inside
        self.around = around

    def covers(self, el: Tag) -> bool:
        return id(el) in self.inside

    def touches(self, el: Tag) -> bool:
        return id(el) in self.inside or id(el) in self.around


def _paragraph_tags(body: Tag, fence: _Fence | None = None) -> list[Tag]:
    figures = _page_has("figure")
    return [
        p
        for p in _tags(body, "p")
        if (not figures or _ancestor(p, _FIGURE) is None) and (fence is None or not fence.covers(p))
    ]


# -- parse the page, drop the chrome ------------------------------------------------------------------------


@dataclass
class _Parsed:
    root: Tag
    tree: _Tree
    trailing: int  # whitespace runs after </html> (text of the document outside the root element)
    elements: int = 0  # how many elements the tree holds
    depth: int = 0  # and how deep it nests (the root element is level 1)


def _parse(text: str) -> _Parsed | None:
    text = _flatten(_parseable(text))
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        root = _parse_tree(text)
    except (etree.LxmlError, ValueError, UnicodeError, RecursionError) as exc:
        _log.warning("unparseable HTML page: %s", exc)
        return None
    if root is None or not isinstance(root, HtmlElement):
        return None
    state = _Tree(ruby=next(root.iter("rt", "rp"), None) is not None)
    # Attribute names are the source's, ASCII lower-cased: a source that never names an itemprop has none
    # (looked for in C, where a walk over the elements would ask each for it).
    state.itemprops, state.time_attributes, state.testids = _source_names(text)
    keeps_spaces = next(root.iter(*_KEEPS_SPACES), None) is not None
    state.alive = list(root.iter())
    elements, depth = _walk_texts(state, root, state.alive, collapse=True, keeps_spaces=keeps_spaces)
    return _Parsed(root, state, _trailing_runs(text), elements, depth)


def _source_names(text: str) -> tuple[bool, bool, bool]:
    """Whether ``text`` holds "itemprop", a "data-" name that goes on to "time" or "date" (a data
    attribute naming a time, :data:`_DATA_NAME_RE`), and "data-testid", in any ASCII case: a page without
    them has no such attribute, and its elements need not be asked for one. Lower-casing a page's UTF-8
    bytes (ASCII letters only, as the parser lower-cases attribute names) costs a third of lower-casing its
    str; no other character lower-cases into one of these letters (the Kelvin sign's "k" is none of them,
    "İ" becomes two characters). ``text`` has no lone surrogate (:func:`_parseable`)."""
    low = text.encode("utf-8").lower()
    timed = any(b"time" in name or b"date" in name for name in _DATA_NAME_RE.findall(low))
    return b"itemprop" in low, timed, b"data-testid" in low


# A "data-" name runs to a space, quote, ">", "/" or "=": each run is read once (a lazy search for "time"
# after every "data-" took time in the square of a run of them). The whole source is read, so text or a
# script that spells such a name counts too (the elements are then asked, as on any page).
_DATA_NAME_RE = re.compile(rb"data-[^\s\"'>/=]*")


def _parse_tree(text: str) -> Tag | None:
    parser = HTMLParser(recover=True)
    # One element class for every tag, chosen in C: lxml.html's default lookup calls into Python for
    # every element proxy made (its form and input classes are not used here).
    parser.set_element_class_lookup(_CLASSES)
    parser.feed(text)
    return parser.close()


def _parseable(text: str) -> str:
    """``text`` without what lxml rejects (NULs, lone surrogates), which carries no text anyway. Most pages
    hold neither: the checks for that run in C (a pure-ASCII text is known as such without a look)."""
    if "\x00" not in text:
        if text.isascii():
            return text
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:  # a lone surrogate
            pass
    return _UNPARSEABLE_RE.sub("", text)


@lru_cache(maxsize=1)
def parser_caps_depth() -> bool:
    """Whether the HTML parser stops nesting at ``limits.MAX_DEPTH`` levels itself (libxml2 2.14 drops what
    lies deeper than 256), so that a deeply nested page costs it no more than a flat one and its bounds can
    be checked on the tree; an older parser took minutes over 50,000 nested <div>s."""
    root = _parse_tree("<div>" * (limits.MAX_DEPTH + 64))
    if root is None:
        return False
    return all(sum(1 for _ in el.iterancestors()) < limits.MAX_DEPTH for el in root.iter())


_CLASSES = etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
)


def _walk_texts(
    state: _Tree, root: Tag, nodes: list[Any], collapse: bool, keeps_spaces: bool = False
) -> tuple[int, int]:
    """With ``collapse``, a text run of nothing but ASCII spaces outside <pre>/<textarea> is one newline (if
    it holds one) or one space: the page's layout whitespace, not its text. Every run is an element's text
    or a node's tail (the parser leaves none outside the root element), read without making an XPath text
    node of each.
    ``nodes`` is the whole tree in document order (root first, every proxy held, so ids are stable); the
    same walk counts its elements and measures its depth (the root is level 1), for :mod:`limits`, and
    indexes the runs (:class:`_TextIndex`) unless the page has ruby annotations."""
    runs: list[str] = []
    owners: list[Any] = []
    spans: dict[int, tuple[int, int]] = {}
    open_: list[tuple[Any, int]] = []  # the elements around the walk's place, with their first runs
    run, own, push, pop = runs.append, owners.append, open_.append, open_.pop  # (a name lookup a node)
    elements = deepest = 0
    for node in nodes:
        parent = node.getparent()
        while open_ and open_[-1][0] is not parent:
            el, first = pop()
            spans[id(el)] = (first, len(runs))
            if el.tail:  # el is never the root, which stays open to the end: its parent is open
                run(el.tail)
                own(open_[-1][0])
        element = isinstance(node, HtmlElement)
        if element:
            elements += 1
            if len(open_) >= deepest:
                deepest = len(open_) + 1  # open_ holds the node's ancestors
            text = node.text
            blank = collapse and text and text != " " and text != "\n" and not text.strip(_ASCII_SPACES)
            if blank and (not keeps_spaces or not _kept_spaces(node)):
                text = node.text = "\n" if "\n" in text else " "
            push((node, len(runs)))
            if text:
                run(text)
                own(node)
        tail = node.tail
        blank = collapse and tail and tail != " " and tail != "\n" and not tail.strip(_ASCII_SPACES)
        if blank and (not keeps_spaces or parent is None or not _kept_spaces(parent)):
            tail = node.tail = "\n" if "\n" in tail else " "
        if tail and parent is not None and not element:
            run(tail)  # a comment or processing instruction: no text of its own, but a tail
            own(parent)
    while len(open_) > 1:
        el, first = open_.pop()
        spans[id(el)] = (first, len(runs))
        if el.tail:
            runs.append(el.tail)
            owners.append(open_[-1][0])
    spans[id(root)] = (0, len(runs))
    if not state.ruby:
        state.texts = _TextIndex(state.edits, runs, owners, spans, nodes)
    return elements, deepest


def _kept_spaces(el: Tag) -> bool:
    """Whether text directly in ``el`` keeps its spaces (inside <pre> or <textarea>)."""
    return el.tag in _KEEPS_SPACES or next(el.iterancestors(*_KEEPS_SPACES), None) is not None


_HTML_END_RE = re.compile(r"</html\s*>", re.IGNORECASE)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)


def _trailing_runs(text: str) -> int:
    """How many whitespace runs follow the page's last </html>: each is a text of the document itself."""
    end = None
    for end in _HTML_END_RE.finditer(text[-4096:]):  # noqa: B007 (the last one)
        pass
    if end is None:
        return 0
    parts = _COMMENT_RE.split(text[len(text) - min(len(text), 4096) + end.end() :])
    if any(p.strip(_ASCII_SPACES) for p in parts):
        return 0  # text after the end: the parser puts it back into the body
    return sum(1 for p in parts if p)


def _flatten(text: str) -> str:
    """Make the page's text line-structured before it is parsed: its source line breaks become spaces (in
    HTML a newline in text is only a space) and a newline goes where the page breaks lines (block edges,
    <br>, <hr>), so get_text() keeps "Reuters" and "2 hours ago" in sibling <div>s apart. Scripts keep
    their text (their JSON is read as it is). One pass over the source instead of a tree edit per node."""
    parts = _split_scripts(text)
    for i in range(0, len(parts), 2):
        parts[i] = _broken(parts[i].replace("\r", " ").replace("\n", " "))
    return "".join(parts)


def _split_scripts(text: str) -> list[str]:
    """``text`` cut around its scripts (``<script …>`` to ``</script>``): [outside, script, outside, …,
    outside]. Each search starts where the last ended, so a page of unclosed script tags costs one pass
    (a lazy regex for the whole script from every "<script" took time in the square of their count)."""
    parts: list[str] = []
    pos = 0
    while (opened := _SCRIPT_OPEN_RE.search(text, pos)) is not None:
        head_end = text.find(">", opened.end())
        closed = _SCRIPT_CLOSE_RE.search(text, head_end + 1) if head_end >= 0 else None
        if closed is None:  # nothing after it closes a script, nor after any later one
            break
        parts += (text[pos : opened.start()], text[opened.start() : closed.end()])
        pos = closed.end()
    parts.append(text[pos:])
    return parts


def _broken(part: str) -> str:
    """``part`` with a newline before each block end tag and after each block start tag, <br> and <hr>.
    No tag ends after the last ">": the rest is left out of the search, so a page of unclosed tags costs
    one pass (every "<div" would otherwise read on to the end)."""
    end = part.rfind(">") + 1
    # split() gives [text, tag, slash, text, tag, slash, ..., text]: no Python call per tag
    pieces = _BLOCK_TAG_SPLIT_RE.split(part[:end])
    pieces[-1] += part[end:]
    tags = zip(pieces[1::3], pieces[2::3], strict=True)
    pieces[1::3] = [f"\n{tag}" if slash else f"{tag}\n" for tag, slash in tags]
    pieces[2::3] = [""] * (len(pieces) // 3)
    return "".join(pieces)


def _drop_chrome(parsed: _Parsed, keep: set[int]) -> None:
    """Remove page chrome in place; ``keep`` holds ids of elements a site profile selected. Outer elements
    first; what lies inside a removed element is not looked at."""
    soup = parsed.root
    _remove(soup, list(soup.iterdescendants(*_NEVER_TEXT)), lambda el: True)
    page_chars = _text_length(soup) + parsed.trailing

    def chrome(el: Tag) -> bool:
        if id(el) in keep:
            return False
        if _is_label(_get_text(el)):
            return False  # a "Sponsored" badge stays so that the card around it is recognised and dropped
        return not _holds_content(el, page_chars, structural=el.tag in ("nav", "header", "footer", "form"))

    _remove(soup, _chrome_elements(soup), chrome)


def _text_length(el: Tag) -> int:
    """``len(_get_text(el))``, counted in C without making the text (where ruby annotations need no
    leaving out)."""
    if _TREE.get().ruby:
        return len(_get_text(el))
    return int(_TEXT_LENGTH(el))


_TEXT_LENGTH = etree.XPath("string-length(string(.))")


def _chrome_elements(root: Tag) -> list[Tag]:
    """The elements below ``root`` that look like chrome (:func:`_is_chrome_element`), in page order."""
    return [el for el in root.iterdescendants(etree.Element) if _is_chrome_element(el)]


def _remove(root: Tag, candidates: list[Tag], drop: Callable[[Tag], bool]) -> None:
    """Remove each of ``candidates`` (elements below ``root``, in page order) for which ``drop`` holds,
    outermost first: one inside an element already removed is passed over. An empty comment takes its
    place and its tail, so the text runs before and after it stay two runs. A current text index is kept
    current (:func:`_unindex`)."""
    removed: set[int] = set()
    texts = _current_texts()
    for el in candidates:
        if removed and any(id(parent) in removed for parent in el.iterancestors()):
            continue
        if drop(el):
            tail = el.tail
            mark = _replace_with_mark(el)
            if texts is not None and not _unindex(texts, el, tail, mark.tail):
                texts = None
            removed.add(id(el))
    if removed:
        _edited()
        if texts is not None:
            texts.edits = _TREE.get().edits


def _unindex(texts: _TextIndex, el: Tag, tail: str | None, kept: str | None) -> bool:
    """Take a removed element's runs out of the index: each becomes empty, in its place (what the texts of
    every element around give, and every reader passes empty runs over), and its tail is what the mark
    that took its place kept of it. False when the element is not indexed (the index no longer holds)."""
    span = texts.spans.get(id(el))
    if span is None:
        return False
    first, end = span
    texts.runs[first:end] = [""] * (end - first)
    if tail:
        texts.runs[end] = kept or ""
    return True


def _replace_with_mark(el: Tag) -> Any:
    mark = etree.Comment("")
    _set_text(mark, el.tail, tail=True)
    el.tail = None
    parent = el.getparent()
    if parent is not None:
        parent.replace(el, mark)
    return mark


# Characters a parsed page may hold but lxml refuses to be handed (C0 controls but tab, newline, return).
_XML_REFUSED_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _set_text(el: Any, text: str | None, tail: bool = False) -> None:
    """Set an element's text (or tail); control characters lxml refuses are dropped, as every reader of
    the text drops them anyway."""
    try:
        setattr(el, "tail" if tail else "text", text)
    except ValueError:
        setattr(el, "tail" if tail else "text", _XML_REFUSED_RE.sub("", text or ""))


def _attached(el: Tag, soup: Tag) -> bool:
    return el is soup or any(parent is soup for parent in el.iterancestors())


_MARK_ATTRIBUTES = frozenset({"role", "hidden", "style", "aria-hidden", "aria-label"})


def _is_chrome_element(el: Tag) -> bool:
    get = el.get
    classes, ident = get("class"), get("id")
    if (classes and _chrome_raw(classes)) or (ident and _chrome_raw(ident)):
        return True  # words of the class and of the id, each split once per distinct value
    name = el.tag
    if name in ("nav", "form", "dialog"):
        return True
    if name in ("header", "footer") and _ancestor(el, _CARD_PARENTS) is None:
        return True
    if _MARK_ATTRIBUTES.isdisjoint(el.keys()):
        return False  # the marks below are all attributes (most elements have a class or id at most)
    role = get("role")
    if role and role.lower() in _CHROME_ROLES:
        return True
    if get("hidden") is not None:
        return True
    style = get("style")
    if style and _HIDDEN_STYLE_RE.search(style):
        return True
    if get("aria-hidden") == "true" and (
        name != "a" or (_get_text(el).strip() and next(el.iter("img"), None) is None)
    ):
        # Hidden from screen readers only: its text repeats what is shown. A link without text, or holding
        # a picture (with a video's "2:14" over it), is a card's thumbnail (Yahoo marks the picture's
        # duplicate link so), shown to everyone: it stays.
        return True
    label = get("aria-label")
    return bool(label) and _is_label(label)


def _holds_content(el: Tag, page_chars: int, structural: bool) -> bool:
    """A chrome-looking element that wraps the page's real content (an ASP.NET page-wide <form>,
    a <div class="has-ads"> wrapper) must stay; a site header holding the logo's <h1> must not."""
    if el.tag in ("html", "body", "main"):
        return True
    first_h1 = True
    for inner in _tags(el):
        if inner.tag == "main" or (inner.get("itemprop") is not None and _is_article_body(inner)):
            return True
        if inner.tag == "h1" and first_h1:
            first_h1 = False
            if not structural or len(_get_text(inner).split()) >= 4:
                return True  # a headline, not a logo
    return len(_get_text(el)) * 2 > page_chars > 500


def _is_article_body(el: Tag) -> bool:
    """The element matches [itemprop~=articleBody] (without running a CSS selector over the page)."""
    return "articleBody" in (_attr(el, "itemprop") or "").split()


def _article_body(root: Tag) -> Tag | None:
    if not _has_itemprops():
        return None
    return next((el for el in _tags(root) if el.get("itemprop") is not None and _is_article_body(el)), None)


def _ad_link(href: str) -> bool:
    href = href.strip()
    if not href.startswith(("http:", "https:", "//")):
        return False
    if (
        _AD_NAME_RE.search(href.lower()) is None
        and "\t" not in href
        and "\r" not in href
        and "\n" not in href
    ):
        return False  # no ad network's name in it: its host cannot be one (cheap test before urlsplit)
    try:
        host = urlsplit(href).hostname
    except ValueError:
        return False
    return bool(host and _AD_HOST_RE.match(host.lower()))


@lru_cache(maxsize=16384)
def _label(text: str) -> bool:
    folded = text.strip().strip(":").casefold()
    return folded in _SPONSOR_LABELS or bool(_SPONSOR_LINE_RE.match(folded))


def _is_label(text: str) -> bool:
    if len(text) <= _CACHED_CHARS:
        return _label(str(text))
    folded = text.strip().strip(":").casefold()
    return folded in _SPONSOR_LABELS or bool(_SPONSOR_LINE_RE.match(folded))


def _page_has(name: str) -> bool:
    """Whether the page's tree as it stands holds an element named ``name`` (looked for once per tree
    edit, in C): where it holds none, no element has one around it. True outside an extraction."""
    alive = _TREE.get().alive
    if not alive:
        return True
    return bool(_remembered(f"has {name}", alive[0], lambda root: next(root.iter(name), None) is not None))


def _remembered(kind: str, el: Tag, compute: Callable[[Tag], Any]) -> Any:
    """``compute(el)``, made once per element and tree shape in this extraction."""
    state = _TREE.get()
    key = (kind, id(el))
    known = state.memo.get(key)
    if known is not None and known[0] == state.edits:
        return known[2]
    value = compute(el)
    state.memo[key] = (state.edits, el, value)
    return value


def _text_runs(root: Tag) -> Iterable[str]:
    """The texts of :func:`_strings` as plain strings (without the element each belongs to)."""
    if _TREE.get().ruby:
        return _PLAIN_TEXT_STRINGS(root)  # type: ignore[no-any-return]
    runs = _indexed(root)
    return root.itertext() if runs is None else runs


def _sponsored(record: Tag) -> bool:
    """Paid placement: a sponsor class on the record (or a wrapper), a rel=sponsored link, or a label."""
    if _sponsor_words(record, False) or _sponsor_above(record.getparent()):
        return True
    for a in _tags(record, "a"):
        if "sponsored" in (a.get("rel") or "").lower() or _ad_link(a.get("href") or ""):
            return True
    if any(map(_label, [run for run in _text_runs(record) if len(run) <= 60])):
        return True  # a badge element: <span>Sponsored</span>, even when glued to the brand next to it
    lines = _lines(record)
    if max(map(len, lines), default=0) <= _CACHED_CHARS:  # each line read once per page, in C after that
        return any(map(_labelled_short, lines))
    return any(_labelled_line(line) for line in lines)


def _sponsor_above(el: Tag | None) -> bool:
    """Whether ``el`` or an element around it carries a sponsor prefix word; remembered per element for
    the extraction (cards share their wrappers), with the element held so that its id stays its own."""
    memo = _TREE.get().sponsor_above
    chain: list[Tag] = []
    found = False
    while el is not None:
        known = memo.get(id(el))
        if known is not None:
            found = known[1]
            break
        chain.append(el)
        el = el.getparent()
    for node in reversed(chain):
        found = found or _sponsor_words(node, True)
        memo[id(node)] = (node, found)
    return found


def _labelled_line(line: str) -> bool:
    """A line of which a part (between separators) is a paid-placement label."""
    if len(line) <= _CACHED_CHARS:
        return _labelled_short(line)
    return any(_is_label(part) for part in _SEPARATOR_RE.split(line))


@lru_cache(maxsize=16384)
def _labelled_short(line: str) -> bool:
    return any(_is_label(part) for part in _SEPARATOR_RE.split(line))
