"""The effect evaluation of every measure: estimates, inference, checks and power in tidy tables.

:func:`evaluate_effects` runs, for each measure of a tidy aggregate table (private cells inside
the prepare step, or the published tables), the difference-in-differences of :mod:`.did`, the
randomisation inference and the wild cluster bootstrap of :mod:`.inference`, the checks of
:mod:`.checks` and the minimum detectable effect of :mod:`.power`. Numbers and codes only.

Columns of ``estimates`` (:data:`ESTIMATE_COLUMNS`; shares 0..1, differences as shares):

==============================  ==============================================================
``group, measure, measure_kind``  the evaluation (``all`` or a comparison group) and measure
``status``                      ``ok``, ``no_data`` (no answers in the design's areas) or
                                ``not_estimable`` (the CTC areas cannot be separated from the
                                fixed effects, e.g. a wave without comparison answers)
``estimate``                    average effect in the CTC areas after the start (DiD)
``ci_low, ci_high, p_value``    randomisation inference (interval may be infinite)
``exact, n_assignments``        all assignments listed; how many ways CTC could have fallen
``smallest_p``                  the smallest p-value the design can give
``ci_low_boot, ci_high_boot,    wild cluster (score) bootstrap, restricted, Webb weights
p_boot``
``change_ctc, change_comparison``  mix-adjusted change in the CTC areas since before the start,
                                and the change in the comparison areas over the same surveys
``level_ctc, level_comparison,  levels in the last survey before the first start, their gap,
gap_before, rtm_p, rtm_flag``   one-sided p and the regression-to-the-mean flag
``pretrend_p, waves_before,     pre-trend test (NaN with one survey before), surveys before
waves_after``                   and after the start (fewest over the CTC areas)
``n_areas_ctc, n_areas_comparison,  areas and pupil answers (summed over the surveys) behind
n_pupils_ctc, n_pupils_comparison``  the estimate
``prevalence, icc, icc_wave``   variance components (:mod:`.power`)
``mde``                         minimum detectable effect of this design (80 % power; inf when
                                the design cannot reach the significance level at all)
``p_holm``                      Holm-adjusted ``p_value`` within group and measure kind
==============================  ==============================================================

``events`` has ``group, measure`` and :data:`~.checks.EVENT_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctc_helpers.phases.effects.checks import (
    EVENT_COLUMNS,
    event_study,
    pretrend_test,
    regression_to_mean,
)
from ctc_helpers.phases.effects.design import Design
from ctc_helpers.phases.effects.did import (
    estimate_did,
    fit_panel,
    observed_starts,
    prepare_cells,
)
from ctc_helpers.phases.effects.inference import permutation_inference, wild_cluster_bootstrap
from ctc_helpers.phases.effects.power import minimum_detectable_effect, variance_components
from ctc_helpers.vocab import FACTOR_KINDS, OUTCOME_KINDS

__all__ = [
    "ESTIMATE_COLUMNS",
    "Settings",
    "EffectResults",
    "worse_direction",
    "evaluate_measure",
    "evaluate_effects",
    "holm",
]

ESTIMATE_COLUMNS = (
    "group", "measure", "measure_kind", "status", "estimate", "ci_low", "ci_high", "p_value",
    "exact", "n_assignments", "smallest_p", "ci_low_boot", "ci_high_boot", "p_boot",
    "change_ctc", "change_comparison", "level_ctc", "level_comparison", "gap_before", "rtm_p",
    "rtm_flag", "pretrend_p", "waves_before", "waves_after", "n_areas_ctc",
    "n_areas_comparison", "n_pupils_ctc", "n_pupils_comparison", "prevalence", "icc",
    "icc_wave", "mde", "p_holm",
)  # fmt: skip


_RISK, _PROTECTIVE = FACTOR_KINDS
_BEHAVIOUR, _COMPOSITE = OUTCOME_KINDS


def worse_direction(measure_kind: str, group: str | None = None) -> str:
    """The direction of change that is a worsening: ``"increase"`` for risk factors and
    behaviours, ``"decrease"`` for protective factors; a composite follows the kind of factor it
    counts (``group``); ``""`` when unknown.

    >>> worse_direction("behaviour"), worse_direction("composite", "protective")
    ('increase', 'decrease')
    """
    kind = group if measure_kind == _COMPOSITE else measure_kind
    if kind == _PROTECTIVE:
        return "decrease"
    return "increase" if kind in (_RISK, _BEHAVIOUR) else ""


@dataclass(frozen=True)
class Settings:
    """Options of the evaluation (the published tables use the defaults)."""

    n_permutations: int = 1000
    n_bootstrap: int = 999
    alpha: float = 0.05
    power: float = 0.8
    seed: int = 20260415


@dataclass(frozen=True)
class EffectResults:
    """``estimates`` (one row per measure) and ``events`` (one row per measure and survey
    position) of one evaluation, and its design."""

    estimates: pd.DataFrame
    events: pd.DataFrame
    design: Design


def evaluate_measure(
    cells: pd.DataFrame,
    design: Design,
    *,
    worse: str = "",
    settings: Settings | None = None,
    seed: int | None = None,
) -> tuple[dict, pd.DataFrame]:
    """Everything about one measure's cells (:func:`~.did.prepare_cells`).

    Returns the row of ``estimates`` (without ``group, measure, measure_kind, p_holm``) and the
    event-study rows. ``worse``: ``"increase"`` or ``"decrease"`` (see
    :func:`~.checks.regression_to_mean`).
    """
    settings = settings or Settings()
    seed = settings.seed if seed is None else seed
    if not design.estimable or cells.empty:
        return {"status": "no_data"}, pd.DataFrame(columns=list(EVENT_COLUMNS))
    panel = fit_panel(cells, design)
    starts = observed_starts(panel, design)
    if set(panel.areas) != set(design.areas):
        return {"status": "no_data"}, pd.DataFrame(columns=list(EVENT_COLUMNS))
    try:
        did = estimate_did(panel, design)
    except np.linalg.LinAlgError:
        return {"status": "not_estimable"}, pd.DataFrame(columns=list(EVENT_COLUMNS))
    common = {"n_permutations": settings.n_permutations, "seed": seed}
    permutation = permutation_inference(panel, design, alpha=settings.alpha, **common)[0]
    bootstrap = wild_cluster_bootstrap(
        panel, design, n_bootstrap=settings.n_bootstrap, seed=seed, alpha=settings.alpha
    )
    rtm = regression_to_mean(panel, design, worse=worse, **common)
    pretrend = pretrend_test(cells, design, **common)
    components = variance_components(panel, starts)
    row = {
        "status": "ok",
        "estimate": did.att,
        "ci_low": permutation.ci_low,
        "ci_high": permutation.ci_high,
        "p_value": permutation.p_value,
        "exact": permutation.exact,
        "n_assignments": design.n_assignments,
        "smallest_p": _smallest_p(design, settings.n_permutations),
        "ci_low_boot": bootstrap.ci_low,
        "ci_high_boot": bootstrap.ci_high,
        "p_boot": bootstrap.p_value,
        "change_ctc": did.change_ctc,
        "change_comparison": did.change_comparison,
        "level_ctc": rtm["level_ctc"],
        "level_comparison": rtm["level_comparison"],
        "gap_before": rtm["gap"],
        "rtm_p": rtm["p_value"],
        "rtm_flag": rtm["flag"],
        "pretrend_p": np.nan if pretrend is None else pretrend["p_value"],
        **_design_counts(design, did),
        "prevalence": components.prevalence,
        "icc": components.icc,
        "icc_wave": components.icc_wave,
    }
    row["mde"] = _mde(row, settings)
    events = event_study(panel, design, alpha=settings.alpha, **common)
    return row, events


def _smallest_p(design: Design, n_permutations: int) -> float:
    count = design.n_assignments
    return 1 / count if count <= n_permutations else 1 / (1 + n_permutations)


def _design_counts(design: Design, did) -> dict:
    before = [len(design.waves_before(a)) for a in design.ctc_areas]
    after = [len(design.waves_after(a)) for a in design.ctc_areas]
    return {
        "waves_before": min(before),
        "waves_after": min(after),
        "n_areas_ctc": len(design.ctc_areas),
        "n_areas_comparison": len(design.comparison_areas),
        "n_pupils_ctc": did.n_pupils_ctc,
        "n_pupils_comparison": did.n_pupils_comparison,
    }


def _mde(row: dict, settings: Settings) -> float:
    if row["smallest_p"] > settings.alpha:
        return float("inf")
    n_areas = row["n_areas_ctc"] + row["n_areas_comparison"]
    waves = row["waves_before"] + row["waves_after"]
    pupils = (row["n_pupils_ctc"] + row["n_pupils_comparison"]) / (n_areas * waves)
    return minimum_detectable_effect(
        n_ctc=row["n_areas_ctc"], n_comparison=row["n_areas_comparison"], pupils=pupils,
        prevalence=row["prevalence"], icc=row["icc"], icc_wave=row["icc_wave"],
        waves_before=row["waves_before"], waves_after=row["waves_after"], alpha=settings.alpha,
        power=settings.power,
    )  # fmt: skip


def evaluate_effects(
    frame: pd.DataFrame,
    design: Design,
    *,
    measures: pd.DataFrame,
    settings: Settings | None = None,
) -> EffectResults:
    """Evaluate every measure of a tidy table for one design.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy aggregates (:func:`~.did.prepare_cells` explains the columns) with ``measure``.
    design : Design
        :func:`~.design.build_design`.
    measures : pandas.DataFrame
        The measures to evaluate, in order: ``measure, measure_kind`` and optional ``group``
        (the kind of factor a composite counts); the better direction comes from them.
    settings : Settings, optional
        Permutations, bootstrap draws, significance level, power and seed (default
        :class:`Settings`).

    Returns
    -------
    EffectResults
        ``estimates`` with :data:`ESTIMATE_COLUMNS` (see the module docstring), ``events``.
    """
    settings = settings or Settings()
    rows, events = [], []
    by_measure = dict(tuple(frame.groupby("measure", sort=False)))
    for i, spec in enumerate(measures.itertuples(index=False)):
        worse = worse_direction(spec.measure_kind, getattr(spec, "group", None))
        part = by_measure.get(spec.measure, frame.iloc[:0])
        cells = prepare_cells(part)
        row, event_rows = evaluate_measure(
            cells, design, worse=worse, settings=settings, seed=settings.seed + i
        )
        keys = {"group": design.group, "measure": spec.measure, "measure_kind": spec.measure_kind}
        rows.append({**keys, **row})
        if len(event_rows):
            events.append(event_rows.assign(**keys))
    estimates = pd.DataFrame(rows).reindex(columns=list(ESTIMATE_COLUMNS))
    estimates = estimates.assign(p_holm=holm(estimates, by=("group", "measure_kind")))
    event_table = (
        pd.concat(events, ignore_index=True)
        if events
        else pd.DataFrame(columns=["group", "measure_kind", "measure", *EVENT_COLUMNS])
    )
    event_table = event_table[["group", "measure", *EVENT_COLUMNS]]
    return EffectResults(estimates=estimates, events=event_table, design=design)


def holm(table: pd.DataFrame, *, by: Iterable[str], column: str = "p_value") -> pd.Series:
    """Holm-adjusted p-values within groups of rows (NaN stays NaN).

    >>> holm(pd.DataFrame({"k": ["a"] * 3, "p_value": [0.01, 0.04, 0.03]}), by=["k"]).tolist()
    [0.03, 0.06, 0.06]
    """
    adjusted = pd.Series(np.nan, index=table.index)
    for _, rows in table.groupby(list(by), sort=False):
        p = rows[column].dropna().sort_values()
        m = len(p)
        stepped = np.maximum.accumulate((m - np.arange(m)) * p.to_numpy())
        adjusted.loc[p.index] = np.minimum(stepped, 1.0)
    return adjusted
