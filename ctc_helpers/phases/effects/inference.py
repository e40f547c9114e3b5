"""Inference that stays honest with a handful of areas.

With 3-10 areas per arm, cluster-robust standard errors are unreliable. Two methods are used,
both with the area as the unit:

Randomisation (permutation) inference, :func:`permutation_inference`
    If CTC had made no difference anywhere, the areas' outcomes would be what they are whichever
    areas had started CTC. The estimate is recomputed for every way CTC status (with its start
    years) could have fallen on the areas, shuffled within comparison groups; the p-value is the
    share of those assignments whose estimate is at least as far from zero as the observed one.
    With all assignments listed the test is exact; the smallest possible p-value is one over
    their number, which says at once what a design can ever show. The interval collects every
    constant effect the test does not reject (test inversion, solved exactly at its breakpoints).

Wild cluster bootstrap, :func:`wild_cluster_bootstrap`
    The restricted wild cluster (score) bootstrap of the average effect, one Webb six-point
    weight per area (better than Rademacher weights with few clusters), with the hypothesis
    imposed on the fit; the interval inverts the test (every candidate value costs a few vector
    operations, the scores being affine in it). With few CTC areas it is known to be
    unreliable; the permutation result is the headline, the bootstrap a second view.

Examples
--------
>>> webb_weights(np.random.default_rng(1), 2, 3).round(3).tolist()
[[1.0, -1.0, -1.225], [1.225, -0.707, 0.707]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ctc_helpers.phases.effects.design import Design, assignments
from ctc_helpers.phases.effects.did import (
    NO_EVENT,
    Panel,
    column_events,
    observed_starts,
    solve_targets,
)

__all__ = [
    "TIE_TOLERANCE",
    "Inference",
    "assignment_statistics",
    "permutation_inference",
    "permutation_interval",
    "webb_weights",
    "bootstrap_scores",
    "wild_cluster_bootstrap",
]

TIE_TOLERANCE = 1e-9  # relative: estimates this close count as equally far from zero
_WEBB = np.sqrt(np.array([0.5, 1.0, 1.5]))


@dataclass(frozen=True)
class Inference:
    """A p-value and an interval (shares); ``n_draws``: assignments or bootstrap draws."""

    p_value: float
    ci_low: float
    ci_high: float
    n_draws: int
    exact: bool = False
    se: float = float("nan")


# --------------------------------------------------------------------------------------------
# Randomisation inference


def assignment_statistics(
    panel: Panel,
    starts_table: np.ndarray,
    *,
    targets: Sequence[int] | None = None,
    outcomes: np.ndarray,
) -> np.ndarray:
    """The estimate under each assignment (rows of ``starts_table``: start per area of the
    panel), for each target and outcome: shape ``(P, n_targets, n_outcomes)``."""
    rhs = panel.project(outcomes)
    return np.stack(
        [
            solve_targets(panel, column_events(panel, starts), targets=targets, rhs=rhs)
            for starts in starts_table
        ]
    )


def _panel_assignments(panel: Panel, design: Design, n_permutations: int, seed: int):
    table, exact = assignments(design, n_permutations=n_permutations, seed=seed)
    keep = [design.areas.index(a) for a in panel.areas]
    return table[:, keep], exact


def _observed_indicator(panel: Panel, design: Design, targets: Sequence[int] | None) -> np.ndarray:
    """Cell indicators of the observed target columns (one column per target)."""
    events = column_events(panel, observed_starts(panel, design))
    wanted = [None] if targets is None else list(targets)
    columns = []
    for target in wanted:
        chosen = (events >= 0) & (events != NO_EVENT) if target is None else events == target
        columns.append(panel.cells_of(np.flatnonzero(chosen)))
    return np.stack(columns, axis=1)


def permutation_inference(
    panel: Panel,
    design: Design,
    *,
    targets: Sequence[int] | None = None,
    n_permutations: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> list[Inference]:
    """Two-sided randomisation p-value and interval of each target.

    Parameters
    ----------
    panel, design
        :func:`~ctc_helpers.phases.effects.did.fit_panel` and its design.
    targets : sequence of int, optional
        ``None``: the average effect after the start; otherwise event indices (event study).
    n_permutations : int, default 1000
        All assignments are used when there are at most this many; otherwise this many drawn.
    seed : int
        Seed of the drawn assignments.
    alpha : float, default 0.05
        1 - confidence level of the interval.

    Returns
    -------
    list of Inference
        One per target. Exact: ``p = #{|T_pi| >= |T_obs|} / #assignments``; drawn:
        ``(1 + #) / (1 + P)``.
    """
    table, exact = _panel_assignments(panel, design, n_permutations, seed)
    indicator = _observed_indicator(panel, design, targets)
    n_targets = indicator.shape[1]
    results = []
    outcomes = np.column_stack([panel.y, indicator])
    stats = assignment_statistics(panel, table, targets=targets, outcomes=outcomes)
    observed = solve_targets(
        panel,
        column_events(panel, observed_starts(panel, design)),
        targets=targets,
        rhs=panel.project(outcomes),
    )
    for k in range(n_targets):
        a, b = stats[:, k, 0], stats[:, k, 1 + k]
        theta = float(observed[k, 0])
        low, high = permutation_interval(a, b, theta, exact=exact, alpha=alpha)
        results.append(
            Inference(
                p_value=_p_value(a, theta, exact=exact),
                ci_low=low,
                ci_high=high,
                n_draws=len(a),
                exact=exact,
            )
        )
    return results


def _p_value(stats: np.ndarray, observed: float, *, exact: bool) -> float:
    if np.isnan(observed):
        return float("nan")
    extreme = _as_extreme(stats, observed)
    return float(extreme.mean()) if exact else float((1 + extreme.sum()) / (1 + len(stats)))


def _as_extreme(stats: np.ndarray, observed: float | np.ndarray) -> np.ndarray:
    """|T| >= |T_obs| up to the tie tolerance; an assignment without an estimate counts."""
    scale = TIE_TOLERANCE * (1.0 + np.abs(observed))
    return np.isnan(stats) | (np.abs(stats) >= np.abs(observed) - scale)


def permutation_interval(
    a: np.ndarray, b: np.ndarray, theta: float, *, exact: bool = True, alpha: float = 0.05
) -> tuple[float, float]:
    """Every constant effect ``c`` the permutation test does not reject, as ``(low, high)``.

    Under the hypothesis that CTC changed every treated cell by ``c``, the statistic of
    assignment *pi* is ``a[pi] - c * b[pi]`` (``a``: estimates of the outcome, ``b``: estimates
    of the observed treatment indicator) and the observed one ``theta - c``. The p-value only
    changes where ``|a - c b| = |theta - c|``; it is evaluated between those breakpoints.
    Returns the outermost accepted breakpoints (``-inf`` / ``inf`` when no value far away is
    rejected: too few areas to bound the effect).
    """
    if np.isnan(theta):
        return float("nan"), float("nan")
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    with np.errstate(divide="ignore", invalid="ignore"):
        points = np.concatenate([(theta - a) / (1 - b), (theta + a) / (1 + b)])
    points = np.unique(points[np.isfinite(points)])
    span = max(1.0, float(np.abs(points).max(initial=0.0)))
    grid = np.concatenate([[-4 * span], points, (points[1:] + points[:-1]) / 2, [4 * span]])
    grid = np.sort(grid)
    accepted = _p_of(a, b, theta, grid, exact=exact) > alpha
    if not accepted.any():
        return float("nan"), float("nan")
    low = -np.inf if accepted[0] else float(grid[np.argmax(accepted)])
    high = np.inf if accepted[-1] else float(grid[len(grid) - 1 - np.argmax(accepted[::-1])])
    return low, high


def _p_of(a, b, theta, grid, *, exact: bool, chunk: int = 512) -> np.ndarray:
    values = []
    for start in range(0, len(grid), chunk):
        c = grid[start : start + chunk, None]
        counts = _as_extreme(a[None, :] - c * b[None, :], theta - c).sum(axis=1)
        values.append(counts / len(a) if exact else (1 + counts) / (1 + len(a)))
    return np.concatenate(values)


# --------------------------------------------------------------------------------------------
# Wild cluster bootstrap (restricted, Webb weights)


def webb_weights(rng: np.random.Generator, n_clusters: int, n_draws: int) -> np.ndarray:
    """Webb's six-point weights: +-sqrt(1/2), +-1, +-sqrt(3/2), each with probability 1/6."""
    sizes = _WEBB[rng.integers(0, 3, (n_clusters, n_draws))]
    return np.where(rng.random((n_clusters, n_draws)) < 0.5, -sizes, sizes)


def wild_cluster_bootstrap(
    panel: Panel,
    design: Design,
    *,
    n_bootstrap: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
) -> Inference:
    """Wild cluster (score) bootstrap p-value and interval of the average effect, by area.

    The hypothesis "CTC changed every treated cell by ``c``" is imposed by fitting the fixed
    effects to ``y - c D`` (``D``: the treated cells). Each area's score ``s_g`` is its
    contribution to the estimate from those restricted residuals; the scores sum to
    ``estimate - c``. The statistic ``sum(s) / sqrt(sum(s**2))`` is compared with its bootstrap
    draws ``sum(v s) / sqrt(sum((v s)**2))``, one Webb weight ``v`` per area (the score bootstrap
    of Kline & Santos 2012, which is the restricted wild cluster bootstrap for this null).
    Refitting the model to the bootstrap data ``fit + v * residuals`` gives exactly ``sum(v s)``.
    The residuals of the fit with one dummy per CTC area-wave would be zero for the CTC
    area-waves, so they are not used: they understate the areas' drift.

    Returns
    -------
    Inference
        ``p_value`` for ``c = 0``, the interval of every ``c`` not rejected (test inversion),
        ``n_draws``; ``se`` = ``sqrt(sum(s**2))`` at ``c = 0``.
    """
    parts = bootstrap_scores(panel, design)
    weights = webb_weights(np.random.default_rng(seed), len(panel.areas), n_bootstrap)
    if parts is None:
        return Inference(float("nan"), float("nan"), float("nan"), n_bootstrap)
    scores0, scores1, theta = parts
    draws0, draws1 = weights * scores0[:, None], weights * scores1[:, None]

    def p_value(c: float) -> float:
        scores = scores0 - c * scores1
        observed = abs(scores.sum()) / np.sqrt((scores**2).sum())
        boot = draws0 - c * draws1
        with np.errstate(invalid="ignore", divide="ignore"):
            t_boot = np.abs(boot.sum(axis=0)) / np.sqrt((boot**2).sum(axis=0))
        return float(np.mean(t_boot >= observed - TIE_TOLERANCE))

    scale = float(np.sqrt((scores0**2).sum()))
    low = _bound(p_value, theta, scale, alpha, -1.0)
    high = _bound(p_value, theta, scale, alpha, 1.0)
    return Inference(p_value(0.0), low, high, n_bootstrap, se=scale)


def bootstrap_scores(panel: Panel, design: Design) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Per-area scores of the average effect: ``s(c) = s0 - c * s1`` under the hypothesis of a
    constant effect ``c`` (arrays in the panel's area order), and the estimate ``sum(s0)``;
    ``None`` when there is nothing to bootstrap."""
    events = column_events(panel, observed_starts(panel, design))
    chosen = np.flatnonzero((events >= 0) & (events != NO_EVENT))
    if len(chosen) == 0 or len(panel.areas) < 2:
        return None
    weights = panel.col_n[chosen] / panel.col_n[chosen].sum()
    resid = panel.resid[:, chosen]
    h = resid @ np.linalg.solve(panel.gram[np.ix_(chosen, chosen)], weights)
    restricted = panel.residualise(panel.sw * panel.y)
    per_unit = resid.sum(axis=1)  # the fixed effects removed from sqrt(n) * D
    scores0 = np.bincount(panel.cell_area, weights=h * restricted, minlength=len(panel.areas))
    scores1 = np.bincount(panel.cell_area, weights=h * per_unit, minlength=len(panel.areas))
    if not (scores0**2).sum() > 0:
        return None
    return scores0, scores1, float(scores0.sum() / scores1.sum())


def _bound(p_value, theta: float, scale: float, alpha: float, direction: float) -> float:
    """The last value in ``direction`` from the estimate that the test does not reject."""
    inside, step = theta, max(scale, 1e-6)
    outside = None
    for _ in range(60):
        candidate = inside + direction * step
        if p_value(candidate) <= alpha:
            outside = candidate
            break
        inside, step = candidate, step * 2
    if outside is None:
        return direction * np.inf
    for _ in range(60):
        middle = (inside + outside) / 2
        if p_value(middle) > alpha:
            inside = middle
        else:
            outside = middle
        if abs(outside - inside) < 1e-7 * max(scale, 1e-6):
            break
    return float(inside)
