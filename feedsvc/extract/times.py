"""Publication times: recognise time phrases in page text and resolve them to UTC (dateparser)."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from functools import lru_cache

from feedsvc.models import DateOrder, utc

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_UNIT = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?|yrs?)"
# One time phrase, whole: relative ("4 days ago", "an hour ago", "1h", "Yesterday") or absolute.
TIME_PHRASE = (
    r"(?:"
    rf"(?:\d+|an?|one)\s*{_UNIT}\s+ago"
    r"|\d{1,3}\s*[smhdw]"
    r"|just\s+now|now|yesterday|today"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    rf"|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}(?:,?\s+\d{{1,2}}:\d{{2}}\s*(?:[ap]\.?m\.?)?)?"
    rf"|\d{{1,2}}\s+{_MONTH}\s+\d{{4}}"
    r")"
)
_TIME_RE = re.compile(rf"^{TIME_PHRASE}$", re.IGNORECASE)
# The Daily8 clock icon renders as the word "time" glued to the phrase: "time2 minutes ago".
_ICON_RE = re.compile(rf"^time\s*({TIME_PHRASE})$", re.IGNORECASE)


def is_time_phrase(text: str) -> bool:
    return bool(_TIME_RE.match(text.strip()))


def strip_icon(line: str) -> str | None:
    """The time phrase of a time line ("time2 minutes ago" or "2 minutes ago"), else None."""
    line = line.strip()
    if _TIME_RE.match(line):
        return line
    match = _ICON_RE.match(line)
    if match and line[:4] == "time":  # lowercase icon text; "Time"/"TIME" start outlet names
        return match.group(1)
    return None


def split_glued(line: str, known_outlets: frozenset[str] = frozenset()) -> tuple[str, str] | None:
    """Split "Yahoo4 days ago" into ("Yahoo", "4 days ago"); None when the line is not outlet+time.

    Digits make the split ambiguous ("News244 days ago"): an outlet the page names elsewhere wins,
    then the split whose outlet does not end in a digit, then the shortest outlet.
    """
    line = line.strip()
    if len(line) > 90 or "." in line[-1:]:
        return None
    candidates: list[tuple[str, str]] = []
    for i in range(1, len(line)):
        outlet, phrase = line[:i].rstrip(), line[i:]
        if not outlet or (phrase[0].isspace() and not outlet[-1].isalnum()):
            continue
        if _TIME_RE.match(phrase) and _looks_like_outlet(outlet):
            candidates.append((outlet, phrase.strip()))
    if not candidates:
        return None
    folded = {k.casefold() for k in known_outlets}
    for outlet, phrase in candidates:
        if outlet.casefold() in folded:
            return outlet, phrase
    for outlet, phrase in candidates:
        if not outlet[-1].isdigit():
            return outlet, phrase
    return candidates[0]


def _looks_like_outlet(text: str) -> bool:
    words = text.split()
    return 0 < len(words) <= 6 and len(text) <= 60 and text[-1] not in ",;:!?" and text[0] != "•"


@lru_cache(maxsize=4096)
def _parse(text: str, base: datetime, date_order: DateOrder) -> datetime | None:
    import dateparser  # local: its import builds large regex tables; only time parsing needs it

    settings = {
        # dateparser returns None for time-only strings with an aware base (its issue #1213): pass naive UTC.
        "RELATIVE_BASE": base,
        "DATE_ORDER": date_order,
        "PREFER_DATES_FROM": "past",
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed: datetime | None = dateparser.parse(text, languages=["en"], settings=settings)
    return parsed


def resolve(text: str | None, fetched_at: datetime, date_order: DateOrder = "DMY") -> datetime | None:
    """The UTC instant ``text`` names, relative phrases counted back from ``fetched_at``; None if unknown."""
    if not text:
        return None
    phrase = strip_icon(text) or text.strip()
    if not _TIME_RE.match(phrase):
        return None
    base = utc(fetched_at).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    parsed = _parse(phrase.lower() if phrase.lower() in ("yesterday", "today") else phrase, base, date_order)
    if parsed is None:
        return None
    result = utc(parsed)
    # A time after the fetch is a misparse (or a clock problem upstream): unknown, not the future.
    if result > utc(fetched_at).replace(microsecond=0):
        return None
    return result
