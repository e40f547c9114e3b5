"""Reading one survey file as it is written: CSV, Excel, SPSS or Parquet; nothing is converted.

:func:`read_table` checks the file (exists, not empty, content matching its extension), refuses
more columns than the column limit (:func:`ctc_helpers.ingest.columns.column_limit`) and returns
the table with the row numbers the user sees. Delimited text files are read by
:mod:`ctc_helpers.ingest.delimited`; Excel, SPSS and Parquet here. Raw files are only ever
opened for reading.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as folder:
...     path = Path(folder) / "enkät.csv"
...     _ = path.write_text("respondent_id;grade\\na1;åk 7\\na2;åk 8\\n", encoding="utf-8")
...     frame, info = read_table(path, lang="en")
>>> frame.to_dict("index")
{2: {'respondent_id': 'a1', 'grade': 'åk 7'}, 3: {'respondent_id': 'a2', 'grade': 'åk 8'}}
>>> info["format"], info["delimiter"], info["encoding"]
('csv', ';', 'utf-8')
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.ingest.columns import (
    check_column_count,
    check_column_names,
    column_limit,
    drop_unnamed_empty,
    frame_from_arrow,
)
from ctc_helpers.ingest.delimited import read_delimited
from ctc_helpers.ingest.values import UNNAMED_PREFIX, display_value, has_value, quoted

__all__ = ["SUPPORTED_FORMATS", "read_table", "spss_missing_codes"]

SUPPORTED_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".sav": "spss",
    ".zsav": "spss",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# Leading bytes of formats people save under the wrong name: (signature, format, extension).
_SIGNATURES = (
    (b"PK\x03\x04", "Excel (.xlsx)", ".xlsx"),
    (b"PAR1", "Parquet", ".parquet"),
    (b"$FL2", "SPSS", ".sav"),
    (b"$FL3", "SPSS", ".zsav"),
    (b"\xd0\xcf\x11\xe0", "Excel 97-2003 (.xls)", ".xlsx"),
    (b"%PDF", "PDF", ""),
)


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    lang: str | None = None,
    max_columns: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read one survey file exactly as it is written; nothing is converted or checked.

    CSV (comma, semicolon or tab, sniffed; UTF-8 with or without BOM, UTF-16 with BOM, else
    Windows-1252 or Latin-1) is read as text, every column (Arrow-backed strings). Excel ``.xlsx``
    (the first sheet or ``sheet``), SPSS ``.sav`` (codes; user-missing codes become missing; value
    labels in the info) and Parquet keep the types of the file. The index is the row number as
    the user sees it (CSV and Excel: the header is row 1; SPSS and Parquet: cases from 1); blank
    rows are skipped.

    Parameters
    ----------
    path : str or Path
        The file.
    sheet : str, optional
        Excel sheet to read (default: the first).
    lang : {"sv", "en"}, optional
        Language of the errors (default: ``CTC_LANG`` or Swedish).
    max_columns : int, optional
        Most columns the file may have. Default: the environment variable ``CTC_MAX_COLUMNS``,
        else 2,000. A CSV file's header is counted before any data is parsed, a Parquet or SPSS
        file's from its metadata, an Excel sheet's before the table is built.

    Returns
    -------
    (frame, info)
        ``info`` holds ``file, path, format`` and, as they apply, ``encoding, delimiter, sheet,
        sheets, value_labels, missing_ranges, blank_rows, unnamed_empty_columns`` and
        ``malformed_rows`` (CSV rows with the wrong number of values: dicts ``row, text, values,
        expected``; they are not in the frame).

    Raises
    ------
    InputFileError
        The file does not exist, is empty, has column names but no rows, is not a table, cannot
        be read or is damaged, has an unsupported extension, has more columns than the limit,
        repeats a column name, or the named sheet does not exist (the message lists the sheets).
    ConfigError
        ``max_columns`` or ``CTC_MAX_COLUMNS`` is not a whole number of at least 1.
    """
    path, lang = Path(path), check_language(lang)
    limit = column_limit(max_columns, lang=lang)
    _check_file(path, lang)
    kind = SUPPORTED_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputFileError(_unsupported_message(path, lang))
    _check_signature(path, kind, lang)
    frame, info = _READERS[kind](path, sheet=sheet, lang=lang, limit=limit)
    info = {"file": path.name, "path": str(path), "format": kind, **info}
    _check_shape(frame, info, lang)
    return frame, info


