"""Full text for cards: a listing and its article pages served on 127.0.0.1, fetched through the service."""

from __future__ import annotations

import html
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol

import pytest

from feedsvc.fetch import Fetcher
from feedsvc.fulltext import RETRY_FIRST, FullText, article_key, titles_resemble
from feedsvc.models import Page, RunReport, Source, Story
from feedsvc.service import Service
from feedsvc.settings import Settings
from feedsvc.store import Store

# -- the site: a Yahoo-News-like listing (atomic CSS stream) and article pages of its own --------------


@dataclass(frozen=True)
class Article:
    slug: str
    outlet: str
    title: str  # the headline on the article page
    paragraphs: tuple[str, ...]
    card_title: str = ""  # the listing's headline, when the aggregator reworded it
    snippet: str = ""

    @property
    def path(self) -> str:
        return f"/news/{self.slug}.html"

    @property
    def card(self) -> str:
        return self.card_title or self.title


FERRY = Article(
    "harbour-approves-night-ferry-trial-041500123",
    "Coastal Courier",
    "Harbour authority approves night-time ferry trial on the northern route",
    (
        "The harbour authority on Monday approved a six-month trial of night-time ferry crossings on the "
        "northern route, answering years of complaints from shift workers who finish after the last boat.",
        "Under the plan, two extra sailings will leave the east pier at 11.40pm and 1.10am from the start of "
        "next month, with a smaller vessel on loan from the southern fleet.",
        "Board members said the trial would be judged on passenger numbers and on noise readings taken at "
        "the houses nearest the slipway, which residents' groups had asked for.",
        "Fares will match the daytime tariff, and season tickets will be valid on the new sailings.",
    ),
    snippet="The harbour authority approved a six-month trial of night-time crossings on the northern route.",
)
RAIL = Article(
    "regional-rail-adds-late-trains-052000456",
    "Valley Post",
    "Regional rail operator adds late trains after festival weekend crowds",
    (
        "The regional rail operator will add four late trains on Friday and Saturday nights after "
        "passengers were left on crowded platforms during the summer festival weekend.",
        "The company said the extra services, which run until early October, would double the seats "
        "available after midnight on the line between the valley towns and the city centre.",
        "A spokesperson apologised to travellers who waited more than an hour on Saturday and said staff "
        "numbers at the two busiest stations would also rise.",
    ),
    snippet="Four extra late services will run on Friday and Saturday nights until October.",
)
LIBRARY = Article(
    "library-network-extends-hours-061000789",
    "City Ledger",
    "Council extends library opening hours in four districts from September",
    (
        "Libraries in four districts will open until 8pm on weekdays from September, the council said, "
        "reversing cuts made three years ago.",
        "The change is paid for by a grant from the regional education fund and by moving the mobile "
        "library to a shorter timetable.",
        "Reading groups and homework clubs that had moved to community halls are expected to return to "
        "the branches.",
    ),
    card_title="Libraries to stay open later in evenings",  # reworded by the aggregator: the URL decides
    snippet="Four district libraries will stay open until 8pm on weekdays.",
)
ARTICLES = (FERRY, RAIL, LIBRARY)

