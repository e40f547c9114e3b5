"""Scale scores of the risk and protective factors, and the item access shared by the engine.

Scoring rules (all read from the instrument, see ``data_schema/INSTRUMENT_FORMAT.md``):

1. each raw code is recoded through its response set's ``score``; an option whose score is
   ``null`` (for example "vet inte" / "don't know") counts as not answered;
2. items flagged ``reverse`` are mirrored on the response set's score range
   (``min + max - score``), so that a high score always means more of the factor;
3. the scale score is the mean of the answered items;
4. a respondent with fewer than ``min_items`` answered items gets no score (NaN) on that scale and
   is left out of its denominator.

Examples
--------
>>> from ctc_helpers.paths import REPO_ROOT
>>> from ctc_helpers.config.instrument import load_instrument
>>> inst = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
>>> frame = pd.DataFrame(
...     {"fa_conf_1": [4, 1], "fa_conf_2": [3, None], "fa_conf_3": [1, None]}, dtype="Int8"
... )
>>> print(item_scores(frame, inst, "fa_conf_3", reverse=True))
[ 4. nan]
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import Factor, Instrument

__all__ = [
    "SCORE_PREFIX",
    "score_scales",
    "item_codes",
    "item_scores",
    "sum_item_scores",
    "float_column",
    "new_block",
    "block_frame",
    "join_columns",
]

SCORE_PREFIX = "score__"
"""Prefix of the score columns: ``score__<factor_id>``."""


# --------------------------------------------------------------------------- item access


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], *, role: str) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise KeyError(
            f"The respondent table has no column for the {role}: {', '.join(missing)}. "
            "Every item of the instrument needs its own column (named by the item id)."
        )


def item_codes(frame: pd.DataFrame, instrument: Instrument, item_id: str) -> np.ndarray:
    """Raw codes of one item as a small-integer array, 0 where the answer is missing.

    Parameters
    ----------
    frame : pandas.DataFrame
        Respondent table with one column per item (``Int8`` or any numeric dtype).
    instrument : Instrument
        Gives the item's response set (allowed codes ``1..k``).
    item_id : str
        The item (column) to read.

    Returns
    -------
    numpy.ndarray of int16
        One code per row; 0 = missing (ready to index a lookup table). Small integers keep
        the temporary arrays of a million rows small.

    Raises
    ------
    KeyError
        If the column is missing.
    ValueError
        If a code is not one of the response set's codes (the message names the row).
    """
    _require_columns(frame, [item_id], role="items")
    series = frame[item_id]
    max_code = instrument.item_max_code(item_id)
    if pd.api.types.is_integer_dtype(series.dtype) and series.dtype.itemsize <= 2:
        codes = series.to_numpy(dtype=np.int16, na_value=0)
    else:
        values = series.to_numpy(dtype=float, na_value=np.nan)
        _check_whole(values, series, item_id)
        codes = np.nan_to_num(values, nan=0.0).astype(np.int16)
    if codes.size and (
        codes.min() < 0
        or codes.max() > max_code
        or np.count_nonzero(codes == 0) != np.count_nonzero(series.isna().to_numpy())
    ):
        _raise_bad_code(codes, series, item_id, max_code)
    return codes


def _check_whole(values: np.ndarray, series: pd.Series, item_id: str) -> None:
    bad = ~np.isnan(values) & (values != np.round(values))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"The item column {item_id!r} has the value {values[position]:g} in row"
            f" {series.index[position]!r}; answers must be whole-number codes."
        )


def _raise_bad_code(codes: np.ndarray, series: pd.Series, item_id: str, max_code: int) -> None:
    # missing answers were mapped to 0 above; a stored 0 is not a code (codes start at 1)
    missing = series.isna().to_numpy()
    bad = (codes < 0) | (codes > max_code) | ((codes == 0) & ~missing)
    position = int(np.flatnonzero(bad)[0])
    raise ValueError(
        f"The item column {item_id!r} has the code {int(codes[position])} in row"
        f" {series.index[position]!r}; allowed codes are 1..{max_code} or missing."
    )


def item_scores(
    frame: pd.DataFrame, instrument: Instrument, item_id: str, *, reverse: bool = False
) -> np.ndarray:
    """Scored values of one item (NaN = missing or an option without a score, e.g. "vet inte").

    Parameters
    ----------
    frame : pandas.DataFrame
        Respondent table.
    instrument : Instrument
        Gives the item's response set and its scores.
    item_id : str
        The item to score.
    reverse : bool, default False
        Mirror the score on the response set's range (``min + max - score``).

    Returns
    -------
    numpy.ndarray of float
        One value per row.
    """
    lookup = instrument.items[item_id].response_set.score_lookup(reverse=reverse)
    return lookup[item_codes(frame, instrument, item_id)]


# --------------------------------------------------------------------------- scale scores


def _score_tables(instrument: Instrument, items: Sequence[tuple[str, bool]]) -> list[np.ndarray]:
    return [
        instrument.items[item_id].response_set.score_lookup(reverse=reverse)
        for item_id, reverse in items
    ]


def _encoding(tables: list[np.ndarray]) -> tuple[float, int, type] | None:
    """``(lowest score, shift, dtype)`` when all scores are integers that pack into one sum."""
    finite = np.concatenate([t[~np.isnan(t)] for t in tables])
    if not np.array_equal(finite, np.round(finite)):
        return None
    low, width = float(finite.min()), float(finite.max() - finite.min())
    shift = int(np.ceil(np.log2(len(tables) * width + 1)))
    largest_sum = len(tables) * float(np.abs(finite).max())
    bits = max(shift + np.log2(len(tables) + 1), np.log2(largest_sum + 1))
    if bits > 62:
        return None
    return low, shift, (np.int16 if bits <= 14 else np.int32 if bits <= 30 else np.int64)


def sum_item_scores(
    frame: pd.DataFrame, instrument: Instrument, items: Sequence[tuple[str, bool]]
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the scored answers and number of scored answers over some items, per row.

    Parameters
    ----------
    frame : pandas.DataFrame
        Respondent table.
    instrument : Instrument
        Gives each item's response set.
    items : sequence of (item_id, reverse)
        The items, each with its reversal flag (as in ``Factor.items``).

    Returns
    -------
    total : numpy.ndarray
        Sum of the (reversed where flagged) scores of the answered items; integers (exact) when
        every score of the items is a whole number, floats otherwise.
    answered : numpy.ndarray of int
        Number of items with a scored answer ("vet inte" and missing do not count).
    """
    tables = _score_tables(instrument, items)
    encoding = _encoding(tables)
    if encoding is None:
        total, answered = np.zeros(len(frame)), np.zeros(len(frame), dtype=np.int16)
        for (item_id, _), table in zip(items, tables, strict=True):
            codes = item_codes(frame, instrument, item_id)
            total += np.nan_to_num(table, nan=0.0)[codes]
            answered += (~np.isnan(table))[codes]
        return total, answered
    # integer scores: one gather per item of (score - low) + 2**shift, split after summing
    low, shift, dtype = encoding
    packed = np.zeros(len(frame), dtype=dtype)
    for (item_id, _), table in zip(items, tables, strict=True):
        encoded = np.where(np.isnan(table), 0, table - low + 2**shift).astype(dtype)
        packed += encoded[item_codes(frame, instrument, item_id)]
    answered = packed >> shift
    np.bitwise_and(packed, 2**shift - 1, out=packed)  # sum of (score - low)
    if low:
        packed += int(low) * answered
    return packed, answered  # exact integer sums


