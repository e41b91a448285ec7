"""Configuration: defaults, environment overrides, and every problem reported at once."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from feedsvc.errors import ConfigError
from feedsvc.settings import (
    SETTINGS,
    DedupSettings,
    Settings,
    feeds_table,
    load_settings,
    load_with_origins,
    settings_table,
    sources_table,
)
from feedsvc.settings import main as settings_main
from tests.conftest import ROOT


def test_default_config_is_valid_and_uses_the_bundled_pages() -> None:
    settings = load_settings(ROOT / "config" / "feedsvc.toml", environ={})
    assert settings.listen == "127.0.0.1:8080"
    # Relative to the config file: `make run` writes to the repository's data/ from any directory.
    assert settings.database_url == f"sqlite:///{ROOT / 'data' / 'feedsvc.db'}"
    assert settings.data_dir == ROOT / "data"
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


def test_readme_tables_are_the_generated_ones() -> None:
    """The README's tables of settings, source keys and feed keys are exactly what
    `python -m feedsvc.settings --markdown` makes from the declarations (regenerate and paste on a change)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for table in (settings_table(), sources_table(), feeds_table()):
        assert table in readme, (
            f"README is stale; paste this table from `python -m feedsvc.settings --markdown`:\n{table}"
        )
    documented = set(re.findall(r"`(FEEDSVC_[A-Z_]+)`", readme))
    known = {s.env for s in SETTINGS} | {"FEEDSVC_CONFIG"}
    assert documented <= known, documented - known


def test_markdown_command_prints_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert settings_main(["--markdown"]) == 0
    out = capsys.readouterr().out
    assert out == "\n".join((settings_table(), sources_table(), feeds_table()))
    assert settings_main(["--markdown", "feeds"]) == 0
    assert capsys.readouterr().out == feeds_table()


def test_every_declared_setting_is_a_typed_field_and_in_the_tables() -> None:
    scalar = {f.name for f in fields(Settings)} - {"config_path", "dedup", "sources", "feeds"}
    assert {s.key for s in SETTINGS if s.section == "service"} == scalar
    assert {s.key for s in SETTINGS if s.section == "dedup"} == {f.name for f in fields(DedupSettings)}
    defaults, dedup = Settings(), DedupSettings()
    for setting in SETTINGS:
        owner = defaults if setting.section == "service" else dedup
        if setting.key != "public_url":  # "" means http://LISTEN
            assert getattr(owner, setting.key) == setting.default, setting.name
        assert f"`{setting.env}`" in settings_table()
    assert defaults.public_url == "http://127.0.0.1:8080"
    assert Settings(listen="0.0.0.0:9000").public_url == "http://0.0.0.0:9000"


# A valid value other than the default for each kind, as written in the file, and as the attribute holds it.
_SAMPLES: dict[str, tuple[object, object]] = {
    "int": (7, 7),
    "float": (0.75, 0.75),
    "bool": (False, False),
    "duration": ("2m", 120.0),
    "listen": ("0.0.0.0:9090", "0.0.0.0:9090"),
    "url": ("https://feeds.example.org", "https://feeds.example.org"),
    "str": ("some-text", "some-text"),
    "database": ("postgresql+psycopg://u@db/feeds", "postgresql+psycopg://u@db/feeds"),
    "path": ("/srv/feeds", Path("/srv/feeds")),
}


@pytest.mark.parametrize("origin", ["file", "environment"])
def test_every_setting_reaches_settings_from_file_and_environment(tmp_path: Path, origin: str) -> None:
    """No declared setting is lost between the file (or its variable) and the Settings object."""
    table: dict[str, list[str]] = {}
    env: dict[str, str] = {}
    expected = {}
    for setting in SETTINGS:
        written, held = _SAMPLES[setting.kind] if setting.kind != "choice" else (setting.choices[-1],) * 2
        if setting.kind == "bool":
            written, held = (not setting.default,) * 2
        expected[setting.name] = held
        if origin == "file":
            text = f'"{written}"' if isinstance(written, str) else str(written).lower()
            table.setdefault(setting.section, []).append(f"{setting.key} = {text}")
        else:
            env[setting.env] = str(written).lower() if isinstance(written, bool) else str(written)
    path = tmp_path / "feedsvc.toml"
    path.write_text("".join(f"[{k}]\n" + "\n".join(v) + "\n" for k, v in table.items()), encoding="utf-8")
    settings, origins = load_with_origins(path, environ=env)
    for setting in SETTINGS:
        owner = settings if setting.section == "service" else settings.dedup
        assert getattr(owner, setting.key) == expected[setting.name], setting.name
        assert origins[setting.name] == ("file" if origin == "file" else f"environment {setting.env}")


