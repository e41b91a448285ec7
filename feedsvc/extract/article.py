"""One article page -> its text and facts: trafilatura for the body, the page's structured data where it
misses.

The only module that imports trafilatura. ``read_article`` never raises: a page the libraries cannot read
gives None (or an Article without a body), and every input is bounded (size cap, lxml's depth limit).
Body: trafilatura's main-content extraction (it drops navigation, "most read" lists, related-link boxes
and comments): its fast pass, and its whole cascade (readability and justext compared) only where the
fast result is one the cascade could replace. When the page's own ``articleBody`` (JSON-LD, microdata
``<meta itemprop>``, live-blog updates) holds clearly more text, that wins, since the visible DOM of an
app shell or a paywalled page shows only a skeleton or a teaser (no extraction is made when it holds
more than the whole page shows). Facts: structured data first (JSON-LD, meta tags), then what the page
shows (a ``<time datetime>``, a "Published 19 August 2025, 14:30 BST" line), then trafilatura's guesses.
"""

from __future__ import annotations

import copy
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import cache
from itertools import chain
from typing import Any, Literal
from zoneinfo import ZoneInfo

import trafilatura
from lxml import etree
from lxml.html import HtmlElement, tostring
from trafilatura.settings import DEFAULT_CONFIG, Extractor
from trafilatura.utils import load_html

from feedsvc.extract import jsonld
from feedsvc.extract.clean import clean_body, clean_line
from feedsvc.extract.jsonld import text as _ld_str
from feedsvc.extract.times import named_zone

_log = logging.getLogger(__name__)
# trafilatura logs a warning for every page it finds too little text in; that is an answer here, not news.
for _name in ("trafilatura", "htmldate", "courlan", "justext"):
    logging.getLogger(_name).setLevel(logging.ERROR)

Mode = Literal["default", "recall", "precision"]

# Larger pages are cut before parsing: no article needs more, and parsing cost grows with size.
MAX_HTML_CHARS = 3_000_000


@dataclass(frozen=True)
class Article:
    """What one article page says about itself; every field may be missing."""

    title: str | None
    body: tuple[str, ...]  # paragraphs, as cleaned by feedsvc.extract.clean.clean_body
    author: str | None
    site_name: str | None
    published: datetime | None  # aware, UTC
    url: str | None
    language: str | None

    @property
    def body_text(self) -> str:
        return "\n\n".join(self.body)


# -- public API ---------------------------------------------------------------------------------------------


def read_article(
    html: str | HtmlElement,
    url: str | None = None,
    *,
    ld: Mapping[str, Any] | None = None,
    byline: bool = True,
) -> Article | None:
    """The article of an article page; None when the page cannot be parsed at all. Never raises.

    ``html`` is the page's text, or its root element when the caller has parsed it already (the tree is
    not changed: the reader works on a copy, without comments, as a parse of the page's text gives it).
    ``ld`` is the page's JSON-LD article object when the caller has read it already (the HTML it passes
    may have lost its scripts); the page's own JSON-LD wins when it has one. ``byline=False`` leaves the
    author to the structured data alone: the search of the page for a byline is trafilatura's metadata
    pass, and a caller that has no use for the author should not pay for it."""
    try:
        return _read(html, url, ld, byline)
    except Exception as exc:  # a library bug on odd markup must not take the pipeline down
        _log.warning("article reader failed on %s: %s", url or "page", exc)
        return None


def library_extract(html: str, url: str | None = None, mode: Mode = "default") -> Article | None:
    """trafilatura alone, without our fallbacks (the benchmark's baseline). Never raises."""
    try:
        tree = _load(html)
        if tree is None:
            return None
        doc = _trafilatura(tree, url, mode)
        if doc is None:
            return None
        return Article(
            title=_clean(doc.title),
            body=_paragraphs(doc.text or ""),
            author=_clean(doc.author),
            site_name=_clean(doc.sitename),
            published=_date_only(doc.date),
            url=_clean(doc.url) or url,
            language=_clean(doc.language),
        )
    except Exception as exc:
        _log.warning("trafilatura failed on %s: %s", url or "page", exc)
        return None


# -- the reader ---------------------------------------------------------------------------------------------


