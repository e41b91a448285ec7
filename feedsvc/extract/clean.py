"""Text hygiene for extracted stories: Unicode NFC, XML-legal characters, whitespace, boilerplate lines."""

from __future__ import annotations

import re
import unicodedata

# XML 1.0 allows #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Zero-width characters, and the bidi embedding/override/isolate controls (U+202A-U+202E, U+2066-U+2069),
# which let a page flip how a reader displays the text around them ("Trojan Source"); the plain
# direction marks U+200E/U+200F stay, real right-to-left text needs them.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a-\u202e\u2066-\u2069]")
# Runs of whitespace other than a lone space (which needs no change: most of a page is those).
_DROPPED = re.compile(f"{XML_ILLEGAL.pattern}|{_INVISIBLE.pattern}")
_SPACES = re.compile(r"[^\S\n ][^\S\n]*| [^\S\n]+")

# Site chrome of the Daily8 family: whole lines that are never story text and end the section they
# follow (compared case-folded).
CHROME_LINES = frozenset(
    line.casefold()
    for line in (
        "logo",
        "Orange background",
        "Try Our AI Features",
        "Explore what Daily8 AI can do for you:",
        "Comments",
        "No comments yet...",
        "Related Articles",
        "DOWNLOAD THE APP",
        "Get Started Now: Download the App",
        "app-storeplay-store",
        "Copy the Story Link",
        "Hashtags",
        "Show Comments ()",
        "Show Comments",
    )
)
# Chrome that a rendering glues to the end of a story line ("... the clerk said. Copy the Story Link").
_GLUED_CHROME = ("copy the story link", "show comments ()", "show comments")
CHROME_PREFIXES = (
    "ready to dive into",
    "latest news with #",
    "download daily8",
)
_CHROME_MAX = max(map(len, CHROME_LINES))
_PREFIX_MAX = max(map(len, CHROME_PREFIXES))
_GLUED_MAX = max(map(len, _GLUED_CHROME))

# Outlet footers, paywall and newsletter lines: removed only when they make up a whole paragraph, so a
# real sentence that merely mentions a newsletter is kept.
_BOILERPLATE_PARAGRAPH = re.compile(
    r"""^(?:
        advertisement|ad|sponsored|share|load\ more|show\ more
      | story\ continues\ below(?:\ advertisement)?
      | (?:sign\ up|subscribe)\b.{0,120}\b(?:newsletter|briefing|digest|updates|inbox)\b.{0,100}
      | subscribe\ (?:now\ )?to\ (?:continue|keep)\ reading.{0,40}
      | start\ your\ (?:free\ )?trial(?:\ now|\ today)?.{0,40}
      | (?:already\ a\ subscriber\?|this\ (?:article|content)\ is\ (?:for|available\ to)\ subscribers).{0,80}
      | this\ (?:article|story)\ (?:originally\ )?(?:appeared|was\ (?:originally\ )?published)
        \ (?:on|in)\ .{1,80}
      | (?:©|\(c\)|copyright)\s*(?:\d{4}\s*)?.{0,100}(?:all\ rights\ reserved)?\.?
      | read\ (?:more|the\ full\ (?:story|article))(?:\ (?:at|on)\ .{1,60})?
      | click\ here\ to\ .{1,80}
    )[.!]?$""",
    re.IGNORECASE | re.VERBOSE,
)


def clean_text(text: str) -> str:
    """NFC, no XML-illegal or invisible characters, runs of spaces collapsed, lines stripped."""
    return "\n".join(clean_lines(text))


def clean_lines(text: str) -> list[str]:
    """The lines of ``clean_text(text)``."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\u2028" in text or "\u2029" in text:  # O(1) when the text has no character that high
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    # Line by line: a line break is a starter that composes with nothing, so NFC never crosses one, and
    # neither does any of the substitutions below.
    lines = text.split("\n")
    if len(lines) > 1 and _plain(text):
        # The whole text checked at once: its only whitespace is spaces and line breaks, so a line needs
        # no more than _clean_one_line's fast paths do (one pass over the page instead of a few per line).
        return [_collapse_spaces(line, None) if "  " in line else line.strip(" ") for line in lines]
    return list(map(_clean_one_line, lines))


def _plain(text: str) -> bool:
    """Whether every character of ``text`` is printable ASCII, a line break or in SAFE_TYPOGRAPHY."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, _ASCII_CONTROLS_BUT_NEWLINE)) == len(data)
    utf8 = _utf8(text)
    return (
        utf8 is not None and _UNSAFE_UTF8.search(utf8.translate(None, _PRINTABLE_ASCII_AND_NEWLINE)) is None
    )


