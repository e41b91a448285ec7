"""Configuration: a TOML file plus FEEDSVC_* environment variables -> validated Settings.

Every scalar setting is declared once, as a field of ``Settings`` (``[service]``) or ``DedupSettings``
(``[dedup]``) whose metadata holds its declaration (kind, help text); ``SETTINGS`` lists them. The
environment variable is ``FEEDSVC_<KEY>`` for ``[service]`` and ``FEEDSVC_<SECTION>_<KEY>`` otherwise, and
wins over the file. Sources (``SOURCE_KEYS``) and feeds (``FEED_KEYS``) are lists and live only in the file.
Paths written in the file are relative to the file. Validation collects every problem (site-profile
selectors included) and raises one ConfigError listing them all. ``python -m feedsvc.settings --markdown``
prints the README's tables, made from the same declarations.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from feedsvc.errors import ConfigError
from feedsvc.models import DateOrder, FeedSpec, SiteProfile, Source
from feedsvc.redact import mask_url

DEFAULT_CONFIG = "config/feedsvc.toml"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_DURATION = 366 * 86400.0
# A BCP 47 language tag as pages and date parsers use them: language, then optional script, region and
# variants ("de", "pt-BR", "zh-Hant-TW", "sl-rozaj"); private-use and extension subtags are not needed here.
_LANGUAGE_RE = re.compile(
    r"^(?P<lang>[A-Za-z]{2,3})(?:-(?P<script>[A-Za-z]{4}))?(?:-(?P<region>[A-Za-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)$"
)


_ALL_TAKEN = "'all' is the built-in feed of every story; choose another name"
_META = "feedsvc.setting"
_KIND_OF_TYPE: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str", Path: "path"}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Setting:
    """One scalar setting: a field of :class:`Settings` (section ``service``) or :class:`DedupSettings`
    (section ``dedup``), read from the file's ``[section]`` table and from its environment variable."""

    section: str
    key: str
    kind: str  # str | int | float | bool | duration | listen | url | choice | path | database
    default: Any
    doc: str
    choices: tuple[str, ...] = ()
    shown: str = ""  # the default as the README says it, when words say it better than the value
    secret: bool = False  # check-config shows only whether it is set

    @property
    def env(self) -> str:
        prefix = "FEEDSVC_" if self.section == "service" else f"FEEDSVC_{self.section.upper()}_"
        return prefix + self.key.upper()

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def shown_default(self) -> str:
        """The default as the README's table shows it."""
        if self.shown:
            return self.shown
        if self.default == "":
            return "(none)"
        return f"`{show_value(self, self.default)}`"


def show_value(setting: Setting, value: Any) -> str:
    """``value`` as a user writes it: true/false, whole seconds without ".0", paths as text."""
    if isinstance(value, bool):
        return str(value).lower()
    if setting.kind == "duration" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _kind_of(default: Any) -> str:
    return next(kind for cls, kind in _KIND_OF_TYPE.items() if isinstance(default, cls))


def _declare(
    default: _T,
    doc: str,
    *,
    kind: str = "",
    choices: tuple[str, ...] = (),
    shown: str = "",
    secret: bool = False,
) -> _T:
    """A settings field together with its declaration (the field's metadata); the kind defaults to the
    default's type (bool, int, float, str, path)."""
    declared = Setting("", "", kind or _kind_of(default), default, doc, choices, shown, secret)
    return field(default=default, metadata={_META: declared})


