"""Configuration: a TOML file plus FEEDSVC_* environment variables -> validated Settings.

Every scalar setting is declared once in ``SETTINGS`` (section, key, type, default, description); the
environment variable is ``FEEDSVC_<KEY>`` for the ``[service]`` section and ``FEEDSVC_<SECTION>_<KEY>``
otherwise. Sources and feeds are lists and live only in the file. Validation collects every problem and
raises one ConfigError listing them all.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feedsvc.errors import ConfigError
from feedsvc.models import DateOrder, FeedSpec, SiteProfile, Source

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


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    kind: str  # str | int | float | bool | duration | listen | url | choice
    default: Any
    doc: str
    choices: tuple[str, ...] = ()

    @property
    def env(self) -> str:
        prefix = "FEEDSVC_" if self.section == "service" else f"FEEDSVC_{self.section.upper()}_"
        return prefix + self.key.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("service", "listen", "listen", "127.0.0.1:8080", "HOST:PORT the HTTP server listens on"),
    Setting(
        "service",
        "public_url",
        "url",
        "",
        "Absolute base URL readers reach the service at (feed self links); default http://LISTEN",
    ),
    Setting(
        "service",
        "database_url",
        "str",
        "sqlite:///data/feedsvc.db",
        "SQLAlchemy URL of the store (SQLite file by default, postgresql+psycopg://... for larger installs)",
    ),
    Setting(
        "service",
        "auto_migrate",
        "bool",
        True,
        "Apply pending schema migrations at start-up (false: refuse to start until `feedsvc migrate` ran)",
    ),
    Setting("service", "data_dir", "str", "data", "Directory for published feed files"),
    Setting("service", "feed_entries", "int", 100, "Newest entries kept in each feed"),
    Setting("service", "max_page_bytes", "int", 5_000_000, "Largest page accepted from a source, in bytes"),
    Setting("service", "fetch_timeout", "duration", 30.0, "Total time allowed for one page fetch"),
    Setting("service", "retention_days", "int", 30, "Days a story stays in the dedup index and the store"),
    Setting("service", "contact_url", "str", "", "Contact URL added to the User-Agent sent to sites"),
    Setting("service", "respect_robots", "bool", True, "Obey robots.txt of the sites fetched"),
    Setting("service", "stop_timeout", "duration", 10.0, "Longest a clean stop (SIGTERM, Ctrl-C) may take"),
    Setting("service", "log_format", "choice", "kv", "Log line format", ("kv", "json")),
    Setting("service", "worker_threads", "int", 4, "Sources one worker process fetches and parses at once"),
    Setting(
        "service",
        "lease",
        "duration",
        300.0,
        "How long a worker's claim on a source lasts; a killed worker's sources are taken over after it",
    ),
    Setting("service", "claim_interval", "duration", 1.0, "How often a worker looks for due sources"),
    Setting(
        "service",
        "publish_interval",
        "duration",
        1.0,
        "How often the publisher checks for changes, and web servers for new feeds without a notification",
    ),
    Setting(
        "service",
        "token",
        "str",
        "",
        "Access token every feed requires (HTTP Basic password or ?token=); empty: feeds are public",
    ),
    Setting(
        "service", "hub", "url", "", "WebSub hub URL: feeds link to it and it is pinged when a feed changes"
    ),
    Setting("service", "log_level", "choice", "INFO", "Log level", ("DEBUG", "INFO", "WARNING", "ERROR")),
    # [dedup] defaults are chosen by `python -m bench dedup` (labelled corpus, baselines, speed at 1M).
    Setting("dedup", "shingle_size", "int", 5, "Words per shingle"),
    Setting("dedup", "num_perm", "int", 64, "MinHash permutations per signature"),
    Setting("dedup", "seed", "int", 1, "MinHash seed (signatures with another seed never compare)"),
    Setting("dedup", "lsh_threshold", "float", 0.3, "Jaccard threshold of the LSH candidate index"),
    Setting("dedup", "resemblance", "float", 0.5, "Jaccard at or above which two copies merge"),
    Setting(
        "dedup",
        "containment",
        "float",
        0.6,
        "Share of the shorter text found in the longer one at or above which they merge",
    ),
    Setting("dedup", "lead_words", "int", 30, "Words of the body start used to match briefs to full copies"),
    Setting(
        "dedup",
        "boilerplate_df",
        "int",
        5,
        "Unrelated stories a shingle must appear in before it counts as boilerplate (footers, promos)",
    ),
)


@dataclass(frozen=True)
class SourceKey:
    """A key of a ``[[sources]]`` table (sources live only in the file, so they have no variable)."""

    key: str
    default: str  # as the README shows it
    doc: str


SOURCE_KEYS: tuple[SourceKey, ...] = (
    SourceKey("name", "(required)", "Lowercase letters, digits, '-' or '_'; it becomes /feeds/NAME.atom"),
    SourceKey("url", "(required)", "An http(s) URL, or a file path relative to the config file"),
    SourceKey("interval", "15m", "Time between fetches: seconds, or 30s / 15m / 2h / 1d"),
    SourceKey("date_order", "DMY", "How to read 11-06-2025 on this site: DMY, MDY or YMD"),
    SourceKey("language", "(page's)", "BCP 47 tag of the site's language; default: what the page declares"),
    SourceKey("full_text", "false", "Fetch each new card's article page and use its text as the body"),
    SourceKey("full_text_max", "20", "Article pages fetched per run of this source, at most"),
    SourceKey("title", "(page's)", "Title shown to people; default: the title the page gives itself"),
    SourceKey("profile", "(none)", "CSS selectors for a site automatic extraction gets wrong"),
)


# The keys of a ``[[feeds]]`` table and what they mean (the README's feeds table shows the same).
FEED_KEYS: dict[str, str] = {
    "name": "Lowercase letters, digits, '-' or '_'; it becomes /feeds/NAME.atom",
    "title": "Title shown to readers; default: the name",
    "sources": "Only stories from these sources",
    "outlets": "Only stories carried by one of these outlets",
    "keywords": "Only stories whose title or body contains one of these words",
    "categories": "Only stories in one of these categories",
    "exclude_keywords": "Leave out stories whose title or body contains one of these words",
    "exclude_outlets": "Leave out stories carried by one of these outlets",
    "token": "Private feed: readers must give this token (HTTP Basic password or ?token=)",
}


@dataclass(frozen=True)
class DedupSettings:
    """See SETTINGS; the defaults are what `python -m bench dedup` measured best."""

    shingle_size: int = 5
    num_perm: int = 64
    seed: int = 1
    lsh_threshold: float = 0.3
    resemblance: float = 0.5
    containment: float = 0.6
    lead_words: int = 30
    boilerplate_df: int = 5


@dataclass(frozen=True)
class Settings:
    config_path: Path | None = None
    listen: str = "127.0.0.1:8080"
    public_url: str = "http://127.0.0.1:8080"
    database_url: str = "sqlite:///data/feedsvc.db"
    auto_migrate: bool = True
    data_dir: Path = Path("data")
    feed_entries: int = 100
    max_page_bytes: int = 5_000_000
    fetch_timeout: float = 30.0
    retention_days: int = 30
    contact_url: str = ""
    respect_robots: bool = True
    stop_timeout: float = 10.0
    worker_threads: int = 4
    lease: float = 300.0
    claim_interval: float = 1.0
    publish_interval: float = 1.0
    log_format: str = "kv"
    log_level: str = "INFO"
    token: str = ""
    hub: str = ""
    dedup: DedupSettings = field(default_factory=DedupSettings)
    sources: tuple[Source, ...] = ()
    feeds: tuple[FeedSpec, ...] = ()

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    def all_feeds(self) -> tuple[FeedSpec, ...]:
        """`all`, one feed per source, then the configured filtered feeds."""
        implicit = [FeedSpec(name="all", title="All stories")]
        implicit += [FeedSpec(name=s.name, title=s.title or s.name, sources=(s.name,)) for s in self.sources]
        configured = {f.name for f in self.feeds}
        return tuple(f for f in implicit if f.name not in configured) + self.feeds


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
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the config file (``--config``, else FEEDSVC_CONFIG, else the default) and the environment."""
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
    return settings_from_mapping(raw, env, path)


