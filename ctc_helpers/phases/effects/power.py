"""What an evaluation can see: variance components and the minimum detectable effect.

A difference-in-differences between areas is noisy for two reasons: each area-wave share rests
on a limited number of pupils (sampling noise), and areas drift apart from wave to wave for
reasons that have nothing to do with CTC (the area x wave component). Stable differences between
areas cancel in the difference-in-differences. :func:`variance_components` estimates both
components from the areas' mix-adjusted shares in the waves without CTC (method of moments);
:func:`minimum_detectable_effect` turns them into the smallest true effect the design would
detect with the chosen power (Bloom's formula for area-level comparisons), so a municipality
planning a pilot knows before it starts what its evaluation can see.

For ``J1`` CTC areas and ``J0`` comparison areas with ``m`` pupils per area and wave, ``T0`` and
``T1`` surveys before and after the start, share ``p`` (pupil variance ``s2 = p (1 - p)``),
intra-area correlation ``icc`` and area x wave correlation ``icc_wave`` (both as shares of
``s2``)::

    var(one area's change) = s2 * (icc_wave + (1 - icc) / m) * (1 / T0 + 1 / T1)
    var(DiD)               = var(one area's change) * (1 / J1 + 1 / J0)
    MDE                    = (t[1 - alpha/2, J1 + J0 - 2] + t[power, J1 + J0 - 2]) * sqrt(var(DiD))

Examples
--------
>>> round(minimum_detectable_effect(n_ctc=3, n_comparison=5, pupils=1200, prevalence=0.3,
...       icc=0.01, icc_wave=0.001), 4)
0.0678
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ctc_helpers.phases.effects.did import NO_EVENT, Panel, adjusted_means, column_events

__all__ = [
    "VarianceComponents",
    "variance_components",
    "minimum_detectable_effect",
    "smallest_p_value",
    "plan_table",
]


@dataclass(frozen=True)
class VarianceComponents:
    """``prevalence`` (pupil-weighted share without CTC), ``sigma2`` (pupil variance), ``icc``
    (between areas within a wave), ``icc_wave`` (area x wave drift after area and wave effects,
    what a difference-in-differences faces) and ``n_area_waves`` used."""

    prevalence: float
    sigma2: float
    icc: float
    icc_wave: float
    n_area_waves: int


def variance_components(panel: Panel, starts: np.ndarray) -> VarianceComponents:
    """Estimate the variance components from the area-waves without CTC.

    Parameters
    ----------
    panel : Panel
        The measure's cells (:func:`~ctc_helpers.phases.effects.did.fit_panel`).
    starts : numpy.ndarray
        Start per area of the observed design (:func:`~.did.observed_starts`); the CTC areas'
        waves after their start are left out (an effect would count as drift).

    Returns
    -------
    VarianceComponents
        Method-of-moments estimates, truncated at 0: for a model ``m = X b + u + e`` fitted by
        ordinary least squares with residual maker ``M``, ``E[r'r] = sum_i M_ii (tau2 + v_i)``,
        where ``v_i`` is the sampling variance of area-wave ``i``'s share.
    """
    events = column_events(panel, starts)
    untreated = (events < 0) | (events == NO_EVENT)
    means = adjusted_means(panel, np.flatnonzero(~untreated))
    cell_var = panel.n * panel.y * (1 - panel.y)
    sampling = np.bincount(panel.cell_col, weights=cell_var) / panel.col_n**2
    keep = np.flatnonzero(untreated)
    prevalence = float(np.average(means[keep], weights=panel.col_n[keep]))
    sigma2 = prevalence * (1 - prevalence)
    area, wave = panel.col_area[keep], panel.col_wave[keep]
    stratum_wave = panel.strata[area] * len(panel.waves) + wave
    between = _moment(means[keep], sampling[keep], [stratum_wave])
    drift = _moment(means[keep], sampling[keep], [area, stratum_wave])
    ratio = (lambda v: min(v / sigma2, 1.0)) if sigma2 > 0 else (lambda v: float("nan"))
    return VarianceComponents(
        prevalence=prevalence,
        sigma2=sigma2,
        icc=ratio(between),
        icc_wave=ratio(drift),
        n_area_waves=int(len(keep)),
    )


def _moment(values: np.ndarray, sampling: np.ndarray, factors: list[np.ndarray]) -> float:
    dummies = []
    for codes in factors:
        _, inverse = np.unique(codes, return_inverse=True)
        block = np.zeros((len(values), inverse.max() + 1))
        block[np.arange(len(values)), inverse] = 1.0
        dummies.append(block)
    x = np.hstack(dummies)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    q = u[:, s > 1e-10 * s.max()]
    resid = values - q @ (q.T @ values)
    keep = 1.0 - (q**2).sum(axis=1)
    df = keep.sum()
    if df <= 0.5:
        return float("nan")
    return max(0.0, float((resid @ resid - keep @ sampling) / df))


def minimum_detectable_effect(
    *,
    n_ctc: int,
    n_comparison: int,
    pupils: float,
    prevalence: float,
    icc: float = 0.0,
    icc_wave: float = 0.0,
    waves_before: int = 1,
    waves_after: int = 1,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """The smallest true effect (share, e.g. 0.05 = 5 percentage points) the design detects.

    Parameters
    ----------
    n_ctc, n_comparison : int
        Areas with and without CTC.
    pupils : float
        Pupils answering per area and wave.
    prevalence : float
        Share flagged before the start (0..1).
    icc, icc_wave : float
        Intra-area correlation and area x wave correlation (:func:`variance_components`).
    waves_before, waves_after : int
        Surveys before and after the start.
    alpha, power : float
        Two-sided significance level and the power wanted.

    Returns
    -------
    float
        NaN when the design has no degrees of freedom (fewer than three areas).
    """
    df = n_ctc + n_comparison - 2
    if df < 1 or min(n_ctc, n_comparison, waves_before, waves_after) < 1 or pupils <= 0:
        return float("nan")
    sigma2 = prevalence * (1 - prevalence)
    change = sigma2 * (icc_wave + (1 - icc) / pupils) * (1 / waves_before + 1 / waves_after)
    se = math.sqrt(change * (1 / n_ctc + 1 / n_comparison))
    multiplier = stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)
    return float(multiplier * se)


def smallest_p_value(n_ctc: int, n_comparison: int) -> float:
    """The smallest two-sided p-value an exact permutation test can give: one over the number of
    ways to choose the CTC areas (without comparison groups or staggered starts).

    >>> smallest_p_value(1, 4), round(smallest_p_value(3, 7), 4)
    (0.2, 0.0083)
    """
    return 1.0 / math.comb(n_ctc + n_comparison, n_ctc)


def plan_table(
    *,
    pupils: float,
    prevalence: float,
    icc: float,
    icc_wave: float,
    areas: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10),
    waves_before: int = 1,
    waves_after: int = 2,
    alpha: float = 0.05,
    power: float = 0.8,
) -> pd.DataFrame:
    """Minimum detectable effect of pilots with as many CTC as comparison areas.

    Returns columns ``n_ctc, n_comparison, mde`` (share) and ``smallest_p`` (exact permutation
    test); ``detectable`` is False when even a huge effect cannot reach ``alpha``.
    """
    rows = []
    for k in areas:
        mde = minimum_detectable_effect(
            n_ctc=k, n_comparison=k, pupils=pupils, prevalence=prevalence, icc=icc,
            icc_wave=icc_wave, waves_before=waves_before, waves_after=waves_after, alpha=alpha,
            power=power,
        )  # fmt: skip
        smallest = smallest_p_value(k, k)
        rows.append(
            {"n_ctc": k, "n_comparison": k, "mde": mde, "smallest_p": smallest,
             "detectable": smallest <= alpha}
        )  # fmt: skip
    return pd.DataFrame(rows)
