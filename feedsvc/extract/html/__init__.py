"""Split an HTML page into stories: the main article (structured data merged with its DOM), then cards."""

from feedsvc.extract.html.dom import parser_caps_depth
from feedsvc.extract.html.profile import selector_problem
from feedsvc.extract.html.stories import ParsedPage, parse_html, parse_html_page

__all__ = ["ParsedPage", "parse_html", "parse_html_page", "parser_caps_depth", "selector_problem"]
