"""Extraction speed on one core: pages/s for the reference text page and a 2 MB HTML page.

Baselines in the same run: for text, just decoding and splitting the page into lines; for HTML, just
building the BeautifulSoup/lxml tree (what any bs4-based extractor pays before it looks at anything).
Run: python -m bench.extract_pages
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bs4 import BeautifulSoup

from feedsvc.extract import extract
from feedsvc.models import Page, Source

PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages"
FETCHED = datetime(2025, 8, 19, 12, tzinfo=UTC)


def big_html(target: int = 2_000_000) -> bytes:
    """A hashtag listing grown to ``target`` bytes by repeating its cards with distinct titles and links."""
    page = (PAGES / "html-hashtag-listing.html").read_text(encoding="utf-8")
    start, end = page.index("<article"), page.rindex("</article>") + len("</article>")
    cards, head, tail = page[start:end], page[:start], page[end:]
    parts, size, i = [], len(head) + len(tail), 0
    while size < target:
        copy = re.sub(r'href="([^"]+)"', lambda m, i=i: f'href="{m.group(1)}-{i}"', cards)  # type: ignore[misc]
        copy = copy.replace("</h3>", f" ({i})</h3>").replace("</h2>", f" ({i})</h2>")
        parts.append(copy)
        size += len(copy)
        i += 1
    return (head + "".join(parts) + tail).encode("utf-8")


def rate(fn: Callable[[], object], seconds: float = 3.0) -> tuple[float, int]:
    fn()  # warm caches (regexes, dateparser tables)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start), n


def main() -> None:
    text_bytes = (PAGES / "daily8-putin-invites-trump.txt").read_bytes()
    html_bytes = big_html()
    source = Source(name="bench", url="https://daily8.example/tag/ukraine", interval=900)

    def page(data: bytes, kind: str) -> Page:
        return Page(source="bench", url=source.url, content=data, fetched_at=FETCHED, content_type=kind)

    text_page, html_page = page(text_bytes, "text/plain"), page(html_bytes, "text/html")
    stories_text = len(extract(text_page, source))
    stories_html = len(extract(html_page, source, max_bytes=5_000_000))
    rows = [
        ("reference text page", len(text_bytes), stories_text, rate(lambda: extract(text_page, source))),
        (
            "  baseline: decode + split lines",
            len(text_bytes),
            0,
            rate(lambda: text_bytes.decode().splitlines()),
        ),
        ("2 MB HTML listing", len(html_bytes), stories_html, rate(lambda: extract(html_page, source), 6.0)),
        (
            "  baseline: BeautifulSoup(lxml) only",
            len(html_bytes),
            0,
            rate(lambda: BeautifulSoup(html_bytes, "lxml"), 6.0),
        ),
    ]
    print(f"{'case':<38} {'bytes':>10} {'stories':>8} {'pages/s':>10} {'runs':>6}")
    for name, size, stories, (per_s, runs) in rows:
        print(f"{name:<38} {size:>10,} {stories or '':>8} {per_s:>10.2f} {runs:>6}")
    print(f"HTML extraction costs {rows[3][3][0] / rows[2][3][0]:.1f}x a bare lxml parse of the same page")


if __name__ == "__main__":
    main()
