"""Reading survey files and ingesting them into the compact ``respondents`` table.

``read_table`` reads one file as it is (CSV, Excel, SPSS, Parquet); ``load_survey`` validates one
or more files against ``data_schema/`` (see :mod:`ctc_helpers.ingest.validate`) and returns the kept
rows, a quarantine of rejected rows with the reason for each, and an ingest report;
``write_ingest`` stores them. Raw files are only ever opened for reading.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from ctc_helpers.paths import REPO_ROOT
>>> mini = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
>>> areas = pd.DataFrame({"area_id": ["norr"], "name": ["Norr"], "municipality": ["Exempelstad"]})
>>> with tempfile.TemporaryDirectory() as folder:
...     survey = Path(folder) / "enkät.csv"
...     _ = survey.write_text(
...         "respondent_id;wave;area;grade;sex;fa_conf_1\\n"
...         "a1;2025;Norr;åk 7;flicka;2\\n"
...         "a2;2025;Norr;åk 13;pojke;3\\n", encoding="utf-8")
...     result = load_survey(survey, instrument=mini, areas=areas, lang="en")
>>> result.report["rows_read"], result.report["rows_kept"], result.report["rows_quarantined"]
(2, 1, 1)
>>> print(*result.quarantine.loc[0, ["row", "column", "value", "rule"]], sep=" | ")
3 | grade | åk 13 | unknown_grade
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ctc_helpers.config.instrument import (
    Instrument,
    RespondentSchema,
    load_areas,
    load_instrument,
    load_respondent_schema,
)
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import check_language, t
from ctc_helpers.ingest.validate import (
    UNNAMED_PREFIX,
    TableRules,
    apply_value_labels,
    build_rules,
    build_schema_from_rules,
    check_columns,
    describe_problems,
    display_column,
    display_value,
    find_problems,
    parse_table,
    release_markers,
)
from ctc_helpers.paths import REPO_ROOT, SAMPLE_DIR

__all__ = [
    "SUPPORTED_FORMATS",
    "IngestResult",
    "read_table",
    "load_survey",
    "write_ingest",
    "format_report",
    "command_validate",
    "command_ingest",
    "DEFAULT_AREAS",
    "DEFAULT_INGEST_DIR",
]

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
DEFAULT_AREAS = SAMPLE_DIR / "areas.csv"
DEFAULT_INGEST_DIR = REPO_ROOT / ".ctc" / "ingested"
QUARANTINE_COLUMNS = ("source_file", "row", "column", "value", "rule", "reason")
_FORMAT_NAMES = {"csv": "CSV", "excel": "Excel", "spss": "SPSS", "parquet": "Parquet"}
# Leading bytes of formats people save under the wrong name: (signature, format, extension).
_SIGNATURES = (
    (b"PK\x03\x04", "Excel (.xlsx)", ".xlsx"),
    (b"PAR1", "Parquet", ".parquet"),
    (b"$FL2", "SPSS", ".sav"),
    (b"$FL3", "SPSS", ".zsav"),
    (b"\xd0\xcf\x11\xe0", "Excel 97-2003 (.xls)", ".xlsx"),
    (b"%PDF", "PDF", ""),
)

if TYPE_CHECKING:
    from pandera.pandas import DataFrameSchema
_HEAD_BYTES = 1 << 16
_BLOCK_BYTES = 1 << 24
_DELIMITERS = (";", ",", "\t")
_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])  # not in text tables


@dataclass(frozen=True)
class IngestResult:
    """What :func:`load_survey` returns.

    Attributes
    ----------
    data : pandas.DataFrame
        The kept rows as the compact ``respondents`` table (``docs/ARCHITECTURE.md``):
        ``respondent_id`` (string), ``wave`` (int16), ``area`` (category of area ids),
        ``school`` (category), ``grade`` (ordered category), ``sex`` (category), ``weight``
        (float, only when the files have it), then one ``Int8`` column per item of the
        instrument (missing answer = <NA>).
    quarantine : pandas.DataFrame
        One row per rejected value: ``source_file, row`` (row number as seen in the file: the
        header is row 1; SPSS and Parquet count cases from 1), ``column, value`` (as written in
        the file), ``rule`` (id), ``reason`` (in the chosen language), then the original values of
        that row, one column each (named as in the file; ``original_<name>`` on a clash).
    report : dict
        ``rows_read``, ``rows_kept``, ``rows_quarantined``, ``quarantined_by_rule`` (rows per rule
        id), ``files`` (the same per file plus format, encoding, delimiter, sheet,
        ``problems_by_column`` and ``warnings``), ``warnings``, ``instrument``, ``area_list``,
        ``language``. Always ``rows_read == rows_kept + rows_quarantined``.
    """

    data: pd.DataFrame
    quarantine: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """True when no row was quarantined."""
        return self.report.get("rows_quarantined", 0) == 0


# --------------------------------------------------------------------------------------------
# Reading one file


def read_table(
    path: str | Path, *, sheet: str | None = None, lang: str | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read one survey file exactly as it is written; nothing is converted or checked.

    CSV (comma, semicolon or tab, sniffed; UTF-8 with or without BOM, UTF-16 with BOM, else
    Windows-1252 or Latin-1) is read as text, every column (Arrow-backed strings). Excel ``.xlsx``
    (the first sheet or ``sheet``), SPSS ``.sav`` (codes; user-missing codes become missing; value
    labels in the info) and Parquet keep the types of the file. The index is the row number as
    the user sees it (CSV and Excel: the header is row 1; SPSS and Parquet: cases from 1); blank
    rows are skipped.

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
        be read or is damaged, has an unsupported extension, repeats a column name, or the named
        sheet does not exist (the message lists the sheets).
    """
    path, lang = Path(path), check_language(lang)
    _check_file(path, lang)
    kind = SUPPORTED_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputFileError(_unsupported_message(path, lang))
    _check_signature(path, kind, lang)
    frame, info = _READERS[kind](path, sheet=sheet, lang=lang)
    info = {"file": path.name, "path": str(path), "format": kind, **info}
    _check_shape(frame, info, lang)
    return frame, info


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
        if head.startswith(signature) and not _signature_fits(kind, extension):
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