def settings_from_mapping(raw: Mapping[str, Any], env: Mapping[str, str], path: Path) -> Settings:
    problems: list[str] = []
    known_sections = {s.section for s in SETTINGS} | {"sources", "feeds"}
    for section in raw:
        if section not in known_sections:
            problems.append(
                f"{path}: [{section}]: unknown section (known: {', '.join(sorted(known_sections))})"
            )

    values: dict[str, dict[str, Any]] = {"service": {}, "dedup": {}}
    for section in ("service", "dedup"):
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
    for setting in SETTINGS:
        table = raw.get(setting.section, {})
        value, where = setting.default, None
        if isinstance(table, dict) and setting.key in table:
            value, where = table[setting.key], f"{path}: {setting.section}.{setting.key}"
        if setting.env in env:
            value, where = env[setting.env], f"environment {setting.env}"
        if where is not None:
            try:
                value = _convert(setting, value)
            except (ValueError, TypeError) as exc:
                problems.append(f"{where}: {exc}")
                continue
        values[setting.section][setting.key] = value

    sources = _sources(raw.get("sources", []), path, problems)
    feeds = _feeds(raw.get("feeds", []), path, {s.name for s in sources}, problems)
    if problems:
        raise ConfigError(problems)

    service = values["service"]
    public_url = service["public_url"] or f"http://{service['listen']}"
    return Settings(
        config_path=path,
        listen=service["listen"],
        public_url=public_url.rstrip("/"),
        database_url=service["database_url"],
        auto_migrate=service["auto_migrate"],
        data_dir=Path(service["data_dir"]),
        feed_entries=service["feed_entries"],
        max_page_bytes=service["max_page_bytes"],
        fetch_timeout=service["fetch_timeout"],
        retention_days=service["retention_days"],
        contact_url=service["contact_url"],
        respect_robots=service["respect_robots"],
        stop_timeout=service["stop_timeout"],
        worker_threads=service["worker_threads"],
        lease=service["lease"],
        claim_interval=service["claim_interval"],
        publish_interval=service["publish_interval"],
        log_format=service["log_format"],
        log_level=service["log_level"],
        token=service["token"],
        hub=service["hub"],
        dedup=DedupSettings(**values["dedup"]),
        sources=tuple(sources),
        feeds=tuple(feeds),
    )


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
            if name in seen or name == "all":
                problems.append(f"{where}.name: {name!r} is used twice or reserved")
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
                bad = [k for k, v in raw_profile.items() if not isinstance(v, str)]
                problems.extend(f"{where}.profile.{k}: must be a CSS selector string" for k in bad)
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
        if name in seen:
            problems.append(f"{where}.name: {name!r} is used twice")
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