# Every scalar setting is one field below: adding a setting is adding a field (then using it). The field's
# name is the key, its default the default, and its declaration (kind, help text) drives loading,
# validation, `feedsvc check-config` and the README's table (`python -m feedsvc.settings --markdown`).
# [dedup] defaults are chosen by `python -m bench dedup` (labelled corpus, baselines, speed at 1M).
@dataclass(frozen=True)
class DedupSettings:
    """The ``[dedup]`` section."""

    shingle_size: int = _declare(5, "words per shingle")
    num_perm: int = _declare(64, "MinHash permutations per signature")
    seed: int = _declare(1, "MinHash seed")
    lsh_threshold: float = _declare(0.3, "Jaccard threshold of the LSH candidate index")
    resemblance: float = _declare(0.5, "Jaccard at or above which two copies merge")
    containment: float = _declare(
        0.6, "share of the shorter text found in the longer one at or above which they merge"
    )
    lead_words: int = _declare(30, "words of the body start used to match briefs to full copies")
    boilerplate_df: int = _declare(5, "unrelated stories a shingle must appear in to count as boilerplate")


@dataclass(frozen=True)
class Settings:
    """The ``[service]`` section, the ``[dedup]`` section, sources and feeds."""

    listen: str = _declare("127.0.0.1:8080", "HOST:PORT the HTTP server listens on", kind="listen")
    public_url: str = _declare(
        "",
        "absolute base URL readers reach the service at (feed self links)",
        kind="url",
        shown="`http://LISTEN`",
    )
    database_url: str = _declare(
        "sqlite:///data/feedsvc.db",
        "SQLAlchemy URL of the store; `postgresql+psycopg://user:pass@host/db` for larger installs "
        "(`pip install 'feedsvc[postgresql]'` brings the driver); a relative SQLite path in the file is "
        "relative to the file",
        kind="database",
    )
    auto_migrate: bool = _declare(
        True,
        "apply pending schema migrations at start-up; `false`: refuse to start until `feedsvc migrate` "
        "has run",
    )
    data_dir: Path = _declare(  # noqa: RUF009 (a Path is immutable; _declare returns a field)
        Path("data"), "directory for published feed files; in the file, relative to the file"
    )
    feed_entries: int = _declare(100, "newest entries kept in each feed")
    max_page_bytes: int = _declare(5_000_000, "largest page accepted from a source, in bytes")
    fetch_timeout: float = _declare(30.0, "total seconds allowed for one page fetch", kind="duration")
    retention_days: int = _declare(30, "days a story stays in the dedup index and the store")
    contact_url: str = _declare("", "contact URL added to the User-Agent sent to sites")
    respect_robots: bool = _declare(True, "obey robots.txt of the sites fetched (user agent token `feedsvc`)")
    stop_timeout: float = _declare(
        10.0, "longest a clean stop (SIGTERM, Ctrl-C) may take, in seconds", kind="duration"
    )
    worker_threads: int = _declare(4, "sources one worker process fetches and parses at once")
    lease: float = _declare(
        300.0,
        "how long a worker's claim on a source lasts without renewal, in seconds: a running worker renews "
        "its claims every third of it; a killed worker's sources are taken over once it has passed",
        kind="duration",
    )
    claim_interval: float = _declare(
        1.0, "how often a worker looks for due sources, in seconds", kind="duration"
    )
    publish_interval: float = _declare(
        1.0,
        "how often the publisher looks for changes to render, and web servers for new feed bytes when "
        "no notification came, in seconds",
        kind="duration",
    )
    log_format: str = _declare(
        "kv", "`kv` (key=value lines) or `json`", kind="choice", choices=("kv", "json")
    )
    token: str = _declare(
        "",
        "access token every feed requires (HTTP Basic password or `?token=`); empty: feeds are public",
        secret=True,
    )
    hub: str = _declare(
        "",
        'WebSub hub URL: feeds link to it (`rel="hub"`) and it is pinged when a feed changes',
        kind="url",
    )
    log_level: str = _declare(
        "INFO",
        "`DEBUG`, `INFO`, `WARNING` or `ERROR`",
        kind="choice",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )
    # Not scalar settings: where they came from, and the lists that live only in the file.
    config_path: Path | None = None
    dedup: DedupSettings = field(default_factory=DedupSettings)
    sources: tuple[Source, ...] = ()
    feeds: tuple[FeedSpec, ...] = ()

    def __post_init__(self) -> None:
        # public_url: the listen address unless set; never a trailing slash (links are joined to it).
        object.__setattr__(self, "public_url", (self.public_url or f"http://{self.listen}").rstrip("/"))

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    def all_feeds(self) -> tuple[FeedSpec, ...]:
        """`all`, one feed per source, then the configured filtered feeds (whose names differ from these:
        loading refuses a configured feed named `all` or like a source)."""
        implicit = [FeedSpec(name="all", title="All stories")]
        implicit += [FeedSpec(name=s.name, title=s.title or s.name, sources=(s.name,)) for s in self.sources]
        return tuple(implicit) + self.feeds