def spss_missing_codes(info: dict) -> dict[str, list[float]]:
    """SPSS user-missing codes per column (single values and integer ranges) from the ``info``
    of :func:`read_table` (empty for other formats)."""
    codes = {}
    for column, ranges in (info.get("missing_ranges") or {}).items():
        values = []
        for entry in ranges:
            low, high = entry.get("lo"), entry.get("hi")
            if isinstance(low, int | float) and isinstance(high, int | float) and high - low < 1000:
                values += list(np.arange(low, high + 1))
        codes[column] = values
    return codes


# Checks of the file -------------------------------------------------------------------------


def _check_file(path: Path, lang: str) -> None:
    if not path.exists():
        raise InputFileError(t("ingest_file_missing", lang, file=str(path)))
    if not path.is_file():
        raise InputFileError(t("ingest_not_a_file", lang, file=str(path)))
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise InputFileError(
            t("ingest_unreadable", lang, file=path.name, detail=exc.strerror)
        ) from None
    if size == 0:
        raise InputFileError(t("ingest_empty", lang, file=path.name))


def _unsupported_message(path: Path, lang: str) -> str:
    allowed = ", ".join(sorted(SUPPORTED_FORMATS))
    key = "ingest_old_excel" if path.suffix.lower() == ".xls" else "ingest_unsupported"
    return t(key, lang, file=path.name, ext=path.suffix or "''", allowed=allowed)


def _check_signature(path: Path, kind: str, lang: str) -> None:
    """A file whose content is another known format than its name says."""
    with path.open("rb") as handle:
        head = handle.read(8)
    for signature, name, extension in _SIGNATURES:
        if head.startswith(signature) and SUPPORTED_FORMATS.get(extension) != kind:
            raise InputFileError(
                t(
                    "ingest_wrong_format",
                    lang,
                    file=path.name,
                    ext=path.suffix,
                    format=name,
                    suggested=extension or "?",
                )
            )


def _check_shape(frame: pd.DataFrame, info: dict, lang: str) -> None:
    names = [str(c) for c in frame.columns]
    check_column_names(names, info["file"], lang)
    if len(frame) == 0 and not info.get("malformed_rows"):
        raise InputFileError(
            t("ingest_header_only", lang, file=info["file"], columns=quoted(names[:12]))
        )


def _damaged(path: Path, kind: str, exc: Exception, lang: str) -> str:
    detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return t("ingest_damaged", lang, file=path.name, format=kind, detail=detail)


# CSV ----------------------------------------------------------------------------------------


def _read_csv(path: Path, *, sheet: str | None, lang: str, limit: int) -> tuple[pd.DataFrame, dict]:
    return read_delimited(path, lang=lang, limit=limit)


# Excel --------------------------------------------------------------------------------------

# What openpyxl raises on a damaged workbook (a bad zip, missing parts, broken XML), besides
# its own InvalidFileException.
_EXCEL_ERRORS = (
    zipfile.BadZipFile,
    KeyError,
    OSError,
    ValueError,
    TypeError,
    IndexError,
    SyntaxError,  # xml.etree.ElementTree.ParseError
    EOFError,
)


