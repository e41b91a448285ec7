"""Split an HTML page into stories: the main article (structured data merged with its DOM), then cards."""

from feedsvc.extract.html.profile import selector_problem
from feedsvc.extract.html.stories import parse_html

__all__ = ["parse_html", "selector_problem"]
