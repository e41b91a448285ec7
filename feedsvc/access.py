"""Who may read a feed, and whether a feed can be served yet: pure decisions for the web routes.

Tokens: the service-wide ``token`` guards every feed and page but /healthz and /readyz; a feed's own
``token`` guards that feed (and only its own token opens it, so a widely shared service token never opens
a feed given to one person). A reader presents a token as the HTTP Basic password (any user name) or as
``?token=``. Comparisons take the same time whatever the tokens share.

Availability: a feed that draws only from sources that have never succeeded would be an empty 200, which a
reader takes for "no news"; it answers 503 with Retry-After instead, until one of them succeeds.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from feedsvc.models import FeedSpec, Source
from feedsvc.redact import mask_url

if TYPE_CHECKING:  # the early server decides who may read a feed without importing the store
    from feedsvc.store import SourceState

REALM = "feedsvc"
CHALLENGE = f'Basic realm="{REALM}"'
_REASON_ERROR_MAX = 200  # characters of a source's last error quoted in a 503


def basic_password(authorization: str | None) -> str | None:
    """The password of an HTTP Basic ``Authorization`` header (RFC 7617), or None when there is none."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not credentials.strip():
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    _user, colon, password = decoded.partition(":")
    return password if colon else None


def presented_tokens(authorization: str | None, query_tokens: Iterable[str] = ()) -> tuple[str, ...]:
    """Every token a request offers: the Basic password, then each ``token`` query parameter."""
    password = basic_password(authorization)
    offered = ([password] if password else []) + [t for t in query_tokens if t]
    return tuple(offered)


def required_token(spec: FeedSpec, service_token: str) -> str | None:
    """The token a reader of ``spec`` must present: the feed's own, else the service-wide one, else None."""
    return spec.token or service_token or None


def token_matches(required: str | None, presented: Iterable[str]) -> bool:
    """Whether ``presented`` holds ``required`` (None: nothing is required). Every candidate is compared
    in constant time, and all of them are, so the time taken says nothing about which one came close."""
    if required is None:
        return True
    wanted = required.encode("utf-8")
    found = False
    for token in presented:
        found |= hmac.compare_digest(wanted, token.encode("utf-8"))
    return found


def matching_token(spec: FeedSpec, service_token: str, presented: Iterable[str]) -> str | None:
    """The token that opened a private feed (to carry in links to it), None for a public feed."""
    required = required_token(spec, service_token)
    return required if required is not None and token_matches(required, presented) else None


def may_read(spec: FeedSpec, service_token: str, presented: Iterable[str]) -> bool:
    return token_matches(required_token(spec, service_token), presented)


@dataclass(frozen=True)
class Unavailable:
    """Why a feed answers 503 now, and in how many seconds to ask again."""

    retry_after: int
    reason: str


def retry_after(interval: float, state: SourceState | None, now: datetime) -> int:
    """Seconds until a source's next scheduled run (at least 1), or its interval when none is scheduled."""
    if state is None or state.next_run is None:
        return max(1, math.ceil(interval))
    return max(1, math.ceil((state.next_run - now).total_seconds()))


def _source_reason(name: str, state: SourceState | None) -> str:
    if state is not None and state.last_error:
        error = " ".join(mask_url(state.last_error).split())
        if len(error) > _REASON_ERROR_MAX:
            error = error[: _REASON_ERROR_MAX - 1] + "…"
        return f"source {name!r} has not been fetched successfully yet (last attempt: {error})"
    return f"source {name!r} has not been fetched yet"


def unavailable(
    spec: FeedSpec, sources: Mapping[str, Source], states: Mapping[str, SourceState], now: datetime
) -> Unavailable | None:
    """A 503 for a feed whose every source (configured ones; a feed of no particular source never waits)
    has never succeeded; None when it can be served. Retry-After is the soonest of their next runs."""
    names = [name for name in spec.sources if name in sources]
    if not names or any((st := states.get(name)) is not None and st.last_success for name in names):
        return None
    wait = min(retry_after(sources[name].interval, states.get(name), now) for name in names)
    if len(names) == 1:
        reason = _source_reason(names[0], states.get(names[0]))
    else:
        reason = f"none of this feed's sources ({', '.join(names)}) has been fetched successfully yet"
    return Unavailable(wait, f"feed {spec.name!r} is not available yet: {reason}; try again in {wait} s")
