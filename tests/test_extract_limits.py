"""Pages beyond the parser bounds are refused fast with an error naming the source and the bound."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedsvc.errors import ExtractError
from feedsvc.extract import extract
from feedsvc.extract.limits import MAX_DEPTH, MAX_ELEMENTS, structure_problem
from feedsvc.models import Page, Source

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


def test_element_flood_is_refused() -> None:
    html = "<html><body>" + "<i></i>" * (MAX_ELEMENTS + 1) + "</body></html>"
    assert structure_problem(html) == f"page has more than {MAX_ELEMENTS:,} elements"


def test_real_nesting_is_within_bounds() -> None:
    # Unclosed <p>/<li> and void elements do not count as nesting; closed wrappers do.
    assert structure_problem("<ul>" + "<li><p>text<br><img src=x>" * 5000 + "</ul>") is None
    assert structure_problem("<div>" * 40 + CARD + "</div>" * 40) is None
    assert structure_problem("<div>" * 300) is not None
    # Tags inside scripts and comments are not elements of the page.
    assert structure_problem("<script>" + "<div>" * 1000 + "</script><!--" + "<div>" * 1000 + "-->") is None