_SECTIONS: dict[str, type[Any]] = {"service": Settings, "dedup": DedupSettings}


def _declared(section: str, cls: type[Any]) -> tuple[Setting, ...]:
    return tuple(
        replace(f.metadata[_META], section=section, key=f.name) for f in fields(cls) if _META in f.metadata
    )


SETTINGS: tuple[Setting, ...] = tuple(
    s for section, cls in _SECTIONS.items() for s in _declared(section, cls)
)


@dataclass(frozen=True)
class SourceKey:
    """A key of a ``[[sources]]`` table (sources live only in the file, so they have no variable)."""

    key: str
    default: str  # as the README shows it: a value (shown as code) or words in parentheses
    doc: str


SOURCE_KEYS: tuple[SourceKey, ...] = (
    SourceKey("name", "(required)", "lowercase letters, digits, `-` or `_`; it becomes `/feeds/NAME.atom`"),
    SourceKey("url", "(required)", "an http(s) URL, or a file path relative to the config file"),
    SourceKey("interval", "15m", "time between fetches: seconds, or `30s` / `15m` / `2h` / `1d`"),
    SourceKey("date_order", "DMY", "how to read `11-06-2025` on this site: `DMY`, `MDY` or `YMD`"),
    SourceKey(
        "language",
        "(page's)",
        "BCP 47 tag of the site's language (`de`, `ja`, `pt-BR`) used to read its dates; default: the "
        "language the page declares (`<html lang>`). Written in canonical case (`pt-br` becomes "
        "`pt-BR`); `de_DE` is rejected (write `de-DE`)",
    ),
    SourceKey(
        "full_text",
        "false",
        "fetch each new card's article page and use its text as the story body (see below)",
    ),
    SourceKey(
        "full_text_max",
        "20",
        "article pages fetched per run of this source, at most; the rest wait for the next run",
    ),
    SourceKey(
        "title",
        "(page's)",
        "title shown to people (feed title, index page); default: the title the page gives itself",
    ),
    SourceKey(
        "profile",
        "(none)",
        "CSS selectors for a site automatic extraction gets wrong (see below); a selector that does "
        "not compile is a configuration error",
    ),
)


# The keys of a ``[[feeds]]`` table and what they mean (the README's feeds table is made from these).
FEED_KEYS: dict[str, str] = {
    "name": "required: lowercase letters, digits, `-` or `_`; it becomes `/feeds/NAME.atom`; not `all` "
    "and not the name of a source (those feeds exist already)",
    "title": "title shown to readers; default: the name",
    "sources": "only stories from these sources",
    "outlets": "only stories carried by one of these outlets",
    "keywords": "only stories whose title or body contains one of these words",
    "categories": "only stories in one of these categories",
    "exclude_keywords": "leave out stories whose title or body contains one of these words",
    "exclude_outlets": "leave out stories carried by one of these outlets",
    "token": "private feed: readers must give this token (HTTP Basic password or `?token=`)",
}


def _code(text: str) -> str:
    return text if text.startswith("(") or text.startswith("`") else f"`{text}`"


