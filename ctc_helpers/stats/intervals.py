"""Confidence intervals for a proportion and for the difference of two proportions.

Confidence interval of a proportion: **Wilson score interval** (Wilson 1927, JASA 22:209-212).
Brown, Cai & DasGupta (2001, Statistical Science 16:101-133) recommend it over the Wald
interval ``p +/- z*sqrt(p(1-p)/n)`` used in some municipal reports, which has poor coverage for
small ``n`` and collapses to zero width at 0 % and 100 %. It is the interval of R
``prop.test(correct = FALSE)`` and ``binom.confint(method = "wilson")``.

Difference of two proportions: **Newcombe hybrid score interval** (Newcombe 1998, Statistics in
Medicine 17:873-890, method 10), built from the two Wilson intervals. Fagerland, Lydersen &
Laake (2015, Statistical Methods in Medical Research 24:224-254) recommend it for general use.

Weighted data: the proportion is ``sum(w*y) / sum(w)`` and the interval is the Wilson interval with
the **Kish effective sample size** ``n_eff = sum(w)**2 / sum(w**2)`` (Kish 1965, Survey Sampling)
in place of ``n`` and ``x = p * n_eff``. This accounts for the variance added by unequal weights
only; clustering of students within schools would need design-based variance, which this module
does not estimate.

In the two-sample function ``1`` is the focus (the later wave, or the area) and ``2`` the
reference (the earlier wave, or the city).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ctc_helpers.stats.distributions import z_value
from ctc_helpers.stats.inputs import (
    as_float,
    check_counts,
    check_range,
    position_text,
    safe_ratio,
    unwrap,
)

__all__ = [
    "check_flags_and_weights",
    "kish_effective_n",
    "newcombe_diff_ci",
    "summarise_proportion",
    "weighted_proportion",
    "wilson_ci",
]


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
    x_arr, n_arr = check_counts(x, n, names=("x", "n"))
    z = z_value(confidence)
    p = np.clip(safe_ratio(x_arr, n_arr), 0.0, 1.0)
    z2n = safe_ratio(np.full_like(n_arr, z * z), n_arr)
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * np.sqrt(safe_ratio(p * (1.0 - p) + z2n / 4.0, n_arr))
    low = np.where(p == 0.0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(p == 1.0, 1.0, np.clip(centre + half, 0.0, 1.0))
    return unwrap(low), unwrap(high)


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
    w = as_float(weights, name="weights").ravel()
    check_range(w, name="weights", low=0.0, high=np.finfo(float).max)
    w = w[~np.isnan(w)]
    return float(safe_ratio(np.array(w.sum() ** 2), np.array((w**2).sum())))


def summarise_proportion(
    n: ArrayLike, sum_w: ArrayLike, sum_w2: ArrayLike, sum_wy: ArrayLike, *, confidence: float
) -> dict[str, ArrayLike]:
    """The columns of a proportion summary from (per-group) sums of ``w``, ``w**2`` and ``w*y``.

    Returns a dict of ``n`` (as given), ``n_flagged`` (``sum_wy``), ``pct`` (``sum_wy / sum_w``),
    ``ci_low``, ``ci_high`` (Wilson with ``x = pct * n_eff``, ``n = n_eff``) and ``n_eff``
    (``sum_w**2 / sum_w2``); NaN where ``sum_w`` is 0.
    """
    pct = safe_ratio(np.asarray(sum_wy, dtype=float), np.asarray(sum_w, dtype=float))
    n_eff = safe_ratio(np.asarray(sum_w, dtype=float) ** 2, np.asarray(sum_w2, dtype=float))
    low, high = wilson_ci(np.nan_to_num(pct, nan=0.0) * n_eff, n_eff, confidence=confidence)
    return {
        "n": n,
        "n_flagged": sum_wy,
        "pct": pct,
        "ci_low": low,
        "ci_high": high,
        "n_eff": n_eff,
    }


def check_flags_and_weights(flags: ArrayLike, weights: ArrayLike | None) -> tuple[np.ndarray, ...]:
    """Validated 0/1 flags and weights, rows with a missing flag or weight dropped.

    Raises ValueError when a flag is not 0, 1 or NaN, a weight is negative or infinite, or the
    lengths differ.
    """
    y = as_float(flags, name="flags").ravel()
    w = np.ones_like(y) if weights is None else as_float(weights, name="weights").ravel()
    if w.shape != y.shape:
        raise ValueError(f"weights must have one value per flag; got {w.size} for {y.size} flags.")
    not_binary = ~np.isnan(y) & (y != 0.0) & (y != 1.0)
    if np.any(not_binary):
        raise ValueError(
            f"flags must be 0, 1 or missing; got {y[not_binary][0]:g}{position_text(not_binary)}."
        )
    check_range(w, name="weights", low=0.0, high=np.finfo(float).max)
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
    y, w = check_flags_and_weights(flags, weights)
    summary = summarise_proportion(
        float(y.size), w.sum(), (w**2).sum(), (w * y).sum(), confidence=confidence
    )
    return pd.Series({key: float(value) for key, value in summary.items()})


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
    x1_arr, n1_arr = check_counts(x1, n1, names=("x1", "n1"))
    x2_arr, n2_arr = check_counts(x2, n2, names=("x2", "n2"))
    p1, p2 = safe_ratio(x1_arr, n1_arr), safe_ratio(x2_arr, n2_arr)
    l1, u1 = wilson_ci(x1_arr, n1_arr, confidence=confidence)
    l2, u2 = wilson_ci(x2_arr, n2_arr, confidence=confidence)
    diff = p1 - p2
    low = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return unwrap(np.asarray(low)), unwrap(np.asarray(high))
