"""Tests of proportions, effect size, multiple comparisons and the tidy comparison table.

Test of two proportions: **pooled two-proportion z-test**; ``z**2`` equals the Pearson chi-square
of the 2 x 2 table without continuity correction (R ``prop.test(correct = FALSE)``). The k-sample
version is :func:`k_proportions_test`.

Effect size: **Cohen's h** = ``2*asin(sqrt(p1)) - 2*asin(sqrt(p2))`` (Cohen 1988, Statistical
Power Analysis for the Behavioral Sciences, 2nd ed.; about 0.2 small, 0.5 medium, 0.8 large).

Several comparisons at once: **Holm step-down adjustment** (Holm 1979, Scandinavian Journal of
Statistics 6:65-70), which controls the family-wise error rate under any dependence and is
uniformly more powerful than Bonferroni. Confidence intervals are not adjusted.

:func:`compare_proportions` puts the Newcombe interval (:mod:`ctc_helpers.stats.intervals`), the
z-test and Cohen's h of pairs of proportions in one tidy frame; :func:`label_change` turns an
adjusted comparison into a change code.

Comparison direction: in the two-sample functions ``p1`` is the focus (the later wave, or the
area) and ``p2`` the reference (the earlier wave, or the city); a positive difference is an
increase.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ctc_helpers.stats.distributions import chi2_sf, normal_sf
from ctc_helpers.stats.inputs import (
    as_float,
    check_counts,
    check_range,
    first_position,
    one_dim,
    position_text,
    safe_ratio,
    unwrap,
)
from ctc_helpers.stats.intervals import newcombe_diff_ci

__all__ = [
    "CHANGE_CODES",
    "ChiSquareResult",
    "ZTestResult",
    "cohens_h",
    "compare_proportions",
    "holm_adjust",
    "k_proportions_test",
    "label_change",
    "two_proportion_ztest",
]

CHANGE_CODES = ("increase", "decrease", "no_clear_change")
"""Codes returned by :func:`label_change` (translated only at the display edge)."""


class ZTestResult(NamedTuple):
    """Result of :func:`two_proportion_ztest` (unpacks as ``z, p_value``)."""

    z: float | np.ndarray
    p_value: float | np.ndarray


class ChiSquareResult(NamedTuple):
    """Result of :func:`k_proportions_test` (unpacks as ``statistic, df, p_value``)."""

    statistic: float
    df: int
    p_value: float


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
    x1_arr, n1_arr = check_counts(x1, n1, names=("x1", "n1"))
    x2_arr, n2_arr = check_counts(x2, n2, names=("x2", "n2"))
    pooled = safe_ratio(x1_arr + x2_arr, n1_arr + n2_arr)
    variance = pooled * (1.0 - pooled) * (safe_ratio(1.0, n1_arr) + safe_ratio(1.0, n2_arr))
    z = safe_ratio(safe_ratio(x1_arr, n1_arr) - safe_ratio(x2_arr, n2_arr), np.sqrt(variance))
    p_value = 2.0 * normal_sf(np.abs(z))
    return ZTestResult(unwrap(np.asarray(z)), unwrap(np.asarray(p_value)))


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
    p1_arr, p2_arr = np.broadcast_arrays(as_float(p1, name="p1"), as_float(p2, name="p2"))
    check_range(p1_arr, name="p1", low=0.0, high=1.0)
    check_range(p2_arr, name="p2", low=0.0, high=1.0)
    h = 2.0 * np.arcsin(np.sqrt(p1_arr)) - 2.0 * np.arcsin(np.sqrt(p2_arr))
    return unwrap(h)


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
    p = as_float(pvalues, name="pvalues")
    check_range(p, name="pvalues", low=0.0, high=1.0)
    flat = p.ravel()
    known = np.flatnonzero(~np.isnan(flat))
    order = known[np.argsort(flat[known], kind="stable")]
    multipliers = np.arange(order.size, 0, -1, dtype=float)
    adjusted = np.minimum(1.0, np.maximum.accumulate(multipliers * flat[order]))
    result = np.full_like(flat, np.nan)
    result[order] = adjusted
    return unwrap(result.reshape(p.shape))


def _k_sample_inputs(x: ArrayLike, n: ArrayLike, p: ArrayLike | None) -> tuple[np.ndarray, ...]:
    """Validated 1-d counts and (optional) null proportions for :func:`k_proportions_test`."""
    x_arr, n_arr = one_dim(x, name="x"), one_dim(n, name="n")
    if x_arr.size != n_arr.size or x_arr.size == 0:
        raise ValueError(
            f"x and n must have the same, non-zero number of groups; got {x_arr.size} and "
            f"{n_arr.size}."
        )
    missing = np.isnan(x_arr) | np.isnan(n_arr) | (n_arr == 0)
    if np.any(missing):
        raise ValueError(
            f"every group needs respondents and a count; group {first_position(missing)} has "
            f"x={x_arr[missing][0]:g}, n={n_arr[missing][0]:g}. Leave such groups out."
        )
    check_counts(x_arr, n_arr, names=("x", "n"))
    if p is None:
        return x_arr, n_arr, None
    p_arr = one_dim(p, name="p")
    if p_arr.size not in (1, x_arr.size):
        raise ValueError(
            f"p must be one value or one per group ({x_arr.size}); got {p_arr.size} values."
        )
    p_arr = np.broadcast_to(p_arr, x_arr.shape).copy()
    outside = np.isnan(p_arr) | (p_arr <= 0.0) | (p_arr >= 1.0)
    if np.any(outside):
        raise ValueError(
            f"p must lie strictly between 0 and 1; got {p_arr[outside][0]:g} at position "
            f"{first_position(outside)}."
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
    terms = safe_ratio((x_arr - n_arr * expected) ** 2, n_arr * expected * (1.0 - expected))
    statistic = float(terms.sum()) if np.all(np.isfinite(terms)) else np.nan
    return ChiSquareResult(statistic, df, chi2_sf(statistic, df))


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
    x1_arr, n1_arr = check_counts(x1, n1, names=("x1", "n1"))
    x2_arr, n2_arr = check_counts(x2, n2, names=("x2", "n2"))
    shape = np.broadcast_shapes(x1_arr.shape, x2_arr.shape)
    x1_arr, n1_arr, x2_arr, n2_arr = (
        np.broadcast_to(a, shape).ravel() for a in (x1_arr, n1_arr, x2_arr, n2_arr)
    )
    p1, p2 = safe_ratio(x1_arr, n1_arr), safe_ratio(x2_arr, n2_arr)
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
        as_float(diff_low, name="diff_low"),
        as_float(diff_high, name="diff_high"),
        as_float(p_adj, name="p_adj"),
    )
    reversed_ = low > high
    if np.any(reversed_):
        raise ValueError(
            f"diff_low must not exceed diff_high; got {low[reversed_].flat[0]:g} > "
            f"{high[reversed_].flat[0]:g}{position_text(reversed_)}."
        )
    significant = p < alpha
    codes = np.select(
        [significant & (low > 0.0), significant & (high < 0.0)],
        [CHANGE_CODES[0], CHANGE_CODES[1]],
        default=CHANGE_CODES[2],
    )
    return unwrap(codes)
