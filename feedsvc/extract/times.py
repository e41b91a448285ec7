"""Publication times: recognise time phrases in page text and resolve them to UTC (dateparser).

Languages. The forms live in ``time_words.py`` (English, German, French, Spanish, Italian, Portuguese, Dutch,
Japanese, Chinese). Callers pass ``languages`` from the page's declared language (``language_tag``) or a
per-source setting. Without it every language's phrases are recognised except bare words ("hier", "ayer",
"gestern", "昨日"): those are ordinary words elsewhere ("hier" is Dutch and German for "here"), so they count
only when their language is declared. English keeps its historical forms, including "now" and "yesterday",
whenever no language or "en" is declared; a declaration without "en" drops English forms. Codes we do not
support are ignored; a declaration of nothing supported counts as no declaration.

Zones. Clock times are read in the zone of the phrase's language: JST (UTC+9) for Japanese, UTC+8 for
Chinese (mainland, Hong Kong, Taiwan and Singapore share it), UTC for every other language (European
languages span zones and DST; pages that need better say so with an offset or a <time datetime>). The
phrase's language is the first declared language it belongs to, else the one language that writes it that
way ("3/9(木) 18:45配信" is Japanese); a shared form ("2025年3月9日 18:45") with no declaration stays UTC,
and digits-only forms ("2025/03/09 18:45") take the first declared language's zone. A date-only phrase is
midnight of that day in that zone.

Years. A Japanese or Chinese date without a year ("3/9(木) 18:45", "3月9日") takes the latest year that puts
it at or before the fetch time, in the page's zone ("12/31(水) 23:50" fetched on 2 January is last year's).
The weekday in "(木)" is decoration: it is not checked against the date.

Unknown stays None, never "now"; so does any time after the fetch (a misparse or a wrong clock upstream).
dateparser resolves most forms; the explicit rules here cover what it gets wrong (measured: Yahoo! Japan's
"3/9(木) 18:45" is read as 3 September, "3/9(木) 18:45配信" and "3月9日 18:45" not at all).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from re import _compiler as _sre_compiler  # type: ignore[attr-defined]
from re import _constants as _sre  # type: ignore[attr-defined]
from re import _parser as _sre_parser  # type: ignore[attr-defined]
from typing import Any
from zoneinfo import ZoneInfo

from feedsvc.extract import time_words as words
from feedsvc.extract.time_words import Form
from feedsvc.models import DateOrder, utc

# The English phrase regex as it was before other languages existed (kept for importers).
TIME_PHRASE = "(?:" + "|".join(words.EN_FORMS[:3] + words.NEUTRAL_FORMS + words.EN_FORMS[3:]) + ")"
# Longest phrase worth reading: longer text is rejected before any regex runs (hostile or body text).
MAX_PHRASE_CHARS = 80
# Character-for-character folding (lengths kept, so match positions index the original text).
_FOLD = str.maketrans(
    {"’": "'", "（": "(", "）": ")", "：": ":", **{chr(0xFF10 + i): str(i) for i in range(10)}}
)
_UNNAMED = re.compile(r"\(\?P<\w+>")
_CLOCK_H = re.compile(r"\b(\d{1,2})h(\d{2})\b")
_ONE = {
    lang: re.compile(rf"(?<![\w'])(?:{one})(?:\s+|')(?=\w)", re.IGNORECASE)
    for lang, one in words.ONE_WORDS.items()
}
_CLOCK_WORD = re.compile(rf"(?<!\w)(?:{words.CLOCK_WORDS})\s+(?=\d{{1,2}}[:h]\d{{2}})", re.IGNORECASE)
_CLOCK_SUFFIX = re.compile(rf"(\d{{1,2}}:\d{{2}})\s*(?:{words.CLOCK_SUFFIXES})\b", re.IGNORECASE)
# A phrase may end in an abbreviation's dot: "3 min.", "9:12 a.m."
_ABBREVIATED_END = re.compile(r"(?:min|std|sek|seg|sec|\d\s?[ap]\.m)\.$", re.IGNORECASE)
_WORDLESS_HINT = re.compile(words.WORDLESS_HINT, re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_LANG_ALIASES = {"jp": "ja"}  # a common mistake in <html lang>


def language_tag(value: str | None) -> str | None:
    """The dateparser language code of a declared language ("de-DE", "fr_FR", "zh-Hans-CN" -> "de", "fr",
    "zh"), or None when empty or not a language we read."""
    if not value:
        return None
    primary = re.split(r"[-_\s,;]", value[:40].strip().lower(), maxsplit=1)[0]
    primary = _LANG_ALIASES.get(primary, primary)
    return primary if primary in words.SUPPORTED else None


def _clip(text: str, limit: int) -> str:
    """``text`` stripped, or "" when longer than ``limit`` (checked before stripping a huge padding too)."""
    if len(text) > 4 * limit:
        return ""
    text = text.strip()
    return "" if len(text) > limit else text


def _fold(text: str) -> str:
    return text if text.isascii() else text.translate(_FOLD)


def _declared(languages: Iterable[str] | None) -> tuple[str, ...] | None:
    if languages is None:
        return None
    if isinstance(languages, str):
        languages = (languages,) if languages else ()
    return _declared_codes(tuple(languages))


@lru_cache(maxsize=256)
def _declared_codes(languages: tuple[str, ...]) -> tuple[str, ...] | None:
    codes = tuple(dict.fromkeys(c for c in map(language_tag, languages) if c))
    return codes or None


@dataclass(frozen=True)
class _Table:
    """The forms a declaration allows, and regexes over them."""

    forms: tuple[Form, ...]
    whole: re.Pattern[str]  # a whole phrase
    icon: re.Pattern[str]  # "time" + phrase
    labelled: re.Pattern[str] | None  # "Updated" + phrase (None without English forms)
    digit_tail: re.Pattern[str]  # a phrase starting with a digit that runs to the end (tried at digits only)
    other_tail: re.Pattern[str]  # any other phrase that runs to the end (searched for)
    # Every phrase written backwards, matched at the start of a reversed line: one anchored match tells
    # whether any phrase can end the line at all, before the searches above try every split position.
    # None when a form uses a construct _reverse does not know.
    ending: re.Pattern[str] | None


# A form that can only start with a digit, possibly after an optional "(?:(?P<year>\d...)...)?" group.
_DIGIT_START = re.compile(r"\\d|\(\?:\(\?P<year>\\d")


@lru_cache(maxsize=64)
def _table(declared: tuple[str, ...] | None) -> _Table:
    if declared is None:
        forms = tuple(f for f in words.FORMS if not f.bare)
    else:
        forms = tuple(f for f in words.FORMS if not f.languages or set(f.languages) & set(declared))

    def alternatives(selected: Iterable[Form]) -> str:
        return "|".join(f"(?:{_UNNAMED.sub('(?:', f.pattern)})" for f in selected) or "(?!)"

    every = alternatives(forms)
    digit = [f for f in forms if f.glued and _DIGIT_START.match(f.pattern)]
    other = [f for f in forms if f.glued and not _DIGIT_START.match(f.pattern)]
    english = any("en" in f.languages for f in forms)
    return _Table(
        forms,
        re.compile(every, re.IGNORECASE),
        re.compile(rf"time\s*({every})", re.IGNORECASE),
        re.compile(rf"{words.EN_LABEL}\s*({every})", re.IGNORECASE) if english else None,
        re.compile(rf"(?:{alternatives(digit)})\Z", re.IGNORECASE),
        re.compile(rf"(?:{alternatives(other)})\Z", re.IGNORECASE),
        _reversed_pattern(every),
    )


def _reversed_pattern(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` (case-insensitive) reversed: it matches ``text[::-1]`` exactly where ``pattern`` matches
    ``text``. Built on the stdlib's own parse tree; None for a construct that is not simply reversed."""
    parsed = _sre_parser.parse(pattern, re.IGNORECASE)
    reversed_ = _reverse(parsed)
    return None if reversed_ is None else _sre_compiler.compile(reversed_, re.IGNORECASE)


