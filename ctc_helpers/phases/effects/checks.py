"""The checks a careful evaluator makes: pre-trends (event study) and regression to the mean.

Event study, :func:`event_study`
    One estimate per survey before and after the start, each relative to the last survey before
    it (the reference, 0 by definition). After the start: the effect by survey. Before the start:
    how far the CTC areas already moved apart from the comparison areas (pre-trends), which the
    design assumes did not happen. With only one survey before the start there is nothing to
    look at: the assumption cannot be checked.
Pre-trend test, :func:`pretrend_test`
    A randomisation test on the surveys before the first start only (so that a real effect after
    the start cannot mix in): the pupil-weighted mean square of the pre-start estimates, against
    every assignment of CTC status. Needs two or more surveys before the start.
Regression to the mean, :func:`regression_to_mean`
    Areas are often chosen for CTC because they looked worst. A share that is high partly by
    chance tends to come back down by itself, so the CTC areas would improve even without an
    effect. The check compares the CTC areas' level before the start with the comparison areas'
    and asks how often a gap this large in the worse direction arises when the CTC areas are
    picked at random (:data:`RTM_ALPHA`).

Examples
--------
>>> int(RTM_ALPHA * 100)
5
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctc_helpers.phases.effects.design import COMPARISON, Design, assignments
from ctc_helpers.phases.effects.did import (
    NO_EVENT,
    Panel,
    adjusted_means,
    column_events,
    fit_panel,
    observed_starts,
    solve_targets,
)
from ctc_helpers.phases.effects.inference import (
    TIE_TOLERANCE,
    assignment_statistics,
    permutation_inference,
)

__all__ = ["RTM_ALPHA", "EVENT_COLUMNS", "event_study", "pretrend_test", "regression_to_mean"]

RTM_ALPHA = 0.05
EVENT_COLUMNS = (
    "event", "waves", "estimate", "ci_low", "ci_high", "p_value", "n_pupils", "reference",
)  # fmt: skip


def _event_waves(panel: Panel, events: np.ndarray, event: int) -> str:
    waves = sorted({panel.waves[w] for w in panel.col_wave[events == event]})
    return ", ".join(str(w) for w in waves)


def event_study(
    panel: Panel,
    design: Design,
    *,
    n_permutations: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Estimates by survey relative to the start, with randomisation p-values and intervals.

    Returns
    -------
    pandas.DataFrame
        :data:`EVENT_COLUMNS`: ``event`` (-2, -1, 0, 1 ...: surveys before / after the start),
        ``waves`` (the survey years at that position, text), ``estimate`` (share; 0 at the
        reference -1), ``ci_low, ci_high, p_value`` (randomisation inference; NaN at the
        reference), ``n_pupils`` (CTC pupils at that position), ``reference`` (bool).
    """
    events = column_events(panel, observed_starts(panel, design))
    present = sorted({int(e) for e in events if e != NO_EVENT})
    targets = [e for e in present if e != -1]
    estimates = solve_targets(
        panel, events, targets=targets, rhs=panel.project(panel.y)
    )[:, 0] if targets else np.array([])  # fmt: skip
    inference = permutation_inference(
        panel, design, targets=targets, n_permutations=n_permutations, seed=seed, alpha=alpha
    ) if targets else []  # fmt: skip
    rows = []
    for event in present:
        k = targets.index(event) if event in targets else None
        rows.append(
            {
                "event": event,
                "waves": _event_waves(panel, events, event),
                "estimate": 0.0 if k is None else float(estimates[k]),
                "ci_low": np.nan if k is None else inference[k].ci_low,
                "ci_high": np.nan if k is None else inference[k].ci_high,
                "p_value": np.nan if k is None else inference[k].p_value,
                "n_pupils": float(panel.col_n[events == event].sum()),
                "reference": k is None,
            }
        )
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))


def pretrend_test(
    cells: pd.DataFrame, design: Design, *, n_permutations: int = 1000, seed: int = 0
) -> dict | None:
    """Randomisation test of parallel trends before the first start.

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`~ctc_helpers.phases.effects.did.prepare_cells` of the measure.
    design : Design
        The evaluation's design.

    Returns
    -------
    dict or None
        ``statistic`` (pupil-weighted mean square of the pre-start estimates, shares squared),
        ``p_value``, ``waves_before`` (surveys before the first start), ``n_draws``, ``exact``;
        ``None`` with fewer than two surveys before the first start (nothing to test).
    """
    first = design.first_start
    waves = tuple(w for w in design.waves if first is not None and w <= first)
    if len(waves) < 2:
        return None
    before = Design(design.group, waves, dict(design.starts), dict(design.strata))
    panel = fit_panel(cells, before)
    starts = observed_starts(panel, before)
    events = column_events(panel, starts)
    leads = sorted({int(e) for e in events if e not in (NO_EVENT, -1)})
    if not leads:
        return None
    table, exact = assignments(before, n_permutations=n_permutations, seed=seed)
    table = table[:, [before.areas.index(a) for a in panel.areas]]
    stats = assignment_statistics(panel, table, targets=leads, outcomes=panel.y)[:, :, 0]
    weights = np.array([panel.col_n[events == e].sum() for e in leads])
    weights = weights / weights.sum()
    squares = np.nansum(stats**2 * weights, axis=1)
    observed_stats = solve_targets(panel, events, targets=leads, rhs=panel.project(panel.y))
    observed = float(np.sum(observed_stats[:, 0] ** 2 * weights))
    extreme = np.isnan(stats).any(axis=1) | (squares >= observed * (1 - TIE_TOLERANCE))
    p_value = extreme.mean() if exact else (1 + extreme.sum()) / (1 + len(extreme))
    return {
        "statistic": observed,
        "p_value": float(p_value),
        "waves_before": len(waves),
        "n_draws": len(table),
        "exact": exact,
    }


