"""Display tables: a copy of a table whose cells are text, with its footnotes.

:class:`DisplayTable` renders as compact HTML in a notebook and as aligned text elsewhere;
:func:`display_table` adds the suppression footnote when a cell shows the marker ("–": "färre än
10 svar"). The helpers below build the cells of the report tables (:mod:`ctc_helpers.views.profile`,
:mod:`ctc_helpers.views.prioritization`, ...): formatted values with the marker where a value is
hidden, column names and verdicts from ``data_schema/i18n.yaml``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ctc_helpers.i18n import t
from ctc_helpers.views.labels import has_text
from ctc_helpers.views.numbers import format_pct

__all__ = [
    "KEEP_TOGETHER",
    "QUIET_MARK",
    "DisplayTable",
    "html_table",
    "text_table",
    "display_table",
    "masked_cells",
    "interval_text",
    "column_label",
    "change_text",
    "with_verdict",
]


@dataclass(frozen=True)
class DisplayTable:
    """A display copy of a table (all cells text) with its footnotes; renders as HTML.

    ``frame`` is what a reader sees; ``footnotes`` are shown under the table.
    """

    frame: pd.DataFrame
    footnotes: tuple[str, ...] = field(default_factory=tuple)

    def _repr_html_(self) -> str:
        notes = "".join(
            f'<p class="ctc-note"><small>{html.escape(n)}</small></p>' for n in self.footnotes
        )
        return f"<div>{html_table(self.frame)}{notes}</div>"

    def __repr__(self) -> str:
        return "\n".join([text_table(self.frame), *self.footnotes])


def html_table(frame: pd.DataFrame) -> str:
    """A display table as HTML on one line: the markup of ``DataFrame.to_html(index=False,
    na_rep="", border=0, classes="ctc-table")`` without its line breaks and indentation.

    Executed notebooks are saved after every cell and store HTML line by line, so a compact
    table is cheaper to save and smaller. Cells are escaped like pandas does (``&``, ``<``,
    ``>``); missing values are empty. A short cell (at most ``KEEP_TOGETHER`` characters, such
    as ``"2 (0,6 %)"`` or ``"29–33 %"``) is kept on one line with no-break spaces, so that a
    narrow column never splits a number from its unit; longer text wraps as usual. Frames with
    non-text cells or a column MultiIndex are left to pandas (its number formatting) and then
    compacted.

    >>> html_table(pd.DataFrame({"Mått": ["a<b", None]}))
    '<table class="dataframe ctc-table"><thead><tr><th>Mått</th></tr></thead><tbody><tr><td>a&lt;b</td></tr><tr><td></td></tr></tbody></table>'
    >>> html_table(pd.DataFrame({"Andel": ["29–33 %"], "Mått": ["Alkohol"]})).count("ctc-num")
    1
    """
    if isinstance(frame.columns, pd.MultiIndex) or not all(
        dtype.kind == "O" for dtype in frame.dtypes
    ):
        markup = frame.to_html(index=False, escape=True, na_rep="", border=0, classes="ctc-table")
        return _BETWEEN_TAGS.sub("><", markup)
    head = "".join(f"<th>{_escape(column)}</th>" for column in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(value) for value in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return (
        '<table class="dataframe ctc-table"><thead><tr>'
        f"{head}</tr></thead><tbody>{body}</tbody></table>"
    )


# A number as the reports write it: "12", "−5", "+3", "1 234", "12,5 %", "29–33 %",
# "2 (0,6 %)", "36 % → 79 %", "+3 ◦", or the suppression marker; such cells are right-aligned.
_NUMBER = re.compile(
    r"^[−+\-]?[\d\s\u00a0\u202f,.%–()→−+\-]*\d[\d\s\u00a0\u202f,.%–()→−+\-]*( ◦)?$|^–$"
)

QUIET_MARK = "◦"
"""The quiet mark of "no clear difference": shown after the number, grey, explained once below
the table (:func:`display_table`), so that the few clear differences stand out."""


def _cell(value: Any) -> str:
    """A ``<td>``: text left-aligned, numbers (class ``ctc-num``) right-aligned; a cell ending
    in the quiet mark is grey (class ``ctc-quiet``)."""
    text = "" if _missing(value) else str(value).strip()
    classes = ["ctc-num"] if text and _NUMBER.match(text) else []
    classes += ["ctc-quiet"] if text.endswith(QUIET_MARK) else []
    opening = f'<td class="{" ".join(classes)}">' if classes else "<td>"
    return f"{opening}{_escape(value, keep_together=True)}</td>"


def text_table(frame: pd.DataFrame) -> str:
    """A display table as plain text: columns right-aligned to their widest cell."""
    columns = [
        [str(name), *("" if _missing(v) else str(v) for v in frame.iloc[:, i])]
        for i, name in enumerate(frame.columns)
    ]
    if not columns:
        return ""
    widths = [max(map(len, column)) for column in columns]
    return "\n".join(
        " ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in zip(*columns, strict=True)
    )


_BETWEEN_TAGS = re.compile(r">\s*\n\s*<")
KEEP_TOGETHER = 16  # characters: a table cell this short never wraps (html_table)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _escape(value: Any, *, keep_together: bool = False) -> str:
    if _missing(value):
        return ""
    text = str(value)
    if keep_together and len(text) <= KEEP_TOGETHER:
        text = text.replace(" ", "\u00a0")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def display_table(
    frame: pd.DataFrame, *, lang: str | None = None, min_cell: int = 10, notes: tuple[str, ...] = ()
) -> DisplayTable:
    """Wrap a display frame; adds the suppression footnote when a cell shows the marker, and
    the quiet mark's footnote when a cell ends with :data:`QUIET_MARK`."""
    marker = t("suppressed_marker", lang)
    cells = frame.astype(str)
    shows_marker = bool(cells.eq(marker).to_numpy().any())
    footnote = (f"{marker} {t('suppressed_note', lang, min_n=min_cell)}",) if shows_marker else ()
    if bool(cells.apply(lambda column: column.str.endswith(QUIET_MARK)).to_numpy().any()):
        footnote += (f"{QUIET_MARK} {t('report_quiet_note', lang)}",)
    return DisplayTable(frame.reset_index(drop=True), footnote + tuple(notes))


