"""WebSub publisher (https://www.w3.org/TR/websub/): tell the hub which feed URLs changed.

The publisher calls :meth:`HubPinger.ping` with the URLs whose bytes changed; the pings go out from one
background thread (``hub.mode=publish&hub.url=URL``, form-encoded, one request per URL), so publishing
never waits for the hub. A URL already waiting is not queued twice (the hub fetches the latest bytes
anyway). A failed ping (network error, 5xx, 429) is retried a bounded number of times with growing
delays; a refusal (another 4xx) is not; every failure is logged with the hub and the status, and none
is ever raised. Private feeds are never pinged: the caller passes public feed URLs only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import httpx

from feedsvc import __version__
from feedsvc.redact import mask_url

log = logging.getLogger("feedsvc.websub")

ATTEMPTS = 4  # per URL, the first included
RETRY_DELAY = 2.0  # seconds before the first retry; doubled for each further one
TIMEOUT = 10.0  # seconds per request
MAX_PENDING = 10_000  # URLs waiting; past this, new ones are dropped (and logged)


def should_retry(status: int | None, attempt: int, attempts: int = ATTEMPTS) -> bool:
    """Whether a failed ping is worth another try: a network error (``status`` None), a server error or
    429 Too Many Requests, while attempts remain. Another 4xx is the hub refusing this URL: final."""
    if attempt >= attempts:
        return False
    return status is None or status >= 500 or status == 429


def retry_delay(attempt: int, base: float = RETRY_DELAY) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): base, 2 base, 4 base, ..."""
    return float(base * 2 ** (attempt - 1))


def publish_form(feed_url: str) -> dict[str, str]:
    """The body of a publish ping for one feed URL (WebSub section 7's publisher notification, as
    hubs such as Google's and Superfeedr accept it)."""
    return {"hub.mode": "publish", "hub.url": feed_url}


class HubPinger:
    """Pings ``hub`` in a background thread; see the module's description."""

    def __init__(
        self,
        hub: str,
        *,
        attempts: int = ATTEMPTS,
        delay: float = RETRY_DELAY,
        timeout: float = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.hub = hub
        self.attempts = max(1, attempts)
        self.delay = delay
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": f"feedsvc/{__version__} (WebSub publisher)"},
            follow_redirects=False,
        )
        self._pending: dict[str, None] = {}  # an ordered set of URLs waiting
        self._busy = False
        self._stopping = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.sent = 0  # pings the hub accepted
        self.failed = 0  # URLs given up on

    def ping(self, urls: Iterable[str]) -> None:
        """Queue a publish ping for each URL; returns at once."""
        with self._cond:
            if self._stopping:
                return
            dropped = 0
            for url in urls:
                if len(self._pending) >= MAX_PENDING and url not in self._pending:
                    dropped += 1
                    continue
                self._pending[url] = None
            if dropped:
                log.warning("event=websub_dropped hub=%s urls=%d", mask_url(self.hub), dropped)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="websub", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued ping is sent or given up (True), or ``timeout`` seconds pass."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop: pings not yet sent are dropped (the next change pings again). Waits up to ``timeout``
        seconds for a ping in flight; returns whether the thread has ended (calling again waits again)."""
        with self._cond:
            self._stopping = True
            left = len(self._pending)
            self._pending.clear()
            self._cond.notify_all()
            thread = self._thread
        if left:
            log.warning("event=websub_unsent hub=%s urls=%d", mask_url(self.hub), left)
        if thread is None:
            self._client.close()
            return True
        thread.join(timeout)  # the thread closes the client as it ends
        return not thread.is_alive()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait_for(lambda: self._pending or self._stopping)
                    if self._stopping:
                        return
                    url = next(iter(self._pending))
                    del self._pending[url]
                    self._busy = True
                try:
                    self._deliver(url)
                except Exception:  # a bug here must never stop later pings
                    log.exception("event=websub_crashed hub=%s url=%s", mask_url(self.hub), url)
        finally:
            self._client.close()

    def _deliver(self, url: str) -> None:
        for attempt in range(1, self.attempts + 1):
            status, error = self._post(url)
            if status is not None and 200 <= status < 300:
                self.sent += 1
                log.debug("event=websub_ping hub=%s url=%s status=%d", mask_url(self.hub), url, status)
                return
            retry = should_retry(status, attempt, self.attempts)
            log.warning(
                "event=websub_failed hub=%s url=%s status=%s attempt=%d/%d error=%r next=%s",
                mask_url(self.hub),
                url,
                status if status is not None else "none",
                attempt,
                self.attempts,
                error,
                f"retry in {retry_delay(attempt, self.delay):g}s" if retry else "give up",
            )
            if not retry:
                break
            with self._cond:  # a stop-aware wait: close() ends it at once
                if self._cond.wait_for(lambda: self._stopping, retry_delay(attempt, self.delay)):
                    return
        self.failed += 1

    def _post(self, url: str) -> tuple[int | None, str]:
        try:
            response = self._client.post(self.hub, data=publish_form(url))
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]
        return response.status_code, response.text[:200] if response.status_code >= 300 else ""
