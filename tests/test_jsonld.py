"""The JSON-LD article finder shared by the HTML extractor and the article reader."""

from __future__ import annotations

import json

import pytest

from feedsvc.extract import jsonld


@pytest.mark.parametrize(
    ("kind", "found"),
    [
        ("NewsArticle", True),
        ("https://schema.org/ReportageNewsArticle", True),
        ("schema:BlogPosting", True),
        ("LiveBlogPosting", True),
        ("Report", True),
        (["NewsArticle", "Thing"], True),
        ("ItemList", False),
        ("WebPage", False),
        (7, False),
    ],
)
def test_article_kinds(kind: object, found: bool) -> None:
    assert jsonld.is_article({"@type": kind}) is found


def test_first_article_in_scripts_and_graphs() -> None:
    listing = json.dumps(
        {"@type": "ItemList", "itemListElement": [{"@type": "NewsArticle", "headline": "card"}]}
    )
    graph = json.dumps({"@graph": [{"@type": "WebPage"}, {"@type": "NewsArticle", "headline": "own"}]})
    found = jsonld.article_in(["{not json", listing, f"<!-- {graph} -->"])
    assert found is not None and found["headline"] == "own"  # an ItemList's members are cards, not the page
    assert jsonld.article_in(["[]", "null", '"x"']) is None
    assert jsonld.text("  x ") == "x" and jsonld.text(" ") is None and jsonld.text(3) is None


@pytest.mark.parametrize(
    ("kind", "listing"),
    [
        ("CollectionPage", True),
        ("https://schema.org/SearchResultsPage", True),
        (["ProfilePage", "WebPage"], True),
        ("WebPage", False),
        ("NewsArticle", False),
        ("ItemList", False),
    ],
)
def test_listing_page_kinds(kind: object, listing: bool) -> None:
    assert jsonld.is_listing_page({"@type": kind}) is listing


def test_read_gives_the_article_and_whether_the_page_is_a_listing() -> None:
    archive = json.dumps(
        {"@graph": [{"@type": "CollectionPage", "url": "/category/local/"}, {"@type": "WebSite"}]}
    )
    article = json.dumps({"@graph": [{"@type": "WebPage"}, {"@type": "NewsArticle", "headline": "own"}]})
    assert jsonld.read(jsonld.objects(["{not json", archive])) == (None, True)
    found, listing = jsonld.read(jsonld.objects([article]))
    assert found is not None and found["headline"] == "own" and listing is False
    # one article beside a listing kind (its author's ProfilePage, a page typed both ways): the article's page
    authored = json.dumps({"@graph": [{"@type": "NewsArticle", "headline": "own"}, {"@type": "ProfilePage"}]})
    assert jsonld.read(jsonld.objects([authored]))[1] is False
    both = json.dumps([{"@type": ["WebPage", "CollectionPage"]}, {"@type": "NewsArticle", "headline": "own"}])
    assert jsonld.read(jsonld.objects([both]))[1] is False
    # several: a section page that lists its articles
    section = json.dumps(
        {"@graph": [{"@type": "CollectionPage"}, {"@type": "NewsArticle"}, {"@type": "NewsArticle"}]}
    )
    assert jsonld.read(jsonld.objects([section]))[1] is True
