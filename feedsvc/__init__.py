"""feedsvc: news-aggregator pages in, clean deduplicated Atom feeds out."""

__version__ = "0.1.0"
