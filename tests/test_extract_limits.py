"""Pages beyond the parser bounds are refused fast with an error naming the source and the bound."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from feedsvc.errors import ExtractError, Interrupted
from feedsvc.extract import extract, limits
from feedsvc.extract.limits import MAX_DEPTH, MAX_ELEMENTS, structure_problem
from feedsvc.models import Page, Source
from tests.conftest import ROOT

SOURCE = Source(name="hostile", url="https://hostile.example/", interval=900)
CARD = (
    "<h2><a href='/a'>Council approves new harbour wall after storm damage</a></h2>"
    "<p>Reuters · 2 hours ago</p>"
)


def _page(html: str) -> Page:
    return Page(
        source="hostile",
        url=SOURCE.url,
        content=html.encode(),
        fetched_at=datetime(2025, 8, 19, 12, tzinfo=UTC),
        content_type="text/html",
    )


@pytest.mark.parametrize("depth", [8_000, 50_000])
def test_deeply_nested_page_is_refused_unparsed(depth: int) -> None:
    # Parsing these took 55 s (8,000) and over 5 minutes (50,000); refused before parsing, they cost a scan.
    html = "<html><body>" + "<div>" * depth + CARD + "</div>" * depth + "</body></html>"
    with pytest.raises(ExtractError) as caught:
        extract(_page(html), SOURCE)
    assert caught.value.source == "hostile" and f"more than {MAX_DEPTH} deep" in str(caught.value)


def test_deep_nesting_is_found_on_the_parsed_tree_without_a_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    # The parser bundled with lxml stops nesting at 256 levels: the bounds are checked in the tree walk.
    from feedsvc.extract.html import parser_caps_depth

    assert parser_caps_depth()

    def no_scan(html: str) -> str | None:
        raise AssertionError("a page with few '<' is not scanned before it is parsed")

    monkeypatch.setattr(limits, "structure_problem", no_scan)
    deep = "<html><body>" + "<div>" * 300 + CARD + "</div>" * 300 + "</body></html>"
    with pytest.raises(ExtractError) as caught:
        extract(_page(deep), SOURCE)
    assert f"more than {MAX_DEPTH} deep" in str(caught.value) and "refused" in str(caught.value)
    # 40 wrappers deep is a real page: read, not refused
    [story] = extract(_page("<html><body>" + "<div>" * 40 + CARD + "</div>" * 40 + "</body></html>"), SOURCE)
    assert story.title == "Council approves new harbour wall after storm damage"


def test_tree_bounds_and_when_a_page_is_scanned_first() -> None:
    assert limits.tree_problem(MAX_ELEMENTS, MAX_DEPTH - 1) is None
    assert limits.tree_problem(MAX_ELEMENTS + 1, 10) == f"page has more than {MAX_ELEMENTS:,} elements"
    assert limits.tree_problem(100, MAX_DEPTH) == f"page nests elements more than {MAX_DEPTH} deep"
    page = "<p>x" * 1000
    assert not limits.needs_scan(page, parser_caps_depth=True)
    assert limits.needs_scan(page, parser_caps_depth=False)  # a parser without its own cap: scan first
    assert limits.needs_scan("<i>" * (MAX_ELEMENTS + 1), parser_caps_depth=True)  # could flood the tree


def test_element_flood_is_refused() -> None:
    html = "<html><body>" + "<i></i>" * (MAX_ELEMENTS + 1) + "</body></html>"
    assert structure_problem(html) == f"page has more than {MAX_ELEMENTS:,} elements"
    with pytest.raises(ExtractError) as caught:  # scanned before it is parsed: too many "<" to parse first
        extract(_page(html), SOURCE)
    message = str(caught.value)
    assert f"more than {MAX_ELEMENTS:,} elements" in message and "refused unparsed" in message


def test_real_nesting_is_within_bounds() -> None:
    # Unclosed <p>/<li> and void elements do not count as nesting; closed wrappers do.
    assert structure_problem("<ul>" + "<li><p>text<br><img src=x>" * 5000 + "</ul>") is None
    assert structure_problem("<div>" * 40 + CARD + "</div>" * 40) is None
    assert structure_problem("<div>" * 300) is not None
    # Tags inside scripts and comments are not elements of the page.
    assert structure_problem("<script>" + "<div>" * 1000 + "</script><!--" + "<div>" * 1000 + "-->") is None


def test_bidi_controls_are_stripped_from_every_field() -> None:
    evil = "\u202eevil\u202c \u2066hidden\u2069"
    html = (
        f"<html><body><article><h1>{evil} Council approves the harbour wall</h1><p>Reuters{evil}</p>"
        + f"<p>The council voted on Tuesday to rebuild the wall{evil} that the storm broke.</p>" * 20
        + "</article></body></html>"
    )
    [story] = extract(_page(html), SOURCE)
    assert story.title == "evil hidden Council approves the harbour wall"
    for text in (story.title, story.outlet or "", story.body_text):
        assert not any(ch in text for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_huge_fields_are_bounded() -> None:
    from feedsvc.extract import MAX_BODY, MAX_SHORT_FIELD, MAX_TITLE, _finish_story
    from feedsvc.models import Story

    huge = "Council approves the harbour wall " + "again " * 200_000  # over a megabyte
    story = Story(
        huge, huge, None, huge, tuple(["The council voted on Tuesday. " * 2_000] * 30), category=huge
    )
    bounded = _finish_story(story, "hostile")
    assert bounded.source == "hostile"
    assert len(bounded.title) <= MAX_TITLE and bounded.title.endswith("again…")
    for short in (bounded.outlet, bounded.category, bounded.published_text):
        assert short is not None and len(short) <= MAX_SHORT_FIELD
    assert 0 < sum(len(p) for p in bounded.body) <= MAX_BODY


@pytest.mark.parametrize("kind", ["text/plain", "text/html"])
def test_a_megabyte_headline_never_reaches_a_story_whole(kind: str) -> None:
    from feedsvc.extract import MAX_TITLE

    huge = "Council approves the harbour wall " + "again " * 200_000
    body = "The council voted on Tuesday to rebuild the wall that the storm broke."
    if kind == "text/plain":
        content = "\n".join(["logo", huge, huge, "Reuters2 hours ago", body])
    else:
        content = f"<html><body><article><h1>{huge}</h1>{f'<p>{body}</p>' * 5}</article></body></html>"
    page = Page(source="hostile", url=SOURCE.url, content=content.encode(), fetched_at=_page("").fetched_at,
                content_type=kind)  # fmt: skip
    try:
        stories = extract(page, SOURCE)
    except ExtractError:
        return  # refused as no story: fine, the error names the source
    assert all(len(s.title) <= MAX_TITLE for s in stories)


@pytest.mark.parametrize(
    "html",
    [
        "<html><body>" + "<a " * 250_000,  # tags that never close: each used to be scanned to the end
        "<html><body>" + "<script>" * 250_000,  # unclosed raw-text elements
        "<html><body>" + "<!--x" * 250_000,  # unclosed comments
        "<html><body>" + "<div title='<'>" * 100_000,  # a "<" inside every tag
    ],
)
def test_the_structure_scan_is_linear_on_hostile_markup(html: str) -> None:
    # Each took from seconds (200 KB) to hours (5 MB) with the backtracking regular expressions.
    started = time.process_time()
    structure_problem(html)
    assert time.process_time() - started < 2.0  # about 0.1 s; CPU time, so a busy machine does not count


@pytest.mark.parametrize(
    "html",
    [
        "<html><body>" + "<script>" * 250_000,  # each searched on for its </script> to the end
        "<html><body>" + "<div " * 250_000,  # each block tag read on for its ">" to the end
        "<html><body>" + '<li a="' * 250_000,
        "<html><body><p>" + "data-" * 400_000,  # each searched on for a "time" in its name
    ],
)
def test_the_source_passes_before_the_parse_are_linear_on_hostile_markup(html: str) -> None:
    from feedsvc.extract.html import dom

    # Each took from seconds (100 KB) to hours (2 MB) with the lazy or open-ended regular expressions.
    started = time.process_time()
    dom._flatten(html)
    dom._source_names(html)
    assert time.process_time() - started < 2.0  # about 0.05 s; CPU time, so a busy machine does not count


def _wide_tree() -> Any:
    import lxml.html

    return lxml.html.document_fromstring("<html><body>" + "<div>\n<p>\nx\n</p>\n</div>\n" * 20_000)


def _hostile_calls() -> list[tuple[str, Callable[[], object]]]:
    from feedsvc.extract import article, clean
    from feedsvc.extract.html import dom, images

    wide = _wide_tree()
    return [
        ("dots after a more-link", lambda: clean.strip_more_link("It ended. read more" + "." * 60 + "a)")),
        ("more-links in a row", lambda: clean.strip_more_link("It ended. " + "[read more] " * 100_000)),
        ("glued chrome in a row", lambda: clean.strip_glued_chrome("It ended. " + "Show Comments " * 99_000)),
        ("digits in a class name", lambda: dom._CAMEL_WORD_RE.match("abcDef" + "1" * 60 + "x")),
        ("spaces in a size", lambda: images._SIZE_RE.match("1" + " " * 400_000 + "x")),
        ("a wide card's nodes", lambda: (dom._NODES(wide), dom._PLAIN_NODES(wide))),
        ("a wide page's texts", lambda: (article._PROSE_XPATH(wide), article._PAGE_TEXT_XPATH(wide))),
    ]


@pytest.mark.parametrize("case", range(7))
def test_the_readers_of_a_page_are_linear_on_hostile_input(case: int) -> None:
    # Each took from seconds to days (exponential backtracking, a union of XPath axes sorted, a slice per
    # suffix) on a few hundred bytes to a megabyte; a regular expression or an XPath call holds its thread
    # past the extraction's deadline, and the regular expression the GIL too.
    name, call = _hostile_calls()[case]
    started = time.process_time()
    call()
    assert time.process_time() - started < 2.0, name  # CPU time, so a busy machine does not count


def test_unclosed_raw_text_and_comments_hide_the_rest_of_the_page() -> None:
    # As for the HTML parser: what follows an unclosed <script> or comment is not markup.
    assert structure_problem("<p>x</p><script>" + "<div>" * 1000) is None
    assert structure_problem("<p>x</p><!--" + "<div>" * 1000) is None
    assert structure_problem("<SCRIPT>x</script >" + "<div>" * 1000) is not None


def _slow_page() -> Page:
    """Within the structural bounds, but seconds to extract (about 0.3 s per 100 blocks on an idle core)."""
    block = "<div>" * 250 + CARD + "</div>" * 250
    return _page("<html><body>" + block * 1000 + "</body></html>")


def test_an_extraction_past_its_deadline_is_abandoned_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_EXTRACT_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(ExtractError) as caught:
        extract(_slow_page(), SOURCE)
    assert time.monotonic() - started < 10  # abandoned at 0.5 s, not after the whole parse
    assert caught.value.source == "hostile"
    assert "took longer than 0.5 s and was abandoned" in str(caught.value)
    # The deadline thread fires nothing later into this thread: ordinary work goes on undisturbed.
    stories = extract(_page("<html><body><ul>" + CARD + "</ul></body></html>"), SOURCE)
    assert stories and time.monotonic() - started < 60
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        sum(range(1000))


def test_a_stop_abandons_a_running_extraction_and_refuses_the_next() -> None:
    signal = limits.StopSignal()
    started = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        with limits.stop_scope(signal):
            started.set()
            try:
                extract(_slow_page(), SOURCE)
            except BaseException as exc:  # what the test checks
                outcome.append(exc)
            try:
                extract(_page("<html><body><ul>" + CARD + "</ul></body></html>"), SOURCE)
            except BaseException as exc:
                outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    started.wait(timeout=60)
    signal.set()
    cut = time.monotonic()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert time.monotonic() - cut < 10  # the whole parse takes far longer
    assert [type(e) for e in outcome] == [Interrupted, Interrupted], outcome
    # A thread outside the scope is not stopped by it.
    assert extract(_page("<html><body><ul>" + CARD + "</ul></body></html>"), SOURCE)


def test_an_abandon_swallowed_where_it_landed_is_sent_again() -> None:
    """A finalizer (``__del__``) or a careless ``except BaseException`` swallows the exception that
    abandons an extraction: it is sent again until the extraction has left, so the deadline still holds."""
    swallowed: list[BaseException] = []

    def spin() -> str:
        end = time.monotonic() + 20  # without a second exception this returns, far past the deadline
        while time.monotonic() < end:
            sum(range(200))
        return "finished"

    def work() -> str:
        while True:
            try:
                return spin()  # where the exception lands (the rest takes microseconds)
            except BaseException as exc:
                if swallowed:
                    raise
                swallowed.append(exc)  # the first one dies here

    started = time.monotonic()
    with pytest.raises(limits.TimeLimit):
        limits.call_within(0.2, work)
    assert swallowed and time.monotonic() - started < 15


def test_extractions_in_a_row_do_not_wake_the_deadline_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadline thread sleeps until the earliest deadline; a later one needs no wake-up (each cost the
    extraction a thread switch)."""
    limits.call_within(30.0, int)  # the thread runs, and sleeps until this call's deadline or an earlier one
    wakes: list[int] = []
    notify = limits._lock.notify
    monkeypatch.setattr(limits, "_PRUNE_AT", 10**9)
    monkeypatch.setattr(limits._lock, "notify", lambda n=1: (wakes.append(n), notify(n))[1])
    for _ in range(50):
        assert limits.call_within(30.0, int) == 0
    assert wakes == []


