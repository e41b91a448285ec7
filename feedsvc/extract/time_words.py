"""Time-phrase tables per language: the forms news pages show, as regex fragments tagged with their language.

Every pattern is matched against a whole phrase (``re.fullmatch``, case-insensitive). ``times.py`` holds the
machinery; this module is data only, so adding a form or a language is an edit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Supported languages, as dateparser language codes; English first (the historical default).
SUPPORTED: tuple[str, ...] = ("en", "de", "fr", "es", "it", "pt", "nl", "ja", "zh")

# Hours east of UTC of a page's clock times, by language. Only where one zone covers (nearly) every page in
# the language: Japan (JST, no DST) and Chinese (mainland, Hong Kong, Taiwan, Singapore are all UTC+8).
# European languages span zones and DST, so their clock times stay as written (read as UTC, as before).
ZONES: dict[str, int] = {"ja": 9, "zh": 8}

# dateparser's codes for each of our languages (traditional Chinese characters need "zh-Hant").
DATEPARSER_CODES: dict[str, tuple[str, ...]] = {"zh": ("zh", "zh-Hant")}

# Spellings dateparser does not know, rewritten before it sees them (measured with dateparser 1.5):
# "un giorno fa", "een uur geleden" -> None; "19/08/2025 às 14h30" -> 22:00 the day before (pt);
# "3个小时前", "3ヵ月前" -> None.
# "einer Stunde", "une heure", "un'ora": the word for one before a unit, per language, read as "1".
ONE_WORDS: dict[str, str] = {
    "de": r"eine[mnr]?|ein",
    "fr": r"une|un",
    "es": r"una|un",
    "it": r"una|uno|un",
    "pt": r"uma|um",
    "nl": r"een|één",
}
# Words between a date and its clock time ("um 14:30 Uhr", "ore 14:30"), dropped before dateparser:
# measured, "gestern um 14:30 Uhr" and "oggi ore 14:30" lose their clock time, "19.08.2025 um 14:30" is None.
CLOCK_WORDS = r"um|om|à|às|a\s+las|alle|ore"
CLOCK_SUFFIXES = r"uhr|uur|h"
REWRITES: dict[str, tuple[tuple[str, str], ...]] = {
    "zh": (("个小时", "小时"), ("個小時", "小時"), ("个钟头", "小时")),
    "ja": (("ヵ月", "ヶ月"), ("カ月", "ヶ月"), ("か月", "ヶ月")),
}

# Every phrase without a digit contains one of these (a cheap test that lets most text lines skip the
# full regexes); tests check it against every digit-free phrase they resolve.
WORDLESS_HINT = (
    r"(?:ago|now|yesterday|today|fa|atrás|geleden)$|(?:vor|il|hace|há)\b"
    r"|gestern|heute|gerade|soeben|hier|aujourd|instant|ayer|hoy|momento|ahora|ieri|oggi|adesso|ora|ontem|hoje"
    r"|agora|instantes|pouco|gisteren|vandaag|zojuist|zonet|昨|今|一昨|さっき|前天|刚|剛"
)

Rule = Literal["dateparser", "now", "cjk_date", "ja_slash"]


@dataclass(frozen=True)
class Form:
    """One way of writing a time.

    ``languages`` empty means language-neutral (digits only). ``bare``: a plain word that is also ordinary
    text in another language ("hier" is French for yesterday and Dutch/German for "here"), so it counts
    only when the caller declares its language. ``rule``: who resolves it (dateparser or an explicit rule).
    """

    pattern: str
    languages: tuple[str, ...] = ()
    bare: bool = False
    glued: bool = True  # also read at the end of a longer line ("Reuters2 hours ago"), not only as a whole
    rule: Rule = "dateparser"
    yearless: bool = False  # a date without its year: believed only within YEARLESS_DAYS before the fetch


_CLOCK = r"\d{1,2}(?::\d{2}|h\d{2})"
_NUMDATE = r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"

# English, exactly as before this module existed (the regex TIME_PHRASE in times.py is built from these).
EN_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
EN_UNIT = r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|years?|yrs?)"
EN_FORMS: tuple[str, ...] = (
    rf"(?:\d+|an?|one)\s*{EN_UNIT}\s+ago",
    r"\d{1,3}\s*[smhdw]",
    r"just\s+now|now|yesterday|today",
    rf"{EN_MONTH}\s+\d{{1,2}},?\s+\d{{4}}(?:,?\s+\d{{1,2}}:\d{{2}}\s*(?:[ap]\.?m\.?)?)?",
    rf"\d{{1,2}}\s+{EN_MONTH}\s+\d{{4}}",
)
NEUTRAL_FORMS: tuple[str, ...] = (
    r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}",
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
)
# Added with the other languages: a numeric date with a clock time, a slashed year-first date; "19 Aug
# 2025, 14:30".
NEW_NEUTRAL_FORMS: tuple[str, ...] = (
    rf"{_NUMDATE},?\s+\d{{1,2}}:\d{{2}}",
    r"\d{4}/\d{1,2}/\d{1,2}(?:\s+\d{1,2}:\d{2})?",
)
# A weekday's name or its abbreviation, never a word that starts like one ("Monocle", "Sunstar"). AP style
# and US sites write "Tues.", "Weds", "Thur", "Thurs" besides the three-letter forms.
EN_WEEKDAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:s|nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?"
    r"|sun(?:day)?)\.?"
)
# Weekday spellings dateparser does not know (measured with dateparser 1.5: "Thurs, Aug 21, 2025",
# "Thur, …" and "Weds, …" are None), rewritten to the ones it knows before it reads a phrase.
EN_REWRITES: tuple[tuple[str, str], ...] = (
    (r"\bthurs?\b", "thu"),
    (r"\bweds\b", "wed"),
    # dateparser 1.5 reads "3w ago" but not "3w" ("2h", "5m", "1d" it reads), nor "3 wks ago", "2 yrs ago"
    (r"^(\d{1,3})\s*w$", r"\1 weeks ago"),
    (r"\bwks?\b", "weeks"),
    (r"\byrs?\b", "years"),
)

# Zone abbreviations printed after a clock time ("5:12 PM EDT", "14:30 BST"): hours east of UTC, or the
# IANA zone of a generic name whose offset follows daylight saving time at the date it qualifies ("ET" is
# EDT in September, EST in January). dateparser reads "ET" and "PT" as standard time all year (an hour off
# in summer) and "CT", "MT" not at all. IST is India's: Indian sites print it on every dateline.
ZONE_ABBREVIATIONS: dict[str, float | str] = {
    "utc": 0, "gmt": 0, "z": 0, "wet": 0, "west": 1, "bst": 1, "cet": 1, "cest": 2, "eet": 2, "eest": 3,
    "msk": 3, "ist": 5.5, "sgt": 8, "hkt": 8, "awst": 8, "jst": 9, "kst": 9, "aest": 10, "aedt": 11,
    "nzst": 12, "nzdt": 13, "ast": -4, "adt": -3, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7,
    "mdt": -6, "pst": -8, "pdt": -7, "akst": -9, "akdt": -8, "hst": -10,
    "et": "America/New_York", "ct": "America/Chicago", "mt": "America/Denver", "pt": "America/Los_Angeles",
}  # fmt: skip
EN_ZONE = "(?:" + "|".join(sorted(ZONE_ABBREVIATIONS, key=lambda z: (-len(z), z))) + ")"
# A label before a dateline ("Updated 3:04 PM EDT, …", "Published: Sep 4, 2025", "Last updated on …"):
# dropped, the phrase after it is the time.
EN_LABEL = r"(?:last\s+)?(?:updated|published|posted|modified)(?:\s+on)?\s*:?"
_EN_CLOCK = rf"\d{{1,2}}:\d{{2}}(?::\d{{2}})?\s*(?:[ap]\.?m\.?)?(?:\s+{EN_ZONE}\b)?"
_EN_MONTH_NAME = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_EN_CLOCK_AFTER = rf"(?:,?\s+(?:at\s+)?|\s+[-–]\s+){_EN_CLOCK}"  # "…, 9:12 am", "… at 9:12", "… - 13:05"
# A day of the month, with the ordinal suffix WordPress' default date formats print ("F jS, Y": "August
# 19th, 2025"; "jS F Y": "19th August 2025"), which dateparser reads.
_EN_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
NEW_EN_FORMS: tuple[str, ...] = (
    rf"\d{{1,2}}\s+{EN_MONTH}\s+\d{{4}},?\s+\d{{1,2}}:\d{{2}}",
    # A date led by its weekday, or with its clock time after " - " or "at" (news sites' datelines, Drupal's
    # default format): "Tuesday, August 19, 2025", "Tue, 19 Aug 2025 09:12:00", "Tue, 08/19/2025 - 13:05",
    # "Aug 19, 2025 - 9:12 PM".
    rf"(?:{EN_WEEKDAY},?\s+)?{EN_MONTH}\s+{_EN_DAY},?\s+\d{{4}}(?:{_EN_CLOCK_AFTER})?",
    rf"(?:{EN_WEEKDAY},?\s+)?{_EN_DAY}\s+(?:of\s+)?{EN_MONTH},?\s+\d{{4}}(?:{_EN_CLOCK_AFTER})?",
    rf"{EN_WEEKDAY},?\s+{_NUMDATE}(?:{_EN_CLOCK_AFTER})?",
    # The clock time first (CNN's "3:04 PM EDT, Thu September 4, 2025", "9:41 AM ET Sep 4, 2025").
    rf"{_EN_CLOCK},?\s+(?:on\s+)?(?:{EN_WEEKDAY},?\s+)?"
    rf"(?:{EN_MONTH}\s+{_EN_DAY},?|{_EN_DAY}\s+{EN_MONTH})\s+\d{{4}}",
    # Short units with "ago" ("2h ago", "5m ago"), and a clock time yesterday or today ("Yesterday at
    # 4:05 PM", "Today, 09:12"), as feeds, social cards and app-style listings print them.
    r"\d{1,3}\s*[smhdw]\s+ago",
    rf"(?:yesterday|today),?\s+(?:at\s+)?{_EN_CLOCK}",
)

_DE_MONTH = (
    r"(?:januar|jänner|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember"
    r"|jan|feb|mär|mrz|apr|jun|jul|aug|sept?|okt|nov|dez)\.?"
)
_FR_MONTH = (
    r"(?:janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre"
    r"|decembre|janv|févr|fév|avr|juil|sept|oct|nov|déc)\.?"
)
_ES_MONTH = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
    r"|ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\.?"
)
_IT_MONTH = (
    r"(?:gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre"
    r"|gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic)\.?"
)
_PT_MONTH = (
    r"(?:janeiro|fevereiro|março|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro"
    r"|jan|fev|mar|abr|mai|jun|jul|ago|set|out|nov|dez)\.?"
)
_NL_MONTH = (
    r"(?:januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
    r"|jan|feb|mrt|apr|jun|jul|aug|sept?|okt|nov|dec)\.?"
)


def _lang(lang: str, *patterns: str, bare: tuple[str, ...] = (), now: str = "") -> list[Form]:
    forms = [Form(p, (lang,)) for p in patterns]
    forms += [Form(p, (lang,), bare=True) for p in bare]
    if now:
        forms.append(Form(now, (lang,), bare=True, rule="now"))
    return forms


_CJK_DATE = (
    r"(?:(?P<year>\d{4})\s*年\s*)?(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日"
    r"(?:\s*[(（][月火水木金土日][)）])?"
    r"(?:\s*(?P<hour>\d{1,2})\s*[時时:：]\s*(?P<minute>\d{2})\s*分?)?(?:\s*(?:配信|更新|发布|發布))?"
)
# Yahoo! Japan: "3/9(木) 18:45配信" = month/day (weekday) clock time, "delivered".
_JA_SLASH = (
    r"(?:(?P<year>\d{4})/)?(?P<month>\d{1,2})/(?P<day>\d{1,2})\s*[(（][月火水木金土日][)）]\s*"
    r"(?P<hour>\d{1,2})[:：](?P<minute>\d{2})(?:\s*配信)?"
)

# A date without its year, as AP style writes this year's dates ("Sept. 4", "Thursday, Sept. 4",
# "Sept. 4, 5:12 p.m. EDT", "4 September"): the latest such day not after the fetch. Only a month's name or
# its standard abbreviation (EN_MONTH also reads "Mayor 2" or "Market 5" as a month's day), and only as a
# line of its own: after other words it is as often an event's day ("Concert July 1") as a time. A day
# further back than YEARLESS_DAYS is as likely next year's, an event's or a fixture's ("Civic Desk · Oct. 14"
# on 5 September): unknown, not eleven months old.
YEARLESS_DAYS = 92
EN_YEARLESS_FORMS: tuple[str, ...] = (
    rf"(?:{EN_WEEKDAY},?\s+)?{_EN_MONTH_NAME}\s+{_EN_DAY}(?:{_EN_CLOCK_AFTER})?",
    rf"(?:{EN_WEEKDAY},?\s+)?{_EN_DAY}\s+{_EN_MONTH_NAME}(?:{_EN_CLOCK_AFTER})?",
)

FORMS: tuple[Form, ...] = (
    *(Form(p, ("en",)) for p in EN_FORMS + NEW_EN_FORMS),
    *(Form(p, ("en",), glued=False, yearless=True) for p in EN_YEARLESS_FORMS),
    *(Form(p) for p in NEUTRAL_FORMS + NEW_NEUTRAL_FORMS),
    *_lang(
        "de",
        r"vor\s+(?:\d+|ein(?:e[mnr]?)?)\s*(?:sekunden?|sek\.?|minuten?|min\.?|stunden?|std\.?|tag(?:en)?"
        r"|wochen?|monat(?:en)?|jahr(?:en)?)",
        rf"\d{{1,2}}\.\s*{_DE_MONTH}\s+\d{{4}}(?:,?\s*(?:um\s+)?{_CLOCK}(?:\s*uhr)?)?",
        rf"{_NUMDATE},?\s*(?:um\s+{_CLOCK}(?:\s*uhr)?|{_CLOCK}\s*uhr)",
        bare=(rf"(?:vorgestern|gestern|heute)(?:,?\s*(?:um\s+)?{_CLOCK}(?:\s*uhr)?)?",),
        now=r"gerade\s+eben|soeben",
    ),
    *_lang(
        "fr",
        r"il\s+y\s+a\s+(?:\d+|une?)\s*(?:secondes?|sec\.?|s|minutes?|mins?\.?|heures?|h|jours?|j|semaines?"
        r"|mois|ans?|années?)",
        rf"(?:le\s+)?\d{{1,2}}(?:er)?\s+{_FR_MONTH}\s+\d{{4}}(?:,?\s*(?:à\s+)?{_CLOCK})?",
        rf"{_NUMDATE},?\s+(?:à\s+)?{_CLOCK}",
        bare=(rf"(?:avant-hier|hier|aujourd'hui)(?:,?\s*(?:à\s+)?{_CLOCK})?",),
        now=r"à\s+l'instant",
    ),
    *_lang(
        "es",
        r"hace\s+(?:\d+|una?)\s*(?:segundos?|seg\.?|s|minutos?|min\.?|horas?|h|días?|dias?|d|semanas?"
        r"|mes(?:es)?|años?)",
        rf"\d{{1,2}}\s+(?:de\s+)?{_ES_MONTH}\s+(?:de\s+)?\d{{4}}(?:,?\s*(?:a\s+las\s+)?{_CLOCK}(?:\s*h)?)?",
        rf"{_NUMDATE},?\s+(?:a\s+las\s+)?{_CLOCK}(?:\s*h)?",
        bare=(rf"(?:anteayer|ayer|hoy)(?:,?\s*(?:a\s+las\s+)?{_CLOCK}(?:\s*h)?)?",),
        now=r"hace\s+un\s+momento|ahora\s+mismo|justo\s+ahora",
    ),
    *_lang(
        "it",
        r"(?:\d+\s*|un[oa]?\s+|un'\s*)(?:secondi|secondo|sec\.?|minuti|minuto|min\.?|ore|ora|h|giorni|giorno"
        r"|g|settimane|settimana|mesi|mese|anni|anno)\s+fa",
        rf"\d{{1,2}}\s+{_IT_MONTH}\s+\d{{4}}(?:,?\s*(?:alle\s+|ore\s+)?{_CLOCK})?",
        rf"{_NUMDATE},?\s+(?:alle\s+|ore\s+)?{_CLOCK}",
        bare=(rf"(?:ieri|oggi)(?:,?\s*(?:alle\s+|ore\s+)?{_CLOCK})?",),
        now=r"poco\s+fa|adesso|proprio\s+ora",
    ),
    *_lang(
        "pt",
        r"há\s+(?:\d+|uma?)\s*(?:segundos?|seg\.?|s|minutos?|min\.?|horas?|h|dias?|semanas?|m[eê]s|meses|anos?)",
        r"(?:\d+|uma?)\s*(?:segundos?|minutos?|min\.?|horas?|h|dias?|semanas?|m[eê]s|meses|anos?)\s+atrás",
        rf"\d{{1,2}}\s+(?:de\s+)?{_PT_MONTH}\s+(?:de\s+)?\d{{4}}(?:,?\s*(?:às\s+)?{_CLOCK})?",
        rf"{_NUMDATE},?\s+(?:às\s+)?{_CLOCK}",
        bare=(rf"(?:anteontem|ontem|hoje)(?:,?\s*(?:às\s+)?{_CLOCK})?",),
        now=r"agora\s+mesmo|agora|há\s+instantes|há\s+pouco",
    ),
    *_lang(
        "nl",
        r"(?:\d+|een|één)\s*(?:seconden?|sec\.?|minuten|minuut|min\.?|uur|u|dagen|dag|d|weken|week|w|maanden"
        r"|maand|jaren|jaar)\s+geleden",
        rf"\d{{1,2}}\s+{_NL_MONTH}\s+\d{{4}}(?:,?\s*(?:om\s+)?{_CLOCK}(?:\s*uur)?)?",
        rf"{_NUMDATE},?\s+(?:om\s+)?{_CLOCK}(?:\s*uur)?",
        bare=(rf"(?:eergisteren|gisteren|vandaag)(?:,?\s*(?:om\s+)?{_CLOCK}(?:\s*uur)?)?",),
        now=r"zojuist|zonet",
    ),
    *_lang(
        "ja",
        r"\d+\s*(?:秒|分|時間|日|週間|ヶ月|ヵ月|カ月|か月|年)\s*前",
        bare=(rf"(?:一昨日|昨日|今日)(?:\s*{_CLOCK})?",),
        now=r"たった今|ついさっき",
    ),
    Form(_JA_SLASH, ("ja",), rule="ja_slash"),
    *_lang(
        "zh",
        r"\d+\s*(?:秒钟?|秒鐘|分钟|分鐘|个?小时|個?小時|个钟头|天|周|週|星期|个月|個月|年)\s*前",
        bare=(rf"(?:前天|昨天|今天)(?:\s*{_CLOCK})?",),
        now=r"刚刚|刚才|剛剛|剛才",
    ),
    Form(_CJK_DATE, ("ja", "zh"), rule="cjk_date"),
)