def _reverse(sub: Any) -> Any:
    """A parsed (sub)pattern with its sequence reversed at every level, or None."""
    items: list[tuple[Any, Any]] = []
    for op, av in reversed(sub.data):
        if op in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.IN, _sre.ANY):
            items.append((op, av))  # one character: the same backwards
        elif op is _sre.AT and av in (_sre.AT_BOUNDARY, _sre.AT_NON_BOUNDARY):
            items.append((op, av))  # a word boundary looks at both neighbours: symmetric
        elif op is _sre.SUBPATTERN:
            group, add_flags, del_flags, inner = av
            if (inner := _reverse(inner)) is None:
                return None
            items.append((op, (group, add_flags, del_flags, inner)))
        elif op is _sre.BRANCH:
            branches = [_reverse(branch) for branch in av[1]]
            if any(branch is None for branch in branches):
                return None
            items.append((op, (av[0], branches)))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            low, high, inner = av
            if (inner := _reverse(inner)) is None:
                return None
            items.append((op, (low, high, inner)))
        else:  # anchors, lookarounds, back references, possessive repeats: not reversed here
            return None
    return _sre_parser.SubPattern(sub.state, items)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def is_time_phrase(text: str, languages: Iterable[str] | None = None) -> bool:
    text = _clip(text, MAX_PHRASE_CHARS)
    return bool(text) and bool(_table(_declared(languages)).whole.fullmatch(_fold(text)))


