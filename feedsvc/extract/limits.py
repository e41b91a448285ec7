"""Bounds on what a page may make the HTML parser and extractor do: nesting depth and element count.

Extraction walks ancestors, so its cost grows with depth; a hostile page of 50,000 nested <div>s would take
hours. Real pages nest a few dozen elements deep (browsers stop nesting at 512), so a page deeper than
``MAX_DEPTH`` or with more than ``MAX_ELEMENTS`` elements is refused before it is parsed, with an error that
says which bound it broke. The scan is a single regular-expression pass over the tags, not a parse.
"""

from __future__ import annotations

import re

MAX_DEPTH = 256
MAX_ELEMENTS = 500_000

# Tags that nest until closed. Elements the HTML parser closes implicitly (p, li, td, tr, option, ...) and
# void elements (br, img, meta, ...) are left out, so a page of unclosed <p>s does not look deep.
_NESTING = frozenset({
    "a", "abbr", "article", "aside", "b", "blockquote", "center", "cite", "code", "del", "details", "div",
    "em", "fieldset", "figure", "font", "footer", "form", "header", "i", "ins", "label", "main", "mark",
    "nav", "object", "ol", "q", "s", "section", "small", "span", "strike", "strong", "sub", "summary", "sup",
    "table", "u", "ul",
})  # fmt: skip
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]{0,30})\b[^>]*?(/?)>")
_SKIP_RE = re.compile(
    r"<(script|style|template|textarea)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)


def structure_problem(html: str) -> str | None:
    """Why ``html`` is beyond the bounds (too deep, too many elements), or None when it is within them."""
    text = _SKIP_RE.sub("", html) if ("<script" in html or "<!--" in html or "<style" in html) else html
    depth = deepest = elements = 0
    for match in _TAG_RE.finditer(text):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if not closing:
            elements += 1
            if elements > MAX_ELEMENTS:
                return f"page has more than {MAX_ELEMENTS:,} elements"
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
