"""The `feedsvc` command: serve, reload, run-once, parse, cluster, check-config, migrate, status."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from feedsvc import __version__
from feedsvc.dirs import check_data_dir
from feedsvc.errors import ConfigError, FeedsvcError
from feedsvc.logs import setup_logging
from feedsvc.models import Page, RunReport, Source, utc
from feedsvc.redact import mask_url
from feedsvc.settings import DedupSettings, Settings, describe, load_settings, load_with_origins

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedsvc", description="News-aggregator pages in, clean deduplicated feeds out."
    )
    parser.add_argument("--version", action="version", version=f"feedsvc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config", metavar="F", help="config file (default: $FEEDSVC_CONFIG or config/feedsvc.toml)"
        )

    serve = sub.add_parser("serve", help="run the scheduler and the HTTP server")
    with_config(serve)
    serve.add_argument(
        "--role",
        choices=["all", "worker", "web"],
        default="all",
        help="all: everything in one process (default); worker: fetch, dedup and publish while leading; "
        "web: serve the stored feeds only (several of each share one PostgreSQL store)",
    )
    with_config(
        sub.add_parser(
            "reload",
            help="make the running service re-read its configuration (SIGHUP to the process in the pid "
            "file of data_dir)",
        )
    )
    with_config(
        sub.add_parser(
            "run-once",
            help="fetch every source once, update the store, publish the feeds (progress bars on a terminal)",
        )
    )
    with_config(sub.add_parser("check-config", help="validate the configuration and print a summary"))
    with_config(sub.add_parser("migrate", help="bring the store's schema to this release's"))
    with_config(
        sub.add_parser("status", help="per source: last fetch, last error, next run, stories, backoff")
    )

    parse = sub.add_parser("parse", help="print the stories of one page as JSON")
    parse.add_argument("page", metavar="PAGE", help="file path, '-' for standard input, or an http(s) URL")
    parse.add_argument("--fetched-at", metavar="ISO8601", help="resolve relative times against this instant")
    parse.add_argument("--base-url", metavar="URL", help="resolve story links against this URL")
    parse.add_argument(
        "--date-order", choices=["DMY", "MDY", "YMD"], default="DMY", help="for dates like 11-06-2025"
    )

    cluster = sub.add_parser("cluster", help="cluster stories given as JSON lines")
    cluster.add_argument(
        "file", metavar="FILE", help="JSON lines with id, title, body (and optional fields); '-' for stdin"
    )
    cluster.add_argument("--config", metavar="F", help="read [dedup] settings from this config file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {
        "serve": _serve,
        "reload": _reload,
        "run-once": _run_once,
        "check-config": _check_config,
        "migrate": _migrate,
        "status": _status,
        "parse": _parse_cmd,
        "cluster": _cluster_cmd,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"feedsvc: config error: {mask_url(problem)}", file=sys.stderr)
        return EXIT_CONFIG
    except FeedsvcError as exc:
        print(f"feedsvc: error: {mask_url(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _load(config: str | None) -> Settings:
    """Settings with every check done before anything starts, site-profile selectors included."""
    return load_settings(config)


def _settings(args: argparse.Namespace) -> Settings:
    settings = _load(args.config)
    setup_logging(settings.log_format, settings.log_level)
    return settings


def _serve(args: argparse.Namespace) -> int:
    # Only what answers the published feeds is imported here: the service (SQLAlchemy, the dedup index,
    # the extractor, the scheduler, Starlette) is imported and built in a thread while they are served.
    from feedsvc.early import Built, EarlyApp
    from feedsvc.reload import reloading
    from feedsvc.server import Server, listen_socket, raise_open_file_limit, server_config
    from feedsvc.snapshot import read_snapshot

    settings = _settings(args)
    role = getattr(args, "role", "all")
    if role != "web":  # web servers serve the stored feeds and write no files
        check_data_dir(settings.data_dir)
    sock = listen_socket(settings.host, settings.port)  # a port in use fails here, before anything starts

    def build() -> Built:
        from feedsvc.app import create_app

        return create_app(settings, role=role)

    def failed() -> None:
        server.should_exit = True

    app = EarlyApp(build, settings, read_snapshot(settings, role), failed)
    server = Server(server_config(app, settings.host, settings.port, settings.stop_timeout))
    raise_open_file_limit()
    print(
        f"feedsvc {__version__}: serving {settings.public_url}/ as {role} "
        "(feeds under /feeds/, Ctrl-C stops)",
        file=sys.stderr,
    )
    with reloading(app, settings.data_dir, role):  # SIGHUP, and the pid file
        server.run(sockets=[sock])
    if app.failure is not None:  # the service could not be built (a store to migrate first...)
        raise app.failure
    return EXIT_OK


def _reload(args: argparse.Namespace) -> int:
    from feedsvc.reload import PID_FILES, read_settings, signal_services

    settings = read_settings(args.config)  # a bad config is reported here: the service would refuse it
    signalled, stale = signal_services(settings.data_dir)
    for entry in stale:
        print(f"removed stale pid file {entry.path} (pid {entry.pid} is not a running feedsvc)")
    if not signalled:
        names = ", ".join(PID_FILES.values())
        raise FeedsvcError(
            f"no feedsvc service is running from data directory {settings.data_dir} (no live {names}); "
            "start one with `feedsvc serve`"
        )
    for entry in signalled:
        print(
            f"sent SIGHUP to feedsvc serve --role {entry.role} (pid {entry.pid}, {entry.path}): it re-reads "
            f"{settings.config_path} and logs what changed"
        )
    return EXIT_OK


def _report_line(r: RunReport, width: int) -> str:
    if not r.ok:
        return f"{r.source:<{width}}  FAILED  {r.error}"
    detail = f"{r.stories} stories, {r.new_clusters} new, {r.merged} merged"
    if r.not_modified:
        detail = "not modified"
    return f"{r.source:<{width}}  ok      {detail} ({r.duration:.2f}s)"


def _run_once(args: argparse.Namespace) -> int:
    from feedsvc.progress import source_progress
    from feedsvc.service import Service

    settings = _settings(args)
    check_data_dir(settings.data_dir)
    names = [s.name for s in settings.sources]
    width = max((len(n) for n in names), default=6)
    service = Service(settings)
    try:
        service.start(restore=False)  # the first changed page restores the dedup index
        with source_progress(names, lambda r: _report_line(r, width)) as progress:
            reports = service.run_once(progress)
        unwritten = dict(service.publish_errors)
    finally:
        service.close()
    if not progress.streamed:  # on a terminal: the bars are gone, the summary stays
        for r in reports:
            print(_report_line(r, width))
    for name, error in sorted(unwritten.items()):
        print(f"feed {name} NOT WRITTEN: {error}", file=sys.stderr)
    if unwritten:
        print(f"{len(unwritten)} feed files could not be written to {settings.data_dir / 'feeds'}")
    else:
        print(f"feeds written to {settings.data_dir / 'feeds'}")
    return EXIT_OK if all(r.ok for r in reports) and not unwritten else EXIT_FAILED


def _migrate(args: argparse.Namespace) -> int:
    from feedsvc.store import Store

    settings = _load(args.config)
    store = Store(settings.database_url, migrate=True)
    store.close()
    done = store.migration
    where = mask_url(settings.database_url)
    if done is not None and done.changed:
        print(f"{where}: schema migrated from {done.before or 'none'} to {done.after}")
    elif done is not None:
        print(f"{where}: schema already at {done.after}")
    return EXIT_OK


def _check_config(args: argparse.Namespace) -> int:
    settings, origins = load_with_origins(args.config)
    print(f"{settings.config_path}: ok")
    print("\n".join(describe(settings, origins)))
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from feedsvc.service import Service

    settings = load_settings(args.config)
    service = Service(settings)
    try:
        rows = service.status()
        counts = service.store.counts()
    finally:
        service.close()
    if rows:
        widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in rows[0]}
        print("  ".join(k.ljust(w) for k, w in widths.items()).rstrip())
        for row in rows:
            print("  ".join(row[k].ljust(w) for k, w in widths.items()).rstrip())
    print(f"{counts['clusters']} stories from {counts['copies']} copies in {mask_url(settings.database_url)}")
    return EXIT_OK


def _parse_time(value: str) -> datetime:
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise FeedsvcError(
            f"--fetched-at {value!r} is not an ISO 8601 time such as 2025-08-19T12:00:00Z"
        ) from None


def _parse_cmd(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from feedsvc.extract import extract
    from feedsvc.fetch import Fetcher

    source = Source(name="parse", url=args.page, interval=3600, date_order=args.date_order)
    if args.page == "-":
        page = Page(source="parse", url="-", content=sys.stdin.buffer.read(), fetched_at=datetime.now(UTC))
    else:
        if not source.is_http and not Path(args.page).is_file():
            raise FeedsvcError(f"PAGE {args.page!r}: no such file")
        with Fetcher() as fetcher:
            page = fetcher.fetch(source)
    if args.fetched_at:
        page = replace(page, fetched_at=_parse_time(args.fetched_at))
    if args.base_url:
        page = replace(page, url=args.base_url)
    stories = extract(page, source)
    json.dump([s.to_json() for s in stories], sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def _read_json_lines(handle: TextIO, name: str) -> list[dict[str, Any]]:
    rows, seen = [], set()
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FeedsvcError(f"{name}:{number}: not valid JSON: {exc.msg}") from None
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("title", ""), str):
            raise FeedsvcError(f'{name}:{number}: expected an object with "id", "title" and "body"')
        if not isinstance(row.get("body", ""), str):
            raise FeedsvcError(f'{name}:{number}: "body" must be a string')
        key = str(row["id"])
        if key in seen:
            raise FeedsvcError(f"{name}:{number}: id {row['id']!r} appears twice")
        seen.add(key)
        rows.append(row)
    return rows


def _cluster_cmd(args: argparse.Namespace) -> int:
    from feedsvc.dedup import cluster_texts

    dedup = load_settings(args.config).dedup if args.config else DedupSettings()
    if args.file == "-":
        rows = _read_json_lines(sys.stdin, "<stdin>")
    else:
        try:
            with open(args.file, encoding="utf-8") as handle:
                rows = _read_json_lines(handle, args.file)
        except OSError as exc:
            raise FeedsvcError(f"{args.file}: cannot read: {exc.strerror or exc}") from exc
    labels = cluster_texts(((str(r["id"]), r.get("title", ""), r.get("body", "")) for r in rows), dedup)
    for row in rows:
        key = str(row["id"])
        print(json.dumps({"id": row["id"], "cluster": labels[key]}, ensure_ascii=False))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