LISTING = """<!DOCTYPE html>
<html id="atomic" class="ltr desktop Desktop bkt901 yahoo-news" lang="en-GB">
<head>
<meta charset="utf-8">
<title>Regional News - Latest Local Headlines</title>
<meta property="og:type" content="website">
<meta property="og:site_name" content="Regional News">
<meta property="og:url" content="{base}/world/">
<link rel="canonical" href="{base}/world/">
</head>
<body class="my3columns">
<div id="YDC-UH"><header id="ybar" role="banner"><a id="ybar-logo" href="/">Regional News</a>
<a href="/account/login">Sign in</a></header>
<nav id="YDC-Nav" class="Pos(r)"><ul><li><a href="/">Home</a></li><li><a href="/world/">Local</a></li>
<li><a href="/weather/">Weather</a></li></ul></nav></div>
<div id="YDC-Col1"><div id="Main" role="main">
<h2 class="Fz(20px) Fw(b)">Local</h2>
<div id="YDC-Stream" class="Pos(r)" data-test-locator="stream"><ul class="My(0) P(0) Wow(bw) Ov(h)">
{items}
</ul></div></div></div>
<footer id="YDC-Footer" role="contentinfo"><a href="/terms">Terms</a><p>&copy; 2025 Regional News</p></footer>
</body>
</html>
"""
CARD = """<li class="js-stream-content Pos(r)" data-test-locator="stream-item">
  <div class="Py(14px) Pos(r)"><div class="Cf">
    <div class="Fl(start) Pos(r) Mt(2px) W(26.5%)"><img src="/img/{slug}-220x123.jpg" alt=""></div>
    <div class="Ov(h) Pend(44px) Pstart(25px)">
      <div class="C(#959595) Fz(11px) D(ib) Mb(4px)"><span>{outlet}</span><span class="Mx(4px)">•</span>
        <span>{ago} hours ago</span></div>
      <h3 class="Mb(5px)"><a href="{path}" class="js-content-viewer Fw(b) Fz(18px) Lh(23px)">{title}</a></h3>
      <p class="Fz(14px) Lh(19px) LineClamp(2,38px) M(0)">{snippet}</p>
    </div>
  </div></div>
</li>"""
ARTICLE_PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta property="og:type" content="article">
<meta property="og:site_name" content="Regional News">
<meta property="og:title" content="{title}">
<meta property="og:url" content="{base}{path}">
<link rel="canonical" href="{base}{path}">
<script type="application/ld+json">
{{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "{title}",
  "datePublished": "2025-08-19T04:15:00Z", "mainEntityOfPage": "{base}{path}",
  "publisher": {{"@type": "Organization", "name": "Regional News"}},
  "provider": {{"@type": "Organization", "name": "{outlet}"}}}}
</script>
</head>
<body>
<div id="consent-page" class="con-wizard" role="dialog">
<p>We and our partners use cookies to run this site.</p>
<button name="agree">Accept all</button></div>
<header id="ybar" role="banner"><a href="/">Regional News</a><a href="/account/login">Sign in</a></header>
<div id="Main" role="main">
<article class="caas-container" role="article">
  <header class="caas-title-wrapper"><h1 data-test-locator="headline">{title}</h1></header>
  <div class="caas-attr-meta"><span class="caas-attr-provider">{outlet}</span>
    <time class="caas-attr-meta-time" datetime="2025-08-19T04:15:00.000Z">
      Tue, 19 August 2025 at 5:15 am</time>
  </div>
  <div class="caas-body">
{paragraphs}
  </div>
  <div class="caas-share-buttons"><button>Share on Facebook</button><button>Email</button></div>
</article>
<section id="recommended"><h2>Recommended stories</h2>
  <ul><li><a href="/news/weekend-weather-outlook-070000111.html">
    Weekend weather: showers clearing by Sunday</a></li></ul>
