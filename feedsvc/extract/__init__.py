"""Page -> stories: decode the bytes, pick the parser (HTML or text rendering), clean the result."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from feedsvc.errors import ExtractError
from feedsvc.extract import limits, times
from feedsvc.extract.clean import clip
from feedsvc.extract.text import parse_text
from feedsvc.models import Page, Source, Story

_CHARSET_RE = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_XML_DECL_RE = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_HTML_RE = re.compile(r"^\s*(?:<!doctype\s+html|<html|<head|<body|<!--|<meta|<div|<article)", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _known(name: bytes | str | None) -> str | None:
    if not name:
        return None
    text = name.decode("ascii", "ignore") if isinstance(name, bytes) else name
    try:
        info = codecs.lookup(text.strip())
    except (LookupError, ValueError):
        return None
    # rot13, base64, zlib ... are codecs too, but not text encodings: a page declaring one is not believed.
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode(data: bytes, content_type: str | None = None) -> str:
    """Bytes -> text: BOM, then the declared charset (HTTP header, meta tag, XML declaration), then UTF-8,
    then Windows-1252 (what undeclared legacy pages nearly always are)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    declared = None
    if content_type:
        match = _CHARSET_RE.search(content_type.encode("latin-1", "ignore"))
        declared = _known(match.group(1)) if match else None
    if declared is None:
        head = data[:4096]
        # The case-insensitive search costs ~10 ns a byte; most pages name no charset at all.
        match = _XML_DECL_RE.match(head) or (_CHARSET_RE.search(head) if b"charset" in head.lower() else None)
        declared = _known(match.group(1)) if match else None
    if declared and declared not in ("utf-8", "ascii"):
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if declared == "utf-8":
            return data.decode("utf-8", errors="replace")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # UTF-16/32 text is full of NULs
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROLS))  # in C, not a loop over 8 KB in Python
    return controls > len(sample) * 0.05


_CONTROLS = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def is_html(text: str, content_type: str | None = None) -> bool:
    if content_type and ("html" in content_type.lower() or "xml" in content_type.lower()):
        return True
    return bool(_HTML_RE.match(text[:1024]))


@dataclass(frozen=True)
class Extraction:
    """What one page gave: its stories and the title it gives itself (None for a text rendering, whose
    first line is a story's headline, not the page's name)."""

    stories: list[Story]
    title: str | None = None


def extract(page: Page, source: Source, max_bytes: int | None = None) -> list[Story]:
    """All stories of ``page``; ExtractError naming the source and the reason when there are none."""
    return extract_page(page, source, max_bytes).stories


def extract_page(page: Page, source: Source, max_bytes: int | None = None) -> Extraction:
    """:func:`extract`, with the page's own title."""
    data = page.content
    if max_bytes is not None and len(data) > max_bytes:
        raise ExtractError(source.name, f"page is {len(data):,} bytes, over the {max_bytes:,}-byte cap")
    if not data.strip():
        raise ExtractError(source.name, f"page {page.url} is empty")
    if _looks_binary(data):
        raise ExtractError(source.name, f"page {page.url} is binary data, not a text or HTML page")
    if b"<" in data[:65536]:  # likely HTML: the parser's first import is not this page's time
        import feedsvc.extract.html  # noqa: F401
    try:  # a deadline, which a clean stop also cuts short (feedsvc.extract.limits)
        stories, title = limits.call_within(limits.MAX_EXTRACT_SECONDS, _stories, page, source)
    except limits.TimeLimit as exc:
        raise ExtractError(source.name, f"{exc}: {page.url}") from None
    if not stories:
        raise ExtractError(source.name, f"no stories found in {page.url}")
    return Extraction([_finish_story(story, source.name) for story in stories], title)


def _stories(page: Page, source: Source) -> tuple[list[Story], str | None]:
    text = decode(page.content, page.content_type)
    if is_html(text, page.content_type):
        # Imported at the first HTML page: lxml, trafilatura and their friends are a good part of start-up,
        # and a web server, `check-config` or a text-only install never need them.
        from feedsvc.extract.html import parse_html_page, parser_caps_depth

        problem = limits.structure_problem(text) if limits.needs_scan(text, parser_caps_depth()) else None
        if problem:
            raise ExtractError(source.name, f"{problem} in {page.url}: refused unparsed")
        parsed = parse_html_page(
            text,
            page_url=page.url if page.url.startswith(("http://", "https://")) else None,
            fetched_at=page.fetched_at,
            date_order=source.date_order,
            profile=source.profile,
        )
        if parsed.refused:
            raise ExtractError(source.name, f"{parsed.refused} in {page.url}: refused")
        stories, title = parsed.stories, parsed.title
    else:
        stories = parse_text(text, page.fetched_at, source.date_order, source_languages(source))
        title = None
    return stories, title


def source_languages(source: Source) -> tuple[str, ...] | None:
    """The languages a source's times are read in: its ``language`` setting, with English beside it (the
    aggregators' own chrome is often English on localised pages); None when unset (any language)."""
    tag = times.language_tag(source.language)
    if tag is None:
        return None
    return (tag,) if tag == "en" else (tag, "en")


# Bounds on what one story may carry (a hostile page can put a megabyte in a headline): longer fields are
# cut at a word with an ellipsis, extra paragraphs dropped. Real stories stay far inside them.
MAX_TITLE = 400
MAX_SHORT_FIELD = 120  # outlet, category, the time as shown
MAX_PARAGRAPH = 20_000
MAX_BODY = 200_000  # characters over all paragraphs


def _finish_story(story: Story, source: str) -> Story:
    """The story as stored and published: its source named, every field within its bound."""
    body: list[str] = []
    room = MAX_BODY
    for paragraph in story.body:
        if room <= 0:
            break
        paragraph = clip(paragraph, min(MAX_PARAGRAPH, room))
        body.append(paragraph)
        room -= len(paragraph)

    def short(value: str | None) -> str | None:
        return clip(value, MAX_SHORT_FIELD) if value else value

    return Story(  # every field named (dataclasses.replace reads the fields anew for each story)
        title=clip(story.title, MAX_TITLE),
        outlet=short(story.outlet),
        published=story.published,
        published_text=short(story.published_text),
        body=tuple(body),
        url=story.url,
        category=short(story.category),
        source=source,
        image=story.image,
    )
