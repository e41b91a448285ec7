"""Configuration: defaults, environment overrides, and every problem reported at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedsvc.errors import ConfigError
from feedsvc.settings import SETTINGS, SOURCE_KEYS, load_settings
from tests.conftest import ROOT


def test_default_config_is_valid_and_uses_the_bundled_pages() -> None:
    settings = load_settings(ROOT / "config" / "feedsvc.toml", environ={})
    assert settings.listen == "127.0.0.1:8080"
    assert settings.database_url.startswith("sqlite:///data/")
    assert len(settings.sources) >= 3
    assert all(Path(s.url).is_file() for s in settings.sources)
    assert settings.all_feeds()[0].name == "all"


def test_environment_overrides_the_file(demo_config: Path) -> None:
    env = {
        "FEEDSVC_LISTEN": "0.0.0.0:9000",
        "FEEDSVC_PUBLIC_URL": "https://feeds.example.org/",
        "FEEDSVC_DATABASE_URL": "sqlite:////tmp/x.db",
        "FEEDSVC_FEED_ENTRIES": "7",
        "FEEDSVC_DEDUP_NUM_PERM": "64",
    }
    settings = load_settings(demo_config, environ=env)
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.public_url == "https://feeds.example.org"
    assert settings.database_url == "sqlite:////tmp/x.db"
    assert settings.feed_entries == 7
    assert settings.dedup.num_perm == 64


def test_feedsvc_config_names_the_file(demo_config: Path) -> None:
    assert load_settings(None, environ={"FEEDSVC_CONFIG": str(demo_config)}).config_path == demo_config


def test_every_problem_is_reported_with_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[service]\nlisten = "nowhere"\nfeed_entries = -3\ncolour = "blue"\n'
        '[[sources]]\nname = "Bad Name!"\nurl = "ftp://example.org/x"\n'
        '[[sources]]\nname = "ok"\nurl = "missing.txt"\ninterval = "soon"\n'
        '[[feeds]]\nname = "f"\nsources = ["nope"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"FEEDSVC_DEDUP_RESEMBLANCE": "7"})
    problems = caught.value.problems
    joined = "\n".join(problems)
    for fragment in (
        "service.listen",
        "service.feed_entries",
        "service.colour: unknown setting",
        "sources[0].name",
        "unsupported scheme 'ftp'",
        "missing.txt' does not exist",
        "sources[1] (ok).interval",
        "feeds[0] (f).sources: no source named 'nope'",
        "FEEDSVC_DEDUP_RESEMBLANCE",
    ):
        assert fragment in joined, fragment
    assert all(str(path) in p or p.startswith("environment") for p in problems)


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[service\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(bad, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_readme_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table_rows = [line for line in readme.splitlines() if line.startswith("|")]
    for setting in SETTINGS:
        row = next((r for r in table_rows if f"`{setting.env}`" in r and f"`{setting.key}`" in r), None)
        assert row is not None, setting.env
        default = setting.default
        if default == "":
            continue  # documented in words ("http://LISTEN", "(none)")
        if isinstance(default, bool):
            shown = str(default).lower()
        elif isinstance(default, float) and default.is_integer() and setting.kind == "duration":
            shown = str(int(default))
        else:
            shown = str(default)
        assert f"`{shown}`" in row, f"README shows a stale default for {setting.env}"
    documented = set(re.findall(r"`(FEEDSVC_[A-Z_]+)`", readme))
    known = {s.env for s in SETTINGS} | {"FEEDSVC_CONFIG"}
    assert documented <= known, documented - known


def test_source_full_text_and_language_settings(tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text("x", encoding="utf-8")
    path = tmp_path / "feedsvc.toml"
    path.write_text(
        '[[sources]]\nname = "plain"\nurl = "page.txt"\n'
        '[[sources]]\nname = "wire"\nurl = "https://agg.example/de"\nfull_text = true\nfull_text_max = 5\n'
        'language = "de-at"\n'
        '[[sources]]\nname = "tokyo"\nurl = "https://agg.example/ja"\nlanguage = "ja"\n',
        encoding="utf-8",
    )
    plain, wire, tokyo = load_settings(path, environ={}).sources
    assert (plain.full_text, plain.full_text_max, plain.language) == (False, 20, None)
    assert (wire.full_text, wire.full_text_max, wire.language) == (True, 5, "de-AT")
    assert (tokyo.full_text, tokyo.language) == (False, "ja")


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('full_text = "yes"', "(news).full_text: must be true or false, got 'yes'"),
        ("full_text_max = 0", "(news).full_text_max: must be a positive integer, got 0"),
        ("full_text_max = true", "(news).full_text_max: must be a positive integer, got True"),
        ('full_text_max = "20"', "(news).full_text_max: must be a positive integer, got '20'"),
        ('language = "german"', "(news).language: must be a BCP 47 language tag"),
        ('language = "de_DE"', "(write 'de-DE')"),
        ("language = 7", "(news).language: must be a BCP 47 language tag"),
        ("fulltext = true", "(news).fulltext: unknown key"),
    ],
)
def test_source_full_text_and_language_problems_name_file_source_and_key(
    tmp_path: Path, line: str, fragment: str
) -> None:
    path = tmp_path / "feedsvc.toml"
    path.write_text(f'[[sources]]\nname = "news"\nurl = "https://agg.example/x"\n{line}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.startswith(f"{path}: sources[0] (news).")
    assert fragment in problem


def test_readme_lists_every_source_key() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table_rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for key in SOURCE_KEYS:
        row = next((r for r in table_rows if r.startswith(f"| `{key.key}` |")), None)
        assert row is not None, key.key
        assert key.default in row, f"README shows a stale default for sources.{key.key}"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[service]\nfeed_entries = "ten"\n', "service.feed_entries: expected a whole number, got 'ten'"),
        ("[service]\nfetch_timeout = inf\n", "service.fetch_timeout: must be a positive, finite duration"),
        ("[service]\nfetch_timeout = nan\n", "service.fetch_timeout: must be a positive, finite duration"),
        ('[service]\nfetch_timeout = "400d"\n', "service.fetch_timeout: must be at most a year"),
        (
            '[dedup]\nresemblance = "high"\n',
            "dedup.resemblance: expected a number between 0 and 1, got 'high'",
        ),
        (
            '[[sources]]\nname = "a"\nurl = "https://a.example/"\ninterval = inf\n',
            "interval: must be a positive",
        ),
    ],
)
def test_values_are_checked_in_words_a_user_understands(tmp_path: Path, toml: str, message: str) -> None:
    config = tmp_path / "feedsvc.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert any(message in problem for problem in caught.value.problems), caught.value.problems
    assert not any("invalid literal" in problem for problem in caught.value.problems)
