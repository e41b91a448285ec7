"""Log set-up: key=value lines by default, JSON objects by setting; every line bounded and secret-free.

feedsvc logs events as ``event=fetch source=ap status=ok stories=4 error='...'``. In JSON mode each
key=value pair becomes a field of its own (numbers as numbers, quoted values unquoted), beside ``time``,
``level``, ``logger`` and the whole ``msg``, so a log pipeline can filter on ``source`` without parsing.
A line longer than ``MAX_LINE`` characters (a page's text in an error, a hostile URL) is cut with a note;
passwords in URLs are masked in every line.
"""

from __future__ import annotations

import ast
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from feedsvc.redact import mask_url

MAX_LINE = 4000
_PAIR_RE = re.compile(r"""(?:^|\s)([a-z_][a-z0-9_]*)=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)""")
_RESERVED = {"time", "level", "logger", "msg", "exc"}


def _bounded(text: str) -> str:
    text = mask_url(text)
    if len(text) <= MAX_LINE:
        return text
    return f"{text[:MAX_LINE]}... [{len(text) - MAX_LINE:,} more characters cut]"


def _value(raw: str) -> Any:
    if raw[:1] in "'\"":
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw


def fields(message: str) -> dict[str, Any]:
    """The key=value pairs of an event message (``event=fetch source=ap stories=4`` -> a dict)."""
    if not message.startswith("event="):
        return {}
    return {key: _value(raw) for key, raw in _PAIR_RE.findall(message) if key not in _RESERVED}


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = _bounded(record.getMessage())
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            **fields(message),
            "msg": message,
        }
        if record.exc_info:
            entry["exc"] = _bounded(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class _KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _bounded(super().format(record))


def setup_logging(fmt: str = "kv", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            _KeyValueFormatter("time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
