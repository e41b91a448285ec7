"""The article reader (feedsvc.extract.article) on the single-article corpus, and its fallbacks and bad input.

Quality floors live in tests/data/article_floors.json; `python -m bench.article_bodies` prints the full table
with trafilatura and readability beside it.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import feedsvc.extract.article as article_module
import feedsvc.extract.html.main as main_module
from bench.article_bodies import (
    Case,
    Got,
    body_scores,
    load_corpus,
    run_feedsvc,
    run_read_article,
    score,
    summary,
)
from feedsvc.extract import extract
from feedsvc.extract.article import read_article
from feedsvc.models import Page, Source

DATA = Path(__file__).parent / "data"
FLOORS = json.loads((DATA / "article_floors.json").read_text(encoding="utf-8"))
CORPUS = load_corpus(DATA / "articles")
# Headlines of the "most read", "related" and "more news" lists around the corpus articles.
CARD_HEADLINES = (
    "Council tax bills set to rise",
    "Sheriff’s office warns of phone scam",
    "Library opening hours cut at two branches",
    "Ring road resurfacing to begin",
    "Greece evacuates villages as wildfires rage",
    "Pünktlichkeit der Bahn auf Rekordtief",
    "お盆明けの高速道路",
    "我市新增公交专用道",
    "Bike lane expansion approved for downtown",
    "Landfill expansion hearing set",
)


def test_corpus_is_complete() -> None:
    assert len(CORPUS) >= 24
    for case in CORPUS:
        truth = case.truth
        assert {"url", "title", "outlet", "author", "published", "body"} <= truth.keys(), case.name
        assert len(truth["body"].split("\n\n")) >= 4, case.name


def test_reader_meets_the_floors() -> None:
    floors = FLOORS["read_article"]
    got = summary({c.name: score(c, run_read_article(c)) for c in CORPUS})
    for key, floor in floors.items():
        assert got[key] >= floor, f"read_article {key} {got[key]:.3f} < floor {floor}"


def test_pipeline_meets_the_floors() -> None:
    floors = FLOORS["feedsvc"]
    got = summary({c.name: score(c, run_feedsvc(c)) for c in CORPUS})
    for key, floor in floors.items():
        assert got[key] >= floor, f"feedsvc {key} {got[key]:.3f} < floor {floor}"


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_no_card_list_in_the_body(case: Case) -> None:
    article = read_article(case.html, case.truth["url"])
    assert article is not None
    for headline in CARD_HEADLINES:
        assert headline not in article.body_text, (case.name, headline)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_the_article_carries_its_lead_image(case: Case) -> None:
    """The pipeline's main story has the image the page declares (og:image, JSON-LD), else its own photo;
    none where the page shows only logos and banners."""
    page = Page(
        source="t",
        url=case.truth["url"],
        content=case.html.encode("utf-8"),
        fetched_at=datetime(2025, 8, 25, tzinfo=UTC),
        content_type="text/html; charset=utf-8",
    )
    main = extract(page, Source(name="t", url=case.truth["url"], interval=900))[0]
    assert main.image == case.truth.get("image")


def test_scorer_rewards_only_the_true_text() -> None:
    want = "the quick brown fox jumps over the lazy dog"
    assert body_scores(want, want) == (1.0, 1.0, 1.0)
    f1, precision, recall = body_scores(want + " plus five words of chrome", want)
    assert recall == 1.0 and precision < 1.0 and f1 < 1.0
    assert body_scores("", want) == (0.0, 0.0, 0.0)
    case = Case("x", "", {"title": "T", "outlet": "O", "author": None, "published": None, "body": want})
    assert score(case, Got("T", want, "Other", None, None)).outlet is False


# -- fallbacks ----------------------------------------------------------------------------------------------

PARAS = [
    "The harbour board voted on Tuesday to extend the ferry timetable into the winter for the first time.",
    "Board members said passenger numbers had risen by a fifth since the new terminal opened last spring.",
    "The change will add two sailings a day on weekdays and one extra sailing on Saturdays from November.",
]


def _html(body: str, head: str = "", lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>Ferry timetable extended'
        f" | Harbour Herald</title>{head}</head><body><header><nav><a href='/'>Home</a></nav></header>"
        f"<main>{body}</main><footer><p>© 2025 Harbour Herald</p></footer></body></html>"
    )


def _ld(obj: dict[str, Any]) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def test_json_ld_article_body_wins_over_a_skeleton() -> None:
    ld = {"@type": "NewsArticle", "headline": "Ferry timetable extended", "articleBody": "\n\n".join(PARAS)}
    got = read_article(_html("<div class='skeleton'>Loading…</div>", _ld(ld)), "https://h.example/a")
    assert got is not None and got.body == tuple(PARAS)
    assert got.title == "Ferry timetable extended"


def test_meta_itemprop_article_body_wins_over_a_teaser() -> None:
    meta = f'<meta itemprop="articleBody" content="{chr(10).join(PARAS)}">'
    got = read_article(_html(f"<h1>Ferry timetable extended</h1><p>{PARAS[0]}</p>", meta), None)
    assert got is not None and got.body == tuple(PARAS)


def test_callers_json_ld_is_used_when_the_scripts_are_gone() -> None:
    ld = {"@type": "NewsArticle", "articleBody": "\n\n".join(PARAS), "datePublished": "2025-08-19T09:15:00Z"}
    got = read_article(_html("<div>Loading…</div>"), None, ld=ld)
    assert got is not None and got.body == tuple(PARAS)
    assert got.published == datetime(2025, 8, 19, 9, 15, tzinfo=UTC)


def test_visible_dates_in_their_zone() -> None:
    body = "".join(f"<p>{p}</p>" for p in PARAS)
    bst = read_article(_html(f"<h1>Ferry</h1><div>Published 19 August 2025, 14:30 BST</div>{body}"), None)
    assert bst is not None and bst.published == datetime(2025, 8, 19, 13, 30, tzinfo=UTC)
    uhr = read_article(_html(f"<h1>Fähre</h1><div>19.08.2025, 14:30 Uhr</div>{body}", lang="de"), None)
    assert uhr is not None and uhr.published == datetime(2025, 8, 19, 12, 30, tzinfo=UTC)
    iso = read_article(_html(f"<time datetime='2025-08-19T14:30:00+09:00'>8/19</time>{body}"), None)
    assert iso is not None and iso.published == datetime(2025, 8, 19, 5, 30, tzinfo=UTC)
    # a generic US zone follows daylight saving time: "ET" in August is EDT (UTC-4), in January EST (UTC-5)
    summer = read_article(_html(f"<h1>Ferry</h1><div>Aug. 19, 2025 9:41 AM ET</div>{body}"), None)
    assert summer is not None and summer.published == datetime(2025, 8, 19, 13, 41, tzinfo=UTC)
    winter = read_article(_html(f"<h1>Ferry</h1><div>Jan. 15, 2025 9:41 AM ET</div>{body}"), None)
    assert winter is not None and winter.published == datetime(2025, 1, 15, 14, 41, tzinfo=UTC)


def test_site_name_from_a_source_line_and_title_from_the_page_title() -> None:
    body = "".join(f"<p>{p}</p>" for p in PARAS)
    got = read_article(_html(f"<span class='source'>来源：城市日报</span>{body}"), None)
    assert got is not None and got.site_name == "城市日报"
    assert got.title == "Ferry timetable extended"


def _counting_metadata(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    calls: list[str | None] = []
    real = article_module.trafilatura.extract_metadata

    def counting(tree: Any, default_url: str | None = None, **kwargs: Any) -> Any:
        calls.append(default_url)
        return real(tree, default_url=default_url, **kwargs)

    monkeypatch.setattr(article_module.trafilatura, "extract_metadata", counting)
    return calls


def test_library_metadata_is_read_only_for_what_the_page_does_not_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_metadata(monkeypatch)
    ld = {
        "@type": "NewsArticle",
        "headline": "Ferry timetable extended",
        "datePublished": "2025-08-19T09:15:00Z",
    }
    meta = '<meta property="og:site_name" content="Harbour Herald">'
    body = "".join(f"<p>{p}</p>" for p in PARAS)
    full = read_article(_html(body, _ld(ld) + meta), "https://h.example/a", byline=False)
    assert full is not None and full.body == tuple(PARAS) and full.site_name == "Harbour Herald"
    assert calls == []  # title, site and date declared, no author wanted: no metadata pass
    byline = read_article(
        _html(f"<p class='byline'>By Jane Doe</p>{body}", _ld(ld) + meta), "https://h.example/b"
    )
    assert byline is not None and calls == [
        "https://h.example/b"
    ]  # no declared author: the byline search ran
    undated = read_article(_html(body, meta), "https://h.example/c", byline=False)
    assert undated is not None and undated.published is None  # the "© 2025" line is a year, not a date
    assert calls[-1] == "https://h.example/c"  # no declared date: the library's date search ran


def test_metadata_failure_leaves_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("metadata bug")

    monkeypatch.setattr(article_module.trafilatura, "extract_metadata", refuse)
    got = read_article(_html("".join(f"<p>{p}</p>" for p in PARAS)), None)
    assert got is not None and got.body == tuple(PARAS) and got.published is None


def _counting_extractions(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each body extraction the reader asks trafilatura for is its fast pass."""
    calls: list[bool] = []
    real = article_module.trafilatura.bare_extraction

    def counting(tree: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["options"].fast)
        return real(tree, **kwargs)

    monkeypatch.setattr(article_module.trafilatura, "bare_extraction", counting)
    return calls