</section>
</div>
<footer role="contentinfo"><a href="/terms">Terms</a></footer>
</body>
</html>
"""
CONSENT_WALL = """<!DOCTYPE html>
<html lang="en-GB">
<head><meta charset="utf-8"><title>Before you continue</title></head>
<body>
<main>
<h1>Before you continue to Regional News</h1>
<p>We use cookies and data to deliver and maintain our services, measure audience engagement and
site statistics, and show personalised content and advertising depending on your settings.</p>
<p>Select "More options" to see additional information, including details about managing your
privacy settings. You can also visit our privacy dashboard at any time.</p>
<form action="/consent" method="post"><button name="set_eom" value="false">Reject all</button>
<button name="set_eom" value="true">Accept all</button></form>
</main>
</body>
</html>
"""


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]


@dataclass
class Site:
    """What the test server serves, and every request it was sent."""

    cards: list[Article] = field(default_factory=lambda: list(ARTICLES))
    robots: str = "User-agent: *\nDisallow: /account/\n"
    status: dict[str, int] = field(default_factory=dict)  # path -> forced status
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> extra headers
    consent_wall: set[str] = field(default_factory=set)  # paths answered with a consent page
    stalled: set[str] = field(default_factory=set)  # paths that answer only when the test ends
    hits: list[Hit] = field(default_factory=list)
    base: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + path

    def requested(self, prefix: str = "/news/") -> list[str]:
        with self.guard:
            return [h.path for h in self.hits if h.path.startswith(prefix)]

    def forget(self) -> None:
        with self.guard:
            self.hits.clear()

    def page(self, path: str) -> tuple[int, str, dict[str, str]]:
        if path == "/robots.txt":
            return 200, self.robots, {"Content-Type": "text/plain"}
        if path == "/world/":
            items = "\n".join(
                CARD.format(
                    slug=a.slug,
                    outlet=a.outlet,
                    ago=i + 1,
                    path=a.path,
                    title=html.escape(a.card),
                    snippet=html.escape(a.snippet),
                )
                for i, a in enumerate(self.cards)
            )
            return 200, LISTING.format(base=self.base, items=items), {}
        article = next((a for a in ARTICLES if a.path == path), None)
        if article is None:
            return 404, "<html><body><h1>Page not found</h1></body></html>", {}
        validators = {"ETag": f'"{article.slug}-1"', "Last-Modified": "Tue, 19 Aug 2025 04:20:00 GMT"}
        if path in self.consent_wall:
            return 200, CONSENT_WALL, validators
        paragraphs = "\n".join(f"    <p>{html.escape(p)}</p>" for p in article.paragraphs)
        page = ARTICLE_PAGE.format(
            base=self.base,
            path=path,
            title=html.escape(article.title),
            outlet=html.escape(article.outlet),
            paragraphs=paragraphs,
        )
        return 200, page, validators


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        site = self.server.site
        with site.guard:
            site.hits.append(Hit(self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path in site.stalled:
            site.release.wait(60)  # the client gives up first; the test sets this when it ends
        status, body, headers = site.page(self.path)
        status = site.status.get(self.path, status)
        headers = {**headers, **site.headers.get(self.path, {})}
        if status == 200 and headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
            status, body = 304, ""
        data = body.encode("utf-8") if status != 304 else b""
        try:
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "text/html; charset=utf-8"))
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client hung up (a stalled request it stopped waiting for)
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: Site) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.site = site


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    server = _Server(site)
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


class _Factory(Protocol):
    def __call__(self, timeout: float = 10.0, **source_keys: object) -> tuple[Service, Source]: ...


@pytest.fixture
def make_service(tmp_path: Path, site: Site) -> Iterator[_Factory]:
    services: list[Service] = []

    def make(timeout: float = 10.0, **source_keys: object) -> tuple[Service, Source]:
        keys: dict[str, object] = {"full_text": True, **source_keys}
        source = Source(name="local", url=site.url("/world/"), interval=900, **keys)  # type: ignore[arg-type]
        settings = Settings(
            database_url=f"sqlite:///{tmp_path}/db/feedsvc.db",
            data_dir=tmp_path / "data",
            sources=(source,),
        )
        service = Service(settings, fetcher=Fetcher(timeout=timeout))
        services.append(service)
        return service, source

    yield make
    for service in services:
        service.close()


def _run(service: Service, source: Source) -> RunReport:
    report = service.run_source(source, force=True)
    assert report.ok, report.error
    return report


def _bodies(service: Service) -> dict[str, str]:
    """Stored story body by its link."""
    return {c.url or "": "\n\n".join(c.body) for cl in service.store.recent_clusters(100) for c in cl.copies}


def _full(article: Article) -> str:
    return "\n\n".join(article.paragraphs)


def _later(service: Service, delta: timedelta) -> None:
    start = service.fulltext.clock()
    service.fulltext.clock = lambda: start + delta


# -- the behaviour ------------------------------------------------------------------------------------


def test_cards_get_their_articles_text_once(site: Site, make_service: _Factory) -> None:
    service, source = make_service()
    report = _run(service, source)
    assert report.stories == 3
    bodies = _bodies(service)
    for article in ARTICLES:  # the reworded LIBRARY headline is matched by the page's canonical URL
        assert bodies[site.url(article.path)] == _full(article)
    assert sorted(site.requested()) == sorted(a.path for a in ARTICLES)
    assert site.requested("/robots.txt") == ["/robots.txt"]  # asked once for the host, listing included
    full = service.metrics.fulltext_fetches.labels(source.name, "full")._value.get()
    assert full == 3

    site.forget()
    _run(service, source)
    assert site.requested() == []  # the articles are known: none is fetched again
    assert site.requested("/world/") == ["/world/"]

    site.forget()
    restarted, _ = make_service()  # the cache is in the store: a restart does not fetch them again
    _, summary = restarted.fulltext.run(source, _cards(site))
    assert site.requested() == [] and summary.full == 3 and summary.from_cache == 3


def _cards(site: Site) -> list[Story]:
    """The listing's stories as extraction gives them (for runs of the full-text stage alone)."""
    return [Story(a.card, a.outlet, None, None, (a.snippet,), url=site.url(a.path)) for a in site.cards]


