"""A feed's HTTP answers, prepared once per published version: the gzip bytes, the validators and the
header lists of its 200 and 304 answers, so that serving a feed is a few dictionary look-ups.

What a request gets (:meth:`PreparedFeed.reply`): 304 when ``If-None-Match`` names the feed's ETag (or its
gzip ETag, or is ``*``), or, with no ``If-None-Match``, when ``If-Modified-Since`` is not older than
``Last-Modified``; else 200 with the bytes, gzipped when ``Accept-Encoding`` allows it (the gzip variant
has its own ETag, ``"<etag>-gzip"``). Every answer carries ``Cache-Control`` (``private`` for a private
feed), ``Vary: Accept-Encoding`` and the CORS headers browser-based readers need. HEAD gets a 200's headers,
with its ``Content-Length``, and no body.

The header lists are what Starlette's ``Response`` would send for the same answer, in the same order.

:class:`QuickReplies` answers a feed request from its ASGI scope alone when the answer needs nothing but
memory (feedsvc.web's fast path, and feedsvc.early's answers while the service is being built): whatever
else it would take (a 404, 401 or 503, the first gzip request) it declines, and the routes answer.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from feedsvc.access import presented_tokens, required_token, token_matches
from feedsvc.models import Feed, FeedSpec

# Browser-based readers (and pages that show a feed) fetch feeds from other origins. A private feed is
# read with ?token= there (a wildcard origin never carries the browser's stored credentials).
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag, Last-Modified"}
GZIP_LEVEL = 6
_MEMO_MAX = 256  # distinct Accept-Encoding / If-Modified-Since values remembered
_REPLIES_MAX = 256  # distinct feed paths, and requests per feed version, QuickReplies remembers
# What is longer than this (a path, a header value, a request's query and header values) is answered, not
# remembered: a client sending large distinct values would otherwise fill every memo with them.
_REMEMBERED_BYTES_MAX = 1024
FEED_EXTS = ("atom", "rss", "json")
_FEED_PATH = re.compile(r"/feeds/([^/]+)\.([^/]+)")  # the feed route's path, as Starlette matches it
_HEAD_FIELDS = frozenset((b"authorization", b"accept-encoding", b"if-none-match", b"if-modified-since"))

Headers = list[tuple[bytes, bytes]]


class Reply(NamedTuple):
    status: int
    headers: Headers
    body: bytes


def gzip_bytes(content: bytes) -> bytes:
    """``content`` gzipped, the same bytes every time (no timestamp in the gzip header)."""
    return gzip.compress(content, compresslevel=GZIP_LEVEL, mtime=0)


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (RFC 9110 12.5.3): named or covered by "*" with a
    non-zero quality; "gzip;q=0" refuses it."""
    qualities: dict[str, float] = {}
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding.strip():
            qualities[coding.strip()] = quality
    if "gzip" in qualities or "x-gzip" in qualities:
        return max(qualities.get("gzip", 0.0), qualities.get("x-gzip", 0.0)) > 0
    return qualities.get("*", 0.0) > 0


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` or its gzip variant (weak comparison), or is "*"."""
    if header.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    base = etag.strip('"')
    return etag in wanted or f'"{base}-gzip"' in wanted


def not_modified_since(header: str, last_modified: datetime) -> bool:
    """Whether an If-Modified-Since date is not older than ``last_modified`` (an unreadable date: False)."""
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


_gzip_memo: dict[str, bool] = {}


def _accepts_gzip_memo(header: str) -> bool:
    """:func:`accepts_gzip`, remembered: a server sees a handful of distinct Accept-Encoding values."""
    return _memo_of(_gzip_memo, header, accepts_gzip)


def _content_type(media_type: str) -> str:
    """The Content-Type Starlette sends for ``media_type``: text types get a charset when they name none."""
    if media_type.startswith("text/") and "charset=" not in media_type.lower():
        return f"{media_type}; charset=utf-8"
    return media_type


class PreparedFeed:
    """One published version of a feed with its answers prepared (the gzip bytes on first need: see
    :meth:`needs_gzip`). Immutable but for those caches; shared by every request for the version."""

    def __init__(self, feed: Feed, max_age: int) -> None:
        self.feed = feed
        self.max_age = max_age
        self.etag = feed.etag
        self.gzip_etag = f'"{feed.etag.strip(chr(34))}-gzip"'
        self.last_modified = http_date(feed.last_modified)
        # A feed changed twice in a second is stamped a second on (Last-Modified strictly increases): until
        # that second comes, its answers say the Date's second instead (RFC 9110 8.8.2.1: never later).
        self._stamped_second = feed.last_modified.timestamp()
        self._gzip: bytes | None = None
        self._headers: dict[tuple[int, bool, bool, bool], Headers] = {}
        self._fresh_since: dict[str, bool] = {}
        self.replies: dict[tuple[Any, ...], Reply] = {}  # what QuickReplies answered, by request

    def needs_gzip(self, accept_encoding: str) -> bool:
        """Whether answering this Accept-Encoding needs the gzip bytes that are not made yet (the caller
        makes them off the event loop with :meth:`make_gzip`)."""
        return self._gzip is None and _accepts_gzip_memo(accept_encoding)

    def make_gzip(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip_bytes(self.feed.content)
        return self._gzip

    def not_modified(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        """RFC 9110 13.2.2: If-None-Match decides when present; else If-Modified-Since."""
        if if_none_match is not None:
            return etag_matches(if_none_match, self.etag)
        if if_modified_since is None:
            return False
        if if_modified_since == self.last_modified:  # what readers send back: our own Last-Modified
            return True
        modified = self.feed.last_modified
        return _memo_of(self._fresh_since, if_modified_since, lambda at: not_modified_since(at, modified))

    def reply(
        self,
        method: str,
        accept_encoding: str,
        if_none_match: str | None,
        if_modified_since: str | None,
        private: bool = False,
    ) -> Reply:
        """The answer to a GET or HEAD of this feed (see the module's docstring)."""
        use_gzip = _accepts_gzip_memo(accept_encoding)
        if self.not_modified(if_none_match, if_modified_since):
            return Reply(304, self._header_list(304, use_gzip, private, False), b"")
        body = self.make_gzip() if use_gzip else self.feed.content
        head = method == "HEAD"
        return Reply(200, self._header_list(200, use_gzip, private, head), b"" if head else body)

    def ahead(self) -> bool:
        """Whether this version's Last-Modified is a second still to come (see ``_stamped_second``): its
        answers are then made for the moment and not remembered."""
        return time.time() < self._stamped_second

    def _header_list(self, status: int, use_gzip: bool, private: bool, head: bool) -> Headers:
        if self.ahead():
            now = http_date(datetime.fromtimestamp(int(time.time()), UTC))
            return self._build_headers(status, use_gzip, private, head, now)
        key = (status, use_gzip, private, head)
        found = self._headers.get(key)
        if found is None:
            found = self._headers[key] = self._build_headers(status, use_gzip, private, head)
        return found

    def _build_headers(
        self, status: int, use_gzip: bool, private: bool, head: bool, last_modified: str | None = None
    ) -> Headers:
        headers = {
            "etag": self.gzip_etag if use_gzip else self.etag,
            "last-modified": last_modified or self.last_modified,
            "cache-control": f"{'private' if private else 'public'}, max-age={self.max_age}",
            "vary": "Accept-Encoding",
            **{name.lower(): value for name, value in CORS.items()},
        }
        if status == 200:
            body = self.make_gzip() if use_gzip else self.feed.content
            if use_gzip:
                headers["content-encoding"] = "gzip"
            headers["content-length"] = str(len(body))
            headers["content-type"] = _content_type(self.feed.media_type)
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def max_age(intervals: Iterable[float]) -> int:
    """Cache-Control max-age of the feeds: the shortest source interval, within 1 minute and 1 hour."""
    return int(max(60, min(min(intervals, default=900.0), 3600)))


def sources_to_prove(spec: FeedSpec, configured: Collection[str], succeeded: Collection[str]) -> list[str]:
    """The feed's configured sources when none of them is known (``succeeded``) to have succeeded: the
    store must say whether the feed waits (see feedsvc.access.unavailable); [] when it can be served."""
    for name in spec.sources:  # a served feed (its first source mostly) is answered after one look
        if name in succeeded and name in configured:
            return []
    return [name for name in spec.sources if name in configured]


_HeadFields = tuple[str | None, str | None, str | None, str | None]


def _head_fields(raw: list[tuple[bytes, bytes]]) -> _HeadFields:
    """Authorization, Accept-Encoding, If-None-Match and If-Modified-Since of a request (None: absent),
    each its first occurrence (as Starlette reads them); ASGI servers give header names in lower case."""
    found: dict[bytes, str] = {}
    for name, value in raw:
        if name in _HEAD_FIELDS and name not in found:
            found[name] = value.decode("latin-1")
    get = found.get
    return get(b"authorization"), get(b"accept-encoding"), get(b"if-none-match"), get(b"if-modified-since")


def _key_bytes(query_string: bytes, fields: _HeadFields) -> int:
    return len(query_string) + sum(len(value) for value in fields if value is not None)


def _memo_of(memo: dict[str, bool], value: str, answer: Callable[[str], bool]) -> bool:
    """``answer(value)``, remembered in ``memo`` (up to _MEMO_MAX values)."""
    found = memo.get(value)
    if found is None:
        found = answer(value)
        _remember(memo, value, found, _MEMO_MAX, len(value))
    return found


def _remember(memo: dict[Any, Any], key: Any, value: Any, most: int, size: int) -> None:
    """``memo[key] = value`` (``memo`` emptied first when it holds ``most``), unless ``key`` is over
    _REMEMBERED_BYTES_MAX long (``size``)."""
    if size > _REMEMBERED_BYTES_MAX:
        return
    if len(memo) >= most:
        memo.clear()
    memo[key] = value


class QuickReplies:
    """The answer to a feed request when it takes nothing but memory (call it with the request's ASGI
    scope): the feed ``spec_of(name, ext)`` (None: no such feed), readable with the tokens given
    (``service_token()``: the service-wide one), not made to wait (``waits``), published
    (``prepared(filename)``) with its gzip bytes made if asked for. None for every other request.

    What may change between requests (the feed's spec, whether it waits, its published version) is asked
    every time; what follows from the request alone is remembered: the feed a path names, and, with each
    prepared version (:attr:`PreparedFeed.replies`, gone with it), whether a request's tokens open it
    and the reply its headers get."""

    def __init__(
        self,
        spec_of: Callable[[str, str], FeedSpec | None],
        service_token: Callable[[], str],
        waits: Callable[[FeedSpec], bool],
        prepared: Callable[[str], PreparedFeed | None],
    ) -> None:
        self._spec_of = spec_of
        self._service_token = service_token
        self._waits = waits
        self._prepared = prepared
        self._paths: dict[str, tuple[str, str, str]] = {}  # path: the feed's name, extension, file name

    def __call__(self, scope: Any) -> Reply | None:
        method = scope["method"]
        if (method != "GET" and method != "HEAD") or scope.get("root_path"):
            return None
        path = scope["path"]
        found = self._paths.get(path)
        if found is None:
            match = _FEED_PATH.fullmatch(path)
            if match is None:
                return None
            found = (match[1], match[2], f"{match[1]}.{match[2]}")
            _remember(self._paths, path, found, _REPLIES_MAX, len(path))
        name, ext, filename = found
        spec = self._spec_of(name, ext)
        if spec is None:
            return None
        ready = self._prepared(filename)
        if ready is None or self._waits(spec):
            return None
        required = required_token(spec, self._service_token())
        fields = _head_fields(scope["headers"])
        key = (method, scope["query_string"], required, *fields)
        reply = ready.replies.get(key)
        if reply is None:
            reply = self._reply(method, scope["query_string"], required, fields, ready)
            if reply is not None and not ready.ahead():
                _remember(ready.replies, key, reply, _REPLIES_MAX, _key_bytes(scope["query_string"], fields))
        return reply

    @staticmethod
    def _reply(
        method: str, query_string: bytes, required: str | None, fields: _HeadFields, ready: PreparedFeed
    ) -> Reply | None:
        authorization, accept_encoding, if_none_match, if_modified_since = fields
        if required is not None:
            query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
            offered = presented_tokens(authorization, [v for k, v in query if k == "token"])
            if not token_matches(required, offered):
                return None
        accept_encoding = accept_encoding or ""
        if ready.needs_gzip(accept_encoding):
            return None
        return ready.reply(
            method, accept_encoding, if_none_match, if_modified_since, private=required is not None
        )