def _signature_fits(kind: str, extension: str) -> bool:
    return SUPPORTED_FORMATS.get(extension) == kind


def _check_shape(frame: pd.DataFrame, info: dict, lang: str) -> None:
    _check_names([str(c) for c in frame.columns], info["file"], lang)
    if len(frame) == 0 and not info.get("malformed_rows"):
        names = [str(c) for c in frame.columns]
        raise InputFileError(
            t("ingest_header_only", lang, file=info["file"], columns=_quoted(names[:12]))
        )


def _check_names(names: list[str], file: str, lang: str) -> None:
    """Each column name once: a repeated name makes the table ambiguous."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        name = repeated[0]
        positions = ", ".join(str(i + 1) for i, n in enumerate(names) if n == name)
        raise InputFileError(
            t("ingest_duplicate_columns", lang, file=file, column=name, positions=positions)
        )


# CSV ----------------------------------------------------------------------------------------


def _read_csv(path: Path, *, sheet: str | None, lang: str) -> tuple[pd.DataFrame, dict]:
    head = _read_head(path)
    encoding = _head_encoding(head)
    if encoding is None:
        raise InputFileError(t("ingest_binary", lang, file=path.name))
    delimiter, header = _sniff(head, encoding, path, lang)
    names, unnamed = _column_names(header)
    _check_names(names, path.name, lang)
    table, malformed, encoding_used = _decode_csv(path, names, delimiter, encoding, lang)
    frame, blank = _csv_frame(table, malformed)
    frame, dropped = _drop_unnamed_empty(frame, unnamed)
    _check_ragged(path, len(frame) + blank, malformed, len(names), lang)
    info = {
        "encoding": encoding_used,
        "delimiter": delimiter,
        "blank_rows": blank,
        "unnamed_empty_columns": dropped,
        "malformed_rows": malformed,
    }
    return frame, info


def _decode_csv(
    path: Path, names: list[str], delimiter: str, encoding: str, lang: str
) -> tuple[pa.Table, list[dict], str]:
    """Read with the first plausible encoding; on a decoding error try the next one."""
    problem = ""
    for candidate in _encodings_from(encoding):
        try:
            table, malformed = _arrow_csv(path, names, delimiter, candidate)
        except (pa.ArrowException, UnicodeError, OSError) as exc:
            problem = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            if not _is_encoding_error(exc):
                break
        else:
            return table, malformed, candidate
    raise InputFileError(t("ingest_unreadable", lang, file=path.name, detail=problem))


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_HEAD_BYTES)


def _head_encoding(head: bytes) -> str | None:
    """The encoding to try first, from the first bytes; None for binary content."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    controls = len(head) - len(head.translate(None, delete=_CONTROL_BYTES))
    if b"\0" in head or controls > len(head) // 100:
        return None
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "cp1252"
    return "utf-8"


def _encodings_from(first: str) -> tuple[str, ...]:
    """Encodings to try in order: the one the first bytes suggest, then the Windows fallbacks."""
    if first == "utf-16":
        return (first,)
    return (first, *(e for e in ("cp1252", "latin-1") if e != first))


def _is_encoding_error(exc: Exception) -> bool:
    return isinstance(exc, UnicodeError) or "UTF8" in str(exc)


