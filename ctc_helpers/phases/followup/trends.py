"""Levels of every measure over all waves, and the trend test over three or more waves.

:func:`trend_table` gives every wave's value with its interval and the change since the previous
wave (:func:`ctc_helpers.phases.followup.changes.compare_pair`, Holm across the measures of each
pair of waves); measures whose cut-point versions differ between two waves get
``not_comparable`` for that pair.

Trend over three or more waves
------------------------------
:func:`trend_tests` fits a binomial logistic regression on the survey year to the published
counts of each wave (:func:`ctc_helpers.stats.trend.logistic_trend_test`; with weights the effective
counts ``pct * n_eff`` and ``n_eff``), with Holm across the measures tested. Waves whose group is
suppressed are left out; fewer than three usable waves give ``too_few`` (or ``too_few_waves``
when the table holds fewer than three waves), different cut-point versions ``not_comparable``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctc_helpers.phases.followup.assessment import (
    NOT_COMPARABLE,
    TOO_FEW_WAVES,
    assess_change,
    better_column,
)
from ctc_helpers.phases.followup.changes import compare_pair
from ctc_helpers.phases.followup.selection import group_rows, hide_small, up_to, waves_of
from ctc_helpers.stats.significance import holm_adjust, label_change
from ctc_helpers.stats.trend import logistic_trend_test
from ctc_helpers.survey.compare import TOO_FEW
from ctc_helpers.vocab import TOTAL

__all__ = ["LEVEL_COLUMNS", "TREND_COLUMNS", "trend_table", "trend_tests"]

LEVEL_COLUMNS = [
    "wave", "area", "grade", "sex", "measure", "measure_kind", "domain",
    "n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff", "suppressed", "cutpoint_version",
]  # fmt: skip
"""The columns of a measure's level in a wave (the tidy aggregate table's)."""


def trend_table(
    aggregates: pd.DataFrame,
    *,
    area: str,
    grade: str = TOTAL,
    sex: str = TOTAL,
    include: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    measures: pd.DataFrame | None = None,
    min_n: int = 10,
    last_wave: int | None = None,
) -> pd.DataFrame:
    """Every wave's value of every measure shown, with its interval and the previous-wave change.

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Tidy aggregate table.
    area, grade, sex : str
        The group (``area="all"`` is the city).
    include, kinds, measures, min_n
        As in :func:`ctc_helpers.phases.followup.changes.change_table` (Holm runs across the
        measures of each pair of waves).
    last_wave : int, optional
        Leave out the waves after this one (the wave of the report); default: every wave.

    Returns
    -------
    pandas.DataFrame
        One row per measure and wave, oldest first: ``wave``, ``area``, ``grade``, ``sex``,
        ``measure``, ``measure_kind``, ``domain``, ``n``, ``n_flagged``, ``pct``, ``ci_low``,
        ``ci_high`` (Wilson, as published), ``n_eff``, ``suppressed`` (True also when the value
        is blank or ``n < min_n``), ``cutpoint_version``, ``previous_wave`` (NaN in the first
        wave), ``diff_previous``, ``diff_previous_low``, ``diff_previous_high`` (Newcombe),
        ``p_holm_previous``, ``change_previous`` (``""`` in the first wave), ``better``,
        ``assessment_previous``.

    Examples
    --------
    >>> table = pd.DataFrame({"wave": [2021, 2023, 2025], "area": "all", "grade": "all",
    ...     "sex": "all", "measure": "alcohol_30d", "measure_kind": "behaviour",
    ...     "domain": "behaviour", "n": 400, "n_flagged": [100.0, 96.0, 60.0],
    ...     "pct": [0.25, 0.24, 0.15], "ci_low": 0.0, "ci_high": 1.0, "n_eff": 400.0,
    ...     "cutpoint_version": "", "suppressed": False})
    >>> trend_table(table, area="all")["change_previous"].tolist()
    ['', 'no_clear_change', 'decrease']
    """
    aggregates = up_to(aggregates, last_wave)
    rows = group_rows(aggregates, area=area, grade=grade, sex=sex, include=include, kinds=kinds)
    waves = waves_of(rows)
    levels = rows.reindex(columns=LEVEL_COLUMNS).sort_values(["measure", "wave"], kind="stable")
    levels = hide_small(levels, min_n)
    pairs = [
        compare_pair(rows, wave=now, reference_wave=before, min_n=min_n, confidence=0.95)
        for before, now in zip(waves[:-1], waves[1:], strict=True)
    ]
    changes = _previous_columns(pairs)
    frame = levels.merge(changes, on=["wave", "measure"], how="left")
    frame = frame.assign(change_previous=frame["change_previous"].fillna(""))
    better = better_column(frame, measures)
    return frame.assign(
        better=better, assessment_previous=assess_change(frame["change_previous"], better)
    ).reset_index(drop=True)


def _previous_columns(pairs: list[pd.DataFrame]) -> pd.DataFrame:
    names = {
        "reference_wave": "previous_wave",
        "diff": "diff_previous",
        "diff_low": "diff_previous_low",
        "diff_high": "diff_previous_high",
        "p_holm": "p_holm_previous",
        "change": "change_previous",
    }
    if not pairs:
        return pd.DataFrame(columns=["wave", "measure", *names.values()])
    both = pd.concat(pairs, ignore_index=True)
    return both.loc[:, ["wave", "measure", *names]].rename(columns=names)


# --------------------------------------------------------------------------------------------
# Trend test


def _trend_of(one: pd.DataFrame, *, n_table_waves: int, min_n: int, cycle_years: float) -> dict:
    usable = one.loc[
        ~one["suppressed"].fillna(True).astype(bool) & one["pct"].notna() & (one["n"] >= min_n)
    ]
    versions = sorted({v for v in one["cutpoint_version"].fillna("").astype(str) if v})
    result = {
        "first_wave": int(one["wave"].min()),
        "last_wave": int(one["wave"].max()),
        "n_waves": int(usable["wave"].nunique()),
        "cutpoint_version": " | ".join(versions),
    }
    if n_table_waves < 3:
        return {**result, "trend": TOO_FEW_WAVES}
    if len(versions) > 1:
        return {**result, "trend": NOT_COMPARABLE}
    if usable["wave"].nunique() < 3:
        return {**result, "trend": TOO_FEW}
    n_eff = usable["n_eff"].astype(float) if "n_eff" in usable else usable["n"].astype(float)
    fit = logistic_trend_test(
        usable["pct"].astype(float) * n_eff, n_eff, usable["wave"], cycle_years=cycle_years
    )
    return {**result, **fit._asdict(), "n_waves": fit.n_waves, "trend": ""}


def trend_tests(
    aggregates: pd.DataFrame,
    *,
    area: str,
    grade: str = TOTAL,
    sex: str = TOTAL,
    include: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    measures: pd.DataFrame | None = None,
    min_n: int = 10,
    alpha: float = 0.05,
    cycle_years: float = 2.0,
    last_wave: int | None = None,
) -> pd.DataFrame:
    """A logistic trend test over all waves for every measure shown, Holm across them.

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Tidy aggregate table.
    area, grade, sex, include, kinds, measures, min_n
        As in :func:`ctc_helpers.phases.followup.changes.change_table`.
    alpha : float, default 0.05
        Significance level after Holm's correction.
    cycle_years : float, default 2.0
        Years between waves; the odds ratio is per cycle.
    last_wave : int, optional
        Leave out the waves after this one (the wave of the report); default: every wave.

    Returns
    -------
    pandas.DataFrame
        One row per measure: ``area``, ``grade``, ``sex``, ``measure``, ``measure_kind``,
        ``first_wave``, ``last_wave``, ``n_waves`` (usable waves), ``slope`` (log-odds per
        year), ``slope_low``, ``slope_high``, ``odds_ratio`` (per cycle), ``or_low``,
        ``or_high``, ``p_value``, ``p_holm``, ``trend`` (``increase``, ``decrease``,
        ``no_clear_change``, ``too_few``, ``too_few_waves``, ``not_comparable``), ``better``,
        ``assessment``, ``cutpoint_version`` (the versions found, joined by `` | `` when they
        differ).
    """
    aggregates = up_to(aggregates, last_wave)
    rows = group_rows(aggregates, area=area, grade=grade, sex=sex, include=include, kinds=kinds)
    n_table_waves = len(waves_of(rows))
    records = [
        {"measure": measure, "measure_kind": one["measure_kind"].iloc[0]}
        | _trend_of(one, n_table_waves=n_table_waves, min_n=min_n, cycle_years=cycle_years)
        for measure, one in rows.groupby("measure", sort=False)
    ]
    frame = (
        pd.DataFrame(records)
        .reindex(columns=TREND_COLUMNS[3:])
        .assign(area=area, grade=grade, sex=sex)
    )
    tested = frame["trend"].eq("")
    p_holm = np.full(len(frame), np.nan)
    p_holm[tested.to_numpy()] = holm_adjust(frame.loc[tested, "p_value"].to_numpy(dtype=float))
    labels = label_change(
        frame["slope_low"].fillna(0.0), frame["slope_high"].fillna(0.0), p_holm, alpha=alpha
    )
    frame = frame.assign(p_holm=p_holm, trend=np.where(tested, labels, frame["trend"]))
    better = better_column(frame, measures)
    return frame.assign(better=better, assessment=assess_change(frame["trend"], better))[
        TREND_COLUMNS
    ]


TREND_COLUMNS = [
    "area", "grade", "sex", "measure", "measure_kind", "first_wave", "last_wave", "n_waves",
    "slope", "slope_low", "slope_high", "odds_ratio", "or_low", "or_high", "p_value", "p_holm",
    "trend", "better", "assessment", "cutpoint_version",
]  # fmt: skip
