"""The one place where dashboard text becomes HTML: every piece of it is escaped here.

ipywidgets' ``HTML`` widgets put their value into the page as markup, so a name such as
``<img src=x onerror=alert(1)>`` in ``areas.csv`` would run as script if it reached a widget
unescaped. Every text a dashboard shows (area, school and programme names, notes, goal-chain and
priorities texts, instrument labels, glossary entries, messages with a user's value in them)
passes through a function of this module, which escapes it; no other dashboard module writes a
tag around text. Markdown written by :mod:`ctc_helpers.views` for the reports (notes, the team's
choice) is turned into HTML here too, with raw HTML shown as text and harmful links removed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import mistune
import pandas as pd
from mistune.util import safe_entity

from ctc_helpers.views.tables import DisplayTable

__all__ = [
    "escape",
    "heading_html",
    "notice_html",
    "banner_html",
    "definitions_html",
    "about_html",
    "table_html",
    "tables_html",
    "markdown_html",
    "link_html",
    "nav_html",
    "KEEP_TOGETHER",
]

KEEP_TOGETHER = 16  # characters: a table cell this short never wraps
NOTICE_KINDS = ("info", "warning", "error")


def escape(value: Any) -> str:
    """Text as HTML text: ``&``, ``<``, ``>`` and both quotes escaped; missing values empty.

    >>> escape('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> escape(None), escape(float("nan"))
    ('', '')
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def heading_html(text: str, level: int = 3) -> str:
    """A heading ``<h{level}>`` of ``text``.

    >>> heading_html("Norra <Hamnen>", 4)
    '<h4>Norra &lt;Hamnen&gt;</h4>'
    """
    level = min(max(int(level), 1), 6)
    return f"<h{level}>{escape(text)}</h{level}>"


def notice_html(text: str, *, kind: str = "info") -> str:
    """A framed message (``kind``: ``info``, ``warning`` or ``error``); empty without text."""
    if not text:
        return ""
    kind = kind if kind in NOTICE_KINDS else "info"
    return f'<div class="ctc-notice ctc-{kind}">{escape(text)}</div>'


def banner_html(text: str) -> str:
    """The framed notice over a page (e.g. "synthetic data"); empty without text."""
    if not text:
        return ""
    return (
        '<div class="ctc-synthetic" style="border:2px solid #D55E00;padding:0.6em 1em;'
        f'margin:0.5em 0;background:#FFF4EC"><strong>{escape(text)}</strong></div>'
    )


def definitions_html(items: Iterable[tuple[Any, Any]], *, title: str = "") -> str:
    """A definition list of ``(term, explanation)`` pairs under an optional ``<h4>`` title;
    empty when there are no pairs."""
    rows = "".join(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>" for term, text in items)
    if not rows:
        return ""
    return (heading_html(title, 4) if title else "") + f"<dl>{rows}</dl>"


def about_html(intro: str, *parts: str) -> str:
    """The explanation a click away: the ``intro`` paragraph and ``parts`` (markup made by this
    module, e.g. :func:`definitions_html`)."""
    paragraph = f"<p>{escape(intro)}</p>" if intro else ""
    return f'<div class="ctc-about">{paragraph}{"".join(parts)}</div>'


def table_html(table: DisplayTable) -> str:
    """A display table (suppressed cells "–" with their footnotes) in a scrollable box.

    Every header and cell is escaped. Short cells (numbers, intervals such as "14–17 %") do not
    break across lines; longer text wraps, so the table fits beside its chart.

    >>> frame = pd.DataFrame({"Område": ["<b>x</b>"], "Andel": ["12 %"]})
    >>> table_html(DisplayTable(frame, ("– för få svar",)))  # doctest: +NORMALIZE_WHITESPACE
    '<div class="ctc-table-scroll"><div><table class="dataframe ctc-table"><thead><tr><th>Område</th><th>Andel</th></tr></thead><tbody><tr><td>&lt;b&gt;x&lt;/b&gt;</td><td>12\\xa0%</td></tr></tbody></table><p class="ctc-note"><small>– för få svar</small></p></div></div>'
    """
    frame = table.frame
    head = "".join(f"<th>{escape(_column_label(column))}</th>" for column in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_keep_together(value))}</td>" for value in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    notes = "".join(f'<p class="ctc-note"><small>{escape(n)}</small></p>' for n in table.footnotes)
    return (
        '<div class="ctc-table-scroll"><div><table class="dataframe ctc-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</div></div>"
    )


def tables_html(tables: Mapping[str, DisplayTable]) -> str:
    """Each table under its name as an ``<h4>`` heading."""
    return "".join(heading_html(name, 4) + table_html(table) for name, table in tables.items())


def markdown_html(*texts: str) -> str:
    """Markdown (e.g. a report note from :mod:`ctc_helpers.views`) as HTML: raw HTML in it is
    shown as text, links to ``javascript:`` and the like are removed; empty texts are skipped.

    User text in the views' Markdown is already escaped for Markdown (``&lt;`` for ``<``,
    :mod:`ctc_helpers.views.escape`); such entities are kept, so it shows once, not as ``&lt;``.

    >>> markdown_html("**Obs:** <script>alert(1)</script> &lt;b&gt;")
    '<div class="ctc-markdown"><p><strong>Obs:</strong> &lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;</p>\\n</div>'
    """
    parts = [_markdown()(text) for text in texts if text]
    return f'<div class="ctc-markdown">{"".join(parts)}</div>' if parts else ""


def link_html(text: str, href: str) -> str:
    """A link; ``href`` must be a relative URL whose parts the caller quoted (``urllib.parse``).

    >>> link_html("Gap", "gap.ipynb?area=a%22b")
    '<a href="gap.ipynb?area=a%22b">Gap</a>'
    """
    if ":" in href.split("?", 1)[0]:
        raise ValueError(f"Only relative links are made here, not {href!r}.")
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def nav_html(items: Iterable[tuple[str, str | None]]) -> str:
    """The navigation bar: ``(label, href)`` pairs; ``href`` None marks the current page."""
    links = [
        f"<strong>{escape(label)}</strong>" if href is None else link_html(label, href)
        for label, href in items
    ]
    return f'<div class="ctc-nav">{" ".join(links)}</div>'


def _column_label(column: Any) -> str:
    if isinstance(column, tuple):
        return " ".join(str(part) for part in column if str(part))
    return str(column)


def _keep_together(cell: Any) -> Any:
    if not isinstance(cell, str) or len(cell) > KEEP_TOGETHER:
        return cell
    return cell.replace(" ", "\u00a0").replace("–", "\u2060–\u2060")


class _Renderer(mistune.HTMLRenderer):
    """Raw HTML escaped (``escape=True``); text keeps its entities instead of escaping them
    twice."""

    def text(self, text: str) -> str:
        return safe_entity(text)


@cache
def _markdown() -> mistune.Markdown:
    return mistune.create_markdown(escape=True, renderer=_Renderer(escape=True))