def test_a_plain_article_is_read_by_the_fast_pass_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_extractions(monkeypatch)
    body = "".join(f"<p>{p}</p>" for p in PARAS)
    got = read_article(_html(f"<article><h1>Ferry timetable extended</h1>{body}</article>"), None)
    assert got is not None and got.body == tuple(PARAS)
    assert calls == [True]


def test_a_doubtful_fast_result_goes_through_the_whole_cascade(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_extractions(monkeypatch)
    short = read_article(_html(f"<article><p>{PARAS[0]}</p></article>"), None)
    assert short is not None and PARAS[0] in short.body
    assert calls == [True, False]  # under the cascade's minimum size: readability and justext compared
    # A page whose fast pass reads the header's teaser (a twentieth of the article): the cascade finds it.
    case = next(c for c in CORPUS if c.name == "spiegel-bahn-bahnhoefe")
    calls.clear()
    got = read_article(case.html, case.truth["url"])
    assert got is not None and body_scores(got.body_text, case.truth["body"])[0] > 0.9
    assert calls == [True, False]


def test_no_extraction_when_the_article_body_outweighs_the_whole_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_extractions(monkeypatch)
    ld = {"@type": "NewsArticle", "headline": "Ferry timetable extended", "articleBody": "\n\n".join(PARAS)}
    teaser = read_article(_html(f"<p>{PARAS[0][:40]}…</p>", _ld(ld)), None)
    assert teaser is not None and teaser.body == tuple(PARAS)
    assert calls == []
    shown = read_article(_html("".join(f"<p>{p}</p>" for p in PARAS), _ld(ld)), None)
    assert shown is not None and shown.body == tuple(PARAS)
    assert calls == [True]  # the page shows as much: its extraction is made and compared


PAGES = [c.html for c in CORPUS] + [
    p.read_text(encoding="utf-8", errors="replace") for p in sorted((DATA / "pages").glob("*.html"))
]


@pytest.mark.parametrize("fast", [True, False])
def test_the_extraction_reads_nothing_in_head_but_json_ld(fast: bool) -> None:
    """The reader empties <head> (JSON-LD aside) before trafilatura's body extraction, to spare its passes
    the walk: every fixture page gives the same text with and without it, fast pass and whole cascade."""
    options = article_module._options(True, fast)
    for html in PAGES:
        tree = article_module._load(html)
        if tree is None:
            continue
        trimmed = copy.deepcopy(tree)
        article_module._drop_head(trimmed)
        assert trimmed.find("head") is None or all(
            el.get("type") == "application/ld+json" for el in trimmed.find("head")
        )
        whole, without = (article_module._bare_extraction(t, options) for t in (tree, trimmed))
        assert (whole.text if whole else None) == (without.text if without else None)


@pytest.mark.parametrize(
    "html",
    ["", "   ", "not html at all", "<html></html>", "\x00\x01\x02" * 100, "<p>" * 10_000, "<<<>>>&&&;;"],
)
def test_bad_input_gives_none_or_an_empty_article(html: str) -> None:
    got = read_article(html, "https://h.example/a")
    assert got is None or isinstance(got.body, tuple)


def test_deep_nesting_is_bounded() -> None:
    html = "<html><body>" + "<div>" * 5000 + "<p>deep text here</p>" + "</div>" * 5000 + "</body></html>"
    got = read_article(html, None)  # finishes (lxml caps the depth); whatever it finds is a tuple
    assert got is None or isinstance(got.body, tuple)


def test_library_failure_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("library bug")

    monkeypatch.setattr(article_module.trafilatura, "bare_extraction", boom)
    assert read_article(_html("<p>text</p>"), None) is None
    assert article_module.library_extract(_html("<p>text</p>"), None) is None


# -- wiring into the HTML extractor -------------------------------------------------------------------------


def _extract(path: Path, url: str) -> None:
    page = Page(
        source="t",
        url=url,
        content=path.read_bytes(),
        fetched_at=datetime(2025, 8, 20, 9, tzinfo=UTC),
        content_type="text/html",
    )
    extract(page, Source(name="t", url=url, interval=900))


def test_listing_pages_do_not_call_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str | None] = []

    def counting(html: str, url: str | None = None, **kwargs: Any) -> Any:
        calls.append(url)
        return read_article(html, url, **kwargs)

    monkeypatch.setattr(main_module, "read_article", counting)
    _extract(DATA / "pages" / "html-hashtag-listing.html", "https://daily8.example/tag/ukraine")
    assert calls == []
    _extract(DATA / "articles" / "split-heatwave.html", "https://edition.globalnewsnet.example/x")
    assert len(calls) == 1