def strip_icon(line: str, languages: Iterable[str] | None = None) -> str | None:
    """The time phrase of a time line ("time2 minutes ago" or "2 minutes ago"), else None."""
    line = _clip(line, MAX_PHRASE_CHARS)
    if not line:
        return None
    return _strip_icon(line, _declared(languages))


# Pages repeat their lines (a title shown twice, the same outlets and chrome on every page, the same page
# fetched again): the per-line answers below are pure functions of the line and the declared languages.
@lru_cache(maxsize=16384)
def _strip_icon(line: str, declared: tuple[str, ...] | None) -> str | None:
    folded = _fold(line)
    table = _table(declared)
    if table.whole.fullmatch(folded):
        return line
    match = table.icon.fullmatch(folded)
    if match and line[:4] == "time":  # lowercase icon text; "Time"/"TIME" start outlet names
        return line[match.start(1) :]
    match = table.labelled.fullmatch(folded) if table.labelled is not None else None
    return line[match.start(1) :] if match else None


def split_glued(
    line: str, known_outlets: frozenset[str] = frozenset(), languages: Iterable[str] | None = None
) -> tuple[str, str] | None:
    """Split "Yahoo4 days ago" into ("Yahoo", "4 days ago"); None when the line is not outlet+time.

    Digits make the split ambiguous ("News244 days ago"): an outlet the page names elsewhere wins,
    then the split whose outlet does not end in a digit, then the shortest outlet.
    """
    return pick_glued(glued_candidates(line, languages), known_outlets)


def glued_candidates(line: str, languages: Iterable[str] | None = None) -> tuple[tuple[str, str], ...]:
    """Every (outlet, time phrase) split of ``line``, shortest outlet first: split_glued before it picks."""
    line = _clip(line, 90)
    if not line or ("." in line[-1:] and not _ABBREVIATED_END.search(line)):
        return ()
    return _glued_candidates(line, _declared(languages))


def pick_glued(
    candidates: tuple[tuple[str, str], ...], known_outlets: frozenset[str]
) -> tuple[str, str] | None:
    """The split split_glued chooses among ``candidates`` (see there)."""
    if not candidates:
        return None
    if known_outlets and len(candidates) > 1:
        folded_known = {k.casefold() for k in known_outlets}
        for outlet, phrase in candidates:
            if outlet.casefold() in folded_known:
                return outlet, phrase
    for outlet, phrase in candidates:
        if not outlet[-1].isdigit():
            return outlet, phrase
    return candidates[0]


@lru_cache(maxsize=16384)
def _glued_candidates(line: str, declared: tuple[str, ...] | None) -> tuple[tuple[str, str], ...]:
    """Every (outlet, phrase) split of ``line`` with a phrase running to its end, shortest outlet first."""
    folded = _fold(line)
    table = _table(declared)
    if table.ending is not None and table.ending.match(folded[::-1]) is None:
        return ()  # no phrase ends this line (most lines: titles, outlets, chrome): one anchored match
    if not _may_hold_phrase(folded):
        return ()
    starts = {i for i in range(1, len(folded)) if folded[i].isdigit() and table.digit_tail.match(folded, i)}
    match = table.other_tail.search(folded, 1)  # each start at which a phrase runs to the end
    while match:
        starts.add(match.start())
        match = table.other_tail.search(folded, match.start() + 1)
    candidates: list[tuple[str, str]] = []
    for i in sorted(starts):
        outlet, phrase = line[:i].rstrip(), line[i:]
        if outlet and _looks_like_outlet(outlet):
            candidates.append((outlet, phrase.strip()))
    return tuple(candidates)


