"""`python -m bench [NAME ...] [--options]`: run every benchmark in bench/ in turn, or only the named ones.

A benchmark is a module of this package with a ``main`` function; its name is the module's ``BENCH``
(if set) or the module name, so ``python -m bench dedup`` runs ``bench.dedup_eval``. Options
(arguments starting with ``-``, e.g. ``python -m bench dedup --quick``) go to the named benchmarks;
``python -m bench`` alone runs every benchmark with its defaults.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
from pathlib import Path
from types import ModuleType


def benchmarks() -> dict[str, ModuleType]:
    found = {}
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "main", None)):
            found[str(getattr(module, "BENCH", info.name))] = module
    return found


def split_arguments(argv: list[str], known: set[str]) -> tuple[list[str], list[str]]:
    """(benchmark names, options): an argument starting with ``-`` is an option, and so is the argument
    after an option written without ``=`` (``--rounds 3``), unless it names a benchmark."""
    names: list[str] = []
    options: list[str] = []
    previous = ""
    for arg in argv:
        if arg.startswith("-") or (previous.startswith("-") and "=" not in previous and arg not in known):
            options.append(arg)
        else:
            names.append(arg)
        previous = arg
    return names, options


def main(argv: list[str]) -> int:
    known = benchmarks()
    aliases = {module.__name__.removeprefix("bench."): name for name, module in known.items()}
    names, options = split_arguments(argv, set(known) | set(aliases))
    unknown = [n for n in names if n not in known and n not in aliases]
    if options and not names:
        print("options go to named benchmarks: python -m bench NAME [--option ...]", file=sys.stderr)
        return 2
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    status = 0
    for name in [aliases.get(n, n) for n in names] or list(known):
        run = known[name].main
        started = time.perf_counter()
        print(f"=== bench {name} ===", flush=True)
        result = run(options) if inspect.signature(run).parameters else run()
        status |= result if isinstance(result, int) else 0
        print(f"=== bench {name}: done in {time.perf_counter() - started:.0f} s ===", flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
