"""Downloads of the shown tables: one CSV per table and one Excel workbook, as page links.

The files hold the display copy (what the reader sees, "–" for suppressed cells) with its
footnotes under the table. Swedish CSV files use ``;`` (Swedish Excel reads decimal commas).

User text stays text in the files too: an area or programme name starting with ``=`` or ``@``
would otherwise be run as a formula by a spreadsheet. The workbook stores every cell as a
string; in the CSV files such a cell gets a leading apostrophe (the usual guard against formula
injection).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping

import pandas as pd
from openpyxl import Workbook

from ctc_helpers.dashboard.markup import escape
from ctc_helpers.i18n import check_language, t
from ctc_helpers.views.tables import DisplayTable

__all__ = ["download_links", "csv_bytes", "excel_bytes", "guard_formula"]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_FORMULA_START = ("=", "@", "\t", "\r")
_SIGNED_FORMULA = re.compile(r"[=|!\"]|[A-Za-z_]\s*\(")
EXCEL_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_links(
    tables: Mapping[str, DisplayTable], *, basename: str, lang: str | None = None
) -> str:
    """HTML links that download the shown tables: one CSV per table and one Excel workbook."""
    lang = check_language(lang)
    name = _SAFE_NAME.sub("_", basename).strip("_") or "tabell"
    csv_links = [
        _data_link(
            csv_bytes(table, lang),
            "text/csv;charset=utf-8",
            f"{name}_{_SAFE_NAME.sub('_', key)}.csv" if len(tables) > 1 else f"{name}.csv",
            f"CSV ({key})" if len(tables) > 1 else "CSV",
        )
        for key, table in tables.items()
    ]
    excel = _data_link(excel_bytes(tables), EXCEL_MIME, f"{name}.xlsx", "Excel")
    links = " · ".join([*csv_links, excel])
    return f'<div class="ctc-downloads">{escape(t("dash_download", lang))} {links}</div>'


def guard_formula(cell: object) -> object:
    """A CSV cell a spreadsheet would run as a formula, with a leading apostrophe; others as
    they are. Signed numbers such as ``"+12 (tydligt högre)"`` stay unchanged.

    >>> guard_formula('=HYPERLINK("http://x")'), guard_formula("+12 (tydligt högre)")
    ('\\'=HYPERLINK("http://x")', '+12 (tydligt högre)')
    >>> guard_formula("-1+cmd|' /C calc'!A0"), guard_formula("Norra Hamnen")
    ("'-1+cmd|' /C calc'!A0", 'Norra Hamnen')
    """
    if not isinstance(cell, str) or not cell:
        return cell
    if cell.startswith(_FORMULA_START):
        return f"'{cell}"
    if cell.startswith(("+", "-")) and _SIGNED_FORMULA.search(cell):
        return f"'{cell}"
    return cell


def csv_bytes(table: DisplayTable, lang: str) -> bytes:
    """The table with its footnotes as CSV (UTF-8 with BOM; ``;`` in Swedish, ``,`` in English)."""
    frame = _with_notes(table)
    frame = frame.rename(columns={c: guard_formula(str(c)) for c in frame.columns})
    text = frame.map(guard_formula).to_csv(index=False, sep=";" if lang == "sv" else ",")
    return text.encode("utf-8-sig")


def excel_bytes(tables: Mapping[str, DisplayTable]) -> bytes:
    """One worksheet per table (its footnotes under it); every cell is stored as text."""
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for key, table in tables.items():
        sheet = re.sub(r"[\[\]:*?/\\]", " ", key)[:31] or "Tabell"
        sheet = sheet if sheet not in used else f"{sheet[:28]} {len(used)}"
        used.add(sheet)
        frame = _with_notes(table)
        _write_rows(
            book.create_sheet(sheet), [[str(c) for c in frame.columns], *frame.to_numpy().tolist()]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write_rows(sheet, rows: list[list[object]]) -> None:
    for row in rows:
        sheet.append(["" if pd.isna(v) else v for v in row])
    for cells in sheet.iter_rows():
        for cell in cells:
            if cell.data_type == "f":  # openpyxl reads "=..." as a formula: keep it as text
                cell.data_type = "s"


def _data_link(content: bytes, mime: str, filename: str, text: str) -> str:
    encoded = base64.b64encode(content).decode("ascii")
    return (
        f'<a download="{escape(filename)}" href="data:{mime};base64,{encoded}"'
        f' class="ctc-download">{escape(text)}</a>'
    )


def _with_notes(table: DisplayTable) -> pd.DataFrame:
    if not table.footnotes:
        return table.frame
    first = table.frame.columns[0] if len(table.frame.columns) else "note"
    notes = pd.DataFrame({first: ["", *table.footnotes]})
    return pd.concat([table.frame, notes], ignore_index=True).fillna("")
