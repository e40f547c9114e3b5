"""Tests of ctc_helpers.views.tables: display tables, their HTML and text, and the cell helpers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ctc_helpers.i18n import t
from ctc_helpers.views.numbers import format_pct
from ctc_helpers.views.tables import (
    DisplayTable,
    change_text,
    column_label,
    display_table,
    html_table,
    interval_text,
    masked_cells,
    text_table,
    with_verdict,
)

MARKER = "–"


def test_display_table_renders_html_with_footnote():
    table = display_table(pd.DataFrame({"a": ["1", MARKER]}), lang="en", min_cell=15)
    html = table._repr_html_()
    assert (
        "<table" in html
        and "– fewer than 15 answers or too few with the answer, or hidden so that a small group cannot be worked out"
        in html
    )
    assert display_table(pd.DataFrame({"a": ["1"]})).footnotes == ()


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"Mått": ["a < b & c > d", None, np.nan], "Andel": ["12 %", "–", ""]}),
        pd.DataFrame({"Skola": ["Centralskolan", "Ängsskolan"], "n": ["814", "1\u202f016"]}),
        pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=object)}),
        pd.DataFrame({"x": [1, 2], "y": [0.5, np.nan]}),  # numbers: pandas formats them
        pd.DataFrame([["1", "2"]], columns=pd.MultiIndex.from_tuples([("A", "a"), ("A", "b")])),
        pd.DataFrame([["1", "2"]], columns=["same", "same"]),
    ],
)
def test_html_table_is_pandas_markup_on_one_line(frame):
    shown = frame.mask(frame.isna(), np.nan)  # pandas writes a None as "None": empty here
    if all(dtype.kind == "O" for dtype in frame.dtypes):  # short text cells keep together
        shown = shown.map(
            lambda v: v.replace(" ", "\xa0") if isinstance(v, str) and len(v) <= 16 else v
        )
    expected = shown.to_html(index=False, escape=True, na_rep="", border=0, classes="ctc-table")
    expected = re.sub(r">\s*\n\s*<", "><", expected)
    ours = html_table(frame)
    if all(dtype.kind == "O" for dtype in frame.dtypes) and not isinstance(
        frame.columns, pd.MultiIndex
    ):  # text tables: no alignment on the heading row, numbers marked for right alignment
        expected = expected.replace('<tr style="text-align: right;">', "<tr>")
        numbers = sum(
            bool(re.fullmatch(r"[\d\s\u202f,%–]+", str(v))) for v in frame.to_numpy().flat
        )
        assert ours.count('<td class="ctc-num">') == numbers
        ours = ours.replace(' class="ctc-num"', "")
    assert ours == expected
    assert "\n" not in html_table(frame)


def test_html_table_keeps_short_cells_on_one_line():
    frame = pd.DataFrame({"Regel": ["Orimligt hög användning av flera ämnen", "Alla"],
                          "åk 6": ["2 (0,6 %)", "29–33 %"]})  # fmt: skip
    html = html_table(frame)
    assert '<td class="ctc-num">2\xa0(0,6\xa0%)</td>' in html
    assert '<td class="ctc-num">29–33\xa0%</td>' in html
    assert "<td>Orimligt hög användning av flera ämnen</td>" in html  # long text wraps
    assert "<th>åk 6</th>" in html  # headers wrap


def test_text_table_aligns_columns():
    frame = pd.DataFrame({"Skola": ["Centralskolan", None], "n": ["814", "12"]})
    assert text_table(frame).splitlines() == [
        "        Skola   n",
        "Centralskolan 814",
        "               12",
    ]
    table = DisplayTable(frame, footnotes=("– dolt",))
    assert repr(table).splitlines()[-1] == "– dolt"


def test_cell_helpers():
    values = pd.Series([0.125, 0.5, float("nan")], index=[7, 8, 9])
    hidden = pd.Series([False, True, False], index=[7, 8, 9])
    cells = masked_cells(values, hidden, format_pct, "sv")
    assert cells.tolist() == ["13 %", MARKER, ""] and list(cells.index) == [7, 8, 9]
    assert interval_text(0.05, 0.125, "en") == "5–13%"
    assert interval_text(float("nan"), 0.2, "en") == ""
    assert column_label("change_since", "sv", wave=2023) == t(
        "report_col_change_since", "sv", wave=2023
    )
    assert change_text("increase", "sv", versus_city=True) == t("report_vs_city_increase", "sv")
    assert change_text("increase", "sv", versus_city=False) == t("change_increase", "sv")
    assert change_text("too_few", "en", versus_city=True) == t("change_too_few", "en")
    assert change_text("odd_code", "en", versus_city=False) == "odd_code"
    assert change_text("", "en", versus_city=False) == ""
    assert with_verdict("+4", "") == "+4" and with_verdict("", "") == ""