def test_paths_in_the_file_are_relative_to_the_file_and_variables_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "feedsvc"
    folder.mkdir(parents=True)
    (folder / "page.txt").write_text("x", encoding="utf-8")
    path = folder / "feedsvc.toml"
    path.write_text(
        '[service]\ndata_dir = "../feeds"\ndatabase_url = "sqlite:///db/feedsvc.db?timeout=5"\n'
        '[[sources]]\nname = "page"\nurl = "page.txt"\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(path, environ={})
    assert settings.data_dir == tmp_path / "etc" / "feeds"
    assert settings.database_url == f"sqlite:///{folder / 'db' / 'feedsvc.db'}?timeout=5"
    assert settings.sources[0].url == str(folder / "page.txt")
    # Variables and defaults stay relative to the working directory; absolute paths, memory stay as written.
    env = {"FEEDSVC_DATA_DIR": "out", "FEEDSVC_DATABASE_URL": "sqlite:///rel.db"}
    from_env = load_settings(path, environ=env)
    assert (from_env.data_dir, from_env.database_url) == (Path("out"), "sqlite:///rel.db")
    for written in ("sqlite:////srv/x.db", "sqlite:///:memory:", "sqlite://", "postgresql://h/db"):
        path.write_text(f'[service]\ndatabase_url = "{written}"\ndata_dir = "/srv/feeds"\n', encoding="utf-8")
        settings = load_settings(path, environ={})
        assert (settings.database_url, settings.data_dir) == (written, Path("/srv/feeds"))
    path.write_text("", encoding="utf-8")
    assert load_settings(path, environ={}).data_dir == Path("data")


def test_several_problems_at_once_selectors_and_feed_names_included(tmp_path: Path) -> None:
    path = tmp_path / "feedsvc.toml"
    path.write_text(
        '[service]\nfeed_entries = "ten"\n'
        '[[sources]]\nname = "wire"\nurl = "https://wire.example/"\n'
        '[sources.profile]\nrecord = "div.card"\ntitle = "div["\nlink = "a:nth-child(x)"\nbody = 3\n'
        '[[sources]]\nname = "all"\nurl = "https://all.example/"\n'
        '[[sources]]\nname = "wire"\nurl = "https://other.example/"\n'
        '[[feeds]]\nname = "all"\nkeywords = ["x"]\n'
        '[[feeds]]\nname = "wire"\ntitle = "Wire"\n'
        '[[feeds]]\nname = "topic"\n[[feeds]]\nname = "topic"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    problems = caught.value.problems
    expected = [
        f"{path}: service.feed_entries: expected a whole number, got 'ten'",
        f"{path}: sources[0] (wire).profile.title: invalid CSS selector 'div[': ",
        f"{path}: sources[0] (wire).profile.link: invalid CSS selector 'a:nth-child(x)': ",
        f"{path}: sources[0] (wire).profile.body: must be a CSS selector string, got 3",
        f"{path}: sources[1] (all).name: 'all' is the built-in feed of every story; choose another name",
        f"{path}: sources[2] (wire).name: another source is named 'wire' already",
        f"{path}: feeds[0] (all).name: 'all' is the built-in feed of every story; choose another name",
        f"{path}: feeds[1] (wire).name: a source of that name already has this feed (/feeds/wire.atom); "
        "choose another name",
        f"{path}: feeds[3] (topic).name: another feed is named 'topic' already",
    ]
    for fragment in expected:
        assert sum(p.startswith(fragment) for p in problems) == 1, (fragment, problems)
    assert len(problems) == len(expected), problems
    assert all("\n" not in p and "Traceback" not in p for p in problems)


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


def test_feed_exclusions_and_token_are_read_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "feedsvc.toml"
    path.write_text(
        '[[feeds]]\nname = "calm"\nexclude_keywords = ["sport", "war"]\nexclude_outlets = "Fox News"\n'
        'token = "s3cret"\n\n[[feeds]]\nname = "bad"\nexclude_keywords = [1]\ntoken = ""\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert any(
        "feeds[1] (bad).exclude_keywords: must be a list of non-empty strings" in p
        for p in info.value.problems
    )
    assert any("feeds[1] (bad).token: must be a non-empty string" in p for p in info.value.problems)
    path.write_text(path.read_text(encoding="utf-8").split('[[feeds]]\nname = "bad"')[0], encoding="utf-8")
    (calm,) = load_settings(path, environ={}).feeds
    assert calm.exclude_keywords == ("sport", "war") and calm.exclude_outlets == ("Fox News",)
    assert calm.token == "s3cret"