def _may_hold_phrase(text: str) -> bool:
    return bool(_DIGIT.search(text) or _WORDLESS_HINT.search(text))


def _looks_like_outlet(text: str) -> bool:
    words_ = text.split()
    return 0 < len(words_) <= 6 and len(text) <= 60 and text[-1] not in ",;:!?" and text[0] != "•"


# Bases a phrase is first read against to learn whether its reading moves with the base: different
# weekdays, month lengths (a leap February among them), days of the month, years and times of day.
_REFERENCES = (
    datetime(2024, 3, 15, 9, 41, 7),
    datetime(2025, 8, 14, 17, 3, 52),
    datetime(2023, 12, 31, 23, 58, 11),
)
_SHIFT_LIMIT = timedelta(days=28)  # a month or a year back varies with the calendar: never a fixed shift


def _parse(
    text: str, base: datetime, date_order: DateOrder, languages: tuple[str, ...] = ("en",), zone: int = 0
) -> datetime | None:
    """One phrase read against ``base`` (naive wall-clock time at UTC+``zone`` h), the result naive UTC:
    ``base`` less a fixed shift for a phrase that always lands the same distance back ("2 hours ago",
    "yesterday", "3h"), so each such phrase costs dateparser once per process, not once per fetch;
    dateparser against ``base`` for every other phrase."""
    shift = _shift(text, date_order, languages, zone)
    if shift is not None:
        try:
            return base - shift
        except OverflowError:  # a base at the edge of datetime's range: as dateparser reads it
            pass
    return _dateparser(text, base, date_order, languages, zone)


@lru_cache(maxsize=4096)
def _shift(text: str, date_order: DateOrder, languages: tuple[str, ...], zone: int) -> timedelta | None:
    """How far before its base dateparser reads ``text``, when that does not depend on the base: the same
    distance back from each of ``_REFERENCES``, and under four weeks (a weekday, a clock time or a calendar
    date read differently from bases of other weekdays, times or dates; a month back from bases of other
    month lengths). None: the phrase is read against each base.
    A phrase with one number ("12 minutes ago", "3h", "il y a 5 heures") goes by its pattern once two
    numbers of that pattern were learnt as fixed shifts: the shift the two put at its number is taken when
    one reading of the phrase itself agrees, so each further number costs dateparser once, not three times."""
    numbers = _NUMBER_RE.findall(text)
    if len(numbers) != 1 or len(numbers[0]) > _MAX_DIGITS:
        return _learnt_shift(text, date_order, languages, zone)
    n = int(numbers[0])
    before, after = _NUMBER_RE.split(text)
    key = (before, after, date_order, languages, zone)
    known = _PATTERNS.get(key)
    if known is not None and known.step is not None:
        expected = known.shift + known.step * (n - known.n)
        if not _fixed(expected, zone):
            return None  # dateparser against each base, as for any shift this long
        reference = _REFERENCES[0]
        parsed = _read_phrase(text, reference, date_order, languages, zone)
        if parsed is not None and reference - parsed == expected:
            return expected
        return _learnt_shift(text, date_order, languages, zone)
    shift = _learnt_shift(text, date_order, languages, zone)
    if shift is not None:
        _learn_pattern(key, _Pattern(n, shift, None) if known is None else known.meeting(n, shift))
    return shift


_NUMBER_RE = re.compile(r"[0-9]+")
_MAX_DIGITS = 6  # a longer number is read through the phrase's own readings (no product of it overflows)


@dataclass(frozen=True, slots=True)
class _Pattern:
    """What the phrases of one pattern ("N hours ago") read as: number ``n`` as ``shift``; each one more as
    ``step`` further back (None until a second number of the pattern was learnt)."""

    n: int
    shift: timedelta
    step: timedelta | None

    def meeting(self, n: int, shift: timedelta) -> _Pattern:
        """This pattern once number ``n`` was learnt as ``shift``: a step when the two lie on one."""
        if n == self.n:
            return self
        step = (shift - self.shift) / (n - self.n)
        if step <= timedelta(0) or self.shift + step * (n - self.n) != shift:
            return self
        return _Pattern(n, shift, step)


_PATTERNS: dict[tuple[str, str, DateOrder, tuple[str, ...], int], _Pattern] = {}
_MAX_PATTERNS = 1024