# --------------------------------------------------------------------------------------------
# Cells of the report tables


def masked_cells(
    values: pd.Series, hidden: pd.Series, formatter: Callable[[Any, str], str], lang: str
) -> pd.Series:
    """``formatter(value, lang)`` of each value, or the suppression marker where ``hidden``.

    >>> from ctc_helpers.views.numbers import format_pct
    >>> masked_cells(pd.Series([0.25, 0.5]), pd.Series([False, True]), format_pct, "en").tolist()
    ['25%', '–']
    """
    marker = t("suppressed_marker", lang)
    return pd.Series(
        [marker if h else formatter(v, lang) for v, h in zip(values, hidden, strict=True)],
        index=values.index,
        dtype=object,
    )


def interval_text(low: float, high: float, lang: str) -> str:
    """A 95 % interval of proportions as ``"29–33 %"``; ``""`` when a bound is missing.

    >>> interval_text(0.291, 0.334, "sv"), interval_text(0.291, float("nan"), "sv")
    ('29–33 %', '')
    """
    if pd.isna(low) or pd.isna(high):
        return ""
    return f"{format_pct(low, lang).rstrip(' %')}–{format_pct(high, lang)}"


def column_label(key: str, lang: str, **values: object) -> str:
    """The name of a report table's column: the text ``report_col_<key>``.

    >>> column_label("measure", "en")
    'Measure'
    """
    return t(f"report_col_{key}", lang, **values)


def change_text(code: str, lang: str, *, versus_city: bool) -> str:
    """A comparison's verdict in words (``increase`` -> "clearly higher" against the city,
    "increase" between waves); ``no_clear_change`` is the quiet mark (:data:`QUIET_MARK`); an
    unknown code is shown as it is, ``""`` stays empty."""
    if not code:
        return ""
    if code == "no_clear_change":
        return QUIET_MARK
    key = f"report_vs_city_{code}" if versus_city and code != "too_few" else f"change_{code}"
    return t(key, lang) if has_text(key) else code


def with_verdict(number: str, verdict: str) -> str:
    """A formatted number with its verdict in brackets; either alone when the other is empty.

    The quiet mark follows the number without brackets: ``"+3 ◦"``.

    >>> with_verdict("+12", "clearly higher"), with_verdict("", "too few"), with_verdict("+3", "")
    ('+12 (clearly higher)', 'too few', '+3')
    >>> with_verdict("+3", QUIET_MARK)
    '+3 ◦'
    """
    if verdict == QUIET_MARK:
        return f"{number} {QUIET_MARK}" if number else QUIET_MARK
    return f"{number} ({verdict})" if number and verdict else number or verdict
