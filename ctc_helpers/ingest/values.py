"""Raw values as the user wrote them: missing tokens, display text, normalised keys, numbers.

Every ingest module reads and shows raw values the same way; these helpers are the one place
that says how. Nothing here knows the respondent schema.

Examples
--------
>>> display_value(3.0), display_value(None), text_key("  Åk   7 ")
('3', '', 'åk 7')
>>> number("2,5"), number("två")
(2.5, None)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "MISSING_TOKENS",
    "TOKEN_ARRAY",
    "UNNAMED_PREFIX",
    "as_arrow",
    "as_text",
    "display_column",
    "display_text",
    "display_value",
    "few",
    "has_value",
    "is_missing_scalar",
    "is_number_type",
    "is_string_type",
    "number",
    "number_key",
    "number_text",
    "quoted",
    "text_key",
]

# Texts read as "no answer" in any column (compared after trimming, case-insensitively).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "#n/a", "."})
UNNAMED_PREFIX = "Unnamed: "  # name given to a column whose header cell is empty
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)(e[+-]?\d+)?")


def _spellings(token: str) -> set[str]:
    """Every upper/lower-case spelling of a token ("na" -> na, nA, Na, NA)."""
    spellings = {""}
    for character in token:
        spellings = {s + c for s in spellings for c in {character.lower(), character.upper()}}
    return spellings


TOKEN_ARRAY = pa.array(sorted(set().union(*map(_spellings, MISSING_TOKENS))), type=pa.string())
"""Every spelling of the missing tokens, for ``pc.is_in`` without lower-casing every value."""


# --------------------------------------------------------------------------------------------
# Scalars


def is_missing_scalar(value: Any) -> bool:
    """True for None, NaN, NaT and pandas' NA; False for anything else (lists included)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def has_value(value: Any) -> bool:
    """True unless the value is None or text of only white space (a blank spreadsheet cell)."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def display_text(value: Any) -> str:
    """A present value as text the way the user reads it (``3`` for ``3.0``, ISO dates)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def display_value(value: Any) -> str:
    """A raw value as the user sees it in the file (``''`` for missing, ``3`` for ``3.0``)."""
    if is_missing_scalar(value):
        return ""
    return display_text(value)


def text_key(value: Any) -> str:
    """Normalised text of a value: NFC, trimmed, single spaces, case-folded, ``3.0`` -> ``3``."""
    if is_missing_scalar(value):
        return ""
    text = display_text(value) if not isinstance(value, str) else value
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def number(key: str) -> float | None:
    """The number written in a text key (decimal comma or point); None when it is not one."""
    if not _NUMBER.fullmatch(key):
        return None
    value = float(key.replace(",", "."))
    return value if np.isfinite(value) else None


def number_key(value: float) -> str:
    """The key under which a number is looked up (``3`` for 3.0, ``2.5`` for 2.5)."""
    return str(int(value)) if float(value).is_integer() else repr(value)


def number_text(value: float | None) -> str:
    """A limit as it is shown in messages (``''`` when there is none)."""
    return "" if value is None else f"{value:g}"


def quoted(values: Iterable[Any]) -> str:
    """``'a', 'b', 'c'``: values listed in a message."""
    return ", ".join(f"'{v}'" for v in values)


def few(values: Sequence[str], limit: int = 8) -> str:
    """The first ``limit`` values, then how many more (``a, b … (+3)``)."""
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" … (+{len(values) - limit})" if len(values) > limit else "")


# --------------------------------------------------------------------------------------------
# Columns (Arrow)


def is_string_type(arrow_type: pa.DataType) -> bool:
    """True for Arrow text (string or large string)."""
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def is_number_type(arrow_type: pa.DataType) -> bool:
    """True for Arrow integers and floats."""
    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)


def _is_plain(arrow_type: pa.DataType) -> bool:
    return (
        is_string_type(arrow_type)
        or is_number_type(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_temporal(arrow_type)
    )


def as_arrow(series: pd.Series) -> pa.Array:
    """One Arrow array with the values of ``series`` (nulls for missing).

    Dictionary columns are decoded, all-null columns become text, and types the parser does not
    read (nested, binary, decimal ...) become their text.
    """
    if isinstance(series.dtype, pd.ArrowDtype):
        array = series.array.__arrow_array__()
    else:
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            texts = [None if is_missing_scalar(v) else display_text(v) for v in series]
            array = pa.array(texts, type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], type=array.type)
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), type=pa.string())
    if not _is_plain(array.type):
        return as_text(array)
    return array


def as_text(array: pa.Array) -> pa.Array:
    """Values as text the way a user reads them (``12`` rather than ``12.0``)."""
    if is_string_type(array.type):
        return array.cast(pa.string())
    if pa.types.is_floating(array.type):
        values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
        known = values[~np.isnan(values)]
        if np.all(np.isfinite(known) & (known == np.floor(known)) & (np.abs(known) < 2**53)):
            return pc.cast(pc.cast(array, pa.int64()), pa.string())
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array(
            [None if v is None else display_text(v) for v in array.to_pylist()], type=pa.string()
        )


def display_column(series: pd.Series) -> pd.arrays.ArrowExtensionArray:
    """A raw column as the user reads it in the file: Arrow-backed text, ``""`` for missing."""
    text = pc.fill_null(as_text(as_arrow(series)), "")
    return pd.arrays.ArrowExtensionArray(text)