def test_a_deadline_earlier_than_every_other_wakes_the_deadline_thread() -> None:
    limits.call_within(3600.0, int)  # a finished extraction due in an hour, perhaps the earliest in the heap
    end = time.monotonic() + 10
    while not limits._lock._waiters and time.monotonic() < end:  # type: ignore[attr-defined]
        time.sleep(0.001)  # until the deadline thread sleeps, planning to wake at the earliest deadline

    def spin() -> str:
        end = time.monotonic() + 20  # returns only if nothing abandons it by then
        while time.monotonic() < end:
            sum(range(200))
        return "finished"

    started = time.monotonic()
    with pytest.raises(limits.TimeLimit):
        limits.call_within(0.2, spin)
    assert time.monotonic() - started < 15


def test_an_abandon_in_a_finalizer_prints_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's unraisable hook drops our own abandon (it is sent again) and passes the rest on."""
    from types import SimpleNamespace

    passed_on: list[object] = []
    monkeypatch.setattr(limits, "_previous_unraisable_hook", passed_on.append)
    ours = SimpleNamespace(exc_type=limits._Abandon, exc_value=limits._Abandon(), object=None)
    other = SimpleNamespace(exc_type=ValueError, exc_value=ValueError("a real bug"), object=None)
    limits._quiet_abandon(ours)
    limits._quiet_abandon(other)
    assert passed_on == [other]


def test_the_html_parser_is_imported_before_the_first_html_pages_deadline_starts() -> None:
    """Its first import (lxml, trafilatura: seconds on a loaded machine) is not the page's own time: it
    made the first HTML page after a start-up miss its deadline under load."""
    code = """
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from feedsvc.extract import extract, limits
from feedsvc.models import Page, Source
seen = []
real = limits.call_within
def spy(*args, **kwargs):
    seen.append("feedsvc.extract.html" in sys.modules)
    return real(*args, **kwargs)
limits.call_within = spy
html = b"<html><body><h2><a href='/a'>A headline long enough to be a story</a></h2></body></html>"
page = Page("s", "http://x.test/", html, datetime.now(UTC), "text/html")
try:
    extract(page, Source("s", "http://x.test/", 60.0))
except Exception:
    pass
print(seen)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[True]", done.stderr
