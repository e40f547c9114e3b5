"""Column checks shared by every reader: the column limit, names once each, empty unnamed columns.

A survey file has one column per question plus a few about the respondent: a few hundred at
most. A file with thousands of columns is another kind of file (or a hostile one), and reading it
would only cost memory, so the readers count the columns from the header first and refuse above
the limit (:func:`column_limit`) before any data is parsed.

Examples
--------
>>> column_limit(50)
50
>>> try:
...     check_column_count(2500, file="bred.csv", limit=2000, lang="en")
... except InputFileError as error:
...     print(error)  # doctest: +ELLIPSIS
The file bred.csv has 2500 columns, more than the limit of 2000 columns...
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctc_helpers.errors import ConfigError, InputFileError
from ctc_helpers.i18n import t
from ctc_helpers.ingest.values import has_value

__all__ = [
    "DEFAULT_MAX_COLUMNS",
    "MAX_COLUMNS_VARIABLE",
    "column_limit",
    "check_column_count",
    "check_column_names",
    "drop_unnamed_empty",
    "empty_mask",
    "frame_from_arrow",
]

DEFAULT_MAX_COLUMNS = 2000
"""Most columns a survey file may have unless the caller or ``CTC_MAX_COLUMNS`` says otherwise."""
MAX_COLUMNS_VARIABLE = "CTC_MAX_COLUMNS"
"""Environment variable that sets the column limit for every read (the command line included)."""


def column_limit(max_columns: int | None = None, *, lang: str | None = None) -> int:
    """The largest number of columns a file may have.

    ``max_columns`` when given, else the environment variable ``CTC_MAX_COLUMNS``, else
    :data:`DEFAULT_MAX_COLUMNS` (2,000). Raises ConfigError (sv/en) naming the setting and its
    value when it is not a whole number of at least 1.
    """
    if max_columns is not None:
        return _positive(max_columns, "max_columns", lang)
    text = os.environ.get(MAX_COLUMNS_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_COLUMNS
    return _positive(text, MAX_COLUMNS_VARIABLE, lang)


def _positive(value: object, source: str, lang: str | None) -> int:
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    else:
        text = str(value).replace("_", "").replace(" ", "")
        number = int(text) if text.isdigit() else None
    if number is None or number < 1:
        raise ConfigError(t("ingest_bad_column_limit", lang, source=source, value=value))
    return number


def check_column_count(
    n: int, *, file: str, limit: int, lang: str | None, cut: bool = False
) -> None:
    """Refuse a table with more than ``limit`` columns, naming the file, the count and the limit.

    ``cut`` says that the header was not read to its end (``n`` is then a lower bound).
    """
    if n > limit:
        key = "ingest_too_many_columns_cut" if cut else "ingest_too_many_columns"
        raise InputFileError(
            t(key, lang, file=file, n=n, limit=limit, variable=MAX_COLUMNS_VARIABLE)
        )


def check_column_names(names: Sequence[str], file: str, lang: str | None) -> None:
    """Each column name once: a repeated name makes the table ambiguous (InputFileError)."""
    counts = Counter(names)
    repeated = sorted(n for n, k in counts.items() if k > 1)
    if repeated:
        name = repeated[0]
        positions = ", ".join(str(i + 1) for i, n in enumerate(names) if n == name)
        raise InputFileError(
            t("ingest_duplicate_columns", lang, file=file, column=name, positions=positions)
        )


def empty_mask(values: pd.Series) -> np.ndarray:
    """True where a value is missing or only white space."""
    if isinstance(values.dtype, pd.ArrowDtype) and pa.types.is_string(values.dtype.pyarrow_dtype):
        array = values.array.__arrow_array__()
        empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(array), ""), True)
        return np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
    return np.fromiter((not has_value(v) for v in values), dtype=bool, count=len(values))


def drop_unnamed_empty(frame: pd.DataFrame, unnamed: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """The frame without the columns of ``unnamed`` that hold no value; and how many went."""
    empty = [name for name in unnamed if name in frame and empty_mask(frame[name]).all()]
    return (frame.drop(columns=empty) if empty else frame), len(empty)


def frame_from_arrow(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a frame of Arrow-backed columns (dictionary columns as categoricals).

    Built column by column, so time and memory grow linearly with the number of columns:
    ``Table.to_pandas(types_mapper=pd.ArrowDtype)`` (pyarrow 22, pandas 2.3) grows with its
    square (5,000 text columns of 50 rows: 5.0 s and 1.7 GB, against 0.03 s and 30 MB here).
    """
    columns = {
        name: column.to_pandas().array
        if pa.types.is_dictionary(column.type)
        else pd.arrays.ArrowExtensionArray(column)
        for name, column in zip(table.column_names, table.columns, strict=True)
    }
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows), copy=False)
