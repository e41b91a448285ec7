"""Every page fixture under tests/data/pages/ parses to exactly the stories in the JSON beside it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedsvc.extract import extract, extract_page
from feedsvc.models import Page, SiteProfile, Source

PAGES = Path(__file__).parent / "data" / "pages"
CASES = sorted(p for p in PAGES.iterdir() if p.suffix in (".txt", ".html"))
CHROME = [
    "Orange background",
    "Try Our AI Features",
    "Explore what Daily8 AI can do for you:",
    "No comments yet...",
    "Related Articles",
    "DOWNLOAD THE APP",
    "Get Started Now: Download the App",
    "Ready to dive into",
    "app-storeplay-store",
    "Copy the Story Link",
]


def _parse(page_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    got, expected, _ = _parse_page(page_path)
    return got, expected


def _parse_page(page_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any], str | None]:
    expected = json.loads(page_path.with_suffix(".json").read_text(encoding="utf-8"))
    profile = SiteProfile(**expected["profile"]) if expected.get("profile") else None
    source = Source(
        name=page_path.stem,
        url=str(page_path),
        interval=900,
        date_order=expected.get("date_order", "DMY"),
        profile=profile,
    )
    page = Page(
        source=source.name,
        url=expected.get("page_url") or str(page_path),
        content=page_path.read_bytes(),
        fetched_at=datetime.fromisoformat(expected["fetched_at"].replace("Z", "+00:00")),
    )
    found = extract_page(page, source)
    return [s.to_json() for s in found.stories], expected, found.title


def _matches(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """Every key the expectation names; a body may be given whole or by its start and end (shape fixtures).
    The image always counts: a story the expectation gives none has none."""
    if got["image"] != want.get("image"):
        return False
    for key, value in want.items():
        if key == "body_starts_with":
            ok = got["body"].startswith(value)
        elif key == "body_ends_with":
            ok = got["body"].endswith(value)
        elif key == "body_truncated":
            ok = True  # informative: the record is kept with the body it has
        else:
            ok = got[key] == value
        if not ok:
            return False
    return True


@pytest.mark.parametrize("page_path", CASES, ids=[p.name for p in CASES])
def test_page_matches_expected_stories(page_path: Path) -> None:
    got, expected = _parse(page_path)
    want = expected["stories"]
    assert [s["title"] for s in got] == [s["title"] for s in want]
    for g, w in zip(got, want, strict=True):
        assert _matches(g, w), f"{page_path.name}: story {w['title']!r} differs: {g}"


@pytest.mark.parametrize("page_path", CASES, ids=[p.name for p in CASES])
def test_page_title_is_the_expected_one(page_path: Path) -> None:
    """The name the page gives itself (a listing's title with its site's name, an article page's site);
    a text rendering gives none."""
    _, expected, title = _parse_page(page_path)
    assert title == expected.get("page_title")


def test_pictures_are_found_on_listings_and_articles() -> None:
    """The fixtures are not all image-free: cards' and article pages' pictures are expected."""
    pictured = []
    for path in CASES:
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        pictured += [s["image"] for s in expected["stories"] if s.get("image")]
    assert len(pictured) >= 30
    assert all(url.startswith(("http://", "https://")) for url in pictured)


@pytest.mark.parametrize("page_path", CASES, ids=[p.name for p in CASES])
def test_no_site_chrome_leaks_into_a_story(page_path: Path) -> None:
    got, _ = _parse(page_path)
    for story in got:
        for field in ("title", "outlet", "body", "category"):
            text = story[field] or ""
            for chrome in CHROME:
                assert chrome not in text, f"{page_path.name}: {chrome!r} in {field} of {story['title']!r}"


def test_every_page_fixture_has_its_expectation() -> None:
    assert CASES, "no page fixtures found"
    missing = [p.name for p in CASES if not p.with_suffix(".json").is_file()]
    assert not missing


def test_a_source_language_reads_its_words_for_times() -> None:
    page_text = (
        "logo\nStadtrat beschließt neue Hafenmauer nach Sturmschäden\n"
        "Stadtrat beschließt neue Hafenmauer nach Sturmschäden\nNordkurier\ngestern\n"
        "  • Nordkurier\nDer Stadtrat hat am Montag den Bau einer neuen Hafenmauer beschlossen.\n"
    )
    fetched = datetime(2025, 8, 19, 12, tzinfo=UTC)
    page = Page(source="de", url="/tmp/de.txt", content=page_text.encode(), fetched_at=fetched)
    german = Source(name="de", url="/tmp/de.txt", interval=900, language="de-DE")
    [story] = extract(page, german)
    assert story.outlet == "Nordkurier" and story.published_text == "gestern"
    assert story.published is not None and story.published.date() == datetime(2025, 8, 18).date()
    # Without the setting "gestern" is not a time in every language, so it is not a record header.
    assert all(s.published is None for s in extract(page, Source(name="de", url="/tmp/de.txt", interval=900)))
