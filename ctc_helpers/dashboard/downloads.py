"""Downloads of the shown tables, as numbers: one Excel workbook and CSV files, as page links.

The files hold what the reader sees, read back into numbers so that a spreadsheet can calculate
with them (:func:`typed_columns`):

- a percentage (``"47 %"``) becomes the number 0.47 with a percent format in Excel, and 47 in a
  column marked ``(%)`` in the CSV files; an interval (``"40–53 %"``) becomes two columns, its
  lower and upper bound;
- a count (``"1 240"``) becomes a whole number, a signed difference in percentage points
  (``"+19 (+10 till +27) ◦"``) a number, its interval two numbers and its words (``◦``,
  ``tydligt högre``) a text column beside it;
- a hidden cell (``–``) is empty, and the table's footnotes are kept under it;
- text stays text.

The workbook has one sheet per table. Two sets of CSV files: Swedish convention (``;`` between
cells, decimal comma) and international (``,`` and decimal point), the page language's first;
both UTF-8 with a byte order mark, so Excel shows å, ä and ö. File names keep å, ä and ö; path separators and characters that
Windows or macOS refuse in file names are removed.

User text stays text in the files too: an area or programme name starting with ``=`` or ``@``
would otherwise be run as a formula by a spreadsheet. The workbook stores text cells as strings;
in the CSV files such a cell gets a leading apostrophe (the usual guard against formula
injection).
"""

from __future__ import annotations

import base64
import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from openpyxl import Workbook

from ctc_helpers.dashboard.markup import escape
from ctc_helpers.i18n import check_language, t
from ctc_helpers.views.tables import DisplayTable

__all__ = [
    "CSV_STYLES",
    "CSV_SUFFIX",
    "TypedColumn",
    "download_links",
    "typed_columns",
    "csv_bytes",
    "excel_bytes",
    "file_name",
    "guard_formula",
]

# (separator, decimal mark) of each CSV convention: Swedish (Excel with Swedish settings) and
# international
CSV_STYLES = {"sv": (";", ","), "en": (",", ".")}
# the file of the page's own convention has the plain name; the other one this ending
CSV_SUFFIX = {"sv": "_svensk", "en": "_international"}
_FORMULA_START = ("=", "@", "\t", "\r")
_SIGNED_FORMULA = re.compile(r"[=|!\"]|[A-Za-z_]\s*\(")
# refused in file names by Windows (and ':' by macOS Finder), plus control characters
_UNSAFE_IN_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_WINDOWS_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.IGNORECASE)
EXCEL_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_NUM = r"[+\-−]?\d[\d\u202f ,.]*?"
_PCT = re.compile(rf"^({_NUM}) ?%$")
_PCT_RANGE = re.compile(rf"^({_NUM}) ?%? ?– ?({_NUM}) ?%$")
_PLAIN = re.compile(rf"^({_NUM})$")
_SIGNED = re.compile(rf"^([+\-−]{_NUM}|0)(?: \(({_NUM}) \S+ ({_NUM})\))?(?: (.+))?$")


@dataclass(frozen=True)
class TypedColumn:
    """A column of a download: ``name``, ``kind`` (``pct`` proportions, ``count`` whole numbers,
    ``number``, ``signed`` percentage points, ``text``), the ``values`` (None where the cell is
    empty or hidden) and the ``decimals`` shown."""

    name: str
    kind: str
    values: tuple
    decimals: int = 0


def typed_columns(table: DisplayTable, lang: str) -> list[TypedColumn]:
    """The shown table's columns as numbers where the reader sees numbers (see the module text).

    >>> shown = pd.DataFrame({"Mått": ["A", "B"], "Andel": ["47 %", "–"], "KI": ["40–53 %", ""]})
    >>> [(c.name, c.kind, c.values) for c in typed_columns(DisplayTable(shown), "sv")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('Mått', 'text', ('A', 'B')), ('Andel', 'pct', (0.47, None)),
     ('KI, nedre gräns', 'pct', (0.4, None)), ('KI, övre gräns', 'pct', (0.53, None))]
    """
    lang = check_language(lang)
    columns: list[TypedColumn] = []
    for position, name in enumerate(table.frame.columns):
        cells = [_clean(v) for v in table.frame.iloc[:, position]]
        columns.extend(_typed(str(name), cells, lang))
    return columns


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).replace("\u2060", "").replace("\u00a0", " ").strip()