def _learn_pattern(key: tuple[str, str, DateOrder, tuple[str, ...], int], pattern: _Pattern) -> None:
    if len(_PATTERNS) >= _MAX_PATTERNS and key not in _PATTERNS:
        _PATTERNS.clear()  # a page of made-up phrases: start over rather than grow
    _PATTERNS[key] = pattern


def _learnt_shift(
    text: str, date_order: DateOrder, languages: tuple[str, ...], zone: int
) -> timedelta | None:
    """:func:`_shift` from readings of ``text`` against each of ``_REFERENCES``. Each reading costs
    milliseconds: the first that rules a shift out (a date read from the first base is years back) ends it."""
    shift = None
    for reference in _REFERENCES:
        parsed = _read_phrase(text, reference, date_order, languages, zone)  # kept as the shift: uncached
        if parsed is None:
            return None
        here = reference - parsed
        if shift is None and _fixed(here, zone):
            shift = here
        elif here != shift:
            return None
    return shift


def _fixed(shift: timedelta, zone: int) -> bool:
    """Whether a reading ``shift`` before its base (in the page's zone) may stand as a fixed shift: back, and
    under :data:`_SHIFT_LIMIT`."""
    return timedelta(0) <= shift - timedelta(hours=zone) < _SHIFT_LIMIT


@lru_cache(maxsize=4096)
def _dateparser(
    text: str, base: datetime, date_order: DateOrder, languages: tuple[str, ...] = ("en",), zone: int = 0
) -> datetime | None:
    """:func:`_read_phrase`, remembered per phrase and base."""
    return _read_phrase(text, base, date_order, languages, zone)


