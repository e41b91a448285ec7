"""The `feedsvc` command's contracts: parse, cluster, run-once, check-config."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from feedsvc.cli import main
from feedsvc.redact import mask_url
from feedsvc.settings import SETTINGS
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


def test_check_config_shows_every_setting_with_its_value_and_origin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("FEEDSVC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FEEDSVC_FEED_ENTRIES", "7")
    monkeypatch.setenv("FEEDSVC_TOKEN", "hunter2-secret")
    config = write_config(tmp_path)
    assert main(["check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    rows = {
        line.split()[0]: line.split() for line in out.splitlines() if line.startswith("  ") and "." in line
    }
    assert set(rows) >= {s.name for s in SETTINGS}
    assert rows["service.listen"][1:] == ["127.0.0.1:8080", "(file)"]
    assert rows["service.data_dir"][1:] == [str(tmp_path / "data"), "(file)"]
    assert rows["service.feed_entries"][1:] == ["7", "(environment", "FEEDSVC_FEED_ENTRIES)"]
    assert rows["service.token"][1:] == ["set", "(environment", "FEEDSVC_TOKEN)"]
    assert rows["service.fetch_timeout"][1:] == ["30", "(default)"]
    assert rows["service.respect_robots"][1:] == ["true", "(default)"]
    assert rows["dedup.containment"][1:] == ["0.6", "(default)"]
    monkeypatch.delenv("FEEDSVC_TOKEN")
    assert main(["check-config", "--config", str(config)]) == 0
    token_row = next(line for line in capsys.readouterr().out.splitlines() if "service.token" in line)
    assert token_row.split()[1:] == ["unset", "(default)"]


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_data_dir_that_cannot_be_written_is_one_line_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("FEEDSVC_DATA_DIR", str(blocker / "data"))
    assert main(["run-once", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    line = _one_line_error(captured.err)
    assert line.startswith(f"feedsvc: error: data_dir {blocker / 'data'}: cannot write feed files")
    assert f"{blocker} is not a directory" in line and captured.out == ""

    # What uid 10001 sees on a /data it cannot write (as root, os.access is what would say no).
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("FEEDSVC_DATA_DIR", str(data))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == data else real_access(p, mode))
    for command in (["run-once"], ["serve"], ["serve", "--role", "worker"]):
        assert main([*command, "--config", str(config)]) == 1
        line = _one_line_error(capsys.readouterr().err)
        assert line.endswith(
            f"the directory {data} is not writable by uid {os.getuid()} "
            "(set data_dir or FEEDSVC_DATA_DIR to a directory this user can write)"
        ), line
    assert not (data / "feeds").exists()


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


def test_run_once_off_a_terminal_prints_one_plain_line_per_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["run-once", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 4 and lines[-1] == f"feeds written to {tmp_path / 'data' / 'feeds'}"
    names = sorted(line.split()[0] for line in lines[:3])
    assert names == ["habba-ruling-reaction", "putin-invites-trump", "ukraine-security-talks"]
    assert all("  ok      " in line and " stories, " in line for line in lines[:3])
    assert "\x1b" not in out  # nothing drawn


def test_plain_progress_prints_each_line_as_its_source_finishes() -> None:
    import io

    from feedsvc.models import RunReport
    from feedsvc.progress import source_progress

    out, err = io.StringIO(), io.StringIO()
    with source_progress(["a", "b"], lambda r: f"{r.source} done", out=out, err=err) as progress:
        progress.started("a")
        assert out.getvalue() == ""
        progress.finished(RunReport(source="a", ok=True, stories=3))
        assert out.getvalue() == "a done\n"  # before b has even started
        progress.started("b")
        progress.finished(RunReport(source="b", ok=False, error="boom"))
    assert out.getvalue() == "a done\nb done\n" and err.getvalue() == ""
    assert progress.streamed


def _run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``python -m feedsvc.cli ARGS`` with its standard streams on a pseudo-terminal."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedsvc.cli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=cwd,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def test_run_once_on_a_terminal_draws_a_bar_per_source_then_the_summary(tmp_path: Path) -> None:
    import re

    config = write_config(tmp_path)
    (tmp_path / "pages" / "daily8-habba-ruling-reaction.txt").write_bytes(b"\x00\x01\x02 binary junk")
    root = Path(__file__).resolve().parent.parent
    code, screen = _run_on_a_terminal(["run-once", "--config", str(config)], cwd=root)
    assert code == 1, screen  # one source failed: the exit status is the same as without bars
    # Drawn: a row per source with its bar and the stories it found (failures in short).
    frames = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    assert re.search(r"✓ putin-invites-trump +━+ 4 stories found", frames), frames
    assert re.search(r"✓ ukraine-security-talks +━+ 4 stories found", frames), frames
    assert re.search(r"habba-ruling-reaction +━+ FAILED: page .*…", frames), frames
    # Then the bars are cleared and the usual summary is all that stays.
    summary = screen[screen.rindex("\x1b[2K") + len("\x1b[2K") :].replace("\r", "").splitlines()
    assert len(summary) == 4, summary
    assert summary[0].startswith("habba-ruling-reaction   FAILED  page ") and summary[0].endswith(
        "is binary data, not a text or HTML page"
    )
    assert summary[1].startswith("putin-invites-trump     ok      4 stories, 4 new, 0 merged (")
    assert summary[2].startswith("ukraine-security-talks  ok      4 stories, 2 new, 2 merged (")
    assert summary[3] == f"feeds written to {tmp_path / 'data' / 'feeds'}"