def _sniff(head: bytes, encoding: str, path: Path, lang: str) -> tuple[str, list[str]]:
    """The delimiter and the header names, from the first records of the file."""
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if len(head) == _HEAD_BYTES:  # drop the last (maybe cut) line of the sample
        text = text[: text.rfind("\n") + 1] or text
    if not text.strip():
        raise InputFileError(t("ingest_empty", lang, file=path.name))
    try:
        best = max(_DELIMITERS, key=lambda d: _typical_width(text, d))
        records = _records(text, best)
    except csv.Error as exc:
        raise InputFileError(t("ingest_not_a_table", lang, file=path.name, detail=exc)) from None
    if _typical_width(text, best) < 2:
        first = text.strip().splitlines()[0][:80]
        raise InputFileError(t("ingest_single_column", lang, file=path.name, first_line=first))
    if len(records[0]) < 2:
        row = next(i + 1 for i, r in enumerate(records) if len(r) >= 2)
        raise InputFileError(t("ingest_title_row", lang, file=path.name, row=row))
    return best, records[0]


def _records(text: str, delimiter: str) -> list[list[str]]:
    """The first 20 non-empty records of a CSV sample."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [r for r in itertools.islice(reader, 40) if r][:20]


def _typical_width(text: str, delimiter: str) -> int:
    """The most common number of fields among the first records (0 for no records)."""
    widths = [len(r) for r in _records(text, delimiter)]
    return max(set(widths), key=widths.count) if widths else 0


def _column_names(header: list[str]) -> tuple[list[str], list[str]]:
    names, unnamed = [], []
    for i, name in enumerate(header):
        if name.strip():
            names.append(name)
        else:
            names.append(f"{UNNAMED_PREFIX}{i}")
            unnamed.append(names[-1])
    return names, unnamed


def _arrow_csv(
    path: Path, names: list[str], delimiter: str, encoding: str
) -> tuple[pa.Table, list[dict]]:
    """Every column as text; rows with the wrong number of values are set aside with their line."""
    malformed: list[dict] = []

    def keep_aside(row) -> str:
        malformed.append(
            {
                "row": row.number,
                "text": row.text,
                "values": row.actual_columns,
                "expected": row.expected_columns,
            }
        )
        return "skip"

    def read(threads: bool) -> pa.Table:
        malformed.clear()
        return pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(
                use_threads=threads,
                block_size=_BLOCK_BYTES,
                column_names=names,
                skip_rows=1,
                encoding="utf8" if encoding.startswith("utf-8") else encoding,
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=keep_aside,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    table = read(threads=True)
    if malformed:  # line numbers are only known when reading in one thread
        table = read(threads=False)
    return table, list(malformed)


def _csv_frame(table: pa.Table, malformed: list[dict]) -> tuple[pd.DataFrame, int]:
    """The Arrow table as a frame indexed by row number, without blank rows."""
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    rows = np.arange(2, len(frame) + len(malformed) + 2)
    if malformed:
        rows = rows[~np.isin(rows, [m["row"] for m in malformed])]
        if len(rows) != len(frame):  # values spanning lines: fall back to record numbers
            rows = np.arange(2, len(frame) + 2)
    frame.index = pd.Index(rows) if malformed else pd.RangeIndex(2, len(frame) + 2)
    blank = _blank_rows(frame)
    if blank is not None:
        frame = frame[~blank]
    return frame, 0 if blank is None else int(blank.sum())


def _blank_rows(frame: pd.DataFrame) -> np.ndarray | None:
    """Rows in which every value is empty; None when there are none (one column decides that
    for a clean file)."""
    candidates = np.arange(len(frame))
    for name in frame.columns:
        column = frame[name] if len(candidates) == len(frame) else frame[name].iloc[candidates]
        candidates = candidates[_empty_mask(column)]
        if not len(candidates):
            return None
    blank = np.zeros(len(frame), dtype=bool)
    blank[candidates] = True
    return blank


def _empty_mask(values: pd.Series) -> np.ndarray:
    if isinstance(values.dtype, pd.ArrowDtype) and pa.types.is_string(values.dtype.pyarrow_dtype):
        array = values.array.__arrow_array__()
        empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(array), ""), True)
        return np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
    return np.fromiter((not _has_value(v) for v in values), dtype=bool, count=len(values))


def _drop_unnamed_empty(frame: pd.DataFrame, unnamed: Sequence[str]) -> tuple[pd.DataFrame, int]:
    empty = [name for name in unnamed if name in frame and _empty_mask(frame[name]).all()]
    return (frame.drop(columns=empty) if empty else frame), len(empty)


def _check_ragged(path: Path, rows: int, malformed: list[dict], width: int, lang: str) -> None:
    """Mostly rows of another width than the header: prose or another file, not a table."""
    if len(malformed) * 2 > rows + len(malformed):
        raise InputFileError(
            t(
                "ingest_ragged",
                lang,
                file=path.name,
                bad=len(malformed),
                total=rows + len(malformed),
                expected=width,
            )
        )


# Excel --------------------------------------------------------------------------------------


def _read_excel(path: Path, *, sheet: str | None, lang: str) -> tuple[pd.DataFrame, dict]:
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
                t("ingest_no_sheet", lang, file=path.name, sheet=sheet, sheets=_quoted(sheets))
            )
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        rows = list(worksheet.iter_rows(min_row=1, min_col=1, values_only=True))
    except errors as exc:
        raise InputFileError(_damaged(path, "Excel", exc, lang)) from None
    finally:
        book.close()
    frame = _sheet_frame(rows, path, lang)
    blank = (frame.index[-1] - frame.index[0] + 1 - len(frame)) if len(frame) else 0
    return frame, {"sheet": worksheet.title, "sheets": sheets, "blank_rows": int(blank)}


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


def _sheet_frame(rows: list[tuple], path: Path, lang: str) -> pd.DataFrame:
    filled = [i for i, row in enumerate(rows) if any(_has_value(v) for v in row)]
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
    names = [
        header[i] if i < len(header) and header[i].strip() else f"{UNNAMED_PREFIX}{i}"
        for i in range(width)
    ]
    _check_names(names, path.name, lang)
    values = [list(rows[i][:width]) + [None] * (width - len(rows[i][:width])) for i in body]
    frame = pd.DataFrame(values, columns=names, index=pd.Index([i + 1 for i in body]), dtype=object)
    unnamed = [n for i, n in enumerate(names) if not (i < len(header) and header[i].strip())]
    return _drop_unnamed_empty(frame, unnamed)[0]


def _has_value(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _row_width(row: tuple) -> int:
    return max((i + 1 for i, v in enumerate(row) if _has_value(v)), default=0)


# SPSS and Parquet ---------------------------------------------------------------------------


def _read_spss(path: Path, *, sheet: str | None, lang: str) -> tuple[pd.DataFrame, dict]:
    import pyreadstat  # imported here, like openpyxl and pandera: only some files need them

    try:
        frame, meta = pyreadstat.read_sav(str(path), user_missing=False)
        _, declared = pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError, ValueError) as exc:
        raise InputFileError(_damaged(path, "SPSS", exc, lang)) from None
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    info = {
        "value_labels": dict(meta.variable_value_labels),
        "missing_ranges": {k: list(v) for k, v in declared.missing_ranges.items() if v},
    }
    return frame, info


def _missing_codes(info: dict) -> dict[str, list[float]]:
    """SPSS user-missing codes per column (single values and integer ranges)."""
    codes = {}
    for column, ranges in (info.get("missing_ranges") or {}).items():
        values = []
        for entry in ranges:
            low, high = entry.get("lo"), entry.get("hi")
            if isinstance(low, int | float) and isinstance(high, int | float) and high - low < 1000:
                values += list(np.arange(low, high + 1))
        codes[column] = values
    return codes


def _read_parquet(path: Path, *, sheet: str | None, lang: str) -> tuple[pd.DataFrame, dict]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputFileError(_damaged(path, "Parquet", exc, lang)) from None
    index_columns = [n for n in table.column_names if n.startswith("__index_level_")]
    frame = table.drop_columns(index_columns).to_pandas(
        types_mapper=_arrow_dtype, ignore_metadata=True
    )
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame, {}


def _arrow_dtype(arrow_type: pa.DataType) -> pd.ArrowDtype | None:
    """Keep Parquet columns Arrow-backed (zero copy), except categorical ones."""
    return None if pa.types.is_dictionary(arrow_type) else pd.ArrowDtype(arrow_type)


def _damaged(path: Path, kind: str, exc: Exception, lang: str) -> str:
    detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return t("ingest_damaged", lang, file=path.name, format=kind, detail=detail)


_READERS: dict[str, Callable[..., tuple[pd.DataFrame, dict]]] = {
    "csv": _read_csv,
    "excel": _read_excel,
    "spss": _read_spss,
    "parquet": _read_parquet,
}


# --------------------------------------------------------------------------------------------
# Ingestion


@dataclass
class _FileResult:
    label: str
    data: pd.DataFrame
    rows: np.ndarray  # row numbers of the kept rows (for messages across files)
    quarantine: pd.DataFrame
    report: dict[str, Any]


def load_survey(
    paths: str | Path | Iterable[str | Path],
    *,
    instrument: Instrument | None = None,
    areas: str | Path | pd.DataFrame | None = None,
    respondent_schema: RespondentSchema | None = None,
    sheet: str | None = None,
    lang: str | None = None,
) -> IngestResult:
    """Read, validate and combine survey files (for example one per wave).

    Parameters
    ----------
    paths : path or list of paths
        CSV, Excel, SPSS or Parquet files (see :func:`read_table`).
    instrument : Instrument, optional
        Default: ``data_schema/instrument.yaml``.
    areas : path or DataFrame, optional
        The area list (``area_id, name, municipality``). Default: ``data/sample/areas.csv``.
    respondent_schema : RespondentSchema, optional
        Default: ``data_schema/respondents.yaml``.
    sheet : str, optional
        Excel sheet to read (default: the first).
    lang : {"sv", "en"}, optional
        Language of reasons, warnings and errors (default: ``CTC_LANG`` or Swedish).

    Returns
    -------
    IngestResult
        ``data`` (kept rows, compact types), ``quarantine`` (rejected values with reasons and the
        original rows) and ``report``; see :class:`IngestResult` for the columns.

    Raises
    ------
    InputFileError
        File-level problems: unreadable, empty or not a table, required columns missing, a
        column of the wrong kind entirely, duplicate respondent ids (within or across files),
        a missing Excel sheet, a missing area list. The message names the file, column, rows and
        values involved.
    """
    lang = check_language(lang)
    paths = _as_paths(paths, lang)
    instrument = instrument if instrument is not None else load_instrument()
    table_schema = respondent_schema if respondent_schema is not None else load_respondent_schema()
    area_frame, area_source = _resolve_areas(areas, lang)
    rules = build_rules(instrument, table_schema, area_frame, area_source=area_source)
    labels = _file_labels(paths)
    schema = build_schema_from_rules(rules)
    parts = [
        _ingest_file(path, label, rules, schema, sheet=sheet, lang=lang)
        for path, label in zip(paths, labels, strict=True)
    ]
    _check_weights(parts, lang)
    data = _combine(parts, rules)
    _check_unique_ids(data, parts, rules, lang)
    quarantine = _concat_quarantine([p.quarantine for p in parts])
    return IngestResult(data, quarantine, _report(parts, instrument, area_source, lang))


def _as_paths(paths: str | Path | Iterable[str | Path], lang: str) -> list[Path]:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise InputFileError(t("ingest_no_files", lang))
    return [Path(p) for p in items]


def _file_labels(paths: list[Path]) -> list[str]:
    names = [p.name for p in paths]
    return [p.name if names.count(p.name) == 1 else str(p) for p in paths]


def _resolve_areas(areas: str | Path | pd.DataFrame | None, lang: str) -> tuple[pd.DataFrame, str]:
    if isinstance(areas, pd.DataFrame):
        missing = [c for c in ("area_id", "name") if c not in areas.columns]
        if missing:
            raise InputFileError(
                t("ingest_area_columns", lang, missing=_quoted(missing), found=_quoted(areas))
            )
        return areas, t("ingest_area_table", lang)
    path = Path(areas) if areas is not None else DEFAULT_AREAS
    if not path.is_file():
        raise InputFileError(t("ingest_no_area_list", lang, path=str(path)))
    return load_areas(path), path.name


def _ingest_file(
    path: Path,
    label: str,
    rules: TableRules,
    schema: DataFrameSchema,
    *,
    sheet: str | None,
    lang: str,
) -> _FileResult:
    """One file: read, check the header, parse, validate, split into kept and quarantined."""
    raw, info = read_table(path, sheet=sheet, lang=lang)
    absent_items = check_columns(raw.columns, rules, file=label, lang=lang, head=raw.head(10))
    prepared, relabelled, unmatched = apply_value_labels(
        raw, info.get("value_labels", {}), rules, missing_codes=_missing_codes(info)
    )
    compact, parsed = parse_table(prepared, rules, file=label, lang=lang)
    found = find_problems(compact, schema, rules, file=label, lang=lang)
    problems = _with_malformed(describe_problems(found, raw, rules, lang=lang), info, lang)
    rejected = np.isin(compact.index.to_numpy(), problems["row"].to_numpy())
    kept = release_markers(compact[~rejected] if rejected.any() else compact, rules)
    warnings = _file_warnings(
        label, raw, rules, absent_items, parsed, relabelled, unmatched, info, lang
    )
    report = _file_report(info, label, len(raw), len(kept), problems, warnings)
    return _FileResult(
        label=label,
        data=kept,
        rows=compact.index.to_numpy()[~rejected],
        quarantine=_quarantine(label, problems, raw),
        report=report,
    )


def _with_malformed(problems: pd.DataFrame, info: dict, lang: str) -> pd.DataFrame:
    rows = info.get("malformed_rows") or []
    if not rows:
        return problems
    extra = pd.DataFrame(
        {
            "row": [int(r["row"]) for r in rows],
            "column": "",
            "value": [r["text"] for r in rows],
            "rule": "malformed_row",
            "reason": [
                t("ingest_reason_malformed_row", lang, actual=r["values"], expected=r["expected"])
                for r in rows
            ],
        }
    )
    frames = [f for f in (problems, extra) if len(f)]
    return pd.concat(frames, ignore_index=True).sort_values("row", kind="stable")


def _quarantine(label: str, problems: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """The problems with the file name and the original values of each row.

    The original values are Arrow-backed text (compact even when many rows are rejected); a
    malformed CSV row, which is not in ``raw``, gets empty values (its text is in ``value``).
    """
    head = problems.assign(source_file=label)[list(QUARANTINE_COLUMNS)].reset_index(drop=True)
    if head.empty:
        return head
    positions = raw.index.get_indexer(head["row"])
    found = pa.array(positions >= 0)
    rows = raw.iloc[np.maximum(positions, 0)] if len(raw) else None
    originals = {}
    for name in raw.columns:
        if rows is None:
            text = pa.array([""] * len(head), type=pa.string())
        else:
            text = pc.if_else(found, display_column(rows[name]).__arrow_array__(), "")
        key = f"original_{name}" if name in QUARANTINE_COLUMNS else str(name)
        originals[key] = pd.arrays.ArrowExtensionArray(text)
    return pd.concat([head, pd.DataFrame(originals)], axis=1)


def _concat_quarantine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in QUARANTINE_COLUMNS})
    return pd.concat(frames, ignore_index=True).fillna("")


def _check_weights(parts: list[_FileResult], lang: str) -> None:
    weighted = [p.label for p in parts if "weight" in p.data.columns]
    if weighted and len(weighted) < len(parts):
        unweighted = [p.label for p in parts if p.label not in weighted]
        raise InputFileError(
            t(
                "ingest_weight_partial",
                lang,
                with_weight=_quoted(weighted),
                without=_quoted(unweighted),
            )
        )


def _combine(parts: list[_FileResult], rules: TableRules) -> pd.DataFrame:
    frames = [p.data for p in parts]
    for name in frames[0].columns:
        if rules.columns[name].kind == "text" and len(frames) > 1:
            union = pd.api.types.union_categoricals([f[name] for f in frames]).categories
            frames = [f.assign(**{name: f[name].cat.set_categories(union)}) for f in frames]
    if len(frames) > 1:
        return pd.concat(frames, ignore_index=True)
    data = frames[0]  # built in _ingest_file for this call only: renumbering it in place is safe
    data.index = pd.RangeIndex(len(data))
    return data


def _check_unique_ids(
    data: pd.DataFrame, parts: list[_FileResult], rules: TableRules, lang: str
) -> None:
    """Respondent ids must be unique across all files (within a file pandera checks them)."""
    id_column = rules.id_column
    if id_column is None or id_column not in data or len(parts) < 2:
        return
    repeated = data[id_column].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    origin = pd.DataFrame(
        {
            "id": data[id_column].to_numpy()[repeated],
            "file": np.concatenate([[p.label] * len(p.data) for p in parts])[repeated],
            "row": np.concatenate([p.rows for p in parts])[repeated],
        }
    )
    examples = [
        t(
            "ingest_duplicate_across_example",
            lang,
            id=value,
            places=", ".join(
                f"{f} {t('ingest_row_word', lang)} {r}"
                for f, r in zip(g["file"], g["row"], strict=True)
            ),
        )
        for value, g in list(origin.groupby("id", sort=False))[:5]
    ]
    n = origin["id"].nunique()
    raise InputFileError(t("ingest_duplicate_ids_across", lang, n=n, examples="; ".join(examples)))


# Report -------------------------------------------------------------------------------------


def _file_warnings(label, raw, rules, absent_items, parsed, relabelled, unmatched, info, lang):
    warnings = []
    unknown = [str(c) for c in raw.columns if c not in rules.columns]
    if unknown:
        warnings.append(
            t(
                "ingest_warn_unknown_columns",
                lang,
                file=label,
                n=len(unknown),
                columns=_few(unknown),
            )
        )
    if absent_items:
        warnings.append(
            t(
                "ingest_warn_missing_items",
                lang,
                file=label,
                n=len(absent_items),
                total=len(rules.item_ids),
                columns=_few(absent_items),
            )
        )
    warnings += _token_warnings(label, parsed.missing_tokens, lang)
    if relabelled:
        warnings.append(
            t(
                "ingest_warn_value_labels",
                lang,
                file=label,
                n=len(relabelled),
                columns=_few(relabelled),
            )
        )
    for column, missed in unmatched.items():
        labels = ", ".join(
            f"{code:g} = '{text}'" if isinstance(code, float) else f"{code} = '{text}'"
            for code, text in missed[:4]
        )
        warnings.append(
            t("ingest_warn_unmatched_labels", lang, file=label, column=column, labels=labels)
        )
    if info.get("missing_ranges"):
        warnings.append(
            t(
                "ingest_warn_user_missing",
                lang,
                file=label,
                columns=_few(sorted(info["missing_ranges"])),
            )
        )
    if parsed.empty_optional:
        warnings.append(
            t("ingest_warn_empty_optional", lang, file=label, columns=_few(parsed.empty_optional))
        )
    if info.get("blank_rows"):
        warnings.append(t("ingest_warn_blank_rows", lang, file=label, n=info["blank_rows"]))
    if info.get("unnamed_empty_columns"):
        warnings.append(
            t("ingest_warn_empty_columns", lang, file=label, n=info["unnamed_empty_columns"])
        )
    return warnings


def _token_warnings(label: str, tokens: dict[str, dict[str, int]], lang: str) -> list[str]:
    by_token: dict[str, list] = {}
    for column, counts in tokens.items():
        for token, count in counts.items():
            by_token.setdefault(token, []).append((column, count))
    return [
        t(
            "ingest_warn_missing_tokens",
            lang,
            file=label,
            token=token,
            count=sum(c for _, c in places),
            columns=_few([c for c, _ in places]),
        )
        for token, places in by_token.items()
    ]


def _file_report(
    info: dict, label: str, n_rows: int, n_kept: int, problems: pd.DataFrame, warnings
) -> dict:
    rows_read = n_rows + len(info.get("malformed_rows") or [])
    quarantined = int(problems["row"].nunique())
    if rows_read != n_kept + quarantined:  # a lost row would be a defect, never a result
        raise RuntimeError(
            f"{label}: {rows_read} rows read, {n_kept} kept, {quarantined} set aside"
        )
    by_rule = problems.drop_duplicates(["row", "rule"])["rule"].value_counts()
    by_column = problems[problems["column"] != ""]["column"].value_counts()
    keys = ("format", "encoding", "delimiter", "sheet", "blank_rows")
    return {
        "file": label,
        "path": info["path"],
        **{k: info[k] for k in keys if k in info},
        "rows_read": rows_read,
        "rows_kept": n_kept,
        "rows_quarantined": quarantined,
        "quarantined_by_rule": {str(k): int(v) for k, v in by_rule.items()},
        "problems_by_column": {str(k): int(v) for k, v in by_column.items()},
        "warnings": warnings,
    }


def _report(parts: list[_FileResult], instrument: Instrument, area_source: str, lang: str) -> dict:
    files = [p.report for p in parts]
    by_rule: dict[str, int] = {}
    for file in files:
        for rule, n in file["quarantined_by_rule"].items():
            by_rule[rule] = by_rule.get(rule, 0) + n
    return {
        "instrument": {
            "id": instrument.id,
            "version": instrument.version,
            "checksum": instrument.checksum,
        },
        "area_list": area_source,
        "language": lang,
        "rows_read": sum(f["rows_read"] for f in files),
        "rows_kept": sum(f["rows_kept"] for f in files),
        "rows_quarantined": sum(f["rows_quarantined"] for f in files),
        "quarantined_by_rule": by_rule,
        "files": files,
        "warnings": [w for f in files for w in f["warnings"]],
    }


def format_report(
    result: IngestResult, *, lang: str | None = None, max_problems: int | None = 20
) -> str:
    """The ingest report as readable text: counts per file, reasons, warnings, first problems."""
    lang = check_language(lang or result.report.get("language"))
    report = result.report
    lines = [t("ingest_report_title", lang, instrument=_instrument_text(report))]
    for file in report["files"]:
        lines += [
            "",
            t("ingest_report_file", lang, file=file["file"], details=_details(file, lang)),
        ]
        lines += _count_lines(file, lang)
    if len(report["files"]) > 1:
        lines += ["", t("ingest_report_total", lang), *_count_lines(report, lang)]
    if report["warnings"]:
        lines += ["", t("ingest_report_warnings", lang), *(f"  - {w}" for w in report["warnings"])]
    lines += ["", *_problem_lines(result.quarantine, lang, max_problems)]
    return "\n".join(lines)


def _instrument_text(report: dict) -> str:
    return f"{report['instrument']['id']} {report['instrument']['version']}"


def _details(file: dict, lang: str) -> str:
    parts = [_FORMAT_NAMES.get(file.get("format", ""), file.get("format", ""))]
    if file.get("encoding"):
        parts.append(t("ingest_report_encoding", lang, encoding=file["encoding"]))
    if file.get("delimiter"):
        shown = t("ingest_report_tab", lang) if file["delimiter"] == "\t" else file["delimiter"]
        parts.append(t("ingest_report_delimiter", lang, delimiter=shown))
    if file.get("sheet"):
        parts.append(t("ingest_report_sheet", lang, sheet=file["sheet"]))
    return ", ".join(parts)


def _count_lines(block: dict, lang: str) -> list[str]:
    counts = t(
        "ingest_report_counts",
        lang,
        read=block["rows_read"],
        kept=block["rows_kept"],
        quarantined=block["rows_quarantined"],
    )
    lines = [f"  {counts}"]
    if block["quarantined_by_rule"]:
        lines.append("  " + t("ingest_report_by_rule", lang))
    for rule, n in block["quarantined_by_rule"].items():
        label = t(f"ingest_rule_{rule}", lang)
        lines.append("    " + t("ingest_report_rule_line", lang, rule=label, n=n))
    return lines


def _problem_lines(quarantine: pd.DataFrame, lang: str, limit: int | None) -> list[str]:
    if quarantine.empty:
        return [t("ingest_report_clean", lang)]
    shown = quarantine if limit is None else quarantine.head(limit)
    lines = [t("ingest_report_problems", lang, shown=len(shown), total=len(quarantine))]
    for entry in shown.itertuples(index=False):
        where = t("ingest_report_where", lang, file=entry.source_file, row=entry.row)
        if entry.column:
            where += ", " + t("ingest_report_column", lang, column=entry.column)
        lines.append(f"  {where}: {entry.reason}")
    return lines


# --------------------------------------------------------------------------------------------
# Writing


def write_ingest(result: IngestResult, out_dir: str | Path) -> dict[str, Path]:
    """Store an ingest in ``out_dir``; returns the paths written by name.

    Files: ``respondents.parquet`` (the kept rows), ``quarantine.csv`` (semicolon-separated,
    UTF-8 with BOM so that Excel opens it; the first six column names in the report's
    language), ``ingest_report.json`` and ``ingest_report.txt`` (readable, the report's language).
    Refuses to write over one of the ingested files.
    """
    out = Path(out_dir)
    lang = check_language(result.report.get("language"))
    targets = {
        "respondents": out / "respondents.parquet",
        "quarantine": out / "quarantine.csv",
        "report_json": out / "ingest_report.json",
        "report_txt": out / "ingest_report.txt",
    }
    inputs = {Path(f["path"]).resolve() for f in result.report.get("files", [])}
    clash = [p for p in targets.values() if p.resolve() in inputs]
    if clash:
        raise InputFileError(t("ingest_would_overwrite", lang, file=str(clash[0])))
    out.mkdir(parents=True, exist_ok=True)
    result.data.to_parquet(targets["respondents"], index=False)
    _quarantine_for_excel(result.quarantine, lang).to_csv(
        targets["quarantine"], sep=";", index=False, encoding="utf-8-sig"
    )
    targets["report_json"].write_text(
        json.dumps(result.report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    text = format_report(result, lang=lang, max_problems=100)
    targets["report_txt"].write_text(text + "\n", encoding="utf-8")
    return targets


def _quarantine_for_excel(quarantine: pd.DataFrame, lang: str) -> pd.DataFrame:
    names = {c: t(f"ingest_column_{c}", lang) for c in QUARANTINE_COLUMNS}
    return quarantine.rename(columns=names)


# --------------------------------------------------------------------------------------------
# Command line (registered in ctc_helpers.cli)


def command_validate(args) -> int:
    """``ctc validate FILE ...``: print the report; exit 0 when clean, 1 when rows would be
    quarantined. File-level problems raise InputFileError (the CLI prints it, exit code 2)."""
    result = _load_from_args(args)
    print(format_report(result, lang=args.lang, max_problems=20))
    return 0 if result.clean else 1


def command_ingest(args) -> int:
    """``ctc ingest FILE ... [--out DIR]``: validate, then store the result (exit 0)."""
    result = _load_from_args(args)
    out = args.out if args.out is not None else DEFAULT_INGEST_DIR
    written = write_ingest(result, out)
    print(format_report(result, lang=args.lang, max_problems=20))
    print()
    print(
        t(
            "ingest_written",
            args.lang,
            folder=str(out),
            files=", ".join(p.name for p in written.values()),
        )
    )
    return 0


def _load_from_args(args) -> IngestResult:
    instrument = load_instrument(args.instrument) if args.instrument is not None else None
    return load_survey(
        args.files, instrument=instrument, areas=args.areas, sheet=args.sheet, lang=args.lang
    )


# Helpers ------------------------------------------------------------------------------------


def _quoted(values: Iterable[Any]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _few(values: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" … (+{len(values) - limit})" if len(values) > limit else "")
