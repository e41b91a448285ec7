"""Source -> Page: the only module that talks to the network (httpx) or reads source files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from feedsvc import __version__
from feedsvc.errors import FetchError
from feedsvc.models import Page, Source


@dataclass(frozen=True)
class Validators:
    """What the last successful fetch of a source returned, for a conditional request."""

    etag: str | None = None
    last_modified: str | None = None


def user_agent(contact_url: str = "") -> str:
    contact = f"; +{contact_url}" if contact_url else ""
    return f"feedsvc/{__version__} (self-hosted feed generator{contact})"


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Fetcher:
    """Fetches pages with one shared HTTP client (connection reuse, one User-Agent, one set of limits)."""

    def __init__(
        self,
        *,
        max_bytes: int = 5_000_000,
        timeout: float = 30.0,
        contact_url: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            follow_redirects=True,
            max_redirects=5,
            headers={
                "User-Agent": user_agent(contact_url),
                "Accept": "text/html, text/plain;q=0.9, */*;q=0.5",
            },
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, source: Source, validators: Validators | None = None) -> Page:
        if source.is_http:
            return self._fetch_http(source, validators or Validators())
        return self._read_file(source)

    def _read_file(self, source: Source) -> Page:
        path = Path(source.url)
        try:
            stat = path.stat()
            if stat.st_size > self.max_bytes:
                raise FetchError(
                    source.name,
                    f"file {path} is {stat.st_size:,} bytes, over the {self.max_bytes:,}-byte cap",
                )
            data = path.read_bytes()
        except OSError as exc:
            raise FetchError(source.name, f"cannot read {path}: {exc.strerror or exc}") from exc
        fetched_at = datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0)
        return Page(source=source.name, url=str(path), content=data, fetched_at=fetched_at)

    def _fetch_http(self, source: Source, validators: Validators) -> Page:
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        try:
            with self._client.stream("GET", source.url, headers=headers) as response:
                fetched_at = _http_date(response.headers.get("Date")) or datetime.now(UTC).replace(
                    microsecond=0
                )
                if response.status_code == 304:
                    return Page(
                        source=source.name,
                        url=str(response.url),
                        content=b"",
                        fetched_at=fetched_at,
                        etag=validators.etag,
                        last_modified=validators.last_modified,
                        not_modified=True,
                    )
                if response.status_code >= 400:
                    raise FetchError(source.name, f"GET {source.url} answered HTTP {response.status_code}")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(
                        source.name,
                        f"GET {source.url}: {int(declared):,} bytes, over the {self.max_bytes:,}-byte cap",
                    )
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(
                            source.name, f"GET {source.url}: over the {self.max_bytes:,}-byte cap"
                        )
                    chunks.append(chunk)
                return Page(
                    source=source.name,
                    url=str(response.url),
                    content=b"".join(chunks),
                    fetched_at=fetched_at,
                    content_type=response.headers.get("Content-Type"),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
        except httpx.TooManyRedirects as exc:
            raise FetchError(source.name, f"GET {source.url}: too many redirects") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(source.name, f"GET {source.url}: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise FetchError(source.name, f"GET {source.url}: {type(exc).__name__}: {exc}") from exc