def _read(
    html: str | HtmlElement, url: str | None, ld: Mapping[str, Any] | None, byline: bool
) -> Article | None:
    tree = _load(html)
    if tree is None:
        return None
    facts = _Facts(tree, ld)
    title, site_name, author = facts.title(), facts.site_name(), facts.author()
    published = facts.published(facts.language)
    # trafilatura's metadata (htmldate's date search above all) costs a quarter of its extraction: it is
    # read only for what the page's own data does not say
    guess = (
        _guesses(tree, url) if not (title and site_name and published and (author or not byline)) else None
    )
    title = title or (_clean(guess.title) if guess is not None else None)
    canonical = facts.url()
    structured = facts.article_body()
    if structured and _words(structured) > _words(_page_text(tree)) * 1.2:
        # The page's own articleBody holds more than all the page shows (an app shell, a paywalled
        # teaser): no extraction of the page could win against it, so none is made.
        body = structured
    else:
        _drop_head(tree)  # the facts are read; the extraction has no use for the rest of <head>
        body = _without_title(_extracted_body(tree), title)
        more = bool(structured) and _words(structured) > _words(body) * 1.2
        # the same text, better split (trafilatura may read a JSON-LD articleBody as one paragraph)
        same = bool(structured) and _words(structured) >= _words(body) * 0.9 and len(structured) > len(body)
        if more or same:
            body = structured
    if published is None and guess is not None:
        published = _date_only(guess.date)
        if published is not None and (published.month, published.day) == (1, 1):
            published = None  # htmldate's guess from a "© 2025" line: a year, not a date
    if author is None and byline and guess is not None:
        author = _clean(guess.author)
    return Article(
        title=title,
        body=body,
        author=author,
        site_name=site_name or (_clean(guess.sitename) if guess is not None else None),
        published=published,
        url=canonical or url,
        language=facts.language,
    )


