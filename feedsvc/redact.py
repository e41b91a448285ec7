"""Secrets never printed: passwords in URLs (database URLs, source URLs) masked for every output."""

from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host; the password may hold anything but "@" and "/".
_USERINFO_RE = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@/\s]+)(?=@)")
_QUERY_SECRET_RE = re.compile(
    r"(?P<head>[?&](?:password|passwd|pwd|token|access_token|api_key|key)=)[^&#\s]+", re.I
)
MASK = "***"


def mask_url(text: str) -> str:
    """``text`` with the password of every URL in it, and secret query parameters, replaced by ***."""
    text = _USERINFO_RE.sub(lambda m: m.group("head") + MASK, text)
    return _QUERY_SECRET_RE.sub(lambda m: m.group("head") + MASK, text)