def _factor_score(
    frame: pd.DataFrame, instrument: Instrument, factor: Factor, *, out: np.ndarray
) -> None:
    """Write the mean of the answered items (NaN below ``min_items``) into ``out``."""
    total, answered = sum_item_scores(frame, instrument, factor.items)
    out.fill(np.nan)
    np.divide(total, answered, out=out, where=answered >= factor.min_items)


def float_column(frame: pd.DataFrame, column: str, *, hint: str) -> np.ndarray:
    """A column as float64 with NaN for missing (a view when it already is float64)."""
    if column not in frame.columns:
        raise KeyError(f"The column {column!r} is missing; {hint}.")
    series = frame[column]
    if series.dtype == np.float64:
        return series.to_numpy()
    return series.to_numpy(dtype=float, na_value=np.nan)


def new_block(rows: int, length: int, dtype: type = np.float64) -> np.ndarray:
    """An uninitialised ``(rows, length)`` array to hold new columns (one row per column).

    Large blocks get their own anonymous memory map, populated in one system call where the
    platform allows (Linux ``MAP_POPULATE``), instead of NumPy's allocator, which asks for
    transparent huge pages and is then faulted in page by page. On the virtual machines measured
    in ``benchmarks/score.py`` this made the first write to a new block several times cheaper.
    """
    size = rows * length * np.dtype(dtype).itemsize
    if size < 1 << 22:
        return np.empty((rows, length), dtype=dtype)
    if hasattr(mmap, "MAP_ANONYMOUS"):
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)
        buffer = mmap.mmap(-1, size, flags=flags)
    else:  # Windows: anonymous map without flags
        buffer = mmap.mmap(-1, size)
    return np.frombuffer(buffer, dtype=dtype).reshape(rows, length)