def _load(html: str | HtmlElement) -> Any:
    if isinstance(html, HtmlElement):
        return _tree_copy(html)
    if not isinstance(html, str) or not html.strip():
        return None
    text = html[:MAX_HTML_CHARS].replace("\x00", "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_html(text)


# What trafilatura's loader removes from a page's text before parsing it (control characters).
_INVALID_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Attributes that hold a list of words: as a parse of the page's text has them, one space apart.
_WORD_LISTS = {"*": ("class", "accesskey", "dropzone"), "a": ("rel", "rev"), "link": ("rel", "rev"),
               "td": ("headers",), "th": ("headers",), "form": ("accept-charset",), "object": ("archive",),
               "area": ("rel",), "icon": ("sizes",), "iframe": ("sandbox",), "output": ("for",)}  # fmt: skip
_WORD_LIST_NAMES = frozenset(name for names in _WORD_LISTS.values() for name in names)


def _tree_copy(root: HtmlElement) -> Any:
    """A copy of an already parsed page as trafilatura's own loader would give it from the page's text: no
    comments (their neighbours' text joined), word-list attributes one space apart, no control characters.
    None for what the loader would refuse (a document that does not start like HTML and has under two
    children) or an empty one."""
    if _dubious(root) and len(root) < 2:
        return None
    text = tostring(root, method="text", encoding="unicode", with_tail=False)  # its texts, joined in C
    if len(text) > MAX_HTML_CHARS:
        # A page past the reader's size cap: read the cut text, as from a page given as text.
        return _load(tostring(root, encoding="unicode"))
    tree = copy.deepcopy(root)
    if _INVALID_XML_RE.search(text):
        for el in tree.iter():
            if el.text and isinstance(el.tag, str):
                el.text = _INVALID_XML_RE.sub("", el.text)
            if el.tail:
                el.tail = _INVALID_XML_RE.sub("", el.tail)
    for comment in list(tree.iter(etree.Comment)):
        comment.drop_tree()
    for el in tree.iter(etree.Element):
        for name, value in el.items():  # the attributes it has, rather than a look-up of each list's
            if (
                name in _WORD_LIST_NAMES
                and value != (spaced := " ".join(value.split()))
                and (name in _WORD_LISTS["*"] or name in _WORD_LISTS.get(el.tag, ()))
            ):
                el.set(name, _INVALID_XML_RE.sub("", spaced))
    return tree


def _dubious(root: HtmlElement) -> bool:
    """trafilatura's test of a page's text: its first 50 characters do not name html."""
    head = [f"<!--{c.text or ''}-->" for c in root.itersiblings(preceding=True)][::-1]
    doctype = root.getroottree().docinfo.doctype
    start = (f"{doctype}\n" if doctype else "") + "".join(head) + "<html"
    return "html" not in start[:50].lower()


def _drop_head(tree: Any) -> None:
    """Empty the page's <head> but for its JSON-LD (which trafilatura's forum check and its rescue from
    structured data read). Every other step of its body extraction deletes <head> (its cleaning) or reads
    <body> alone (its page measure, its last-resort text dump); walking the meta, link, style and script
    elements up there on each of its passes costs about a twentieth of a page's extraction."""
    head = tree.find("head")
    for el in list(head) if head is not None else ():
        if el.tag != "script" or (el.get("type") or "").strip().lower() != "application/ld+json":
            head.remove(el)


def _extracted_body(tree: Any) -> tuple[str, ...]:
    """trafilatura's body of the page, as paragraphs (it works on a copy: the tree stays as parsed)."""
    doc = _body_doc(tree, tables=True)
    body = _paragraphs(doc.text or "") if doc is not None else ()
    if any(p.startswith("|") and len(p.split()) > _LAYOUT_TABLE_WORDS for p in body):
        # A layout table (the whole page in <td>s) read as one data row: read the page without tables.
        retry = _body_doc(tree, tables=False)
        doc = retry if retry is not None and retry.text else doc
        body = _paragraphs(doc.text or "") if doc is not None else ()
    return body


def _body_doc(tree: Any, tables: bool) -> Any:
    """trafilatura's extraction of the page's body: its fast pass (its own extractor alone), then its whole
    cascade (readability and justext compared with it) only when the fast result is one the cascade could
    replace (:func:`_doubtful`). The cascade costs about three quarters again of the fast pass and, on a
    page the fast pass reads well, gives the same text."""
    doc = _bare_extraction(tree, _options(tables, fast=True))
    if _doubtful(doc, tree):
        return _bare_extraction(tree, _options(tables, fast=False))
    return doc


def _bare_extraction(tree: Any, options: Extractor) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trafilatura.bare_extraction(tree, options=options)


@cache
def _options(tables: bool, fast: bool) -> Extractor:
    """trafilatura's settings for a body, made once (reading them from its config costs more than a small
    page's extraction step). trafilatura never changes them, so threads share them. No URL: it serves
    only to resolve links and images, which a body leaves out."""
    return Extractor(output_format="python", fast=fast, comments=False, tables=tables, dedup=False)


# Below this many characters trafilatura's cascade tries justext on its own extraction.
_MIN_EXTRACTED = DEFAULT_CONFIG.getint("DEFAULT", "MIN_EXTRACTED_SIZE", fallback=250)
# The page's running text, as the cascade's readability sees it: text outside links (it drops link-dense
# blocks; menus and lists of headlines are links) and outside what is never shown.
_PROSE_XPATH = etree.XPath(
    "//body/descendant::text()[not(ancestor::a or ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template or ancestor::button or ancestor::select or ancestor::option)]",
    smart_strings=False,
)
_BODY_TEXT_LENGTH = etree.XPath("string-length(//body)")
# Every text of the page but its scripts and styles: more than any extraction of it can hold.
# "/descendant::", not "//": with a predicate, "//text()" is read as a step per node (in time the square of
# a wide tree's size).
_PAGE_TEXT_XPATH = etree.XPath(
    "/descendant::text()[not(ancestor::script or ancestor::style)]", smart_strings=False
)


def _doubtful(doc: Any, tree: Any) -> bool:
    """Whether trafilatura's fast result is one its full cascade could replace, by the rules the cascade
    replaces its own extraction by: nothing found, or text too short to trust (justext is tried); no
    paragraph in it, or more tables than paragraphs (readability's text wins); or readability could
    return over twice as much text (it wins then), which only a page whose running text is over twice
    the extraction's allows: the fast pass picked a teaser or a box, not the article."""
    text = (doc.text or "") if doc is not None else ""
    if len(text) < _MIN_EXTRACTED:
        return True
    paragraphs = len(doc.body.findall(".//p")) if doc.body is not None else 0
    if not paragraphs or len(doc.body.findall(".//table")) > paragraphs:
        return True
    if _BODY_TEXT_LENGTH(tree) <= 2 * len(text):
        return False  # not even all the text in the page's body (scripts included) is twice as long
    return sum(map(len, map(str.strip, _PROSE_XPATH(tree)))) > 2 * len(text)


def _page_text(tree: Any) -> tuple[str, ...]:
    return (" ".join(_PAGE_TEXT_XPATH(tree)),)


def _trafilatura(tree: Any, url: str | None, mode: Mode) -> Any:
    """trafilatura as a caller would use it alone: with its metadata (the benchmark's baseline)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trafilatura.bare_extraction(
            tree,
            url=url,
            with_metadata=True,
            include_comments=False,
            favor_recall=mode == "recall",
            favor_precision=mode == "precision",
            deduplicate=False,
        )


def _guesses(tree: Any, url: str | None) -> Any:
    """trafilatura's metadata of the page (title, author, site name, date), as its extraction reads them;
    nothing where they cannot be read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return trafilatura.extract_metadata(tree, default_url=url)
        except (TypeError, ValueError):
            return None


_LIST_MARK_RE = re.compile(r"^[-*•]\s+")
_LAYOUT_TABLE_WORDS = 60


def _without_title(body: tuple[str, ...], title: str | None) -> tuple[str, ...]:
    """trafilatura often starts the text with the headline: drop it (and a repeat of it)."""
    key = _key(title or "")
    start = 0
    while start < len(body) and key and _key(body[start]) == key:
        start += 1
    return body[start:]


def _key(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def _paragraphs(text: str) -> tuple[str, ...]:
    return clean_body([_LIST_MARK_RE.sub("", line) for line in text.split("\n")])


def _words(paragraphs: tuple[str, ...]) -> int:
    # CJK text has no spaces: count its characters as words, roughly.
    return sum(len(p.split()) + len(_CJK_RE.findall(p)) for p in paragraphs)


_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _clean(value: Any) -> str | None:
    return clean_line(value) or None if isinstance(value, str) else None


def _date_only(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=UTC)
    except ValueError:
        return None


# -- structured data and visible facts ----------------------------------------------------------------------

_META_TIMES = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "publishdate",
    "publish-date",
    "pubdate",
    "date",
    "dc.date.issued",
    "sailthru.date",
)
_TITLE_SPLIT_RE = re.compile(r"\s+[|–—-]\s+|\s*[|｜_]\s*")


class _Facts:
    """Meta tags, the JSON-LD article object and a few visible elements of one parsed page."""

    def __init__(self, tree: Any, ld: Mapping[str, Any] | None = None) -> None:
        self.tree = tree
        self.meta: dict[str, str] = {}
        for el in tree.iter("meta"):
            key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
            content = el.get("content")
            if key and content and content.strip():
                self.meta.setdefault(key, content.strip())
        self.ld = _ld_article(tree) or (dict(ld) if isinstance(ld, Mapping) else None)
        lang = (tree.get("lang") or self.meta.get("og:locale") or "").strip().lower().replace("_", "-")
        self.language = lang.split("-")[0] or None if lang else None
        self._region = lang.split("-")[1] if "-" in lang else None

    def _texts(self, xpath: str) -> Iterator[str]:
        for el in self.tree.xpath(xpath):
            text = clean_line(el.text_content()) if hasattr(el, "text_content") else ""
            if text:
                yield text

    # body --------------------------------------------------------------------------------------------------

    def article_body(self) -> tuple[str, ...]:
        raw = self.ld.get("articleBody") if self.ld else None
        if not isinstance(raw, str) or not raw.strip():
            raw = self.meta.get("articlebody")
        if isinstance(raw, str) and raw.strip():
            return clean_body(re.split(r"\n", raw))
        updates = self.ld.get("liveBlogUpdate") if self.ld else None
        if isinstance(updates, list):
            bodies = [u.get("articleBody") for u in updates if isinstance(u, dict)]
            return clean_body([b for b in bodies if isinstance(b, str)])
        return ()

    # title, author, site -----------------------------------------------------------------------------------

    def title(self) -> str | None:
        declared = [
            _clean(self.ld.get("headline")) if self.ld else None,
            _clean(self.meta.get("og:title")),
            _clean(self.meta.get("twitter:title")),
            _clean(self.meta.get("headline")),
        ]
        page_title = next(self._texts("//title"), None)
        candidates = [c for c in (*declared, page_title) if c]
        for h1 in self._texts("//h1"):
            if any(_similar(h1, c) for c in candidates):
                return h1
        for c in declared:
            if c:
                return c
        if page_title:
            # "Headline | Section | Site" or "Site - Headline": the longest part that is not the site
            site = _key(self.site_name() or "")
            parts = [p for p in _TITLE_SPLIT_RE.split(page_title) if p.strip() and _key(p) != site]
            return max(parts, key=len).strip() if parts else page_title
        return next(self._texts("//h1"), None)

    def author(self) -> str | None:
        people = _ld_people(self.ld.get("author")) if self.ld else []
        if people:
            return ", ".join(people)
        name = _clean(self.meta.get("author")) or _clean(self.meta.get("article:author"))
        if name and not name.startswith(("http://", "https://")):
            return name
        byline = _clean(self.meta.get("byl"))
        return re.sub(r"^by\s+", "", byline, flags=re.IGNORECASE) if byline else None

    def site_name(self) -> str | None:
        """Who the article is from: an organisation credited as author or provider, a "source" line,
        then the site itself."""
        ld = self.ld or {}
        for raw in (
            _ld_org(ld.get("author")),
            _ld_org(ld.get("provider")),
            _ld_org(ld.get("sourceOrganization")),
        ):
            if raw:
                return raw
        source = _clean(self.meta.get("source")) or next(
            (m.group(1) for t in self._texts("//*[contains(@class,'source')]") if (m := _SOURCE_RE.match(t))),
            None,
        )
        if source:
            return source
        return (
            _clean(self.meta.get("og:site_name"))
            or _ld_org(ld.get("publisher"), any_type=True)
            or self._site_in_title()
        )

    def _site_in_title(self) -> str | None:
        """The site in a page title ("Headline | Section | Site", "Site - Headline"): its last short part
        that is not the headline, else its first."""
        page_title = next(self._texts("//title"), None)
        parts = [p.strip() for p in _TITLE_SPLIT_RE.split(page_title or "") if p.strip()]
        if len(parts) < 2:
            return None
        headlines = [_key(h) for h in self._texts("//h1")]
        others = [p for p in parts if _key(p) not in headlines and len(p.split()) <= 5]
        if not others:
            return None
        return others[-1] if others[-1] == parts[-1] else others[0]

    def url(self) -> str | None:
        for el in self.tree.xpath("//link[@rel='canonical']"):
            href = (el.get("href") or "").strip()
            if href.startswith(("http://", "https://")):
                return href
        og = self.meta.get("og:url", "")
        return og if og.startswith(("http://", "https://")) else None

    # time --------------------------------------------------------------------------------------------------

    def published(self, language: str | None) -> datetime | None:
        zone = _zone(language, self._region)
        declared = [_ld_str(self.ld.get("datePublished")) if self.ld else None]
        declared += [self.meta.get(key) for key in _META_TIMES]
        for value in chain(declared, self._marked_times()):
            if value and (when := _machine_time(value, zone)) is not None:
                return when
        for text in self._texts("//body//*[not(self::script or self::style)][not(*) or self::time]"):
            if len(text) <= 120 and (when := _visible_time(text, zone)) is not None:
                return when
        return None

    def _marked_times(self) -> Iterator[str | None]:
        """Machine times in the page's elements, looked for only when its declared ones give none."""
        for el in self.tree.xpath("//time[@datetime]|//*[@data-timestamp]|//*[@data-date]"):
            yield el.get("datetime") or el.get("data-timestamp") or el.get("data-date")


_SOURCE_RE = re.compile(r"^(?:来源|來源|출처|source)\s*[:：]\s*(\S[^|]{0,40}?)\s*$", re.IGNORECASE)


def _similar(a: str, b: str) -> bool:
    a, b = a.casefold(), b.casefold()
    return a == b or (len(a) >= 12 and (b.startswith(a) or a in b))


def _ld_article(tree: Any) -> dict[str, Any] | None:
    return jsonld.article_in(
        script.text or "" for script in tree.xpath("//script[@type='application/ld+json']")
    )


def _ld_people(value: Any) -> list[str]:
    names = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and "organization" not in str(item.get("@type", "")).lower():
            if name := _clean(item.get("name")):
                names.append(name)
        elif isinstance(item, str) and (name := _clean(item)) and not name.startswith("http"):
            names.append(name)
    return names


def _ld_org(value: Any, any_type: bool = False) -> str | None:
    for item in value if isinstance(value, list) else [value]:
        is_org = isinstance(item, dict) and (any_type or "organization" in str(item.get("@type", "")).lower())
        if is_org and (name := _clean(item.get("name"))):
            return name
    return None


# -- times --------------------------------------------------------------------------------------------------

# Where a page gives a wall-clock time without a zone, its language (and region) says which zone it is.
_ZONES = {
    "de": "Europe/Berlin",
    "fr": "Europe/Paris",
    "es": "Europe/Madrid",
    "it": "Europe/Rome",
    "nl": "Europe/Amsterdam",
    "pt": "Europe/Lisbon",
    "pl": "Europe/Warsaw",
    "ja": "Asia/Tokyo",
    "zh": "Asia/Shanghai",
    "ko": "Asia/Seoul",
}
_REGION_ZONES = {"gb": "Europe/London", "ie": "Europe/Dublin", "au": "Australia/Sydney", "tw": "Asia/Taipei"}


def _zone(language: str | None, region: str | None) -> tzinfo:
    name = _REGION_ZONES.get(region or "") or _ZONES.get(language or "")
    return ZoneInfo(name) if name else UTC


def _machine_time(value: str, zone: tzinfo) -> datetime | None:
    value = value.strip()
    if value.isdigit() and len(value) in (10, 13):
        return datetime.fromtimestamp(int(value[:10]), UTC)
    iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value.replace(" ", "T", 1))
    try:
        parsed = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


