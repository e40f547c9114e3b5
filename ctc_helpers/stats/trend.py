"""Trend over three or more waves: logistic regression of the counts on the survey year.

**Binomial logistic regression** of the aggregated counts on the survey year, as in the CDC YRBS
trend analyses (a linear term only; no covariates). The fit is a few lines of NumPy
(Newton-Raphson on grouped counts, tested against statsmodels) rather than statsmodels, whose
import (about a second) every follow-up report would otherwise pay.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ctc_helpers.stats.distributions import normal_sf, z_value
from ctc_helpers.stats.inputs import check_counts, one_dim

__all__ = ["TrendResult", "logistic_trend_test"]


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


def _trend_inputs(successes, totals, waves) -> tuple[np.ndarray, ...]:
    """Validated 1-d arrays, waves without respondents dropped."""
    s = one_dim(successes, name="successes")
    t = one_dim(totals, name="totals")
    w = one_dim(waves, name="waves")
    if not s.size == t.size == w.size:
        raise ValueError(
            "successes, totals and waves must have the same length; got "
            f"{s.size}, {t.size} and {w.size}."
        )
    check_counts(s, t, names=("successes", "totals"))
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
    GLM, as statsmodels' ``GLM``; years are centred, which leaves ``b`` unchanged). Rows with no
    respondents or a missing value are left out. The Wald test assumes independent respondents;
    clustering in schools makes it anti-conservative.

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
    z = z_value(confidence)
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
        p_value=float(2.0 * normal_sf(abs(slope / se))),
        n_waves=n_waves,
        cycle_years=cycle_years,
    )