def _clean_one_line(line: str) -> str:
    if line.isascii():  # O(1) for a str; ASCII is NFC, and its only droppable or odd spaces are controls
        data = line.encode("ascii")
        if len(data.translate(None, _ASCII_CONTROLS)) == len(data):
            if "  " in line:
                return _collapse_spaces(line, None)
            return line.strip()
    else:
        utf8 = _utf8(line)
        # Only the bytes outside printable ASCII need a look: whole characters, so still valid UTF-8.
        if utf8 is not None and _UNSAFE_UTF8.search(utf8.translate(None, _PRINTABLE_ASCII)) is None:
            return _collapse_spaces(line, utf8)  # every character is in SAFE_TYPOGRAPHY: NFC, printable
        if not unicodedata.is_normalized("NFC", line):
            line = unicodedata.normalize("NFC", line)
        # ``isprintable`` is False for every character _DROPPED removes (controls, format characters,
        # surrogates, noncharacters) and for every whitespace character but the plain space.
        if line.isprintable():
            return _collapse_spaces(line, None)
    if _DROPPED.search(line):
        line = _DROPPED.sub("", line)
    return _SPACES.sub(" ", line).strip()


def _collapse_spaces(line: str, data: bytes | None) -> str:
    """A line whose only whitespace is plain spaces (``data``: its UTF-8 if at hand), collapsed, stripped."""
    if b"  " in data if data is not None else "  " in line:
        while "  " in line:
            line = line.replace("  ", " ")
    return line.strip()


def _utf8(line: str) -> bytes | None:
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return None


_ASCII_CONTROLS = bytes(range(32))
_ASCII_CONTROLS_BUT_NEWLINE = _ASCII_CONTROLS.replace(b"\n", b"")
_PRINTABLE_ASCII = bytes(range(32, 127))
_PRINTABLE_ASCII_AND_NEWLINE = _PRINTABLE_ASCII + b"\n"
# Non-ASCII characters that are printable, not whitespace, composed under NFC and never composed with what
# precedes them (tests check every one): Latin-1 and Latin Extended letters and signs without U+00A0 (no-break
# space) and U+00AD (soft hyphen), and the General Punctuation that typography puts in news text (dashes,
# quotes, bullets, ellipsis, primes) without its spaces, separators and format characters. A line of ASCII and
# these needs no NFC and no character dropped: checked in one pass over its UTF-8 instead of two over it.
SAFE_TYPOGRAPHY = ((0x00A1, 0x00AC), (0x00AE, 0x02FF), (0x2010, 0x2027), (0x2030, 0x205E))
# Anything else, in UTF-8: ASCII controls and DEL, C1 controls, U+00A0, U+00AD, lead bytes of U+0300-U+1FFF
# and U+3000 up, and U+2000-U+20FF outside the safe ranges.
_UNSAFE_UTF8 = re.compile(
    rb"[\x00-\x1f\x7f]|\xc2[\x80-\xa0\xad]|[\xcc-\xe1\xe3-\xff]"
    rb"|\xe2(?:[^\x80\x81]|\x80[^\x90-\xa7\xb0-\xbf]|\x81[^\x80-\x9e])"
)


def clean_line(text: str) -> str:
    """clean_text for one line: newlines become spaces."""
    return clean_text(text).replace("\n", " ").strip()


def is_chrome(line: str) -> bool:
    line = line.strip()
    # Case folding never shortens a text and folds character by character, so a line longer than every
    # chrome line cannot be one, and only its first characters can decide a prefix.
    if len(line) <= _CHROME_MAX and line.casefold() in CHROME_LINES:
        return True
    return line[:_PREFIX_MAX].casefold().startswith(CHROME_PREFIXES)


def strip_glued_chrome(line: str) -> str:
    """A story line without the chrome glued to its end ("... said. Copy the Story Link")."""
    end = _rstripped(line, len(line))
    # The folded tail is the tail of the folded line (folding is per character and never shortens). The
    # line is cut once, at the end: a cut per suffix took time in the square of a line of them.
    while (folded := line[max(0, end - _GLUED_MAX) : end].casefold()).endswith(_GLUED_CHROME):
        suffix = next(s for s in _GLUED_CHROME if folded.endswith(s))
        end = _rstripped(line, end - len(suffix))
    return line[:end]


def _rstripped(line: str, end: int) -> int:
    """Where ``line[:end].rstrip()`` ends, without the copy."""
    while end and line[end - 1].isspace():
        end -= 1
    return end