def test_an_unusable_page_is_asked_again_only_when_due_and_conditionally(
    site: Site, make_service: _Factory
) -> None:
    site.consent_wall.add(RAIL.path)  # a 200 with validators, but not the card's story
    service, source = make_service()
    _run(service, source)
    bodies = _bodies(service)
    assert bodies[site.url(RAIL.path)] == RAIL.snippet
    assert bodies[site.url(FERRY.path)] == _full(FERRY)
    first = next(h for h in site.hits if h.path == RAIL.path)
    assert "if-none-match" not in first.headers

    site.forget()
    _run(service, source)
    assert site.requested() == []  # not due yet

    _later(service, RETRY_FIRST + timedelta(minutes=1))
    site.forget()
    _run(service, source)
    assert site.requested() == [RAIL.path]  # only the unusable one, and conditionally
    again = next(h for h in site.hits if h.path == RAIL.path)
    assert again.headers["if-none-match"] == f'"{RAIL.slug}-1"'
    assert again.headers["if-modified-since"] == "Tue, 19 Aug 2025 04:20:00 GMT"
    record = service.store.get_articles([article_key(site.url(RAIL.path))])[article_key(site.url(RAIL.path))]
    assert record.status == "none" and record.tries == 2
    assert record.next_check is not None and record.next_check > service.fulltext.clock() + RETRY_FIRST
    assert service.metrics.fulltext_fetches.labels(source.name, "not_modified")._value.get() == 1


def test_the_cap_limits_article_fetches_per_run(site: Site, make_service: _Factory) -> None:
    service, source = make_service(full_text_max=2)
    _run(service, source)
    assert sorted(site.requested()) == sorted([FERRY.path, RAIL.path])  # in page order
    assert _bodies(service)[site.url(LIBRARY.path)] == LIBRARY.snippet

    site.forget()
    _, summary = service.fulltext.run(source, _cards(site))
    assert site.requested() == [LIBRARY.path]  # the one left over, on the next run
    assert summary.fetched == 1 and summary.full == 3

    site.forget()
    service.fulltext.run(source, _cards(site))
    assert site.requested() == []


def test_a_body_fetched_on_a_later_run_replaces_the_stored_snippet(
    site: Site, make_service: _Factory
) -> None:
    service, source = make_service(full_text_max=2)
    _run(service, source)
    assert _bodies(service)[site.url(LIBRARY.path)] == LIBRARY.snippet
    entry = next(
        cl for cl in service.store.recent_clusters(100) if cl.canonical.url == site.url(LIBRARY.path)
    )
    report = _run(service, source)  # the capped article is fetched now, and the stored copy grows
    assert _bodies(service)[site.url(LIBRARY.path)] == _full(LIBRARY)
    grown = next(cl for cl in service.store.recent_clusters(100) if cl.id == entry.id)
    assert grown.updated > entry.updated and grown.canonical.body == LIBRARY.paragraphs
    assert report.stories == 3 and len(service.store.recent_clusters(100)) == 3  # same entries, no new ones
    _run(service, source)  # nothing grows any more: the entry keeps its updated stamp
    again = next(cl for cl in service.store.recent_clusters(100) if cl.id == entry.id)
    assert again.updated == grown.updated