def _read_phrase(
    text: str, base: datetime, date_order: DateOrder, languages: tuple[str, ...], zone: int
) -> datetime | None:
    """dateparser on one phrase; ``base`` is naive wall-clock time at UTC+``zone`` h, the result naive UTC."""
    import dateparser  # local: its import builds large regex tables; only time parsing needs it

    settings = {
        # dateparser returns None for time-only strings with an aware base (its issue #1213): pass naive.
        "RELATIVE_BASE": base,
        "DATE_ORDER": date_order,
        "PREFER_DATES_FROM": "past",
        # Naive input is in the page's zone, not the machine's (the default would follow the host's TZ).
        "TIMEZONE": f"{zone:+03d}00" if zone else "UTC",
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed: datetime | None = dateparser.parse(text, languages=list(languages), settings=settings)
        except (OverflowError, ValueError):  # "99999 years ago": before year 1
            return None
    return parsed


def resolve(
    text: str | None,
    fetched_at: datetime,
    date_order: DateOrder = "DMY",
    languages: Iterable[str] | None = None,
) -> datetime | None:
    """The UTC instant ``text`` names, relative phrases counted back from ``fetched_at``; None if unknown."""
    if not text or not _clip(text, MAX_PHRASE_CHARS):
        return None
    declared = _declared(languages)
    phrase = strip_icon(text, declared)
    if phrase is None:
        return None
    folded = _fold(phrase)
    fetched = utc(fetched_at).replace(microsecond=0)
    for form, match in _matching_forms(folded, declared):
        try:
            result = _resolve_form(form, match, _language(form, declared), fetched, date_order)
        except OverflowError:  # a fetch time at the edge of datetime's range
            return None
        if result is not None:
            # A time after the fetch is a misparse (or a clock problem upstream): unknown, not the future.
            if result > fetched or (form.yearless and fetched - result > _YEARLESS_SPAN):
                return None
            return result
    return None


@lru_cache(maxsize=4096)
def _matching_forms(folded: str, declared: tuple[str, ...] | None) -> tuple[tuple[Form, re.Match[str]], ...]:
    """The forms that read the whole of ``folded``, in table order, with their matches."""
    found = []
    for form in _table(declared).forms:
        match = _compiled(form.pattern).fullmatch(folded)
        if match is not None:
            found.append((form, match))
    return tuple(found)


def clear_line_caches() -> None:
    """Forget the cached answers per line and phrase (not dateparser's, which is keyed by fetch time too)."""
    _strip_icon.cache_clear()
    _glued_candidates.cache_clear()
    _matching_forms.cache_clear()
    _shift.cache_clear()
    _PATTERNS.clear()


def _language(form: Form, declared: tuple[str, ...] | None) -> str | None:
    """The language a phrase is read in: the first declared one it belongs to, else its only language."""
    if declared is not None:
        return next((lang for lang in declared if not form.languages or lang in form.languages), None)
    return form.languages[0] if len(form.languages) == 1 else None


def _resolve_form(
    form: Form, match: re.Match[str], lang: str | None, fetched: datetime, date_order: DateOrder
) -> datetime | None:
    zone = words.ZONES.get(lang or "", 0)
    local_base = (fetched + timedelta(hours=zone)).replace(tzinfo=None)
    if form.rule == "now":
        return fetched
    if form.rule in ("cjk_date", "ja_slash"):
        local = _month_day(match, local_base)
        return None if local is None else (local - timedelta(hours=zone)).replace(tzinfo=UTC)
    phrase = match.group(0)
    if not form.languages:
        codes: tuple[str, ...] = ("en",)  # digits only: read as always, with the caller's date order
    elif lang == "en":
        codes = ("en",)
        phrase = phrase.lower() if phrase.lower() in ("yesterday", "today") else phrase
        for spelling, known in _EN_REWRITES:
            phrase = spelling.sub(known, phrase)
        phrase, named = _without_zone(phrase)
        if named is not None:
            return _in_zone(phrase, named, fetched, date_order)
    else:
        lang = lang or form.languages[0]
        codes = words.DATEPARSER_CODES.get(lang, (lang,))
        phrase = _CLOCK_WORD.sub("", _CLOCK_H.sub(r"\1:\2", phrase.lower()))
        phrase = _CLOCK_SUFFIX.sub(r"\1", phrase)
        if lang in _ONE:
            phrase = _ONE[lang].sub("1 ", phrase)
        for old, new in words.REWRITES.get(lang, ()):
            phrase = phrase.replace(old, new)
    parsed = _parse(phrase, local_base, date_order, codes, zone)
    return None if parsed is None else utc(parsed)


_YEARLESS_SPAN = timedelta(days=words.YEARLESS_DAYS)
_EN_REWRITES = tuple((re.compile(old, re.IGNORECASE), new) for old, new in words.EN_REWRITES)
# A zone abbreviation after a clock time ("5:12 PM EDT", "14:30 BST", "9:41 AM ET Sep 4").
_ZONE_AFTER_CLOCK = re.compile(rf"(?<=[\d.mM])\s+({words.EN_ZONE})\b", re.IGNORECASE)


def named_zone(abbreviation: str) -> tzinfo | None:
    """The zone a printed abbreviation names ("EDT", "bst", "ET"), None when it is not one we know."""
    value = words.ZONE_ABBREVIATIONS.get(abbreviation.lower())
    if value is None:
        return None
    return ZoneInfo(value) if isinstance(value, str) else timezone(timedelta(hours=value))


def _without_zone(phrase: str) -> tuple[str, tzinfo | None]:
    """``phrase`` without the zone abbreviation after its clock time, and the zone it names."""
    match = _ZONE_AFTER_CLOCK.search(phrase)
    if match is None:
        return phrase, None
    return phrase[: match.start()] + phrase[match.end() :], named_zone(match.group(1))


def _in_zone(phrase: str, zone: tzinfo, fetched: datetime, date_order: DateOrder) -> datetime | None:
    """An English ``phrase`` whose clock time is in ``zone``: read as wall-clock time there (against the fetch
    time as a clock there shows it), then placed by the zone's offset at that wall-clock time, so a generic
    "ET" is EDT in summer and EST in winter."""
    local_base = fetched.astimezone(zone).replace(tzinfo=None)
    wall = _parse(phrase, local_base, date_order, ("en",), 0)
    return None if wall is None else wall.replace(tzinfo=zone).astimezone(UTC)


def _month_day(match: re.Match[str], local_base: datetime) -> datetime | None:
    """A CJK month/day (optional year, optional clock) as naive local time; a missing year is the latest one
    that is not after ``local_base``."""
    month, day = int(match["month"]), int(match["day"])
    hour, minute = int(match["hour"] or 0), int(match["minute"] or 0)
    if match["year"]:
        years = [int(match["year"])]
    else:
        years = list(range(local_base.year, max(local_base.year - 8, 0), -1))  # Feb 29 waits for a leap year
    for year in years:
        try:
            when = datetime(year, month, day, hour, minute)
        except ValueError:
            continue
        if match["year"] or when <= local_base:
            return when
    return None
