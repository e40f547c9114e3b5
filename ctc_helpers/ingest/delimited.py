"""Reading delimited text files (CSV, TSV, TXT) as they are: every value as text.

The header is read first, alone: its encoding (UTF-8 with or without BOM, UTF-16 with BOM, else
Windows-1252 or Latin-1), its delimiter (semicolon, comma or tab, sniffed from the first records)
and its width, which is checked against the column limit
(:func:`ctc_helpers.ingest.columns.column_limit`) before any data is parsed. Then Arrow reads
the whole file as text columns; rows with the wrong number of values are set aside with their
line; blank rows are dropped. :func:`ctc_helpers.ingest.readers.read_table` calls
:func:`read_delimited` for these files.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as folder:
...     path = Path(folder) / "svar.csv"
...     _ = path.write_text("id;fråga\\n1;2\\n\\n2;3;4\\n3;1\\n", encoding="utf-8")
...     frame, info = read_delimited(path, lang="en", limit=10)
>>> frame["fråga"].tolist(), list(frame.index), info["blank_rows"]
(['2', '1'], [2, 5], 1)
>>> info["malformed_rows"][0]["row"], info["malformed_rows"][0]["text"]
(4, '2;3;4')
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import t
from ctc_helpers.ingest.columns import (
    check_column_count,
    check_column_names,
    drop_unnamed_empty,
    empty_mask,
    frame_from_arrow,
)
from ctc_helpers.ingest.values import UNNAMED_PREFIX

__all__ = ["read_delimited"]

_HEAD_BYTES = 1 << 16  # the sample the encoding and the delimiter are sniffed from
_MAX_HEADER_BYTES = 1 << 24  # the header row is read to its end up to this size
_BLOCK_BYTES = 1 << 24
_DELIMITERS = (";", ",", "\t")
_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])  # not in text tables


def read_delimited(path: Path, *, lang: str, limit: int) -> tuple[pd.DataFrame, dict]:
    """Read one delimited text file as text columns, indexed by the row number in the file.

    Parameters
    ----------
    path : Path
        The file (already checked to exist and not to be empty).
    lang : {"sv", "en"}
        Language of the errors.
    limit : int
        Most columns the header may name; above it the file is refused before its data is read.

    Returns
    -------
    (frame, info)
        ``frame``: Arrow-backed text, the header is row 1, blank rows left out. ``info``:
        ``encoding, delimiter, blank_rows, unnamed_empty_columns`` and ``malformed_rows`` (dicts
        ``row, text, values, expected`` of rows with the wrong number of values).

    Raises
    ------
    InputFileError
        Binary content, no delimiter, a title row above the header, more columns than
        ``limit``, a repeated column name, an undecodable file, or mostly ragged rows.
    """
    head, complete = _read_head(path)
    encoding = _head_encoding(head[:_HEAD_BYTES])
    if encoding is None:
        raise InputFileError(t("ingest_binary", lang, file=path.name))
    delimiter, header = _sniff(head, complete, encoding, path, lang)
    cut = not complete and b"\n" not in head
    check_column_count(len(header), file=path.name, limit=limit, lang=lang, cut=cut)
    names, unnamed = _column_names(header)
    check_column_names(names, path.name, lang)
    table, malformed, encoding_used = _decode_csv(path, names, delimiter, encoding, lang)
    frame, blank = _csv_frame(table, malformed)
    frame, dropped = drop_unnamed_empty(frame, unnamed)
    _check_ragged(path, len(frame) + blank, malformed, len(names), lang)
    info = {
        "encoding": encoding_used,
        "delimiter": delimiter,
        "blank_rows": blank,
        "unnamed_empty_columns": dropped,
        "malformed_rows": malformed,
    }
    return frame, info


# The header ---------------------------------------------------------------------------------


def _read_head(path: Path) -> tuple[bytes, bool]:
    """The first 64 KiB, extended to the end of the first line (up to 16 MiB); and whether
    that is the whole file."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
        while b"\n" not in head and len(head) < _MAX_HEADER_BYTES:
            more = handle.read(len(head))
            if not more:
                return head, True
            head += more
        return head, not handle.read(1)


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


def _sniff(
    head: bytes, complete: bool, encoding: str, path: Path, lang: str
) -> tuple[str, list[str]]:
    """The delimiter and the header names, from the first records of the file."""
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if not complete:  # drop the last (maybe cut) line of the sample
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


# The data -----------------------------------------------------------------------------------


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


def _encodings_from(first: str) -> tuple[str, ...]:
    """Encodings to try in order: the one the first bytes suggest, then the Windows fallbacks."""
    if first == "utf-16":
        return (first,)
    return (first, *(e for e in ("cp1252", "latin-1") if e != first))


def _is_encoding_error(exc: Exception) -> bool:
    return isinstance(exc, UnicodeError) or "UTF8" in str(exc)


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
    frame = frame_from_arrow(table)
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
        candidates = candidates[empty_mask(column)]
        if not len(candidates):
            return None
    blank = np.zeros(len(frame), dtype=bool)
    blank[candidates] = True
    return blank


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
