"""A corpus of hostile pages as sources beside a good one: each failure is recorded against its own source
(status page, exit status), every other feed keeps serving, nothing leaks a traceback or breaks a feed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import feedparser
import pytest
from starlette.testclient import TestClient

from feedsvc.app import create_app
from feedsvc.cli import main
from feedsvc.settings import load_settings
from tests.conftest import write_config

CARD = (
    "<li><h3><a href='https://news.example/{i}'>Harbour council approves new sea wall number {i}</a></h3>"
    "<span>Reuters</span> · <span>2 hours ago</span><p>The council voted to rebuild the wall.</p></li>"
)

HOSTILE: dict[str, Callable[[], str]] = {
    "rot13-charset": lambda: (
        '<html><head><meta charset="rot13"></head><body><article><h1>Harbour wall vote passes</h1>'
        "<p>The council voted on Tuesday to rebuild the harbour wall that the storm broke.</p>"
        "<p>Work starts in October and should finish before the summer season.</p></article></body></html>"
    ),
    "bracketed-base-host": lambda: (
        '<html><head><base href="http://[x"></head><body><ul>'
        + "".join(CARD.format(i=i).replace("https://news.example/", "/a") for i in range(3))
        + "</ul></body></html>"
    ),
    "lone-surrogate-json-ld": lambda: (
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
        '"url": "https://news.example/\\ud800x", '
        '"headline": "Harbour wall vote passes \\udfff"}</script></head>'
        "<body><article><h1>Harbour wall vote passes</h1><p>The council voted on Tuesday to rebuild the "
        "wall.</p><p>Work starts in October.</p></article></body></html>"
    ),
    "bidi-and-huge-title": lambda: (
        "<html><body><article><h1>\u202eevil\u202c Harbour wall vote "
        + "passes " * 20_000
        + "</h1><p>The council voted on Tuesday to rebuild the wall.</p><p>Work starts soon.</p>"
        "</article></body></html>"
    ),
    "deep-nesting": lambda: "<html><body>" + "<div>" * 20_000 + CARD.format(i=1) + "</div>" * 20_000,
    "many-stories": lambda: "<html><body><ul>" + "".join(CARD.format(i=i) for i in range(4_000)) + "</ul>",
    "binary": lambda: "\x00\x01\x02PNG\x00" * 1000,
    "empty": lambda: "",
}


@pytest.fixture
def hostile_config(tmp_path: Path) -> Iterator[Path]:
    extra = []
    for name, make in HOSTILE.items():
        path = tmp_path / "pages" / f"{name}.html"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(make().encode("utf-8", "surrogatepass"))
        extra.append(f'[[sources]]\nname = "{name}"\nurl = "pages/{name}.html"\ninterval = "15m"\n')
    yield write_config(tmp_path, "\n".join(extra), pages=("daily8-putin-invites-trump.txt",))


def test_run_once_records_each_hostile_page_and_publishes_the_rest(
    hostile_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run-once", "--config", str(hostile_config)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 1  # some sources failed, and the summary says which
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert " ok " in lines["putin-invites-trump"]
    for name in ("binary", "empty", "deep-nesting"):
        assert "FAILED" in lines[name], lines[name]
    assert "more than 256 deep" in lines["deep-nesting"]
    settings = load_settings(hostile_config, environ={})
    feeds = settings.data_dir / "feeds"
    for name in ("all", "putin-invites-trump"):
        parsed = feedparser.parse((feeds / f"{name}.atom").read_bytes())
        assert not parsed.bozo and parsed.entries
        for entry in parsed.entries:
            assert "\u202e" not in entry.title and len(entry.title) <= 400


def test_serve_shows_failures_on_status_and_keeps_serving(hostile_config: Path) -> None:
    app = create_app(load_settings(hostile_config, environ={}), schedule=False)
    app.state.service.run_once()
    with TestClient(app) as client:
        assert client.get("/feeds/putin-invites-trump.atom").status_code == 200
        assert client.get("/feeds/all.json").status_code == 200
        json.loads(client.get("/feeds/all.json").content)
        status = client.get("/status").text
        for name in ("binary", "empty", "deep-nesting"):
            assert name in status
        assert "more than 256 deep" in status
        assert "Traceback" not in status