def settings_table() -> str:
    """The README's table of settings, made from SETTINGS."""
    rows = [
        "| section | key | environment variable | default | meaning |",
        "|---|---|---|---|---|",
        f"| | | `FEEDSVC_CONFIG` | `{DEFAULT_CONFIG}` | the configuration file |",
    ]
    rows += [f"| `{s.section}` | `{s.key}` | `{s.env}` | {s.shown_default} | {s.doc} |" for s in SETTINGS]
    return "\n".join(rows) + "\n"


def sources_table() -> str:
    """The README's table of ``[[sources]]`` keys, made from SOURCE_KEYS."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    rows += [f"| `{k.key}` | {_code(k.default)} | {k.doc} |" for k in SOURCE_KEYS]
    return "\n".join(rows) + "\n"


def feeds_table() -> str:
    """The README's table of ``[[feeds]]`` keys, made from FEED_KEYS."""
    rows = ["| key | meaning |", "|---|---|"]
    rows += [f"| `{key}` | {doc} |" for key, doc in FEED_KEYS.items()]
    return "\n".join(rows) + "\n"


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string like "90", "15m", "1.5h"."""
    if isinstance(value, bool):
        raise ValueError("expected a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION_RE.match(str(value))
        if not match:
            raise ValueError(f"expected a duration like 900, '15m' or '1h', got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"must be a positive, finite duration, got {value!r}")
    if seconds > _MAX_DURATION:
        raise ValueError(f"must be at most a year, got {value!r}")
    return seconds


def _convert(setting: Setting, value: Any) -> Any:
    kind = setting.kind
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"expected a whole number, got {value!r}")
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"expected a whole number, got {value!r}") from None
        if number <= 0:
            raise ValueError(f"must be positive, got {value!r}")
        return number
    if kind == "float":
        try:
            number_f = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number between 0 and 1, got {value!r}") from None
        if not 0.0 < number_f <= 1.0:
            raise ValueError(f"must be between 0 and 1, got {value!r}")
        return number_f
    if kind == "duration":
        return parse_duration(value)
    if kind == "choice":
        text = str(value)
        matched = [c for c in setting.choices if c.casefold() == text.casefold()]
        if not matched:
            raise ValueError(f"must be one of {', '.join(setting.choices)}, got {value!r}")
        return matched[0]
    if kind == "listen":
        text = str(value)
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT such as 127.0.0.1:8080, got {value!r}")
        return text
    if kind == "url":
        text = str(value).rstrip("/")
        if text and (urlsplit(text).scheme not in ("http", "https") or not urlsplit(text).netloc):
            raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
        return text
    if kind == "path":
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected a directory path, got {value!r}")
        return Path(value)
    if kind == "database" and (not isinstance(value, str) or "://" not in value):
        raise ValueError(f"expected a database URL such as sqlite:///data/feedsvc.db, got {value!r}")
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


# sqlite:///relative/path.db (three slashes, then no fourth): a file path relative to where it was written.
_SQLITE_RELATIVE_RE = re.compile(r"^(?P<scheme>sqlite(?:\+\w+)?):///(?P<path>[^/?][^?]*)(?P<query>\?.*)?$")


def _relative_to_file(setting: Setting, value: Any, config_dir: Path) -> Any:
    """A path written in the config file, made relative to the file's directory (data_dir, and a SQLite
    database_url's file); values from the environment stay relative to the working directory."""
    if setting.kind == "path" and not value.is_absolute():
        return (config_dir / value).resolve()
    if setting.kind == "database":
        match = _SQLITE_RELATIVE_RE.match(value)
        if match and match["path"] != ":memory:" and not match["path"].startswith("file:"):
            resolved = (config_dir / match["path"]).resolve()
            return f"{match['scheme']}:///{resolved}{match['query'] or ''}"
    return value


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the config file (``--config``, else FEEDSVC_CONFIG, else the default) and the environment."""
    return load_with_origins(config_path, environ)[0]


def load_with_origins(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Settings, dict[str, str]]:
    """Settings, and where each scalar setting came from: ``{"service.listen": "file", ...}`` with
    "default", "file" or "environment FEEDSVC_..." (what `feedsvc check-config` shows)."""
    env = dict(os.environ if environ is None else environ)
    path = Path(config_path or env.get("FEEDSVC_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: config file not found (set --config or FEEDSVC_CONFIG)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from exc
    return resolve(raw, env, path)


def settings_from_mapping(raw: Mapping[str, Any], env: Mapping[str, str], path: Path) -> Settings:
    return resolve(raw, env, path)[0]


def resolve(raw: Mapping[str, Any], env: Mapping[str, str], path: Path) -> tuple[Settings, dict[str, str]]:
    """Settings from a parsed config file and the environment, and each setting's origin; ConfigError
    listing every problem (settings, sources with their selectors, feeds) at once."""
    problems: list[str] = []
    known_sections = set(_SECTIONS) | {"sources", "feeds"}
    for section in raw:
        if section not in known_sections:
            problems.append(
                f"{path}: [{section}]: unknown section (known: {', '.join(sorted(known_sections))})"
            )
    for section in _SECTIONS:
        table = raw.get(section, {})
        if not isinstance(table, dict):
            problems.append(f"{path}: [{section}]: must be a table")
            continue
        known = {s.key for s in SETTINGS if s.section == section}
        for key in table:
            if key not in known:
                problems.append(
                    f"{path}: {section}.{key}: unknown setting (known: {', '.join(sorted(known))})"
                )

    values: dict[str, dict[str, Any]] = {section: {} for section in _SECTIONS}
    origins: dict[str, str] = {}
    for setting in SETTINGS:
        table = raw.get(setting.section, {})
        value, origin, where = setting.default, "default", ""
        if isinstance(table, dict) and setting.key in table:
            value, origin, where = table[setting.key], "file", f"{path}: {setting.name}"
        if setting.env in env:
            value, origin = env[setting.env], f"environment {setting.env}"
            where = origin
        if origin != "default":
            try:
                value = _convert(setting, value)
            except (ValueError, TypeError) as exc:
                problems.append(f"{where}: {exc}")
                continue
        if origin == "file":
            value = _relative_to_file(setting, value, path.parent)
        values[setting.section][setting.key] = value
        origins[setting.name] = origin

    sources = _sources(raw.get("sources", []), path, problems)
    feeds = _feeds(raw.get("feeds", []), path, {s.name for s in sources}, problems)
    if problems:
        raise ConfigError(problems)
    settings = Settings(
        config_path=path,
        dedup=DedupSettings(**values["dedup"]),
        sources=tuple(sources),
        feeds=tuple(feeds),
        **values["service"],
    )
    return settings, origins


def describe(settings: Settings, origins: Mapping[str, str]) -> list[str]:
    """Every setting with its value and origin, one line each, secrets masked; then sources and feeds."""
    rows = []
    for setting in SETTINGS:
        owner = settings if setting.section == "service" else getattr(settings, setting.section)
        value = getattr(owner, setting.key)
        if setting.secret:
            shown = "set" if value else "unset"
        else:
            shown = mask_url(show_value(setting, value)) if value != "" else "(none)"
        rows.append((setting.name, shown, origins.get(setting.name, "default")))
    name_width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    lines = [f"  {n:<{name_width}}  {v:<{value_width}}  ({o})" for n, v, o in rows]
    for s in settings.sources:
        lines.append(f"  source {s.name}: {mask_url(s.url)} every {s.interval:g}s")
    for f in settings.all_feeds():
        private = " (private)" if f.token or settings.token else ""
        lines.append(f"  feed {f.name}: {settings.public_url}/feeds/{f.name}.atom{private}")
    return lines


def _table_list(value: Any, name: str, path: Path, problems: list[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.append(f"{path}: {name}: must be an array of tables ([[{name}]])")
        return []
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str, problems: list[str]) -> None:
    for key in table:
        if key not in allowed:
            problems.append(f"{where}.{key}: unknown key (known: {', '.join(sorted(allowed))})")


def _name(table: dict[str, Any], where: str, problems: list[str]) -> str | None:
    name = table.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        problems.append(
            f"{where}.name: required, lowercase letters, digits, '-' or '_' (it becomes a URL), got {name!r}"
        )
        return None
    return name


def _sources(value: Any, path: Path, problems: list[str]) -> list[Source]:
    out: list[Source] = []
    seen: set[str] = set()
    profile_keys = set(SiteProfile.__dataclass_fields__)
    for i, table in enumerate(_table_list(value, "sources", path, problems)):
        where = f"{path}: sources[{i}]"
        name = _name(table, where, problems)
        if name is not None:
            where = f"{path}: sources[{i}] ({name})"
            if name == "all":
                problems.append(f"{where}.name: {_ALL_TAKEN}")
            elif name in seen:
                problems.append(f"{where}.name: another source is named {name!r} already")
            seen.add(name)
        _check_keys(table, {k.key for k in SOURCE_KEYS}, where, problems)
        url = _source_url(table.get("url"), path, where, problems)
        try:
            interval = parse_duration(table.get("interval", "15m"))
        except ValueError as exc:
            problems.append(f"{where}.interval: {exc}")
            interval = 900.0
        date_order = table.get("date_order", "DMY")
        if date_order not in ("DMY", "MDY", "YMD"):
            problems.append(f"{where}.date_order: must be DMY, MDY or YMD, got {date_order!r}")
        profile = None
        if "profile" in table:
            raw_profile = table["profile"]
            if not isinstance(raw_profile, dict):
                problems.append(f"{where}.profile: must be a table of CSS selectors")
            else:
                _check_keys(raw_profile, profile_keys, f"{where}.profile", problems)
                bad = _selector_problems(raw_profile, f"{where}.profile")
                problems.extend(bad)
                if not bad and set(raw_profile) <= profile_keys:
                    profile = SiteProfile(**raw_profile)
        full_text = table.get("full_text", False)
        if not isinstance(full_text, bool):
            problems.append(f"{where}.full_text: must be true or false, got {full_text!r}")
            full_text = False
        full_text_max = table.get("full_text_max", 20)
        if isinstance(full_text_max, bool) or not isinstance(full_text_max, int) or full_text_max <= 0:
            problems.append(f"{where}.full_text_max: must be a positive integer, got {full_text_max!r}")
            full_text_max = 20
        language = _language(table.get("language"), f"{where}.language", problems)
        title = table.get("title")
        if title is not None and (not isinstance(title, str) or not title.strip()):
            problems.append(f"{where}.title: must be a non-empty string, got {title!r}")
            title = None
        if name is not None and url is not None:
            order: DateOrder = date_order if date_order in ("DMY", "MDY", "YMD") else "DMY"
            out.append(
                Source(
                    name=name,
                    url=url,
                    interval=interval,
                    date_order=order,
                    profile=profile,
                    full_text=full_text,
                    full_text_max=full_text_max,
                    language=language,
                    title=title.strip() if title else None,
                )
            )
    return out


def _selector_problems(profile: dict[str, Any], where: str) -> list[str]:
    """Each selector compiled by the library the extractor applies them with, so a bad one is reported
    now, with the other problems, rather than when the site is parsed. (Imported here: the extractor is
    heavy, and only a profile needs it.)"""
    from feedsvc.extract.html import selector_problem

    problems = []
    for key, selector in profile.items():
        if not isinstance(selector, str) or not selector.strip():
            problems.append(f"{where}.{key}: must be a CSS selector string, got {selector!r}")
        elif (problem := selector_problem(selector)) is not None:
            problems.append(f"{where}.{key}: {problem}")
    return problems


def _language(value: Any, where: str, problems: list[str]) -> str | None:
    """A BCP 47 tag in its canonical case ("pt-br" -> "pt-BR"), or None when unset."""
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else ""
    match = _LANGUAGE_RE.match(text) if len(text) <= 35 else None
    if match is None:
        hint = f" (write {text.replace('_', '-')!r})" if "_" in text else ""
        problems.append(
            f"{where}: must be a BCP 47 language tag such as 'de', 'ja' or 'pt-BR', got {value!r}{hint}"
        )
        return None
    tag = match["lang"].lower()
    if match["script"]:
        tag += "-" + match["script"].title()
    if match["region"]:
        tag += "-" + match["region"].upper()
    return tag + match["variants"].lower()


def _source_url(value: Any, path: Path, where: str, problems: list[str]) -> str | None:
    if not isinstance(value, str) or not value:
        problems.append(f"{where}.url: required: an http(s) URL or a local file path")
        return None
    scheme = urlsplit(value).scheme
    if scheme in ("http", "https"):
        if not urlsplit(value).netloc:
            problems.append(f"{where}.url: {value!r} has no host")
            return None
        return value
    if scheme == "file":
        value = urlsplit(value).path
    elif scheme and len(scheme) > 1:
        problems.append(f"{where}.url: unsupported scheme {scheme!r} (use http, https or a file path)")
        return None
    file_path = Path(value)
    if not file_path.is_absolute():
        file_path = (path.parent / file_path).resolve()
    if not file_path.is_file():
        problems.append(f"{where}.url: file {str(file_path)!r} does not exist")
        return None
    return str(file_path)


def _str_list(table: dict[str, Any], key: str, where: str, problems: list[str]) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}.{key}: must be a list of non-empty strings")
        return ()
    return tuple(value)


def _feeds(value: Any, path: Path, source_names: set[str], problems: list[str]) -> list[FeedSpec]:
    out: list[FeedSpec] = []
    seen: set[str] = set()
    for i, table in enumerate(_table_list(value, "feeds", path, problems)):
        where = f"{path}: feeds[{i}]"
        _check_keys(table, set(FEED_KEYS), where, problems)
        name = _name(table, where, problems)
        if name is None:
            continue
        where = f"{path}: feeds[{i}] ({name})"
        if name == "all":
            problems.append(f"{where}.name: {_ALL_TAKEN}")
        elif name in source_names:
            problems.append(
                f"{where}.name: a source of that name already has this feed (/feeds/{name}.atom); "
                "choose another name"
            )
        elif name in seen:
            problems.append(f"{where}.name: another feed is named {name!r} already")
        seen.add(name)
        title = table.get("title", name)
        if not isinstance(title, str) or not title.strip():
            problems.append(f"{where}.title: must be a non-empty string")
            title = name
        sources = _str_list(table, "sources", where, problems)
        for unknown in sorted(set(sources) - source_names):
            problems.append(f"{where}.sources: no source named {unknown!r}")
        token = table.get("token")
        if token is not None and (not isinstance(token, str) or not token.strip()):
            problems.append(f"{where}.token: must be a non-empty string")
            token = None
        out.append(
            FeedSpec(
                name=name,
                title=title,
                sources=sources,
                outlets=_str_list(table, "outlets", where, problems),
                keywords=_str_list(table, "keywords", where, problems),
                categories=_str_list(table, "categories", where, problems),
                exclude_keywords=_str_list(table, "exclude_keywords", where, problems),
                exclude_outlets=_str_list(table, "exclude_outlets", where, problems),
                token=token,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m feedsvc.settings", description="Print the README's tables of settings and keys."
    )
    parser.add_argument("--markdown", action="store_true", required=True, help="as Markdown tables")
    parser.add_argument("table", nargs="?", choices=["settings", "sources", "feeds"], help="only this one")
    args = parser.parse_args(argv)
    tables = {"settings": settings_table, "sources": sources_table, "feeds": feeds_table}
    chosen = [tables[args.table]] if args.table else list(tables.values())
    print("\n".join(table() for table in chosen), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