def _typed(name: str, cells: list[str], lang: str) -> list[TypedColumn]:
    """One shown column as one or more typed columns (the first pattern every cell fits)."""
    filled = [c for c in cells if c and c != t("suppressed_marker", lang)]
    if not filled:  # every cell hidden or empty: empty cells (the footnote says why)
        return [TypedColumn(name, "text", tuple(None for _ in cells))]
    for pattern, build in ((_PLAIN, _plain), (_PCT, _pct), (_PCT_RANGE, _pct_range),
                           (_SIGNED, _signed)):  # fmt: skip
        matches = [pattern.match(c) for c in filled]
        if all(matches):
            found = iter(matches)
            parsed = [next(found) if c in filled else None for c in cells]
            try:
                return build(name, parsed, lang)
            except ValueError:
                break  # something like a number that is no number ("1.2.3"): stays text
    return [TypedColumn(name, "text", tuple(cells))]


def _number(text: str | None, lang: str) -> float | None:
    if text is None:
        return None
    text = text.replace("−", "-").replace("\u202f", "").replace(" ", "")
    text = text.replace(",", ".") if lang == "sv" else text.replace(",", "")
    return float(text)


def _decimals(texts: list[str | None]) -> int:
    marks = [re.search(r"[,.](\d+)$", s.replace("\u202f", "").replace(" ", "")) for s in texts if s]
    return max((len(m.group(1)) for m in marks if m), default=0)


def _as_shares(numbers: list[float | None], decimals: int) -> tuple:
    return tuple(None if n is None else round(n / 100, decimals + 2) for n in numbers)


def _whole(numbers: list[float | None], decimals: int) -> tuple:
    """Whole numbers as ``int`` (the shown table has no decimals there)."""
    return tuple(n if n is None or decimals else int(round(n)) for n in numbers)


def _plain(name: str, parsed: list, lang: str) -> list[TypedColumn]:
    texts = [m.group(1) if m else None for m in parsed]
    if lang == "en" and any(t_ and re.search(r",\d{1,2}$", t_) for t_ in texts):
        raise ValueError(name)  # "1,5" in English is not a number the table meant
    numbers = [_number(s, lang) for s in texts]
    decimals = _decimals(texts if lang == "sv" else [s and s.replace(",", "") for s in texts])
    if any(s and s.startswith(("+", "-", "−")) for s in texts):
        return [TypedColumn(name, "signed", _whole(numbers, decimals), decimals)]
    if decimals == 0:
        return [TypedColumn(name, "count", tuple(None if n is None else int(n) for n in numbers))]
    return [TypedColumn(name, "number", tuple(numbers), decimals)]


def _pct(name: str, parsed: list, lang: str) -> list[TypedColumn]:
    texts = [m.group(1) if m else None for m in parsed]
    decimals = _decimals(texts)
    shares = _as_shares([_number(s, lang) for s in texts], decimals)
    return [TypedColumn(name, "pct", shares, decimals)]


def _pct_range(name: str, parsed: list, lang: str) -> list[TypedColumn]:
    bounds = []
    for group, key in ((1, "dash_download_low"), (2, "dash_download_high")):
        texts = [m.group(group) if m else None for m in parsed]
        decimals = _decimals(texts)
        shares = _as_shares([_number(s, lang) for s in texts], decimals)
        bounds.append(TypedColumn(f"{name}, {t(key, lang)}", "pct", shares, decimals))
    return bounds


def _signed(name: str, parsed: list, lang: str) -> list[TypedColumn]:
    def part(group: int) -> list[str | None]:
        return [m.group(group) if m else None for m in parsed]

    value = part(1)
    columns = [
        TypedColumn(name, "signed", tuple(_number(s, lang) for s in value), _decimals(value))
    ]
    for group, key in ((2, "dash_download_low"), (3, "dash_download_high")):
        texts = part(group)
        if any(texts):
            bound = _whole([_number(s, lang) for s in texts], _decimals(texts))
            columns.append(
                TypedColumn(f"{name}, {t(key, lang)}", "signed", bound, _decimals(texts))
            )
    words = [w.strip("()") if w else None for w in part(4)]
    if any(words):
        columns.append(
            TypedColumn(f"{name}, {t('dash_download_words', lang)}", "text", tuple(words))
        )
    return columns


def file_name(text: str, fallback: str = "tabell") -> str:
    """``text`` as a file name: å, ä, ö and other letters kept; path separators, characters
    Windows or macOS refuse and control characters replaced by ``_``; spaces as ``_``; never
    empty, never a name Windows reserves (``CON``, ``NUL`` ...), at most 120 characters.

    >>> file_name("Förslaget och områdesteamets val"), file_name("../a\\\\b:c*?")
    ('Förslaget_och_områdesteamets_val', 'a_b_c')
    >>> file_name("CON"), file_name("..")
    ('_CON', 'tabell')
    """
    name = unicodedata.normalize("NFC", text)
    name = re.sub(r"\s+", "_", _UNSAFE_IN_NAME.sub("_", name))
    name = re.sub(r"_+", "_", name).strip("._ ")[:120].rstrip("._ ")
    if not name:
        return fallback
    return f"_{name}" if _WINDOWS_RESERVED.match(name) else name