def regression_to_mean(
    panel: Panel,
    design: Design,
    *,
    worse: str,
    n_permutations: int = 1000,
    seed: int = 0,
) -> dict:
    """Did the CTC areas start from worse levels than chance would give?

    Parameters
    ----------
    panel, design
        The measure's panel and its design.
    worse : str
        ``"increase"`` when a higher share is worse (risk factors, behaviours), ``"decrease"``
        when lower is worse (protective factors); ``""`` (unknown) never flags.

    Returns
    -------
    dict
        ``wave`` (the last survey before the first start), ``level_ctc`` and
        ``level_comparison`` (mix-adjusted shares then, pupil-weighted, within comparison groups),
        ``gap`` (CTC minus comparison), ``p_value`` (one-sided, in the worse direction, over the
        assignments of CTC status) and ``flag`` (``p_value <= RTM_ALPHA``, or the most extreme
        arrangement possible when so few areas cannot reach it).
    """
    starts = observed_starts(panel, design)
    events = column_events(panel, starts)
    means = adjusted_means(panel, np.flatnonzero((events >= 0) & (events != NO_EVENT)))
    first = design.first_start
    wave = max((i for i, w in enumerate(panel.waves) if w <= first), default=None)
    empty = {"wave": np.nan, "level_ctc": np.nan, "level_comparison": np.nan, "gap": np.nan,
             "p_value": np.nan, "flag": False}  # fmt: skip
    if wave is None:
        return empty
    columns = np.flatnonzero(panel.col_wave == wave)
    area = panel.col_area[columns]
    table, exact = assignments(design, n_permutations=n_permutations, seed=seed)
    table = table[:, [design.areas.index(a) for a in panel.areas]]
    gaps = np.array(
        [_gap(means[columns], panel.col_n[columns], panel.strata[area], row[area] != COMPARISON)
         for row in table]
    )  # fmt: skip
    observed = _gap(means[columns], panel.col_n[columns], panel.strata[area],
                    starts[area] != COMPARISON)  # fmt: skip
    level_ctc, level_comparison, gap = observed
    sign = {"increase": 1.0, "decrease": -1.0}.get(worse, 0.0)
    if sign == 0.0 or np.isnan(gap):
        return {**empty, "wave": panel.waves[wave], "level_ctc": level_ctc,
                "level_comparison": level_comparison, "gap": gap}  # fmt: skip
    scale = TIE_TOLERANCE * (1 + abs(gap))
    extreme = sign * gaps[:, 2] >= sign * gap - scale
    p_value = float(extreme.mean() if exact else (1 + extreme.sum()) / (1 + len(extreme)))
    smallest = 1 / len(table) if exact else 1 / (1 + len(table))
    flag = sign * gap > 0 and p_value <= max(RTM_ALPHA, smallest)
    return {
        "wave": panel.waves[wave],
        "level_ctc": level_ctc,
        "level_comparison": level_comparison,
        "gap": gap,
        "p_value": p_value,
        "flag": bool(flag),
    }


def _gap(means, n, strata, is_ctc) -> tuple[float, float, float]:
    """Pupil-weighted levels of both arms, compared within comparison groups."""
    parts = []
    for stratum in np.unique(strata):
        inside = strata == stratum
        ctc, comparison = inside & is_ctc, inside & ~is_ctc
        if ctc.any() and comparison.any():
            parts.append(
                (n[ctc].sum(), np.average(means[ctc], weights=n[ctc]),
                 np.average(means[comparison], weights=n[comparison]))
            )  # fmt: skip
    if not parts:
        return np.nan, np.nan, np.nan
    weight, ctc_level, comparison_level = (np.array(x) for x in zip(*parts, strict=True))
    level_ctc = float(np.average(ctc_level, weights=weight))
    level_comparison = float(np.average(comparison_level, weights=weight))
    return level_ctc, level_comparison, level_ctc - level_comparison