def block_frame(block: np.ndarray, names: list[str], index: pd.Index) -> pd.DataFrame:
    """A frame whose columns are the rows of ``block``, stored as one block (no copy)."""
    return pd.DataFrame(block.T, index=index, columns=names, copy=False)


def join_columns(frame: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the columns of ``new`` added (same-named columns are replaced).

    The result shares the column data of ``frame`` and ``new`` instead of copying them (pandas'
    copy-on-write, the default from pandas 3), which keeps a million respondents within memory.
    Nothing here modifies ``frame``; change the result with ``assign``, not in place.
    """
    with pd.option_context("mode.copy_on_write", True):
        kept = frame.drop(columns=[c for c in new.columns if c in frame.columns])
        joined = pd.concat([kept, new], axis=1)
    joined.attrs = dict(frame.attrs)
    return joined


def score_scales(frame: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Add one score column per risk and protective factor of the instrument.

    Parameters
    ----------
    frame : pandas.DataFrame
        Respondent table (screened or not) with one column per item id.
    instrument : Instrument
        Factors with their items, reversal flags and ``min_items``.

    Returns
    -------
    pandas.DataFrame
        A new frame: the input columns plus ``score__<factor_id>`` (float) per factor, in
        instrument order: the mean of the answered (scored, possibly reversed) items, NaN when
        fewer than ``min_items`` items are answered. The input is not modified.

    Raises
    ------
    KeyError
        If an item column is missing.
    ValueError
        If an item holds a code outside its response set.

    Examples
    --------
    >>> from ctc_helpers.paths import REPO_ROOT
    >>> from ctc_helpers.config.instrument import load_instrument
    >>> inst = load_instrument(REPO_ROOT / "tests" / "data" / "mini_instrument.yaml")
    >>> frame = pd.DataFrame({i: [1, 4] for i in inst.item_ids}, dtype="Int8")
    >>> print(score_scales(frame, inst)["score__family_conflict"].tolist())  # 1, 1, 5-1 -> 2
    [2.0, 3.0]
    """
    _require_columns(frame, [i for f in instrument.factors for i in f.item_ids], role="items")
    block = new_block(len(instrument.factors), len(frame))
    for row, factor in enumerate(instrument.factors):
        _factor_score(frame, instrument, factor, out=block[row])
    names = [SCORE_PREFIX + f.id for f in instrument.factors]
    return join_columns(frame, block_frame(block, names, frame.index))
