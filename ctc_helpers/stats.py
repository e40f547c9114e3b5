"""Statistics for prevalences and their change between waves and areas.

Every function works on scalars, NumPy arrays and pandas Series (element-wise, positionally) and
never mutates its input. A group with no respondents (``n == 0``) or a missing count gives NaN in
the result instead of an error; impossible values (negative counts, ``x > n``, a proportion
outside 0..1) raise ``ValueError`` naming the argument, the value and its position.

Methods and why they were chosen
--------------------------------
Confidence interval of a proportion: **Wilson score interval** (Wilson 1927, JASA 22:209-212).
Brown, Cai & DasGupta (2001, Statistical Science 16:101-133) recommend it over the Wald
interval ``p +/- z*sqrt(p(1-p)/n)`` used in some municipal reports, which has poor coverage for
small ``n`` and collapses to zero width at 0 % and 100 %. It is the interval of R
``prop.test(correct = FALSE)`` and ``binom.confint(method = "wilson")``.

Difference of two proportions: **Newcombe hybrid score interval** (Newcombe 1998, Statistics in
Medicine 17:873-890, method 10), built from the two Wilson intervals. Fagerland, Lydersen &
Laake (2015, Statistical Methods in Medical Research 24:224-254) recommend it for general use.

Test of two proportions: **pooled two-proportion z-test**; ``z**2`` equals the Pearson chi-square
of the 2 x 2 table without continuity correction (R ``prop.test(correct = FALSE)``). The k-sample
version is :func:`k_proportions_test`.

Effect size: **Cohen's h** = ``2*asin(sqrt(p1)) - 2*asin(sqrt(p2))`` (Cohen 1988, Statistical
Power Analysis for the Behavioral Sciences, 2nd ed.; about 0.2 small, 0.5 medium, 0.8 large).

Several comparisons at once: **Holm step-down adjustment** (Holm 1979, Scandinavian Journal of
Statistics 6:65-70), which controls the family-wise error rate under any dependence and is
uniformly more powerful than Bonferroni. Confidence intervals are not adjusted.

Weighted data: the proportion is ``sum(w*y) / sum(w)`` and the interval is the Wilson interval with
the **Kish effective sample size** ``n_eff = sum(w)**2 / sum(w**2)`` (Kish 1965, Survey Sampling)
in place of ``n`` and ``x = p * n_eff``. This accounts for the variance added by unequal weights
only; clustering of students within schools would need design-based variance, which this module
does not estimate.

Trend over three or more waves: **binomial logistic regression** of the aggregated counts on the
survey year, as in the CDC YRBS trend analyses (a linear term only; no covariates).

Comparison direction: in the two-sample functions ``p1`` is the focus (the later wave, or the
area) and ``p2`` the reference (the earlier wave, or the city); a positive difference is an
increase.
"""

from __future__ import annotations

import math
import numbers
from statistics import NormalDist
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

CHANGE_CODES = ("increase", "decrease", "no_clear_change")
"""Codes returned by :func:`label_change` (translated only at the display edge)."""

_COUNT_TOLERANCE = 1e-9  # relative slack for x <= n with floating-point (weighted) counts


class ZTestResult(NamedTuple):
    """Result of :func:`two_proportion_ztest` (unpacks as ``z, p_value``)."""

    z: float | np.ndarray
    p_value: float | np.ndarray


class ChiSquareResult(NamedTuple):
    """Result of :func:`k_proportions_test` (unpacks as ``statistic, df, p_value``)."""

    statistic: float
    df: int
    p_value: float


class TrendResult(NamedTuple):
    """Result of :func:`logistic_trend_test`.

    Fields: ``slope`` (log-odds per year), ``slope_low``, ``slope_high`` (its confidence
    interval), ``odds_ratio`` (per survey cycle), ``or_low``, ``or_high``, ``p_value`` (Wald test
    of the slope), ``n_waves`` (distinct waves with respondents), ``cycle_years``.
    """

    slope: float
    slope_low: float
    slope_high: float
    odds_ratio: float
    or_low: float
    or_high: float
    p_value: float
    n_waves: int
    cycle_years: float


# --------------------------------------------------------------------------- input helpers


def _as_float(value: ArrayLike, *, name: str) -> np.ndarray:
    """Return ``value`` as a float array (a copy never shares memory with pandas input)."""
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric; got {value!r}.") from error