def download_links(
    tables: Mapping[str, DisplayTable], *, basename: str, lang: str | None = None
) -> str:
    """HTML links that download the shown tables: one Excel workbook, then one CSV per table in
    the page language's convention (``<name>.csv``) and one in the other convention
    (``<name>_international.csv`` on a Swedish page, ``<name>_svensk.csv`` on an English one)."""
    lang = check_language(lang)
    name = file_name(basename)
    several = len(tables) > 1
    links = [_data_link(excel_bytes(tables, lang), EXCEL_MIME, f"{name}.xlsx", "Excel")]
    for style in sorted(CSV_STYLES, key=lambda s: s != lang):  # the page's convention first
        for key, table in tables.items():
            target = f"{name}_{file_name(key)}" if several else name
            suffix = "" if style == lang else CSV_SUFFIX[style]
            label = t(f"dash_download_csv_{style}", lang) + (f" ({key})" if several else "")
            links.append(
                _data_link(
                    csv_bytes(table, lang, style=style), "text/csv;charset=utf-8",
                    f"{target}{suffix}.csv", label,
                )
            )  # fmt: skip
    return (
        f'<div class="ctc-downloads">{escape(t("dash_download", lang))} {" · ".join(links)}</div>'
    )


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


def csv_bytes(table: DisplayTable, lang: str, *, style: str | None = None) -> bytes:
    """The table with its footnotes as CSV, numbers as numbers (UTF-8 with BOM).

    ``style`` ``"sv"``: ``;`` and decimal comma; ``"en"``: ``,`` and decimal point (default:
    the style of ``lang``). Percentages are written in percent (47 for 47 %) in a column whose
    name ends in ``(%)``.
    """
    lang = check_language(lang)
    separator, mark = CSV_STYLES[style or lang]
    columns = typed_columns(table, lang)
    names = [guard_formula(f"{c.name} (%)" if c.kind == "pct" else c.name) for c in columns]
    rows = zip(*(_csv_cells(c, mark) for c in columns), strict=True) if columns else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
    for note in table.footnotes:
        writer.writerow([guard_formula(note), *[""] * (len(columns) - 1)])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cells(column: TypedColumn, mark: str) -> list[str]:
    if column.kind == "text":
        return ["" if v is None else guard_formula(str(v)) for v in column.values]
    shift, decimals = (100, column.decimals) if column.kind == "pct" else (1, column.decimals)
    return [
        "" if v is None else f"{v * shift:.{decimals}f}".replace(".", mark) for v in column.values
    ]


def excel_bytes(tables: Mapping[str, DisplayTable], lang: str | None = None) -> bytes:
    """One worksheet per table, its footnotes under it: numbers stored as numbers with a number
    format (percent cells ``0%``, counts ``0``, percentage points ``+0;-0;0``), text as text,
    hidden cells empty."""
    lang = check_language(lang)
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for key, table in tables.items():
        sheet = re.sub(r"[\[\]:*?/\\]", " ", key)[:31] or "Tabell"
        sheet = sheet if sheet not in used else f"{sheet[:28]} {len(used)}"
        used.add(sheet)
        _write_sheet(book.create_sheet(sheet), typed_columns(table, lang), table.footnotes)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write_sheet(sheet, columns: list[TypedColumn], footnotes: tuple[str, ...]) -> None:
    for col, column in enumerate(columns, start=1):
        sheet.cell(row=1, column=col, value=column.name).data_type = "s"
        for row, value in enumerate(column.values, start=2):
            if value is None or value == "":
                continue
            cell = sheet.cell(row=row, column=col, value=value)
            if column.kind == "text":
                cell.data_type = "s"  # "=..." stays text, never a formula
            else:
                cell.number_format = _excel_format(column)
    below = 2 + (len(columns[0].values) if columns else 0)
    for offset, note in enumerate(footnotes):
        sheet.cell(row=below + offset, column=1, value=note).data_type = "s"


def _excel_format(column: TypedColumn) -> str:
    decimals = "." + "0" * column.decimals if column.decimals else ""
    if column.kind == "pct":
        return f"0{decimals}%"
    if column.kind == "signed":
        return f"+0{decimals};-0{decimals};0{decimals}"
    return f"0{decimals}"


def _data_link(content: bytes, mime: str, filename: str, text: str) -> str:
    encoded = base64.b64encode(content).decode("ascii")
    return (
        f'<a download="{escape(filename)}" href="data:{mime};base64,{encoded}"'
        f' class="ctc-download">{escape(text)}</a>'
    )
