"""Bounds on what a page may make the HTML parser and extractor do: nesting depth, element count and time.

Extraction walks ancestors, so its cost grows with depth; a hostile page of 50,000 nested <div>s would take
hours. Real pages nest a few dozen elements deep (browsers stop nesting at 512), so a page deeper than
``MAX_DEPTH`` or with more than ``MAX_ELEMENTS`` elements is refused, with an error that says which bound it
broke. Where the parser bounds nesting itself (libxml2 2.14 stops at 256 levels and drops what lies deeper,
so a deep page parses as fast as a flat one), the bounds are checked on the parsed tree, in the walk the
extractor makes anyway (:func:`tree_problem`): a tree that reaches ``MAX_DEPTH`` levels came from a page
that nests at least that deep. A page is scanned before it is parsed (:func:`structure_problem`) only when
the parser does not bound nesting, or when it holds more ``<`` than ``MAX_ELEMENTS`` (:func:`needs_scan`):
every element but the few the parser implies opens with one, so no other page can flood the tree. The
scan is one linear pass over the tags, not a parse: every search in it stops at the next ``<`` or at a
literal end marker, so no page can make it backtrack over the rest of the text.

A page inside those bounds can still be slow to extract (a few megabytes of 250-deep wrappers takes tens of
seconds), so extraction also runs under a deadline, :func:`call_within`: past ``MAX_EXTRACT_SECONDS`` it is
abandoned with :class:`TimeLimit`, and a clean stop (:meth:`StopSignal.set`) abandons it at once with
:class:`~feedsvc.errors.Interrupted`. Both are delivered into the extracting thread as an asynchronous
exception (``PyThreadState_SetAsyncExc``), the one way to stop pure-Python work (the extractor's tree
building, our walks) from outside without a check in every loop; it lands at the next bytecode boundary, and
lxml passes an exception raised in one of its parser callbacks out of the parse.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from feedsvc.errors import Interrupted

MAX_DEPTH = 256
MAX_ELEMENTS = 500_000
MAX_EXTRACT_SECONDS = 30.0  # wall-clock time to turn one page into stories
_REFIRE = 0.25  # seconds between sending an abandoned extraction its exception again
_PRUNE_AT = 256  # finished extractions left in the deadline heap before the deadline thread clears them

# Tags that nest until closed. Elements the HTML parser closes implicitly (p, li, td, tr, option, ...) and
# void elements (br, img, meta, ...) are left out, so a page of unclosed <p>s does not look deep.
_NESTING = frozenset({
    "a", "abbr", "article", "aside", "b", "blockquote", "center", "cite", "code", "del", "details", "div",
    "em", "fieldset", "figure", "font", "footer", "form", "header", "i", "ins", "label", "main", "mark",
    "nav", "object", "ol", "q", "s", "section", "small", "span", "strike", "strong", "sub", "summary", "sup",
    "table", "u", "ul",
})  # fmt: skip
# A comment opening, or a tag. A tag's attributes stop at the next "<" (a quoted "<" inside an attribute
# makes that one tag uncounted, which a bound can afford): "<a <a <a ..." without a ">" used to make the
# lazy [^>]*? run to the end of the page from every "<", a 60 KB page taking 28 s.
_TOKEN_RE = re.compile(r"<!--|<(/?)([a-zA-Z][a-zA-Z0-9-]{0,30})\b[^<>]*?(/?)>")
# Raw-text elements: the parser reads to their end tag, so tags inside them are not elements of the page.
_RAW_END = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style", "template", "textarea")
}


def needs_scan(html: str, parser_caps_depth: bool) -> bool:
    """Whether ``html`` must pass :func:`structure_problem` before it is parsed (see the module's text)."""
    return not parser_caps_depth or html.count("<") > MAX_ELEMENTS


def tree_problem(elements: int, depth: int) -> str | None:
    """Why a parsed tree of ``elements`` elements nesting ``depth`` levels deep (the root element is level
    1) is beyond the bounds, or None. A parser that bounds nesting stops at ``MAX_DEPTH`` levels, so a tree
    that reaches them is taken for a deeper page (what lay deeper was dropped)."""
    if elements > MAX_ELEMENTS:
        return f"page has more than {MAX_ELEMENTS:,} elements"
    if depth >= MAX_DEPTH:
        return f"page nests elements more than {MAX_DEPTH} deep"
    return None


def structure_problem(html: str) -> str | None:
    """Why ``html`` is beyond the bounds (too deep, too many elements), or None when it is within them."""
    depth = deepest = elements = 0
    pos = 0
    search = _TOKEN_RE.search
    while (match := search(html, pos)) is not None:
        pos = match.end()
        name = match.group(2)
        if name is None:  # "<!--": to the end of the comment (an unclosed one hides the rest of the page)
            end = html.find("-->", pos)
            if end < 0:
                break
            pos = end + 3
            continue
        closing, self_closing = match.group(1), match.group(3)
        name = name.lower()
        if not closing:
            elements += 1
            if elements > MAX_ELEMENTS:
                return f"page has more than {MAX_ELEMENTS:,} elements"
            raw_end = _RAW_END.get(name)
            if raw_end is not None and not self_closing:
                found = raw_end.search(html, pos)
                if found is None:
                    break
                pos = found.end()
                continue
        if name not in _NESTING or self_closing:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return f"page nests elements more than {MAX_DEPTH} deep"
    return None


# -- the time bound ------------------------------------------------------------------------------------


class TimeLimit(Exception):
    """An extraction ran past its deadline and was abandoned."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"extraction took longer than {seconds:g} s and was abandoned")


class _Abandon(BaseException):
    """Raised into an extracting thread from outside. A BaseException, so that no ``except Exception`` on
    the way out can swallow it; :func:`call_within` turns it into TimeLimit or Interrupted."""


_PyFunc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)
_raise_in = _PyFunc(("PyThreadState_SetAsyncExc", ctypes.pythonapi))
_clear_in = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)
_lock = threading.Condition()  # guards every _Guard, StopSignal and the deadline heap
_deadlines: list[tuple[float, int, _Guard]] = []
_order = itertools.count()
_reaper: threading.Thread | None = None
_local = threading.local()
T = TypeVar("T")


class _Guard:
    """One running extraction: its thread, its deadline, and why it was abandoned (once, if ever)."""

    def __init__(self, thread: int, seconds: float, stop: StopSignal | None) -> None:
        self.thread = thread
        self.seconds = seconds
        self.stop = stop
        self.deadline = time.monotonic() + seconds
        self.active = True
        self.fired: str | None = None  # "deadline" or "stop"

    def fire(self, why: str) -> None:
        """Abandon the extraction (the caller holds ``_lock``), only while it runs; the first reason counts.
        Sent again every ``_REFIRE`` seconds until the extraction has left: an exception that lands inside a
        finalizer (``__del__``, a weakref callback) is swallowed there, not raised in the extraction."""
        if not self.active:
            return
        if self.fired is None:
            self.fired = why
        _raise_in(self.thread, _Abandon)
        heapq.heappush(_deadlines, (time.monotonic() + _REFIRE, next(_order), self))
        _lock.notify()


class StopSignal:
    """A clean stop for the extractions of one service: :meth:`set` abandons those running in threads that
    entered :func:`stop_scope` with it, and refuses those that start afterwards."""

    def __init__(self) -> None:
        self._set = False
        self._guards: set[_Guard] = set()

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        with _lock:
            self._set = True
            for guard in list(self._guards):
                guard.fire("stop")


@contextmanager
def stop_scope(signal: StopSignal) -> Iterator[None]:
    """Within ``with stop_scope(signal):``, extractions in this thread are stopped by ``signal``."""
    outer = getattr(_local, "stop", None)
    _local.stop = signal
    try:
        yield
    finally:
        _local.stop = outer


def call_within(seconds: float, fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)``, abandoned with TimeLimit after ``seconds``, or with Interrupted when this thread's
    stop signal (:func:`stop_scope`) is set before or while it runs."""
    stop: StopSignal | None = getattr(_local, "stop", None)
    guard = _Guard(threading.get_ident(), seconds, stop)
    _enter(guard)
    try:
        try:
            result = fn(*args)
        finally:
            _leave(guard)
    except BaseException:  # _Abandon, or whatever code on the way out turned it into
        _leave(guard)  # idempotent: in case _Abandon landed inside the first call
        if guard.fired is None:
            raise
    if guard.fired == "stop":
        raise Interrupted("extraction cut short by a stop")
    if guard.fired == "deadline":
        raise TimeLimit(seconds)
    return result


def _enter(guard: _Guard) -> None:
    global _reaper
    with _lock:
        if guard.stop is not None:
            if guard.stop.is_set():
                raise Interrupted("extraction not started: stopping")
            guard.stop._guards.add(guard)
        heapq.heappush(_deadlines, (guard.deadline, next(_order), guard))
        if _reaper is None:
            _reaper = threading.Thread(target=_reap, name="extract-deadlines", daemon=True)
            _reaper.start()
        elif _deadlines[0][2] is guard or len(_deadlines) > _PRUNE_AT:
            # Wake the deadline thread only when it must look sooner than it planned to (it sleeps until the
            # earliest deadline), or to drop the finished extractions piling up in the heap: waking it on
            # every call made each extraction wait for a thread switch (on a loaded core, milliseconds).
            _lock.notify()


def _leave(guard: _Guard) -> None:
    with _lock:
        if guard.active:
            guard.active = False
            if guard.stop is not None:
                guard.stop._guards.discard(guard)
            if guard.fired is not None:  # sent but perhaps not yet delivered: never let it land later
                _clear_in(guard.thread, None)


_previous_unraisable_hook = sys.unraisablehook


def _quiet_abandon(info: Any) -> None:
    """An abandon that landed inside a finalizer is swallowed there and sent again (:meth:`_Guard.fire`):
    expected, so no "Exception ignored" traceback; every other unraisable goes to the previous hook."""
    if info.exc_type is _Abandon:
        return
    _previous_unraisable_hook(info)


sys.unraisablehook = _quiet_abandon


def _forget_threads() -> None:
    """In a forked child: the deadline thread is not there, and the lock may have been held by it."""
    global _lock, _reaper
    _lock = threading.Condition()
    _reaper = None
    _deadlines.clear()


os.register_at_fork(after_in_child=_forget_threads)


def _reap() -> None:
    """The one deadline thread: fires each guard whose deadline passed while it still runs."""
    with _lock:
        while True:
            now = time.monotonic()
            while _deadlines and (_deadlines[0][0] <= now or not _deadlines[0][2].active):
                _, _, guard = heapq.heappop(_deadlines)
                guard.fire("deadline")
            _lock.wait(timeout=_deadlines[0][0] - now if _deadlines else None)