@pytest.mark.parametrize("failure", ["404", "500", "timeout"])
def test_a_failing_article_keeps_its_snippet_and_the_run_succeeds(
    failure: str, site: Site, make_service: _Factory, caplog: pytest.LogCaptureFixture
) -> None:
    if failure == "timeout":
        site.stalled.add(FERRY.path)
    else:
        site.status[FERRY.path] = int(failure)
    # Long enough that only the stalled page runs out of time on a loaded machine.
    service, source = make_service(timeout=4.0)
    with caplog.at_level(logging.WARNING, logger="feedsvc"):
        _run(service, source)
    bodies = _bodies(service)
    assert bodies[site.url(FERRY.path)] == FERRY.snippet
    assert bodies[site.url(RAIL.path)] == _full(RAIL)
    assert bodies[site.url(LIBRARY.path)] == _full(LIBRARY)
    failed = [r.getMessage() for r in caplog.records if "event=fulltext_failed" in r.getMessage()]
    assert len(failed) == 1
    assert f"source=local url={site.url(FERRY.path)} reason=" in failed[0]
    reason = {"404": "HTTP 404", "500": "HTTP 500", "timeout": "timed out|total fetch timeout"}[failure]
    assert re.search(reason, failed[0]), failed[0]
    assert service.metrics.fulltext_fetches.labels(source.name, "error")._value.get() == 1

    site.forget()
    _run(service, source)
    assert site.requested() == []  # a failure is retried later, not on every run
    _later(service, RETRY_FIRST + timedelta(minutes=1))
    site.stalled.clear()
    site.status.clear()
    site.forget()
    _run(service, source)
    assert site.requested() == [FERRY.path]
    assert "if-none-match" not in site.hits[-1].headers  # a failed fetch left no validators


def test_retry_after_on_an_article_leaves_the_host_alone_for_the_run(
    site: Site, make_service: _Factory
) -> None:
    site.status[FERRY.path] = 429
    site.headers[FERRY.path] = {"Retry-After": "7200"}
    service, source = make_service()
    _run(service, source)
    assert site.requested() == [FERRY.path]  # RAIL and LIBRARY wait: the host asked for a pause
    bodies = _bodies(service)
    assert bodies[site.url(RAIL.path)] == RAIL.snippet

    site.forget()
    _later(service, timedelta(hours=2, minutes=1))
    site.status.clear()
    service.fulltext.run(source, _cards(site))
    assert sorted(site.requested()) == sorted(a.path for a in ARTICLES)


def test_robots_disallowing_the_articles_keeps_the_snippets(site: Site, make_service: _Factory) -> None:
    site.robots = "User-agent: feedsvc\nDisallow: /news/\n\nUser-agent: *\nDisallow: /account/\n"
    service, source = make_service()
    _run(service, source)
    assert site.requested() == []
    bodies = _bodies(service)
    assert {bodies[site.url(a.path)] for a in ARTICLES} == {a.snippet for a in ARTICLES}


def test_full_text_false_fetches_nothing(site: Site, make_service: _Factory) -> None:
    service, source = make_service(full_text=False)
    _run(service, source)
    assert site.requested() == []
    assert site.requested("/") == ["/robots.txt", "/world/"]
    assert {_bodies(service)[site.url(a.path)] for a in ARTICLES} == {a.snippet for a in ARTICLES}
    assert service.store.get_articles([article_key(site.url(a.path)) for a in ARTICLES]) == {}