def _read_excel(
    path: Path, *, sheet: str | None, lang: str, limit: int
) -> tuple[pd.DataFrame, dict]:
    # openpyxl: 0.06 s to import (measured with pandas and pyarrow loaded); only Excel needs it
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    errors = (InvalidFileException, *_EXCEL_ERRORS)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except errors as exc:
        raise InputFileError(_damaged(path, "Excel", exc, lang)) from None
    try:
        sheets = list(book.sheetnames)
        if sheet is not None and sheet not in sheets:
            raise InputFileError(
                t("ingest_no_sheet", lang, file=path.name, sheet=sheet, sheets=quoted(sheets))
            )
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        rows = list(worksheet.iter_rows(min_row=1, min_col=1, values_only=True))
    except errors as exc:
        raise InputFileError(_damaged(path, "Excel", exc, lang)) from None
    finally:
        book.close()
    frame = _sheet_frame(rows, path, lang, limit)
    blank = (frame.index[-1] - frame.index[0] + 1 - len(frame)) if len(frame) else 0
    return frame, {"sheet": worksheet.title, "sheets": sheets, "blank_rows": int(blank)}


def _sheet_frame(rows: list[tuple], path: Path, lang: str, limit: int) -> pd.DataFrame:
    filled = [i for i, row in enumerate(rows) if any(has_value(v) for v in row)]
    if not filled:
        raise InputFileError(t("ingest_empty", lang, file=path.name))
    header_at = filled[0]
    header = [display_value(v) for v in rows[header_at]]
    width = (
        max(i + 1 for i, v in enumerate(header) if v.strip())
        if any(v.strip() for v in header)
        else 0
    )
    body = [i for i in filled if i > header_at]
    width = max([width, *(_row_width(rows[i]) for i in body)])
    check_column_count(width, file=path.name, limit=limit, lang=lang)
    names = [
        header[i] if i < len(header) and header[i].strip() else f"{UNNAMED_PREFIX}{i}"
        for i in range(width)
    ]
    check_column_names(names, path.name, lang)
    values = [list(rows[i][:width]) + [None] * (width - len(rows[i][:width])) for i in body]
    frame = pd.DataFrame(values, columns=names, index=pd.Index([i + 1 for i in body]), dtype=object)
    unnamed = [n for i, n in enumerate(names) if not (i < len(header) and header[i].strip())]
    return drop_unnamed_empty(frame, unnamed)[0]


def _row_width(row: tuple) -> int:
    return max((i + 1 for i, v in enumerate(row) if has_value(v)), default=0)


# SPSS and Parquet ---------------------------------------------------------------------------


def _read_spss(
    path: Path, *, sheet: str | None, lang: str, limit: int
) -> tuple[pd.DataFrame, dict]:
    # pyreadstat: 0.03 s to import (measured with pandas and pyarrow loaded); only SPSS needs it
    import pyreadstat

    errors = (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError, ValueError)
    try:
        _, declared = pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True)
    except errors as exc:
        raise InputFileError(_damaged(path, "SPSS", exc, lang)) from None
    check_column_count(len(declared.column_names), file=path.name, limit=limit, lang=lang)
    try:
        frame, meta = pyreadstat.read_sav(str(path), user_missing=False)
    except errors as exc:
        raise InputFileError(_damaged(path, "SPSS", exc, lang)) from None
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    info = {
        "value_labels": dict(meta.variable_value_labels),
        "missing_ranges": {k: list(v) for k, v in declared.missing_ranges.items() if v},
    }
    return frame, info


def _read_parquet(
    path: Path, *, sheet: str | None, lang: str, limit: int
) -> tuple[pd.DataFrame, dict]:
    """Parquet columns stay Arrow-backed (zero copy), categorical ones become categoricals."""
    try:
        names = pq.read_schema(path).names
        index_columns = [n for n in names if n.startswith("__index_level_")]
        check_column_count(len(names) - len(index_columns), file=path.name, limit=limit, lang=lang)
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputFileError(_damaged(path, "Parquet", exc, lang)) from None
    frame = frame_from_arrow(table.drop_columns(index_columns))
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame, {}


_READERS: dict[str, Callable[..., tuple[pd.DataFrame, dict]]] = {
    "csv": _read_csv,
    "excel": _read_excel,
    "spss": _read_spss,
    "parquet": _read_parquet,
}
