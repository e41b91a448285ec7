"""Extraction speed on one core: pages/s for the reference text page and two 2 MB HTML listings.

The text page is measured twice: as the service meets it again (its lines' classification cached from the
previous run, as when a source is refetched or pages share titles, outlets and chrome) and with those per-line
caches cleared before every run (a page never seen before).

The listings are real-shaped: a Daily8-like hashtag listing and a Yahoo-News-like stream (minified atomic
CSS classes, sponsored items mixed in), each grown to 2 MB by repeating its story cards with distinct titles
and links. Baselines in the same run: for text, decoding and splitting the page into lines; for HTML, a bare
lxml parse of the same bytes (the target: extraction within 10x of it) and, for reference, the
BeautifulSoup(lxml) tree build the extractor used to pay before it looked at anything (skipped when bs4 is
not installed). The HTML cases are timed interleaved (extraction, parse, build, extraction, ...), best of
the rounds, so that a shared machine's load falls on all of them alike; beside the wall-clock rate each
prints its CPU time per call (process time, best round), and the target is judged on both ratios: on a
loaded machine the CPU ratio is the steadier figure.
Run: python -m bench.extract_pages [--text-only] [--rounds N]
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import lxml.html

from feedsvc.extract import extract
from feedsvc.extract.text import clear_line_caches
from feedsvc.models import Page, Source

PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages"
FETCHED = datetime(2025, 8, 19, 12, tzinfo=UTC)


def big_html(name: str = "html-hashtag-listing.html", start: str = "<article", end: str = "</article>",
             target: int = 2_000_000) -> bytes:  # fmt: skip
    """Fixture ``name`` grown to ``target`` bytes by repeating everything from the first ``start`` to the
    last ``end`` (its story cards), with distinct titles and links in each copy."""
    page = (PAGES / name).read_text(encoding="utf-8")
    first, last = page.index(start), page.rindex(end) + len(end)
    cards, head, tail = page[first:last], page[:first], page[last:]
    parts, size, i = [], len(head) + len(tail), 0
    while size < target:
        copy = re.sub(r'href="([^"]+)"', lambda m, i=i: f'href="{m.group(1)}-{i}"', cards)  # type: ignore[misc]
        copy = copy.replace("</h3>", f" ({i})</h3>").replace("</h2>", f" ({i})</h2>")
        parts.append(copy)
        size += len(copy)
        i += 1
    return (head + "".join(parts) + tail).encode("utf-8")


LISTINGS = {
    "Daily8-like hashtag listing": ("html-hashtag-listing.html", "<article", "</article>"),
    "Yahoo-like stream": ("html-yahoo-stream.html", '<ul class="My(0) P(0) Wow(bw) Ov(h)">', "</ul>"),
}


def rate(fn: Callable[[], object], seconds: float = 3.0) -> tuple[float, int]:
    fn()  # warm caches (regexes, dateparser tables)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start), n


def main() -> None:
    text_bytes = (PAGES / "daily8-putin-invites-trump.txt").read_bytes()
    source = Source(name="bench", url="https://daily8.example/tag/ukraine", interval=900)

    def page(data: bytes, kind: str) -> Page:
        return Page(source="bench", url=source.url, content=data, fetched_at=FETCHED, content_type=kind)

    text_page = page(text_bytes, "text/plain")
    print(f"{'case':<40} {'bytes':>10} {'stories':>8} {'pages/s':>10} {'runs':>6} {'CPU ms':>9}")

    def row(
        name: str, size: int, stories: int, measured: tuple[float, int], cpu: float | None = None
    ) -> float:
        used = f"{cpu * 1000:>9.2f}" if cpu is not None else ""
        print(f"{name:<40} {size:>10,} {stories or '':>8} {measured[0]:>10.2f} {measured[1]:>6} {used}")
        return measured[0]

    text_rate = row(
        "reference text page",
        len(text_bytes),
        len(extract(text_page, source)),
        rate(lambda: extract(text_page, source)),
    )

    def cold() -> object:
        clear_line_caches()  # a page none of whose lines were seen before (dateparser's own cache stays)
        return extract(text_page, source)

    cold_rate = row("  same, per-line caches cleared each run", len(text_bytes), 0, rate(cold))
    split_rate = row(
        "  baseline: decode + split lines", len(text_bytes), 0, rate(lambda: text_bytes.decode().splitlines())
    )
    print(
        f"  text extraction costs {split_rate / text_rate:.0f}x decoding and splitting"
        f" ({split_rate / cold_rate:.0f}x with cold per-line caches)"
    )
    if "--text-only" in sys.argv:
        return
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
    for label, (name, start, end) in LISTINGS.items():
        html_bytes = big_html(name, start, end)
        html_page = page(html_bytes, "text/html")
        stories = len(extract(html_page, source, max_bytes=5_000_000))
        cases: dict[str, Callable[[], object]] = {
            f"2 MB {label}": lambda p=html_page: extract(p, source),  # type: ignore[misc]
            "  baseline: bare lxml.html parse": lambda b=html_bytes: lxml.html.document_fromstring(b),  # type: ignore[misc]
        }
        soup_build = _soup_builder()
        if soup_build is not None:
            cases["  reference: BeautifulSoup(lxml) build"] = lambda b=html_bytes, f=soup_build: f(b)  # type: ignore[misc]
        rates, cpu = interleaved(cases, rounds)
        names = list(cases)
        for case in names:
            row(case, len(html_bytes), stories if case == names[0] else 0, rates[case], cpu[case])
        wall = rates[names[1]][0] / rates[names[0]][0]
        used = cpu[names[0]] / cpu[names[1]]
        verdict = "PASS" if max(wall, used) <= LISTING_TARGET else "MISS"
        within = f"within {LISTING_TARGET:.0f}x a bare lxml parse"
        print(f"  target: extraction {within}: {wall:.1f}x wall, {used:.1f}x CPU -> {verdict}")
        if soup_build is not None:
            soup, soup_cpu = rates[names[1]][0] / rates[names[2]][0], cpu[names[2]] / cpu[names[1]]
            print(f"  (the BeautifulSoup build alone costs {soup:.1f}x a bare parse, {soup_cpu:.1f}x CPU)")


LISTING_TARGET = 10.0


def interleaved(
    cases: dict[str, Callable[[], object]], rounds: int
) -> tuple[dict[str, tuple[float, int]], dict[str, float]]:
    """Calls/s of each case and its CPU seconds (process time) per call, each the best of ``rounds``
    rounds that run every case in turn (each for at least 0.3 s, or one call), after one warm-up call
    each."""
    for fn in cases.values():
        fn()
    best = dict.fromkeys(cases, 0.0)
    least = dict.fromkeys(cases, float("inf"))
    total = dict.fromkeys(cases, 0)
    for _ in range(rounds):
        for name, fn in cases.items():
            n, start, cpu = 0, time.perf_counter(), time.process_time()
            while True:
                fn()
                n += 1
                if time.perf_counter() - start >= 0.3:
                    break
            best[name] = max(best[name], n / (time.perf_counter() - start))
            least[name] = min(least[name], (time.process_time() - cpu) / n)
            total[name] += n
    return {name: (best[name], total[name]) for name in cases}, least


def _soup_builder() -> Callable[[bytes], object] | None:
    try:
        from bs4 import BeautifulSoup  # a dev dependency, for the reference row only
    except ImportError:
        return None
    return lambda data: BeautifulSoup(data, "lxml")


if __name__ == "__main__":
    main()
