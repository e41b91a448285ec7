"""The `feedsvc` command's contracts: parse, cluster, run-once, check-config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedsvc.cli import main
from feedsvc.redact import mask_url
from tests.conftest import DATA, write_config

REFERENCE = DATA / "pages" / "daily8-putin-invites-trump.txt"


def test_parse_reference_page_matches_the_issue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(REFERENCE), "--fetched-at", "2025-08-19T12:00:00Z"]) == 0
    stories = json.loads(capsys.readouterr().out)
    expected = json.loads(REFERENCE.with_suffix(".json").read_text(encoding="utf-8"))["stories"]
    assert stories == expected
    keys = ["title", "outlet", "published", "published_text", "category", "url", "image", "body"]
    assert list(stories[0]) == keys
    assert len(stories[0]["body"].split("\n\n")) == 24


def test_parse_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(REFERENCE.read_bytes())))
    assert main(["parse", "-", "--fetched-at", "2025-08-19T12:00:00+00:00"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4


def test_parse_errors_name_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert main(["parse", str(empty)]) == 1
    assert "empty" in capsys.readouterr().err
    assert main(["parse", str(tmp_path / "absent.txt")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["parse", str(REFERENCE), "--fetched-at", "yesterday-ish"]) == 1
    assert "--fetched-at" in capsys.readouterr().err


def test_cluster_merges_copies_and_keeps_different_stories_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", str(REFERENCE), "--fetched-at", "2025-08-19T12:00:00Z"]) == 0
    reference = json.loads(capsys.readouterr().out)
    rows = [
        {"id": f"ref-{i}", "title": s["title"], "body": s["body"], "outlet": s["outlet"]}
        for i, s in enumerate(reference)
    ]
    drone = reference[1]["body"]
    rows.append(
        {
            "id": "ap-copy",
            "title": "Ukrainian startup builds long-range drones",
            "body": "KYIV, Ukraine (AP) — "
            + drone[: len(drone) * 2 // 3]
            + " Copyright 2025 The Associated Press.",
        }
    )
    lines = tmp_path / "stories.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert main(["cluster", str(lines)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in out] == [r["id"] for r in rows]
    cluster = {o["id"]: o["cluster"] for o in out}
    assert len({cluster[f"ref-{i}"] for i in range(4)}) == 4  # four stories on one topic stay apart
    assert cluster["ap-copy"] == cluster["ref-1"]


def test_cluster_rejects_bad_lines_with_their_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = tmp_path / "bad.jsonl"
    lines.write_text('{"id": 1, "title": "a", "body": "b"}\nnot json\n', encoding="utf-8")
    assert main(["cluster", str(lines)]) == 1
    assert f"{lines}:2" in capsys.readouterr().err


def test_check_config_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_config(tmp_path)
    assert main(["check-config", "--config", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[service]\nlisten = "x"\n[[sources]]\nname = "a"\n', encoding="utf-8")
    assert main(["check-config", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "service.listen" in err and "sources[0] (a).url" in err


def test_run_once_summarises_and_fails_when_a_source_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["run-once", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "putin-invites-trump" in out and "4 stories" in out
    (tmp_path / "pages" / "daily8-habba-ruling-reaction.txt").write_bytes(b"\x00\x01\x02 binary junk")
    assert main(["run-once", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "binary" in out
    assert "putin-invites-trump" in out


def test_status_shows_each_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["status", "--config", str(config)]) == 0
    assert "at start-up" in capsys.readouterr().out
    assert main(["run-once", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "putin-invites-trump" in out and "9 stories from 13 copies" in out
    assert "last error" in out.splitlines()[0]


def test_bad_profile_selector_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = '[[sources]]\nname = "site"\nurl = "pages/daily8-putin-invites-trump.txt"\n'
    extra += '[sources.profile]\nrecord = "div.card"\ntitle = "h3[[broken"\n'
    config = write_config(tmp_path, extra=extra)
    assert main(["check-config", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "(site).profile.title: invalid CSS selector 'h3[[broken'" in err and str(config) in err


def test_check_config_never_prints_the_database_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "FEEDSVC_DATABASE_URL", "postgresql+psycopg://feeds:s3cr%40t-pw@db.internal:5432/feeds"
    )
    assert main(["check-config", "--config", str(write_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "s3cr" not in out and "postgresql+psycopg://feeds:***@db.internal:5432/feeds" in out


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("postgresql+psycopg://:pw@h/db", "postgresql+psycopg://:***@h/db"),
        ("sqlite:///data/feedsvc.db", "sqlite:///data/feedsvc.db"),
        ("https://user@example.org/x", "https://user@example.org/x"),
        (
            "error for redis://default:p4ss@127.0.0.1:6379/0 here",
            "error for redis://default:***@127.0.0.1:6379/0 here",
        ),
        ("https://example.org/feed?token=abc123&x=1", "https://example.org/feed?token=***&x=1"),
        ("https://example.org:8443/a:b@c", "https://example.org:8443/a:b@c"),
    ],
)
def test_mask_url(text: str, masked: str) -> None:
    assert mask_url(text) == masked