def test_only_http_links_and_not_the_listing_itself(tmp_path: Path) -> None:
    class NoNetwork(Fetcher):
        def fetch(self, source: Source, validators: object = None) -> Page:  # type: ignore[override]
            raise AssertionError(f"fetched {source.url}")

    store = Store(f"sqlite:///{tmp_path}/s.db")
    source = Source(name="s", url="https://agg.example/top", interval=60, full_text=True)
    stories = [
        Story("A story on a page of its own", None, None, None, ("text",), url="https://agg.example/top#x"),
        Story("A story with a mail link", None, None, None, ("text",), url="mailto:desk@agg.example"),
        Story("A story without a link", None, None, None, ("text",)),
    ]
    try:
        out, summary = FullText(NoNetwork(), store).run(source, stories, "https://agg.example/top")
    finally:
        store.close()
    assert out == stories and summary.candidates == 0


def test_the_cache_table_is_created_with_the_schema_and_pruned_with_retention(tmp_path: Path) -> None:
    from feedsvc.store import ArticleRecord

    url = f"sqlite:///{tmp_path}/s.db"
    store = Store(url)
    old = datetime(2025, 7, 1, tzinfo=UTC)
    record = ArticleRecord(
        key=article_key("https://a.example/x"),
        url="https://a.example/x",
        source="s",
        status="full",
        checked=old,
        body=("Erster Absatz mit Umlauten: Grüße.", "Second paragraph."),
    )
    store.save_articles(
        [record, replace(record, key="k2", url="https://a.example/y", checked=old.replace(month=8))]
    )
    store.close()
    store = Store(url)  # reopened: the table and its rows are there
    try:
        assert store.get_articles([record.key]) == {record.key: record}
        store.prune(datetime(2025, 7, 15, tzinfo=UTC))
        assert list(store.get_articles([record.key, "k2"])) == ["k2"]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("card", "article", "same"),
    [
        ("Putin invites Trump to Moscow", "Putin Invites Trump to Moscow After Failure to Reach Deal", True),
        ("Harbour approves ferry trial", "Harbour authority approves night-time ferry trial", True),
        ("Harbour approves ferry trial", "Before you continue to Regional News", False),
        ("Harbour approves ferry trial", "Page not found", False),
        ("日中、水産物輸入停止で協議再開へ", "日本と中国、水産物の輸入停止めぐる協議を再開へ", True),
        ("日中、水産物輸入停止で協議再開へ", "台風10号、週末に九州接近の恐れ", False),
    ],
)
def test_titles_resemble(card: str, article: str, same: bool) -> None:
    assert titles_resemble(card, article) is same


def test_an_article_no_longer_than_the_snippet_is_not_used(site: Site, make_service: _Factory) -> None:
    long_snippet = " ".join(FERRY.paragraphs) + " Ferry users were asked for their views until Friday."
    site.cards = [replace(FERRY, snippet=long_snippet), RAIL]
    service, source = make_service()
    out, summary = service.fulltext.run(source, _cards(site))
    assert [s.body_text for s in out] == [long_snippet, _full(RAIL)]
    assert summary.fetched == 2 and summary.full == 1
    key = article_key(site.url(FERRY.path))
    record = service.store.get_articles([key])[key]
    assert record.status == "none" and record.reason is not None and "no longer than" in record.reason


def test_a_huge_article_is_trimmed_to_whole_paragraphs_that_fit_the_store() -> None:
    from feedsvc.fulltext import _bounded
    from feedsvc.store import ARTICLE_BODY_MAX

    paragraph = "Ein Absatz über den Hafen, mit „Anführungszeichen“ und Umlauten. " * 40
    body = tuple(f"{i}. {paragraph}" for i in range(200))
    kept = _bounded(body)
    assert 0 < len(kept) < len(body) and kept == body[: len(kept)]
    assert len(json.dumps(list(kept), ensure_ascii=False)) <= ARTICLE_BODY_MAX
    assert len(json.dumps(list(body[: len(kept) + 1]), ensure_ascii=False)) > ARTICLE_BODY_MAX
    giant = ("x" * (ARTICLE_BODY_MAX * 2),)
    assert 0 < len(json.dumps(list(_bounded(giant)))) <= ARTICLE_BODY_MAX
