"""The results record of the follow-up report (notebook 04): the assessments and the clear
changes and trends shown, and the goal chain's statuses (written with
:func:`ctc_helpers.phases.record.write_results`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ctc_helpers.phases.followup.goal_progress import goal_summary

__all__ = ["results_record"]


def results_record(
    *,
    wave: int,
    changes: Sequence[pd.DataFrame] = (),
    trends: Sequence[pd.DataFrame] = (),
    goals: pd.DataFrame | None = None,
) -> dict:
    """The small results record of notebook 04.

    Parameters
    ----------
    wave : int
        The wave of the report.
    changes : sequence of pandas.DataFrame
        Outputs of :func:`ctc_helpers.phases.followup.changes.change_table` shown in the report.
    trends : sequence of pandas.DataFrame
        Outputs of :func:`ctc_helpers.phases.followup.trends.trend_tests` shown in the report.
    goals : pandas.DataFrame, optional
        Output of :func:`ctc_helpers.phases.followup.goal_progress.evaluate_goals`.

    Returns
    -------
    dict
        ``wave``; ``assessments`` (count of each assessment per reference, e.g.
        ``{"previous": {"better": 2, ...}}``); ``clear_changes`` and ``clear_trends`` (one record
        per statistically clear change: measure, reference or trend, assessment, diff or odds
        ratio); ``goals`` (:func:`ctc_helpers.phases.followup.goal_progress.goal_summary`, or ``None``).
    """
    change = pd.concat(list(changes), ignore_index=True) if changes else pd.DataFrame()
    trend = pd.concat(list(trends), ignore_index=True) if trends else pd.DataFrame()
    clear = change.loc[change["change"].isin(["increase", "decrease"])] if len(change) else change
    clear_trend = trend.loc[trend["trend"].isin(["increase", "decrease"])] if len(trend) else trend
    counts = (
        {
            ref: rows["assessment"].value_counts().to_dict()
            for ref, rows in change.groupby("reference")
        }
        if len(change)
        else {}
    )
    return {
        "wave": wave,
        "assessments": counts,
        "clear_changes": clear.loc[:, ["measure", "reference", "reference_wave", "change",
                                       "assessment", "diff"]].to_dict("records")
        if len(clear) else [],
        "clear_trends": clear_trend.loc[:, ["measure", "trend", "assessment", "odds_ratio"]]
        .to_dict("records") if len(clear_trend) else [],
        "goals": None if goals is None else goal_summary(goals),
    }  # fmt: skip