def _unwrap(array: np.ndarray) -> float | np.ndarray:
    """Return a 0-d result as a NumPy float scalar, anything else unchanged."""
    return array[()] if array.ndim == 0 else array


def _first_bad(mask: np.ndarray) -> int | tuple[int, ...]:
    """Position of the first True in ``mask`` (flat index for 1-d, tuple otherwise)."""
    position = np.argwhere(mask)[0]
    return int(position[0]) if mask.ndim == 1 else tuple(int(i) for i in position)


def _where(mask: np.ndarray) -> str:
    return "" if mask.ndim == 0 else f" at position {_first_bad(mask)}"


def _check_range(values: np.ndarray, *, name: str, low: float, high: float) -> None:
    """Raise when a non-missing value lies outside ``[low, high]`` (or is infinite)."""
    bad = ~np.isnan(values) & ((values < low) | (values > high))
    if np.any(bad):
        value = values[bad].flat[0]
        raise ValueError(
            f"{name} must lie between {low:g} and {high:g}; got {value:g}{_where(bad)}."
        )


def _counts(x: ArrayLike, n: ArrayLike, *, names: tuple[str, str]) -> tuple[np.ndarray, ...]:
    """Validate counts ``0 <= x <= n`` (NaN allowed) and broadcast them to one shape."""
    x_name, n_name = names
    x_arr, n_arr = np.broadcast_arrays(_as_float(x, name=x_name), _as_float(n, name=n_name))
    _check_range(n_arr, name=n_name, low=0.0, high=np.inf)
    _check_range(x_arr, name=x_name, low=0.0, high=np.inf)
    too_big = x_arr > n_arr * (1.0 + _COUNT_TOLERANCE) + _COUNT_TOLERANCE
    if np.any(too_big):
        raise ValueError(
            f"{x_name} cannot exceed {n_name}; got {x_name}={x_arr[too_big].flat[0]:g} with "
            f"{n_name}={n_arr[too_big].flat[0]:g}{_where(too_big)}."
        )
    return x_arr, n_arr


