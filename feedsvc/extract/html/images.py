"""Story pictures: an article page's lead image (Open Graph, Twitter card, JSON-LD), a card's <img>.

Only what is a photo of the story counts: never a data: URI, a tracking pixel, a logo, icon, avatar,
sprite or placeholder. Every address is resolved against the page and kept only when it is an absolute
http(s) URL of bounded length (a longer one is dropped, not cut: a cut URL is a broken one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from feedsvc.extract import jsonld
from feedsvc.extract.html.dom import (
    _FIGURE,
    _LOGO_SUFFIX_RE,
    Tag,
    _ancestor,
    _attr,
    _Fence,
    _next_tag,
    _page_has,
    _tags,
    _words,
    clean_line,
)
from feedsvc.extract.html.page import _Page

MAX_IMAGE_URL = 2048
_PICTURE = frozenset({"picture"})

# Lazy-loading scripts keep the real address here while src holds a placeholder (Yahoo, MSN: data-src;
# Bing: data-src-hq; jQuery lazyload: data-original).
_LAZY_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-src-hq", "data-hi-res-src", "data-lazy")
_SRCSET_ATTRS = ("srcset", "data-srcset", "data-lazy-srcset")
# Formats every feed reader shows; a <picture> offering AVIF or JPEG XL also has one of these.
_SHOWN_TYPES = frozenset({"", "image/jpeg", "image/jpg", "image/png", "image/webp", "image/gif"})
# Words in an image's class or id that mark it as page furniture, not a story's photo.
_FURNITURE = frozenset({
    "logo", "logos", "icon", "icons", "favicon", "avatar", "avatars", "sprite", "sprites", "placeholder",
    "spacer", "pixel", "badge", "badges", "emoji", "gravatar", "spinner", "loader", "tracking", "beacon",
})  # fmt: skip
# In an address fewer words are sure signs ("fashion-icon-dies.jpg" and "pixel-9-review.jpg" are photos):
# these anywhere in the path, and a file named only for what it is ("/img/blank.gif", "/t/1x1.png").
_FURNITURE_PATH_WORDS = frozenset({
    "logo", "logos", "icons", "favicon", "avatar", "avatars", "sprite", "sprites", "placeholder", "spacer",
    "gravatar",
})  # fmt: skip
_FURNITURE_FILES = frozenset({"pixel", "blank", "transparent", "spacer", "1x1", "clear", "trans", "empty"})
# One search in C: a name glued into a word ("msnlogo", "faviconv2"), or one of the words as a whole word
# of the path (a run of letters and digits).
_FURNITURE_PATH_RE = re.compile(
    rf"logo|favicon|sprite|(?<![a-z0-9])(?:{'|'.join(sorted(_FURNITURE_PATH_WORDS))})(?![a-z0-9])"
)
_LOGO_ALT_RE = re.compile(r"\blogo$", re.IGNORECASE)
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*+(?:px)?\s*+$")  # possessive: a run of spaces read once
_STYLE_SIZE_RE = re.compile(r"(?:^|;)\s*(width|height)\s*:\s*(\d+(?:\.\d+)?)px", re.IGNORECASE)
# A story photo is a picture; an outlet's badge beside its name, an icon or a pixel is smaller than this.
_MIN_SIDE = 50


def page_image(page: _Page) -> str | None:
    """The page's own lead image, as it declares it for sharing: og:image, twitter:image, then JSON-LD
    ``image``/``thumbnailUrl``, then <link rel=image_src>."""
    meta = page.meta
    ld = page.ld or {}
    declared = [
        meta.get("og:image:secure_url"),
        meta.get("og:image"),
        meta.get("og:image:url"),
        meta.get("twitter:image"),
        meta.get("twitter:image:src"),
        *jsonld.image_urls(ld.get("image")),
        *jsonld.image_urls(ld.get("thumbnailUrl")),
        _image_src_link(page),
    ]
    return next((url for raw in declared if (url := image_url(page, raw))), None)


def _image_src_link(page: _Page) -> str | None:
    for link in _tags(page.soup, "link"):
        if "image_src" in (_attr(link, "rel") or "").lower().split():
            return _attr(link, "href")
    return None


def block_image(
    page: _Page, block: Tag | None, fence: _Fence | None = None, outlet: str | None = None
) -> str | None:
    """The first photo in ``block`` (a card, or an article's body): its largest srcset candidate (or its
    <picture>'s), else its lazy-loaded address, else its src; furniture skipped. Images under ``fence``
    (other stories' cards) are not this block's, nor is one whose alt text is the ``outlet``'s name (the
    source's badge: a photo's alt describes the photo; a photo whose alt is its agency's credit, "REUTERS"
    over a Reuters story, stays: see :func:`is_photo`)."""
    if block is None:
        return None
    named = _brand(outlet) if outlet else None
    for img in _tags(block, "img"):
        if fence is not None and fence.covers(img):
            continue
        if _furniture(img) or (named and _alt_names(img, named) and not is_photo(img)):
            continue
        for raw in _addresses(img):
            url = image_url(page, raw)
            if url:
                return url
    return None


def image_url(page: _Page, raw: str | None) -> str | None:
    """``raw`` resolved against the page: an absolute http(s) URL within the length bound that does not
    name furniture ("…/logo.png", "…/faviconV2?…", "…/spacer.gif", an SVG), else None."""
    raw = (raw or "").strip()
    if not raw or raw.lower().startswith("data:") or len(raw) > MAX_IMAGE_URL:
        return None
    url = page.url(raw)
    if url is None or len(url) > MAX_IMAGE_URL or " " in url.strip():
        return None
    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        return None
    if path.endswith(".svg") or _names_furniture(path):
        return None
    return url


def _names_furniture(path: str) -> bool:
    if _FURNITURE_PATH_RE.search(path):
        return True
    stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
    return stem in _FURNITURE_FILES


def _addresses(img: Tag) -> Iterator[str]:
    """The image's candidate addresses, best first."""
    get = img.get
    best = _largest(_candidates(map(get, _SRCSET_ATTRS)))
    if best is None:
        # lxml does not know <source> is void: the <img> after it may be parsed as its child.
        picture = _ancestor(img, _PICTURE) if _page_has("picture") else None
        if picture is not None:
            sources = [
                s
                for s in _tags(picture, "source")
                if (_attr(s, "type") or "").strip().lower() in _SHOWN_TYPES
            ]
            best = _largest(_candidates(_attr(s, a) for s in sources for a in _SRCSET_ATTRS))
    if best is not None:
        yield best
    for value in map(get, _LAZY_ATTRS):
        if value:
            yield value
    src = get("src")
    if src:
        yield src


def _candidates(values: Iterable[str | None]) -> list[tuple[str, float, bool]]:
    out: list[tuple[str, float, bool]] = []
    for value in values:
        if value:
            out.extend(parse_srcset(value))
    return out


def _largest(candidates: list[tuple[str, float, bool]]) -> str | None:
    """The widest candidate: by width descriptors where there are any, else by pixel density."""
    widths = [c for c in candidates if c[2]]
    pool = widths or candidates
    return max(pool, key=lambda c: c[1])[0] if pool else None


def parse_srcset(value: str) -> list[tuple[str, float, bool]]:
    """(url, size, is_width) per candidate of a srcset: "a.jpg 480w, b.jpg 960w" -> widths 480 and 960;
    "a.jpg, b.jpg 2x" -> densities 1 and 2. A URL may hold commas ("c_fill,w_400"): as in the HTML
    parsing rules, a candidate's URL runs to the next whitespace, and only a trailing comma ends it."""
    out: list[tuple[str, float, bool]] = []
    pos, n = 0, len(value)
    while pos < n:
        while pos < n and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            end = value.find(",", pos)
            end = n if end < 0 else end
            descriptor = value[pos:end].strip().lower()
            pos = end + 1
        if not url:
            continue
        size, is_width = _descriptor(descriptor)
        if size is not None:
            out.append((url, size, is_width))
    return out


def _descriptor(text: str) -> tuple[float | None, bool]:
    """(size, is_width) of a srcset descriptor ("480w", "2x", ""), (None, False) for one not understood."""
    if not text:
        return 1.0, False
    token = text.split()[0]
    try:
        number = float(token[:-1])
    except ValueError:
        return None, False
    if token.endswith("w"):
        return number, True
    if token.endswith("x"):
        return number, False
    return None, False


def _furniture(img: Tag) -> bool:
    """A pixel, an icon-sized image, or one whose class, id or alt marks it as a logo, icon or avatar."""
    get = img.get
    width, height, style = get("width"), get("height"), get("style")
    if width is not None or height is not None or style:  # most card photos give no size
        sides = [_side(width), _side(height)]
        for name, number in _STYLE_SIZE_RE.findall(style or ""):
            sides[0 if name.lower() == "width" else 1] = float(number)
        if any(side is not None and side < _MIN_SIDE for side in sides):
            return True
    if not _words(img).isdisjoint(_FURNITURE):
        return True
    parent = img.getparent()
    if (
        parent is not None
        and parent.tag not in ("a", "picture", "source")
        and not _words(parent).isdisjoint(_FURNITURE)
    ):
        return True
    alt = (_attr(img, "alt") or "").strip()
    return bool(_LOGO_ALT_RE.search(alt))


def is_photo(img: Tag) -> bool:
    """An image that is a picture, not a source's badge, whatever its alt says (an agency credit, "REUTERS",
    is the alt of many a photo): it sits in a <figure>, declares a photo's size (a badge beside a name is
    icon-sized), offers wide srcset candidates, or the text beside it is a caption or credit."""
    get = img.get
    size = {"width": _side(get("width")), "height": _side(get("height"))}
    size.update((name.lower(), float(number)) for name, number in _STYLE_SIZE_RE.findall(get("style") or ""))
    known = [side for side in size.values() if side is not None]
    if known and max(known) >= _PHOTO_SIDE and min(known) >= _MIN_PHOTO_SIDE:
        return True  # (a wordmark logo is wide and short: 120x24)
    if known and max(known) < _MIN_PHOTO_SIDE:
        return False  # icon-sized as declared (a time or source icon of 12-48 px), wherever it sits
    srcset = get("srcset") or get("data-srcset") or ""
    if srcset and any(wide and size >= _PHOTO_WIDTH for _, size, wide in parse_srcset(srcset)):
        return True
    if _ancestor(img, _FIGURE) is not None:
        return True
    beside = _next_tag(img)
    return beside is not None and (beside.tag == "figcaption" or not _words(beside).isdisjoint(_CAPTION))


_PHOTO_SIDE = 100  # badges and favicons are 16-48 px
_MIN_PHOTO_SIDE = 60
_PHOTO_WIDTH = 200
_CAPTION = frozenset({"caption", "credit", "credits", "copyright", "figcaption"})


def _alt_names(img: Tag, named: str) -> bool:
    alt = _attr(img, "alt")
    return alt is not None and _brand(clean_line(alt)) == named


def _brand(name: str) -> str:
    """A source's name as its badge's alt and its shown name are compared ("Reuters logo" is "reuters")."""
    return _LOGO_SUFFIX_RE.sub("", name).strip().casefold()


def _side(value: str | None) -> float | None:
    match = _SIZE_RE.match(value or "")
    return float(match.group(1)) if match else None