# The more-link a theme ends a summary with ("… ends today. Continue reading", "Read More »", "(more…)",
# "[…]", "Weiterlesen →"): a link to the story, never words of it.
_MORE_PHRASES = (
    "continue reading", "keep reading", "read more", "read the rest", "read full story", "read full article",
    "read the full story", "read the full article", "read the full post", "read the whole story",
    "weiterlesen", "mehr lesen", "lire la suite", "lire plus", "leer más", "seguir leyendo",
    "continuar leyendo", "leggi tutto", "leggi di più", "continua a leggere", "leia mais", "continuar lendo",
    "lees verder", "lees meer", "czytaj dalej", "czytaj więcej", "читать далее", "читать дальше",
    "подробнее", "läs mer", "les mer", "læs mere", "lue lisää", "devamını oku", "続きを読む", "阅读全文",
    "閱讀全文", "阅读更多", "더 보기", "more",
)  # fmt: skip
_ARROWS = "→»›>▸►➔➜⟶"
_MORE_MARKS = f" .…{_ARROWS})]"  # what may follow a more-link's words
_MORE_LINK_RE = re.compile(
    r"(?:^|(?<=\s)|(?<=[.!?…。！？\"'”’»)\]]))"
    r"(?P<sep>[|·•–—-]\s*)?(?P<open>[\[(]\s*)?"
    f"(?P<phrase>{'|'.join(map(re.escape, _MORE_PHRASES))})"
    rf"(?P<decor>(?:\s*(?:[{_ARROWS}]|…|\.{{2,}}+))*)"  # a run of dots one way only (not 2^n splits)
    r"\s*(?P<close>[\])])?\.?$",
    re.IGNORECASE,
)
_MORE_TAIL = 60  # the longest phrase with its marks and spaces
# A summary's mark that it was cut: "[…]", "[...]", "(…)" (WordPress's excerpt ends in " [&hellip;]").
_CUT_MARK_RE = re.compile(r"\s*[\[(]\s*(?:…|\.{3})\s*[\])]$")
# What a sentence, a quotation or a cut mark ends with: a more-link after it is no word of the sentence.
_SENTENCE_END = frozenset(".!?…。！？\"'”’»)]")


def strip_more_link(line: str) -> str:
    """A summary without the more-link at its end: taken off only where it cannot be the sentence's last
    words ("… residents who want to read more"): after a sentence's end or at the start of the line, or
    marked as a link (an arrow, brackets, a separator before it); a bare "more" only in brackets or after a
    separator, or marked by an arrow after a sentence's end ("… and more →" is the sentence's). A cut mark
    ("[…]") becomes an ellipsis."""
    end = len(line)  # the line is cut once, at the end (a cut per more-link: time in the square of them)
    while _may_end_in_more_link(line[max(0, end - _MORE_TAIL) : end]):
        tail = max(0, end - _MORE_TAIL)
        more = _MORE_LINK_RE.search(line, tail, end)
        if more is None:
            cut = _CUT_MARK_RE.search(line, tail, end)
            if cut is None:
                break
            head = line[: cut.start()]
            return f"{head}…" if head else ""
        enclosed = bool(more["sep"] or (more["open"] and more["close"]))
        arrowed = any(c in _ARROWS for c in more["decor"])
        head_end = _rstripped(line, more.start())
        ends_sentence = not head_end or line[head_end - 1] in _SENTENCE_END
        if more["phrase"].casefold() == "more":
            taken = enclosed or (arrowed and ends_sentence)
        else:
            taken = enclosed or arrowed or ends_sentence
        if not taken:
            break
        end = head_end
    return line[:end]


def _may_end_in_more_link(line: str) -> bool:
    """What the searches in strip_more_link need to find anything: the line ends in a bracket, or in a
    more-link's words before its marks (one test at the end of the line instead of a search along it)."""
    return line.endswith(("]", ")")) or line[-_MORE_TAIL:].rstrip(_MORE_MARKS).casefold().endswith(
        _MORE_PHRASES
    )


def is_boilerplate_paragraph(paragraph: str) -> bool:
    return len(paragraph) <= 240 and bool(_BOILERPLATE_PARAGRAPH.match(paragraph.strip()))


def clean_body(paragraphs: list[str], *, cleaned: bool = False) -> tuple[str, ...]:
    """Non-empty paragraphs without the recognisable boilerplate ones, put through clean_line unless the
    caller says they came from clean_text already (``cleaned``)."""
    out = []
    for paragraph in paragraphs:
        text = strip_more_link(strip_glued_chrome(paragraph if cleaned else clean_line(paragraph)))
        if text and not is_boilerplate_paragraph(text) and not is_chrome(text):
            out.append(text)
    return tuple(out)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"
