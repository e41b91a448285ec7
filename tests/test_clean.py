"""feedsvc.extract.clean: a whole text cleaned at once reads exactly as its lines cleaned one by one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.extract import clean

# Plain characters (printable ASCII, the typography SAFE_TYPOGRAPHY admits) and every kind the per-line path
# treats apart: other whitespace, controls and DEL, invisible and bidi characters, a combining accent (NFC),
# a no-break space, a soft hyphen, CJK, a lone surrogate, line breaks of every sort.
_CHARS = st.sampled_from([
    *"ab Z9.,'  ", "\n", "\n", "\u2014", "\u201c", "\u00e9", "\u2026", "\u0101",
    "\t", "\x0b", "\x0c", "\x1f", "\x7f", "\x00", "\u00a0", "\u00ad", "\u200b", "\u202e", "\u0301",
    "\u3000", "\u65e5", "\u2028", "\r", "\ud800", "\u0085",
])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_CHARS, max_size=60).map("".join))
def test_a_text_reads_as_its_lines_one_by_one(text: str) -> None:
    one_by_one = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    expected = [clean._clean_one_line(line) for line in one_by_one.split("\n")]
    assert clean.clean_lines(text) == expected
    assert clean.clean_text(text) == "\n".join(expected)


def test_a_plain_page_takes_the_whole_text_path() -> None:
    page = "Title  twice\n  \u2022 NBC News \n\nA body \u2014 \u201cquoted\u201d.\n"
    assert clean._plain(page)
    assert clean.clean_lines(page) == [
        "Title twice",
        "\u2022 NBC News",
        "",
        "A body \u2014 \u201cquoted\u201d.",
        "",
    ]
    assert not clean._plain("caf\u00e9\u0301\nx")  # a combining accent: the line by line path, with NFC
    assert clean.clean_lines("cafe\u0301\nx\u00a0 y") == ["caf\u00e9", "x y"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("The detour ends today. Continue reading", "The detour ends today."),
        ("The detour ends today. Continue reading →", "The detour ends today."),
        ("The detour ends today Read More »", "The detour ends today"),
        ("The board met on Monday. Read more…", "The board met on Monday."),
        ("The board met on Monday. (more…)", "The board met on Monday."),
        ("The board met on Monday. | Read more", "The board met on Monday."),
        ("The board decided on […]", "The board decided on…"),
        ("The board decided on [...] Continue reading", "The board decided on…"),
        ("Der Rat tagte am Montag. Weiterlesen", "Der Rat tagte am Montag."),
        ("Le conseil s'est réuni lundi. Lire la suite »", "Le conseil s'est réuni lundi."),
        ("市議会が月曜日に開かれた。続きを読む", "市議会が月曜日に開かれた。"),
        ("Continue reading", ""),
        # the same words as the sentence's own: no sentence end before them, no arrow or brackets
        ("Residents who want to read more", "Residents who want to read more"),
        ("Readers asked to keep reading…", "Readers asked to keep reading…"),
        ("He said he would continue reading.", "He said he would continue reading."),
        ("The town wants more", "The town wants more"),
        ("The budget is fine. More", "The budget is fine. More"),  # a bare "more" only as a marked link
        ("The vote is today. More →", "The vote is today."),
        # an arrow after the sentence's own "more" marks the card's link, not the end of a more-link
        ("Apple, Google, and more →", "Apple, Google, and more →"),
        ("Best deals on TVs, laptops & more >", "Best deals on TVs, laptops & more >"),
        ("Learn how to do more ›", "Learn how to do more ›"),
    ],
)
def test_a_summary_ends_without_its_more_link(line: str, expected: str) -> None:
    assert clean.strip_more_link(line) == expected


def test_a_body_drops_more_links_and_a_paragraph_that_is_only_one() -> None:
    assert clean.clean_body(["Crews finished early. Continue reading", "Read More »"]) == (
        "Crews finished early.",
    )
