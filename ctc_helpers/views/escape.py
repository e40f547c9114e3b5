"""User text shown as text: the one place where a name, a note or a label becomes HTML or Markdown.

Area and school names, programme and provider names, the teams' notes, goal-chain texts,
instrument labels and glossary entries come from files people edit. A report shows them
literally: ``<script>`` stays the word, ``**bold**`` keeps its stars, ``[a](http://x)`` is no
link. :func:`escape_html` is for HTML (tables, framed notes); :func:`escape_markdown` for
Markdown (headings and paragraphs), which nbconvert and Voilà render with raw HTML allowed;
:func:`markdown_text` fills an i18n text's placeholders with escaped values, so the text itself
(written by us) may use Markdown while the values (written by users) cannot.
"""

from __future__ import annotations

import html
import re

from ctc_helpers.i18n import t

__all__ = ["escape_html", "escape_markdown", "markdown_text", "plain_text"]

# Signs that make Markdown anywhere in a line (emphasis, links, code, strike-through, table
# cells, escapes); a backslash before one shows the sign itself. An underscore inside a word
# (``goal_chain``) is no emphasis in CommonMark and stays as it is, so do hyphens and dots: file
# names and versions read the same in the Markdown source.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]~|])|(?<![0-9A-Za-zÅÄÖåäö])_|_(?![0-9A-Za-zÅÄÖåäö])")
_AUTOLINK = re.compile(r"(?<=[A-Za-z]):(?=//)|(?<=www)\.")  # http://x, www.x: no bare links
_LINE_START = re.compile(
    r"^(#+|[>+\-=]|\d+[.)])(?=\s|$)"
)  # a heading, quote or list at a line start
_BACKSLASHED = re.compile(r"\\([\\`*_\[\]~|:.#>+\-=)])")


def escape_html(value: object) -> str:
    """``value`` as HTML text: ``&``, ``<``, ``>`` and quotes as entities.

    >>> escape_html("<img src=x>")
    '&lt;img src=x&gt;'
    """
    return html.escape(str(value), quote=True)


def escape_markdown(value: object) -> str:
    """``value`` as Markdown text shown literally: HTML as entities, Markdown signs backslashed.

    Line breaks become spaces (a name or note never starts a heading, list or quote).

    >>> escape_markdown("<b>**Söder**</b>")
    '&lt;b&gt;\\\\*\\\\*Söder\\\\*\\\\*&lt;/b&gt;'
    >>> escape_markdown(12)
    '12'
    """
    text = html.escape(" ".join(str(value).split()), quote=False)
    text = _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    text = _AUTOLINK.sub(lambda m: "\\" + m.group(0), text)
    return _LINE_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text)


def plain_text(markdown: str) -> str:
    """The text an escaped Markdown line shows (for a page title): backslashes and entities
    undone.

    >>> plain_text(escape_markdown("Norra <b> **x**"))
    'Norra <b> **x**'
    """
    return html.unescape(_BACKSLASHED.sub(r"\1", markdown))


def markdown_text(key: str, lang: str | None = None, /, **values: object) -> str:
    """The i18n text ``key`` with its ``{placeholders}`` filled by Markdown-escaped values.

    Numbers are passed through unchanged (so a format such as ``{n:d}`` still works).

    >>> markdown_text("report_prio_some_too_few", "en", k=2).startswith("2")
    True
    """
    escaped = {
        k: v if isinstance(v, int | float) else escape_markdown(v) for k, v in values.items()
    }
    return t(key, lang, **escaped)
