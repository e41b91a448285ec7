"""The exception tree of feedsvc; every error we raise on purpose is one of these.

    FeedsvcError                  base: catch this to catch anything feedsvc raises on purpose
    ├── ConfigError               the configuration file or FEEDSVC_* environment is invalid
    ├── SourceError               one source could not be turned into stories (recorded, run goes on)
    │   ├── FetchError            the page could not be fetched (network, HTTP status, size cap)
    │   └── ExtractError          the page was fetched but holds no usable stories
    ├── StoreError                the database could not be read or written
    ├── PublishError              a feed could not be built or written (the last good one stays)
    └── Interrupted               work cut short by a clean stop (never recorded as a failure)

Third-party exceptions are wrapped (``raise ... from exc``) in the one module that imports that library.
Messages say what failed, where (source, file, setting) and, when it helps, what to do.
"""

from __future__ import annotations


class FeedsvcError(Exception):
    """Base class of every error feedsvc raises on purpose."""


class ConfigError(FeedsvcError):
    """Invalid configuration; ``problems`` lists every problem found, one message each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class SourceError(FeedsvcError):
    """A source failed in an expected way; the failure is recorded against the source."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"source {source!r}: {reason}")


class FetchError(SourceError):
    """The page could not be fetched; ``retry_after`` is the wait (seconds) the server asked for, if any."""

    def __init__(self, source: str, reason: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(source, reason)


class ExtractError(SourceError):
    """The page could not be split into stories."""


class StoreError(FeedsvcError):
    """The store could not be read or written."""


class PublishError(FeedsvcError):
    """A feed could not be built or written."""


class Interrupted(FeedsvcError):
    """Work cut short by a clean stop (SIGTERM, Ctrl-C): not a failure of the source, and not recorded."""
