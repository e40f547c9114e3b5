"""Weighted proportions per group of row-level survey data (Kish effective n, Wilson interval).

Tidy-table helpers over :mod:`ctc_helpers.stats.intervals`: a frame with one row per respondent,
grouping columns and a 0/1 flag column in, one row per group out. The published aggregates are
built by :func:`ctc_helpers.survey.profile.aggregate` (one pass over a cube); these functions
compute the same figures for any grouping, group by group.

Examples
--------
>>> frame = pd.DataFrame({"grade": ["ak8", "ak8", "ak8", "ak9"], "f": [1, 0, 1, np.nan]})
>>> print(proportions_by_group(frame, by="grade", flag="f").round(3).to_string(index=False))
grade   n  n_flagged   pct  ci_low  ci_high  n_eff
  ak8 3.0        2.0 0.667   0.208    0.939    3.0
  ak9 0.0        0.0   NaN     NaN      NaN    NaN
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctc_helpers.stats.inputs import as_float, check_range, safe_ratio
from ctc_helpers.stats.intervals import check_flags_and_weights, summarise_proportion

__all__ = ["effective_n_by_group", "proportions_by_group"]


def _column(frame: pd.DataFrame, column: str, *, role: str) -> pd.Series:
    if column not in frame.columns:
        raise KeyError(
            f"{role} column {column!r} not found; available columns: {list(frame.columns)}."
        )
    return frame[column]


def _group_keys(frame: pd.DataFrame, by: str | list[str]) -> list[str]:
    keys = [by] if isinstance(by, str) else list(by)
    for key in keys:
        _column(frame, key, role="Grouping")
    return keys


def _group_sums(keys_frame: pd.DataFrame, keys: list[str], **values: np.ndarray) -> pd.DataFrame:
    """Per-group sums of ``values`` (arrays aligned by position with ``keys_frame``).

    Rows with a missing group key are left out, as in ``pandas.DataFrame.groupby``.
    """
    return keys_frame.assign(**values).groupby(keys, observed=True, sort=True)[list(values)].sum()


def effective_n_by_group(frame: pd.DataFrame, *, by: str | list[str], weight: str) -> pd.Series:
    """Kish effective sample size per group.

    Parameters
    ----------
    frame : pandas.DataFrame
        Row-level data.
    by : str or list of str
        Grouping column(s); rows with a missing key are left out.
    weight : str
        Weight column (non-negative; NaN weights are ignored).

    Returns
    -------
    pandas.Series
        Named ``n_eff``, indexed by the groups; NaN for a group without a positive weight.

    Raises
    ------
    KeyError
        If a column is missing.
    ValueError
        If a weight is negative or infinite.

    Examples
    --------
    >>> frame = pd.DataFrame({"area": ["a", "a", "b"], "weight": [1.0, 3.0, 2.0]})
    >>> print(effective_n_by_group(frame, by="area", weight="weight").round(2).to_dict())
    {'a': 1.6, 'b': 1.0}
    """
    keys = _group_keys(frame, by)
    w = as_float(_column(frame, weight, role="Weight"), name=f"weight column {weight!r}")
    check_range(w, name=f"weight column {weight!r}", low=0.0, high=np.finfo(float).max)
    sums = _group_sums(frame[keys], keys, _w=np.nan_to_num(w), _w2=np.nan_to_num(w) ** 2)
    n_eff = safe_ratio(sums["_w"].to_numpy() ** 2, sums["_w2"].to_numpy())
    return pd.Series(n_eff, index=sums.index, name="n_eff")


def proportions_by_group(
    frame: pd.DataFrame,
    *,
    by: str | list[str],
    flag: str,
    weight: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Proportion flagged with a Wilson interval per group (see :func:`weighted_proportion`).

    Parameters
    ----------
    frame : pandas.DataFrame
        Row-level data.
    by : str or list of str
        Grouping column(s); rows with a missing key are left out.
    flag : str
        Column with 1 / 0 / NaN.
    weight : str, optional
        Weight column; unweighted when omitted.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row per group: the grouping columns, then ``n``, ``n_flagged``, ``pct``, ``ci_low``,
        ``ci_high``, ``n_eff``. Groups whose flags are all missing have ``n == 0`` and NaN
        proportion and interval.

    Raises
    ------
    KeyError
        If a column is missing.
    ValueError
        If a flag is not 0/1/NaN or a weight is negative.

    Examples
    --------
    >>> frame = pd.DataFrame({"grade": ["ak8", "ak8", "ak8", "ak9"], "f": [1, 0, 1, np.nan]})
    >>> print(proportions_by_group(frame, by="grade", flag="f").round(3).to_string(index=False))
    grade   n  n_flagged   pct  ci_low  ci_high  n_eff
      ak8 3.0        2.0 0.667   0.208    0.939    3.0
      ak9 0.0        0.0   NaN     NaN      NaN    NaN
    """
    keys = _group_keys(frame, by)
    y = as_float(_column(frame, flag, role="Flag"), name=f"flag column {flag!r}")
    w = (
        np.ones_like(y)
        if weight is None
        else as_float(_column(frame, weight, role="Weight"), name=f"weight column {weight!r}")
    )
    check_flags_and_weights(y, w)  # validation only
    known = ~np.isnan(y) & ~np.isnan(w)
    wk, yk = np.where(known, w, 0.0), np.where(known, y, 0.0)
    sums = _group_sums(frame[keys], keys, _n=known.astype(float), _sw=wk, _sw2=wk**2, _swy=wk * yk)
    summary = summarise_proportion(
        sums["_n"].to_numpy(),
        sums["_sw"].to_numpy(),
        sums["_sw2"].to_numpy(),
        sums["_swy"].to_numpy(),
        confidence=confidence,
    )
    return pd.DataFrame(summary, index=sums.index).reset_index()
