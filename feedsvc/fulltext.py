"""Stories -> stories with full bodies: fetch each new card's article page once, politely, and use its text.

A card on an aggregator listing often carries only a headline and a snippet. For a source with
``full_text = true`` each card's http(s) link is fetched through the service's one ``Fetcher`` (so the same
robots.txt rules, per-host serialisation, size cap, timeouts and User-Agent apply), the page goes through
``feedsvc.extract.extract`` and its first story, the page's main article, replaces the snippet when it is
plainly the same story (its title resembles the card's, or its canonical URL is the link) and is longer.

Every URL asked for is remembered in the store (table ``articles``): a usable article is never fetched
again; a failure or an unusable page is asked again later with a growing delay and a conditional request
(ETag / Last-Modified) when the site gave validators, and not at all after a few tries. A run fetches at
most ``full_text_max`` articles; a host that asks to wait (Retry-After) or keeps failing is left alone for
the rest of the run. Nothing here fails a source's run: the snippet stays and the reason is logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from feedsvc.errors import ExtractError, FetchError, Interrupted, StoreError
from feedsvc.extract import extract
from feedsvc.fetch import Fetcher, Validators
from feedsvc.metrics import Metrics
from feedsvc.models import Page, Source, Story
from feedsvc.store import ARTICLE_BODY_MAX, ARTICLE_URL_MAX, ArticleRecord, Store

log = logging.getLogger("feedsvc")

RETRY_FIRST = timedelta(hours=1)  # after the first failed or unusable fetch of an article
RETRY_MAX = timedelta(days=1)
MAX_TRIES = 5  # then the card keeps its snippet for good
HOST_FAILURES_PER_RUN = 3  # a host failing this often in one run is not asked again in that run
TITLE_OVERLAP = 0.6  # share of the shorter title's words found in the other
# Letter pairs overlap less for the same story: a reworded CJK headline abbreviates (日本と中国 -> 日中).
TITLE_PAIR_OVERLAP = 0.5
_WORD_RE = re.compile(r"\w+")


@dataclass
class FullTextRun:
    """What one run of one source did (for its log line and the tests)."""

    candidates: int = 0  # stories with an http(s) link
    fetched: int = 0  # requests made, conditional ones included
    full: int = 0  # stories whose body is now the article's
    from_cache: int = 0  # of those, articles fetched in an earlier run
    over_cap: int = 0  # stories left for a later run by full_text_max or a paused host


def article_key(url: str) -> str:
    return hashlib.sha256(_without_fragment(url).encode("utf-8")).hexdigest()


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def _same_url(a: str | None, b: str | None) -> bool:
    """Equal up to the fragment, a trailing slash and http/https."""
    if not a or not b:
        return False

    def norm(url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit(("", parts.netloc.lower(), parts.path.rstrip("/") or "/", parts.query, ""))

    return norm(a) == norm(b)


def titles_resemble(card: str, article: str) -> bool:
    """Whether two headlines name the same story: aggregators shorten and reword headlines, so this asks
    how much of the shorter one the other holds. Words for alphabetic scripts; letter pairs where words
    are not separated by spaces (Japanese, Chinese) or a title is too short to judge by words."""
    words_a, words_b = _words(card), _words(article)
    if min(len(words_a), len(words_b)) >= 3:
        return _overlap(words_a, words_b) >= TITLE_OVERLAP
    return _overlap(_pairs(card), _pairs(article)) >= TITLE_PAIR_OVERLAP


def _words(text: str) -> set[str]:
    # Short function words ("to", "in", "de") say nothing about which story it is.
    return {w for w in _WORD_RE.findall(text.casefold()) if len(w) > 2 or w.isdigit()}


def _pairs(text: str) -> set[str]:
    letters = "".join(_WORD_RE.findall(text.casefold()))
    return {letters[i : i + 2] for i in range(len(letters) - 1)}


def _overlap(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _bounded(body: tuple[str, ...]) -> tuple[str, ...]:
    """Whole paragraphs, as many as fit the store's column (a page can be megabytes of text)."""
    kept: list[str] = []
    size = 2  # the brackets of the JSON list
    for paragraph in body:
        cost = len(json.dumps(paragraph, ensure_ascii=False)) + 2
        if size + cost > ARTICLE_BODY_MAX:
            break
        kept.append(paragraph)
        size += cost
    if not kept and body:  # one giant paragraph: its start (any character escapes to 6 at most)
        kept.append(body[0][: (ARTICLE_BODY_MAX - 2) // 6])
    return tuple(kept)


def _short(text: str | None, limit: int) -> str | None:
    return text if text is None or len(text) <= limit else None


def _retry_delay(tries: int) -> timedelta:
    delay: timedelta = RETRY_FIRST * 4 ** max(tries - 1, 0)
    return min(delay, RETRY_MAX)


class FullText:
    """Replaces card snippets with article text for sources with ``full_text = true``. Thread-safe."""

    def __init__(
        self,
        fetcher: Fetcher,
        store: Store,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.store = store
        self.metrics = metrics
        self.clock = clock or (lambda: datetime.now(UTC).replace(microsecond=0))
        self._paused: dict[str, datetime] = {}  # host -> when its Retry-After ends
        self._paused_guard = threading.Lock()

    def enrich(self, source: Source, stories: Sequence[Story], page_url: str | None = None) -> list[Story]:
        """``stories`` with article bodies where there are usable ones; never raises for one article."""
        return self.run(source, stories, page_url)[0]

    def run(
        self, source: Source, stories: Sequence[Story], page_url: str | None = None
    ) -> tuple[list[Story], FullTextRun]:
        summary = FullTextRun()
        if not source.full_text:
            return list(stories), summary
        links = {
            i: link for i, s in enumerate(stories) if (link := self._link(s, page_url, source)) is not None
        }
        summary.candidates = len(links)
        if not links:
            return list(stories), summary
        now = self.clock()
        try:
            known = self.store.get_articles(sorted({article_key(link) for link in links.values()}))
        except StoreError as exc:  # no cache, no fetching: the snippets stay until the store is back
            log.error("event=fulltext_cache_unreadable source=%s error=%r", source.name, str(exc))
            return list(stories), summary
        fetched_now: set[str] = set()
        changed: dict[str, ArticleRecord] = {}
        host_failures: Counter[str] = Counter()
        out: list[Story] = []
        for i, story in enumerate(stories):
            link = links.get(i)
            if link is None:
                out.append(story)
                continue
            key = article_key(link)
            record = known.get(key)
            if key not in fetched_now and self._due(record, now):
                host = (urlsplit(link).hostname or "").lower()
                held = host_failures[host] >= HOST_FAILURES_PER_RUN or self._is_paused(host, now)
                if summary.fetched >= source.full_text_max or held:
                    summary.over_cap += 1
                else:
                    summary.fetched += 1
                    record = self._fetch(source, story, link, key, record, now, host)
                    fetched_now.add(key)
                    known[key] = changed[key] = record
                    if record.status == "failed":
                        host_failures[host] += 1
            if (
                record is not None
                and record.status == "full"
                and len("\n\n".join(record.body)) > len(story.body_text)
            ):
                story = replace(story, body=record.body)
                summary.full += 1
                summary.from_cache += key not in fetched_now
            out.append(story)
        try:
            self.store.save_articles(list(changed.values()))
        except StoreError as exc:  # the bodies are still used; the articles are asked for again next run
            log.error("event=fulltext_cache_unsaved source=%s error=%r", source.name, str(exc))
        log.info(
            "event=fulltext source=%s links=%d fetched=%d full=%d from_cache=%d deferred=%d",
            source.name,
            summary.candidates,
            summary.fetched,
            summary.full,
            summary.from_cache,
            summary.over_cap,
        )
        return out, summary

    # -- one article ------------------------------------------------------------------------------

    @staticmethod
    def _link(story: Story, page_url: str | None, source: Source) -> str | None:
        url = story.url
        if not url or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            return None
        if len(url) > ARTICLE_URL_MAX:
            return None
        # The listing's own main story links to the listing: its text is already all there is.
        if _same_url(url, page_url) or _same_url(url, source.url):
            return None
        return url

    @staticmethod
    def _due(record: ArticleRecord | None, now: datetime) -> bool:
        if record is None:
            return True
        if record.status == "full" or record.next_check is None:
            return False
        return record.next_check <= now

    def _is_paused(self, host: str, now: datetime) -> bool:
        with self._paused_guard:
            until = self._paused.get(host)
            if until is not None and until <= now:
                del self._paused[host]
                until = None
        return until is not None

    def _fetch(
        self,
        source: Source,
        story: Story,
        link: str,
        key: str,
        record: ArticleRecord | None,
        now: datetime,
        host: str,
    ) -> ArticleRecord:
        tries = (record.tries if record is not None else 0) + 1
        base = record or ArticleRecord(key=key, url=link, source=source.name, status="none", checked=now)
        base = replace(base, source=source.name, checked=now, tries=tries)
        # The site's own article page: the listing's profile selectors do not apply to it.
        article = Source(
            name=source.name,
            url=link,
            interval=source.interval,
            date_order=source.date_order,
            language=source.language,
        )
        validators = Validators(base.etag, base.last_modified)
        try:
            page = self.fetcher.fetch(article, validators)
        except FetchError as exc:
            retry = _retry_delay(tries)
            if exc.retry_after:
                with self._paused_guard:
                    self._paused[host] = now + timedelta(seconds=exc.retry_after)
                retry = max(retry, timedelta(seconds=exc.retry_after))
            return self._give_up(source, link, base, "failed", exc.reason, now, retry, "error")
        if page.not_modified:
            # Unchanged since the page that was unusable (or failed to extract) last time.
            self._count(source, "not_modified")
            return self._later(base, base.status, base.reason, now, _retry_delay(tries))
        base = replace(
            base, etag=_short(page.etag, 512), last_modified=_short(page.last_modified, 64), reason=None
        )
        body, reason = self._article_body(page, article, story, link)
        if reason is not None:
            return self._give_up(source, link, base, "none", reason, now, _retry_delay(tries), "unusable")
        self._count(source, "full")
        return replace(base, status="full", body=body, reason=None, next_check=None)

    def _article_body(
        self, page: Page, article: Source, story: Story, link: str
    ) -> tuple[tuple[str, ...], str | None]:
        """The article's paragraphs, or a reason to keep the snippet."""
        try:
            found = extract(page, article, self.fetcher.max_bytes)
        except ExtractError as exc:
            return (), exc.reason
        except Interrupted:  # a clean stop: the run ends without a record, this article's included
            raise
        except Exception as exc:  # a bug, but one article page must not cost the source its run
            log.exception("event=fulltext_bug source=%s url=%s", article.name, link)
            return (), f"extraction failed: {type(exc).__name__}: {exc}"
        main = found[0]
        if not (titles_resemble(story.title, main.title) or _same_url(main.url, link)):
            return (), f"the page's main story {main.title!r} is not the card's story"
        body = _bounded(main.body)
        if len("\n\n".join(body)) <= len(story.body_text):
            return (), f"the page's text ({len(main.body_text)} characters) is no longer than the snippet"
        return body, None

    def _give_up(
        self,
        source: Source,
        link: str,
        base: ArticleRecord,
        status: str,
        reason: str,
        now: datetime,
        retry: timedelta,
        result: str,
    ) -> ArticleRecord:
        log.warning("event=fulltext_failed source=%s url=%s reason=%r", source.name, link, reason)
        self._count(source, result)
        return self._later(base, status, reason, now, retry)

    @staticmethod
    def _later(
        base: ArticleRecord, status: str, reason: str | None, now: datetime, retry: timedelta
    ) -> ArticleRecord:
        next_check = now + retry if base.tries < MAX_TRIES else None
        return replace(base, status=status, reason=(reason or "")[:500] or None, next_check=next_check)

    def _count(self, source: Source, result: str) -> None:
        if self.metrics is not None:
            self.metrics.fulltext_fetches.labels(source.name, result).inc()
