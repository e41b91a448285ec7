"""Bad and unusual input: encodings, junk, caps and arbitrary bytes give stories or an ExtractError."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.errors import ExtractError
from feedsvc.extract import _finish_story, decode, extract
from feedsvc.extract.times import resolve, split_glued, strip_icon
from feedsvc.models import Page, Source, Story
from tests.conftest import DATA

REFERENCE = DATA / "pages" / "daily8-putin-invites-trump.txt"
FETCHED = datetime(2025, 8, 19, 12, tzinfo=UTC)
SOURCE = Source(name="demo-source", url="https://daily8.example/x", interval=900)


def _page(content: bytes, content_type: str | None = None) -> Page:
    return Page(
        source=SOURCE.name, url=SOURCE.url, content=content, fetched_at=FETCHED, content_type=content_type
    )


def _titles(content: bytes, content_type: str | None = None) -> list[str]:
    return [s.title for s in extract(_page(content, content_type), SOURCE)]


REFERENCE_TITLES = _titles(REFERENCE.read_bytes())


@pytest.mark.parametrize(
    ("encoding", "content_type"),
    [
        ("cp1252", None),
        ("utf-16", None),
        ("iso-8859-1", "text/plain; charset=ISO-8859-1"),
        ("utf-8-sig", None),
    ],
)
def test_legacy_encodings_decode_to_the_same_stories(encoding: str, content_type: str | None) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    if encoding == "iso-8859-1":  # latin-1 has no curly quotes or dashes: keep what it can carry
        text = text.encode("iso-8859-1", "replace").decode("iso-8859-1")
    assert _titles(text.encode(encoding, "replace"), content_type) == REFERENCE_TITLES


def test_declared_html_charset_is_honoured() -> None:
    html = (
        '<html><head><meta charset="windows-1252"><title>x</title></head><body>caf\xe9 \u2014</body></html>'
    )
    assert decode(html.encode("cp1252")) == html


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (bytes(range(256)) * 20, "binary"),
        (b"Just one line of prose with no structure at all.\nAnother line.", "no stories"),
    ],
)
def test_unusable_pages_raise_an_error_naming_the_source(content: bytes, reason: str) -> None:
    with pytest.raises(ExtractError) as caught:
        extract(_page(content), SOURCE)
    assert caught.value.source == "demo-source" and reason in str(caught.value)


def test_size_cap() -> None:
    with pytest.raises(ExtractError, match="cap"):
        extract(_page(REFERENCE.read_bytes()), SOURCE, max_bytes=1000)


def test_a_finished_story_keeps_every_field_but_its_source() -> None:
    values: dict[str, object] = {f.name: f"value of {f.name}" for f in fields(Story)}
    values.update(body=("A paragraph.",), published=FETCHED)
    finished = _finish_story(Story(**values), "the source")  # type: ignore[arg-type]
    assert finished == Story(**{**values, "source": "the source"})  # type: ignore[arg-type]


@pytest.mark.parametrize("path", sorted((DATA / "pages").glob("html-*.html")), ids=lambda p: p.name)
def test_truncated_html_keeps_what_was_complete(path: object) -> None:
    import json
    from pathlib import Path

    from feedsvc.models import SiteProfile

    assert isinstance(path, Path)
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    profile = SiteProfile(**expected["profile"]) if expected.get("profile") else None
    source = Source(name=SOURCE.name, url=SOURCE.url, interval=900, profile=profile)
    data = path.read_bytes()
    full = extract(_page(data, "text/html"), source)
    try:
        cut = extract(_page(data[: len(data) * 2 // 3], "text/html"), source)
    except ExtractError as exc:
        assert exc.source == SOURCE.name
        return
    assert all(story.title for story in cut)
    assert len(cut) <= len(full) + 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_give_stories_or_extract_error(data: bytes) -> None:
    try:
        stories = extract(_page(data), SOURCE)
    except ExtractError:
        return
    assert all(s.title for s in stories)


_LINE = st.sampled_from(
    [
        "logo",
        "Related Articles",
        "A headline about events",
        "A headline about events",
        "CNN",
        "time2 minutes ago",
        "Yahoo4 days ago",
        "  • CNN",
        "- Reuters",
        "an hour ago",
        "Body text that goes on for a while and ends with a full stop.",
        "DOWNLOAD THE APP",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_LINE, st.text(max_size=80)), max_size=40))
def test_arbitrary_text_layouts_give_stories_or_extract_error(lines: list[str]) -> None:
    try:
        stories = extract(_page("\n".join(lines).encode("utf-8")), SOURCE)
    except ExtractError:
        return
    for story in stories:
        assert story.title and "\n" not in story.title
        assert story.published is None or story.published <= FETCHED


def test_time_phrases() -> None:
    assert strip_icon("time2 minutes ago") == "2 minutes ago"
    assert strip_icon("9 minutes ago") == "9 minutes ago"
    assert strip_icon("Time") is None and strip_icon("TIME") is None
    assert strip_icon("time11-06-2025") == "11-06-2025"
    assert split_glued("Yahoo4 days ago") == ("Yahoo", "4 days ago")
    assert split_glued("Axios12-03-2025") == ("Axios", "12-03-2025")
    assert split_glued("News244 days ago", frozenset({"News24"})) == ("News24", "4 days ago")
    assert split_glued("7NEWS3 hours ago") == ("7NEWS", "3 hours ago")
    assert split_glued("He left the room 2 days ago, she said.") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4 days ago", "2025-08-15T12:00:00+00:00"),
        ("an hour ago", "2025-08-19T11:00:00+00:00"),
        ("1h", "2025-08-19T11:00:00+00:00"),
        ("Yesterday", "2025-08-18T12:00:00+00:00"),
        ("just now", "2025-08-19T12:00:00+00:00"),
        ("11-06-2025", "2025-06-11T00:00:00+00:00"),
        ("Aug 15, 2025", "2025-08-15T00:00:00+00:00"),
        ("2025-08-15T10:00:00+02:00", "2025-08-15T08:00:00+00:00"),
        ("2 months ago", "2025-06-19T12:00:00+00:00"),
    ],
)
def test_resolve_against_fetch_time(text: str, expected: str) -> None:
    resolved = resolve(text, FETCHED)
    assert resolved is not None and resolved.isoformat() == expected


def test_unknown_times_stay_unknown() -> None:
    assert resolve("sometime soon", FETCHED) is None
    assert resolve(None, FETCHED) is None
    assert resolve("31-12-2030", FETCHED) is None  # after the fetch: a misparse, not the future
    assert resolve("06-11-2025", FETCHED, "MDY").month == 6  # type: ignore[union-attr]


def test_machine_dates_after_the_fetch_are_not_believed() -> None:
    def published(stamp: str) -> str | None:
        body = "<p>The council approved the budget on Tuesday after a long debate, officials said.</p>" * 4
        html = (
            '<html><head><meta property="og:site_name" content="City Herald">'
            '<meta property="og:title" content="Council approves the new budget plan"></head><body>'
            f'<article><h1>Council approves the new budget plan</h1><time datetime="{stamp}">{stamp}</time>'
            f"{body}</article></body></html>"
        )
        stories = extract(_page(html.encode(), "text/html"), SOURCE)
        value = stories[0].to_json()["published"]
        return value if isinstance(value, str) else None

    assert published("2025-08-19T09:30:00Z") == "2025-08-19T09:30:00Z"
    assert published("2025-08-19T12:20:00Z") == "2025-08-19T12:00:00Z"  # a fast clock: clamped to the fetch
    assert published("2025-09-30T12:00:00Z") is None  # weeks ahead: unknown, never the future


@pytest.mark.parametrize("charset", ["rot13", "rot_13", "base64", "zlib", "hex", "uu", "bogus-9"])
def test_non_text_or_unknown_charsets_are_not_believed(charset: str) -> None:
    html = f'<html><head><meta charset="{charset}"></head><body><p>café</p></body></html>'
    assert decode(html.encode("utf-8")) == html
    assert decode(b"<p>plain</p>", f"text/html; charset={charset}") == "<p>plain</p>"
