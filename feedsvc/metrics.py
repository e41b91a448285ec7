"""Prometheus metrics (prometheus-client): one registry per service, rendered at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.fetches = Counter(
            "feedsvc_fetches", "Source fetches by result", ["source", "result"], registry=r
        )
        self.fetch_seconds = Histogram(
            "feedsvc_fetch_duration_seconds",
            "Time to fetch, extract and ingest one source",
            ["source"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.stories = Counter(
            "feedsvc_stories_parsed", "Stories extracted from pages", ["source"], registry=r
        )
        self.clusters_created = Counter("feedsvc_clusters_created", "New stories (clusters)", registry=r)
        self.clusters_merged = Counter(
            "feedsvc_clusters_merged",
            "Copies that joined an existing story, and stories folded together",
            registry=r,
        )
        self.decision_seconds = Histogram(
            "feedsvc_dedup_decision_seconds",
            "Time one page's dedup decision held the store's decision lock (every worker waits on it)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.feed_builds = Counter("feedsvc_feed_builds", "Feed builds by result", ["result"], registry=r)
        self.last_success = Gauge(
            "feedsvc_source_last_success_timestamp_seconds",
            "Unix time of the last successful fetch",
            ["source"],
            registry=r,
        )
        self.fulltext_fetches = Counter(
            "feedsvc_fulltext_fetches",
            "Article pages fetched for full text, by result (full, unusable, not_modified, error)",
            ["source", "result"],
            registry=r,
        )
        self.http_requests = Counter(
            "feedsvc_http_requests", "HTTP requests served by status code", ["status"], registry=r
        )

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