def _z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for ``confidence`` (0 < confidence < 1)."""
    if not isinstance(confidence, numbers.Real) or not 0.0 < confidence < 1.0:
        raise ValueError(
            f"confidence must be a number between 0 and 1 (for example 0.95); got {confidence!r}."
        )
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def _normal_sf(z: ArrayLike) -> np.ndarray:
    """Upper tail of the standard normal, P(Z > z), elementwise (NaN stays NaN).

    ``erfc`` keeps full precision far in the tail; ``math`` avoids importing ``scipy.stats``
    (about a second), which every report notebook would otherwise pay.
    """
    values = np.asarray(z, dtype=float)
    return np.asarray(_ERFC(values / math.sqrt(2.0)), dtype=float) / 2.0


def _chi2_sf(statistic: float, df: int) -> float:
    """Upper tail of the chi-square distribution (NaN for a NaN statistic)."""
    from scipy.special import chdtrc  # imported here: only the k-sample tests need it

    return float(chdtrc(df, statistic))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise division giving NaN (no warning) where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


# --------------------------------------------------------------------------- one proportion


def wilson_ci(
    x: ArrayLike, n: ArrayLike, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score confidence interval for a proportion ``x / n``.

    Parameters
    ----------
    x : array-like of float
        Number flagged; may be a weighted count (``p * n_eff``).
    n : array-like of float
        Number of respondents; may be a Kish effective sample size.
    confidence : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    ci_low, ci_high : numpy.ndarray
        Interval bounds in 0..1, broadcast to the shape of ``x`` and ``n`` (NumPy float scalars
        for scalar input). The bound is exactly 0 when ``x == 0`` and exactly 1 when ``x == n``;
        NaN where ``n == 0`` or an input is NaN.

    Raises
    ------
    ValueError
        If a count is negative, ``x > n`` or ``confidence`` is outside (0, 1).

    Examples
    --------
    >>> low, high = wilson_ci([18, 0, 0], [20, 30, 0])
    >>> print(np.round(low, 4), np.round(high, 4))
    [0.699 0.      nan] [0.9721 0.1135    nan]
    """
    x_arr, n_arr = _counts(x, n, names=("x", "n"))
    z = _z_value(confidence)
    p = np.clip(_ratio(x_arr, n_arr), 0.0, 1.0)
    z2n = _ratio(np.full_like(n_arr, z * z), n_arr)
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * np.sqrt(_ratio(p * (1.0 - p) + z2n / 4.0, n_arr))
    low = np.where(p == 0.0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(p == 1.0, 1.0, np.clip(centre + half, 0.0, 1.0))
    return _unwrap(low), _unwrap(high)


def kish_effective_n(weights: ArrayLike) -> float:
    """Kish effective sample size ``sum(w)**2 / sum(w**2)``.

    Parameters
    ----------
    weights : array-like of float
        Non-negative survey weights; missing weights (NaN) are ignored.

    Returns
    -------
    float
        Effective sample size (equal to the number of weights when all are equal); NaN when no
        weight is positive.

    Raises
    ------
    ValueError
        If a weight is negative or infinite.

    Examples
    --------
    >>> print(round(kish_effective_n([1.0, 1.0, 2.0, 4.0]), 4))
    2.9091
    """
    w = _as_float(weights, name="weights").ravel()
    _check_range(w, name="weights", low=0.0, high=np.finfo(float).max)
    w = w[~np.isnan(w)]
    return float(_ratio(np.array(w.sum() ** 2), np.array((w**2).sum())))


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
    w = _as_float(_column(frame, weight, role="Weight"), name=f"weight column {weight!r}")
    _check_range(w, name=f"weight column {weight!r}", low=0.0, high=np.finfo(float).max)
    sums = _group_sums(frame[keys], keys, _w=np.nan_to_num(w), _w2=np.nan_to_num(w) ** 2)
    n_eff = _ratio(sums["_w"].to_numpy() ** 2, sums["_w2"].to_numpy())
    return pd.Series(n_eff, index=sums.index, name="n_eff")


def _summarise(
    n: ArrayLike, sum_w: ArrayLike, sum_w2: ArrayLike, sum_wy: ArrayLike, *, confidence: float
) -> dict[str, ArrayLike]:
    """Columns of a proportion summary from per-group sums of w, w**2 and w*y."""
    pct = _ratio(np.asarray(sum_wy, dtype=float), np.asarray(sum_w, dtype=float))
    n_eff = _ratio(np.asarray(sum_w, dtype=float) ** 2, np.asarray(sum_w2, dtype=float))
    low, high = wilson_ci(np.nan_to_num(pct, nan=0.0) * n_eff, n_eff, confidence=confidence)
    return {
        "n": n,
        "n_flagged": sum_wy,
        "pct": pct,
        "ci_low": low,
        "ci_high": high,
        "n_eff": n_eff,
    }


def _flags_and_weights(flags: ArrayLike, weights: ArrayLike | None) -> tuple[np.ndarray, ...]:
    """Validated 0/1 flags and weights, rows with a missing flag or weight dropped."""
    y = _as_float(flags, name="flags").ravel()
    w = np.ones_like(y) if weights is None else _as_float(weights, name="weights").ravel()
    if w.shape != y.shape:
        raise ValueError(f"weights must have one value per flag; got {w.size} for {y.size} flags.")
    not_binary = ~np.isnan(y) & (y != 0.0) & (y != 1.0)
    if np.any(not_binary):
        raise ValueError(
            f"flags must be 0, 1 or missing; got {y[not_binary][0]:g}{_where(not_binary)}."
        )
    _check_range(w, name="weights", low=0.0, high=np.finfo(float).max)
    keep = ~np.isnan(y) & ~np.isnan(w)
    return y[keep], w[keep]


def weighted_proportion(
    flags: ArrayLike, *, weights: ArrayLike | None = None, confidence: float = 0.95
) -> pd.Series:
    """Proportion flagged with a Wilson interval, optionally weighted.

    With weights the proportion is ``sum(w*y) / sum(w)`` and the interval is the Wilson interval
    computed with ``n = n_eff`` (Kish effective sample size) and ``x = pct * n_eff``. Without
    weights this is the ordinary Wilson interval and ``n_eff == n``.

    Parameters
    ----------
    flags : array-like
        1 = flagged, 0 = not flagged, NaN = unknown (left out).
    weights : array-like, optional
        Non-negative weights, one per flag; rows with a missing weight are left out.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    pandas.Series
        ``n`` (respondents with a flag, unweighted), ``n_flagged`` (weighted sum of flags),
        ``pct`` (0..1), ``ci_low``, ``ci_high``, ``n_eff``.

    Raises
    ------
    ValueError
        If a flag is not 0/1/NaN, a weight is negative, or the lengths differ.

    Examples
    --------
    >>> s = weighted_proportion([1, 0, 0, 1, np.nan], weights=[2.0, 1.0, 1.0, 2.0, 5.0])
    >>> print(s.round(4).to_dict())
    {'n': 4.0, 'n_flagged': 4.0, 'pct': 0.6667, 'ci_low': 0.2312, 'ci_high': 0.9301, 'n_eff': 3.6}
    """
    y, w = _flags_and_weights(flags, weights)
    summary = _summarise(float(y.size), w.sum(), (w**2).sum(), (w * y).sum(), confidence=confidence)
    return pd.Series({key: float(value) for key, value in summary.items()})


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
    y = _as_float(_column(frame, flag, role="Flag"), name=f"flag column {flag!r}")
    w = (
        np.ones_like(y)
        if weight is None
        else _as_float(_column(frame, weight, role="Weight"), name=f"weight column {weight!r}")
    )
    _flags_and_weights(y, w)  # validation only
    known = ~np.isnan(y) & ~np.isnan(w)
    wk, yk = np.where(known, w, 0.0), np.where(known, y, 0.0)
    sums = _group_sums(frame[keys], keys, _n=known.astype(float), _sw=wk, _sw2=wk**2, _swy=wk * yk)
    summary = _summarise(
        sums["_n"].to_numpy(),
        sums["_sw"].to_numpy(),
        sums["_sw2"].to_numpy(),
        sums["_swy"].to_numpy(),
        confidence=confidence,
    )
    return pd.DataFrame(summary, index=sums.index).reset_index()


# --------------------------------------------------------------------------- two proportions


def newcombe_diff_ci(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe hybrid score interval for the difference ``x1/n1 - x2/n2``.

    Method 10 of Newcombe (1998): with Wilson intervals ``(l1, u1)`` and ``(l2, u2)``,
    ``low = d - sqrt((p1 - l1)**2 + (u2 - p2)**2)`` and
    ``high = d + sqrt((u1 - p1)**2 + (p2 - l2)**2)``.

    Parameters
    ----------
    x1, n1 : array-like of float
        Flagged and respondents in the focus group (later wave, or area).
    x2, n2 : array-like of float
        Flagged and respondents in the reference group (earlier wave, or city).
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    diff_low, diff_high : numpy.ndarray
        Interval for the difference in proportions (-1..1); NaN where ``n1`` or ``n2`` is 0.

    Raises
    ------
    ValueError
        If a count is negative, ``x > n`` or ``confidence`` is outside (0, 1).

    Examples
    --------
    >>> low, high = newcombe_diff_ci(7, 34, 1, 34)
    >>> print(round(float(low), 4), round(float(high), 4))
    0.0189 0.3404
    """
    x1_arr, n1_arr = _counts(x1, n1, names=("x1", "n1"))
    x2_arr, n2_arr = _counts(x2, n2, names=("x2", "n2"))
    p1, p2 = _ratio(x1_arr, n1_arr), _ratio(x2_arr, n2_arr)
    l1, u1 = wilson_ci(x1_arr, n1_arr, confidence=confidence)
    l2, u2 = wilson_ci(x2_arr, n2_arr, confidence=confidence)
    diff = p1 - p2
    low = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return _unwrap(np.asarray(low)), _unwrap(np.asarray(high))


def two_proportion_ztest(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike) -> ZTestResult:
    """Pooled two-proportion z-test of ``p1 == p2`` (two-sided).

    ``z = (p1 - p2) / sqrt(p*(1-p)*(1/n1 + 1/n2))`` with the pooled ``p = (x1+x2)/(n1+n2)``;
    ``z**2`` is R's ``prop.test(correct = FALSE)`` chi-square.

    Parameters
    ----------
    x1, n1, x2, n2 : array-like of float
        Flagged and respondents in the two groups.

    Returns
    -------
    ZTestResult
        ``(z, p_value)``; NaN where a group has no respondents or the pooled proportion is 0 or 1
        (nobody or everybody flagged: the test is undefined).

    Raises
    ------
    ValueError
        If a count is negative or ``x > n``.

    Examples
    --------
    >>> z, p = two_proportion_ztest(5, 83, 12, 99)
    >>> print(round(float(z), 4), round(float(p), 4))
    -1.4078 0.1592
    """
    x1_arr, n1_arr = _counts(x1, n1, names=("x1", "n1"))
    x2_arr, n2_arr = _counts(x2, n2, names=("x2", "n2"))
    pooled = _ratio(x1_arr + x2_arr, n1_arr + n2_arr)
    variance = pooled * (1.0 - pooled) * (_ratio(1.0, n1_arr) + _ratio(1.0, n2_arr))
    z = _ratio(_ratio(x1_arr, n1_arr) - _ratio(x2_arr, n2_arr), np.sqrt(variance))
    p_value = 2.0 * _normal_sf(np.abs(z))
    return ZTestResult(_unwrap(np.asarray(z)), _unwrap(np.asarray(p_value)))


def cohens_h(p1: ArrayLike, p2: ArrayLike) -> np.ndarray:
    """Cohen's h effect size ``2*asin(sqrt(p1)) - 2*asin(sqrt(p2))``.

    Parameters
    ----------
    p1, p2 : array-like of float
        Proportions in 0..1 (NaN gives NaN).

    Returns
    -------
    numpy.ndarray
        h, between -pi and pi (NumPy float scalar for scalar input).

    Raises
    ------
    ValueError
        If a proportion is outside 0..1.

    Examples
    --------
    >>> print(round(float(cohens_h(0.5, 0.25)), 4))
    0.5236
    """
    p1_arr, p2_arr = np.broadcast_arrays(_as_float(p1, name="p1"), _as_float(p2, name="p2"))
    _check_range(p1_arr, name="p1", low=0.0, high=1.0)
    _check_range(p2_arr, name="p2", low=0.0, high=1.0)
    h = 2.0 * np.arcsin(np.sqrt(p1_arr)) - 2.0 * np.arcsin(np.sqrt(p2_arr))
    return _unwrap(h)


def holm_adjust(pvalues: ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values.

    The ``m`` non-missing p-values form the family; the ``i``-th smallest becomes
    ``max over j <= i of min(1, (m - j + 1) * p_(j))``. Missing p-values stay missing and do not
    count in ``m``.

    Parameters
    ----------
    pvalues : array-like of float
        Unadjusted p-values in 0..1 (any shape; NaN allowed).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order and shape.

    Raises
    ------
    ValueError
        If a p-value is outside 0..1.

    Examples
    --------
    >>> print(holm_adjust([0.01, 0.04, np.nan, 0.03]))
    [0.03 0.06  nan 0.06]
    """
    p = _as_float(pvalues, name="pvalues")
    _check_range(p, name="pvalues", low=0.0, high=1.0)
    flat = p.ravel()
    known = np.flatnonzero(~np.isnan(flat))
    order = known[np.argsort(flat[known], kind="stable")]
    multipliers = np.arange(order.size, 0, -1, dtype=float)
    adjusted = np.minimum(1.0, np.maximum.accumulate(multipliers * flat[order]))
    result = np.full_like(flat, np.nan)
    result[order] = adjusted
    return _unwrap(result.reshape(p.shape))


# --------------------------------------------------------------------------- k proportions


def _one_dim(value: ArrayLike, *, name: str) -> np.ndarray:
    array = np.atleast_1d(_as_float(value, name=name))
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {array.shape}.")
    return array


def _k_sample_inputs(x: ArrayLike, n: ArrayLike, p: ArrayLike | None) -> tuple[np.ndarray, ...]:
    """Validated 1-d counts and (optional) null proportions for :func:`k_proportions_test`."""
    x_arr, n_arr = _one_dim(x, name="x"), _one_dim(n, name="n")
    if x_arr.size != n_arr.size or x_arr.size == 0:
        raise ValueError(
            f"x and n must have the same, non-zero number of groups; got {x_arr.size} and "
            f"{n_arr.size}."
        )
    missing = np.isnan(x_arr) | np.isnan(n_arr) | (n_arr == 0)
    if np.any(missing):
        raise ValueError(
            f"every group needs respondents and a count; group {_first_bad(missing)} has "
            f"x={x_arr[missing][0]:g}, n={n_arr[missing][0]:g}. Leave such groups out."
        )
    _counts(x_arr, n_arr, names=("x", "n"))
    if p is None:
        return x_arr, n_arr, None
    p_arr = _one_dim(p, name="p")
    if p_arr.size not in (1, x_arr.size):
        raise ValueError(
            f"p must be one value or one per group ({x_arr.size}); got {p_arr.size} values."
        )
    p_arr = np.broadcast_to(p_arr, x_arr.shape).copy()
    outside = np.isnan(p_arr) | (p_arr <= 0.0) | (p_arr >= 1.0)
    if np.any(outside):
        raise ValueError(
            f"p must lie strictly between 0 and 1; got {p_arr[outside][0]:g} at position "
            f"{_first_bad(outside)}."
        )
    return x_arr, n_arr, p_arr


def k_proportions_test(
    x: ArrayLike, n: ArrayLike, *, p: ArrayLike | None = None
) -> ChiSquareResult:
    """Pearson chi-square test of k proportions, as R ``prop.test(correct = FALSE)``.

    - ``p`` omitted, k >= 2: equality of the k proportions (pooled), ``df = k - 1``.
    - ``p`` given: each proportion equals its ``p`` (a scalar applies to all), ``df = k``.
    - ``p`` omitted, k == 1: R's default ``p = 0.5``, ``df = 1``.

    Parameters
    ----------
    x : array-like of float
        Flagged per group.
    n : array-like of float
        Respondents per group (all > 0).
    p : float or array-like, optional
        Null proportions, strictly between 0 and 1.

    Returns
    -------
    ChiSquareResult
        ``(statistic, df, p_value)``; statistic and p-value are NaN when the pooled proportion is
        0 or 1.

    Raises
    ------
    ValueError
        If the lengths differ, a group has no respondents or a missing count, a count is
        impossible, or ``p`` is outside (0, 1).

    Examples
    --------
    >>> result = k_proportions_test([73, 90, 114, 75], [86, 93, 136, 82])
    >>> print(round(result.statistic, 4), result.df, round(result.p_value, 4))
    11.1194 3 0.0111
    """
    x_arr, n_arr, p_arr = _k_sample_inputs(x, n, p)
    if p_arr is None and x_arr.size == 1:
        p_arr = np.array([0.5])
    if p_arr is None:
        expected = np.full_like(n_arr, x_arr.sum() / n_arr.sum())
        df = x_arr.size - 1
    else:
        expected, df = p_arr, x_arr.size
    terms = _ratio((x_arr - n_arr * expected) ** 2, n_arr * expected * (1.0 - expected))
    statistic = float(terms.sum()) if np.all(np.isfinite(terms)) else np.nan
    return ChiSquareResult(statistic, df, _chi2_sf(statistic, df))


# --------------------------------------------------------------------------- trend


def _trend_inputs(successes, totals, waves) -> tuple[np.ndarray, ...]:
    """Validated 1-d arrays, waves without respondents dropped."""
    s = _one_dim(successes, name="successes")
    t = _one_dim(totals, name="totals")
    w = _one_dim(waves, name="waves")
    if not s.size == t.size == w.size:
        raise ValueError(
            "successes, totals and waves must have the same length; got "
            f"{s.size}, {t.size} and {w.size}."
        )
    _counts(s, t, names=("successes", "totals"))
    keep = ~np.isnan(s) & ~np.isnan(t) & ~np.isnan(w) & (t > 0)
    s, t, w = s[keep], t[keep], w[keep]
    distinct = np.unique(w)
    if distinct.size < 3:
        listed = ", ".join(f"{v:g}" for v in distinct) or "none"
        raise ValueError(
            "a trend test needs at least 3 waves with respondents; got "
            f"{distinct.size} ({listed}). Compare two waves with compare_proportions instead."
        )
    return s, t, w


def _separated(successes: np.ndarray, totals: np.ndarray, waves: np.ndarray) -> bool:
    """True when no finite slope exists: nobody or everybody flagged, or (quasi-)separation.

    With one covariate the maximum-likelihood slope is infinite exactly when every flagged
    respondent is at or after (or at or before) every respondent not flagged.
    """
    with_flag, without_flag = waves[successes > 0], waves[totals - successes > 0]
    if with_flag.size == 0 or without_flag.size == 0:
        return True
    return bool(with_flag.min() >= without_flag.max() or with_flag.max() <= without_flag.min())


def _grouped_logit(
    successes: np.ndarray, totals: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood ``logit(p) = a + b * x`` on grouped binomial counts (Newton-Raphson).

    Returns the coefficients ``(a, b)`` and their covariance (the inverse Fisher information),
    as a binomial GLM reports them. The caller rules out separation, so the maximum exists.
    Written with NumPy rather than statsmodels, whose import (about a second) every follow-up
    report would otherwise pay.
    """
    design = np.column_stack([np.ones_like(x), x])
    pooled = successes.sum() / totals.sum()
    params = np.array([math.log(pooled / (1.0 - pooled)), 0.0])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(design @ params)))
        information = design.T @ (design * (totals * p * (1.0 - p))[:, None])
        step = np.linalg.solve(information, design.T @ (successes - totals * p))
        params = params + step
        if np.abs(step).max() < 1e-12:
            break
    p = 1.0 / (1.0 + np.exp(-(design @ params)))
    information = design.T @ (design * (totals * p * (1.0 - p))[:, None])
    return params, np.linalg.inv(information)


def _nan_trend(n_waves: int, cycle_years: float) -> TrendResult:
    return TrendResult(*([np.nan] * 7), n_waves=n_waves, cycle_years=cycle_years)


def logistic_trend_test(
    successes: ArrayLike,
    totals: ArrayLike,
    waves: ArrayLike,
    *,
    cycle_years: float = 2.0,
    confidence: float = 0.95,
) -> TrendResult:
    """Linear trend in the log-odds over survey years (binomial GLM on aggregated counts).

    Fits ``logit(p) = a + b * year`` to the counts per wave by maximum likelihood (a binomial
    GLM, as statsmodels' ``GLM``; years are centred, which leaves ``b`` unchanged). Rows with no respondents or a
    missing value are left out. The Wald test assumes independent respondents; clustering in
    schools makes it anti-conservative.

    Parameters
    ----------
    successes : array-like of float
        Flagged per row (one row per wave, or per wave and subgroup).
    totals : array-like of float
        Respondents per row.
    waves : array-like of float
        Survey year of each row; at least 3 distinct years with respondents.
    cycle_years : float, default 2.0
        Years per survey cycle; the odds ratio is reported per cycle.
    confidence : float, default 0.95
        Confidence level of the slope and odds-ratio intervals.

    Returns
    -------
    TrendResult
        ``slope`` (log-odds per year), ``slope_low``, ``slope_high``, ``odds_ratio``
        (``exp(slope * cycle_years)``), ``or_low``, ``or_high``, ``p_value``, ``n_waves``,
        ``cycle_years``. The estimates are NaN when the slope cannot be estimated (nobody or
        everybody flagged, or the waves separate flagged from not flagged completely).

    Raises
    ------
    ValueError
        If fewer than 3 waves have respondents, the lengths differ, a count is impossible, or
        ``cycle_years`` or ``confidence`` is out of range.

    Examples
    --------
    >>> result = logistic_trend_test([30, 25, 20], [100, 100, 100], [2019, 2021, 2023])
    >>> print(round(result.slope, 4), round(result.odds_ratio, 3), round(result.p_value, 3))
    -0.1343 0.764 0.104
    """
    s, t, w = _trend_inputs(successes, totals, waves)
    z = _z_value(confidence)
    if not isinstance(cycle_years, numbers.Real) or not cycle_years > 0:
        raise ValueError(f"cycle_years must be a positive number of years; got {cycle_years!r}.")
    n_waves = int(np.unique(w).size)
    if _separated(s, t, w):
        return _nan_trend(n_waves, cycle_years)
    params, covariance = _grouped_logit(s, t, w - w.mean())
    slope, se = float(params[1]), float(np.sqrt(covariance[1, 1]))
    low, high = slope - z * se, slope + z * se
    return TrendResult(
        slope=slope,
        slope_low=low,
        slope_high=high,
        odds_ratio=float(np.exp(slope * cycle_years)),
        or_low=float(np.exp(low * cycle_years)),
        or_high=float(np.exp(high * cycle_years)),
        p_value=float(2.0 * _normal_sf(abs(slope / se))),
        n_waves=n_waves,
        cycle_years=cycle_years,
    )


# --------------------------------------------------------------------------- tidy comparison


def compare_proportions(
    x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Compare pairs of proportions: difference with Newcombe interval, z-test and Cohen's h.

    Used for area-vs-city and wave-vs-wave comparisons; ``1`` is the focus (area, later wave)
    and ``2`` the reference (city, earlier wave). Adjust ``p_value`` across a family of
    comparisons with :func:`holm_adjust` and label with :func:`label_change`.

    Parameters
    ----------
    x1, n1 : array-like of float
        Flagged and respondents, focus group (weighted: ``pct * n_eff`` and ``n_eff``).
    x2, n2 : array-like of float
        Flagged and respondents, reference group.
    confidence : float, default 0.95
        Confidence level of the difference interval.

    Returns
    -------
    pandas.DataFrame
        One row per pair with columns ``p1``, ``p2``, ``diff`` (``p1 - p2``), ``diff_low``,
        ``diff_high``, ``z``, ``p_value`` (two-sided, unadjusted), ``cohens_h``. The index is
        ``x1``'s when ``x1`` is a pandas Series, otherwise 0..k-1. NaN where a group has no
        respondents.

    Raises
    ------
    ValueError
        If a count is negative, ``x > n`` or ``confidence`` is outside (0, 1).

    Examples
    --------
    >>> table = compare_proportions([7, 30], [34, 100], [1, 20], [34, 100])
    >>> print(table.round(3).to_string())
          p1     p2   diff  diff_low  diff_high      z  p_value  cohens_h
    0  0.206  0.029  0.176     0.019      0.340  2.258    0.024     0.597
    1  0.300  0.200  0.100    -0.020      0.217  1.633    0.102     0.232
    """
    x1_arr, n1_arr = _counts(x1, n1, names=("x1", "n1"))
    x2_arr, n2_arr = _counts(x2, n2, names=("x2", "n2"))
    shape = np.broadcast_shapes(x1_arr.shape, x2_arr.shape)
    x1_arr, n1_arr, x2_arr, n2_arr = (
        np.broadcast_to(a, shape).ravel() for a in (x1_arr, n1_arr, x2_arr, n2_arr)
    )
    p1, p2 = _ratio(x1_arr, n1_arr), _ratio(x2_arr, n2_arr)
    low, high = newcombe_diff_ci(x1_arr, n1_arr, x2_arr, n2_arr, confidence=confidence)
    z, p_value = two_proportion_ztest(x1_arr, n1_arr, x2_arr, n2_arr)
    use_index = isinstance(x1, pd.Series) and len(x1) == p1.size
    return pd.DataFrame(
        {
            "p1": p1,
            "p2": p2,
            "diff": p1 - p2,
            "diff_low": low,
            "diff_high": high,
            "z": z,
            "p_value": p_value,
            "cohens_h": cohens_h(p1, p2),
        },
        index=x1.index if use_index else None,
    )


def label_change(
    diff_low: ArrayLike, diff_high: ArrayLike, p_adj: ArrayLike, *, alpha: float = 0.05
) -> np.ndarray:
    """Label each comparison ``"increase"``, ``"decrease"`` or ``"no_clear_change"``.

    A change is clear only when the (Holm-adjusted) p-value is below ``alpha`` AND the interval
    for the difference excludes 0 (the z-test and the Newcombe interval can disagree near the
    boundary). Missing values give ``"no_clear_change"``.

    Parameters
    ----------
    diff_low, diff_high : array-like of float
        Interval for ``p1 - p2``.
    p_adj : array-like of float
        Adjusted p-values (see :func:`holm_adjust`).
    alpha : float, default 0.05
        Significance level, strictly between 0 and 1.

    Returns
    -------
    numpy.ndarray
        Array of str codes (see ``CHANGE_CODES``), broadcast shape of the inputs.

    Raises
    ------
    ValueError
        If ``alpha`` is outside (0, 1) or ``diff_low > diff_high``.

    Examples
    --------
    >>> print(label_change([0.02, -0.3, -0.1], [0.2, -0.1, 0.1], [0.01, 0.02, 0.5]))
    ['increase' 'decrease' 'no_clear_change']
    """
    if not isinstance(alpha, numbers.Real) or not 0.0 < alpha < 1.0:
        raise ValueError(
            f"alpha must be a number between 0 and 1 (for example 0.05); got {alpha!r}."
        )
    low, high, p = np.broadcast_arrays(
        _as_float(diff_low, name="diff_low"),
        _as_float(diff_high, name="diff_high"),
        _as_float(p_adj, name="p_adj"),
    )
    reversed_ = low > high
    if np.any(reversed_):
        raise ValueError(
            f"diff_low must not exceed diff_high; got {low[reversed_].flat[0]:g} > "
            f"{high[reversed_].flat[0]:g}{_where(reversed_)}."
        )
    significant = p < alpha
    codes = np.select(
        [significant & (low > 0.0), significant & (high < 0.0)],
        [CHANGE_CODES[0], CHANGE_CODES[1]],
        default=CHANGE_CODES[2],
    )
    return _unwrap(codes)