_EN = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_FR = ("janv", "févr", "mars", "avr", "mai", "juin", "juil", "août", "sept", "oct", "nov", "déc")
_ES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
_MONTHS = {
    **{m: i for i, m in enumerate(_EN, 1)},
    **{m: i for i, m in enumerate(_FR, 1)},
    **{m: i for i, m in enumerate(_ES, 1)},
    "januar": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
}  # fmt: skip
_CLOCK = r"(?P<h>\d{1,2})(?:[:.h](?P<mi>\d{2}))?\s*(?P<ap>[ap]\.?\s?m\.?)?\s*(?:uhr\s*)?(?P<tz>[A-Z]{2,4}\b)?"
_VISIBLE_RES = (
    # 19 August 2025, 14:30 BST / 19 ago 2025 - 11:45 CEST / 19 août 2025 à 16h12
    re.compile(
        rf"(?P<d>\d{{1,2}})\.?\s+(?P<mon>[^\W\d_]{{3,9}})\.?\s+(?P<y>\d{{4}})"
        rf"(?:\s*(?:,|-|à|a las|um)?\s*{_CLOCK})?",
        re.I,
    ),
    # Aug 19, 2025 / 09:47 PM CDT  /  August 14, 2025 at 4:20 p.m.
    re.compile(
        rf"(?P<mon>[^\W\d_]{{3,9}})\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})(?:\s*(?:,|/|at|-)?\s*{_CLOCK})?",
        re.I,
    ),
    # 19.08.2025, 14:30 Uhr
    re.compile(rf"(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})\.(?P<y>\d{{4}})(?:\s*,?\s*{_CLOCK})?", re.I),
    # 2025-08-19 15:20 / 2025年8月19日 15:20
    re.compile(rf"(?P<y>\d{{4}})[-/年](?P<m>\d{{1,2}})[-/月](?P<d>\d{{1,2}})日?(?:\s*{_CLOCK})?", re.I),
)


def _visible_time(text: str, zone: tzinfo) -> datetime | None:
    """A date (and time) as a page shows it, in its stated zone, else the page's local zone."""
    for pattern in _VISIBLE_RES:
        match = pattern.search(text)
        if match is None:
            continue
        parts = match.groupdict()
        month = (
            int(parts["m"]) if parts.get("m") else _MONTHS.get((parts.get("mon") or "").lower().rstrip("."))
        )
        if month is None:
            month = next(
                (n for name, n in _MONTHS.items() if (parts.get("mon") or "").lower().startswith(name)), None
            )
        if month is None:
            continue
        hour = int(parts["h"]) if parts.get("h") else 0
        minute = int(parts["mi"]) if parts.get("mi") else 0
        if parts.get("ap"):
            hour = hour % 12 + (12 if parts["ap"].lower().startswith("p") else 0)
        here = named_zone(parts.get("tz") or "") or zone
        try:
            return datetime(int(parts["y"]), month, int(parts["d"]), hour, minute, tzinfo=here).astimezone(
                UTC
            )
        except ValueError:
            continue
    return None
