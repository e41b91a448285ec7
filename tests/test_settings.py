"""Configuration: defaults, environment overrides, and every problem reported at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedsvc.errors import ConfigError
from feedsvc.settings import SETTINGS, load_settings
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
