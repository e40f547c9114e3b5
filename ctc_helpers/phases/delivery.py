"""The implementation plan against what was delivered, and its links to the goal chain.

What was delivered comes from the programme inventory, year by year
(:func:`ctc_helpers.phases.followup.goal_progress.programme_figures`: participants reached, the
eligible population, reach, fidelity score, sessions planned and delivered, end of funding). A plan
programme is matched to the inventory rows of its area by name (case, spaces, dashes and
punctuation ignored, as the inventory matches the programme bank).

Comparisons (``reach_status``, ``fidelity_status``, ``sessions_status``) of a year
----------------------------------------------------------------------------------
``met``
    the delivered value is at or above the plan's target: reach (participants / eligible) against
    ``target_reach.share``, else participants against ``target_reach.participants``; the fidelity
    score against ``fidelity_target``; sessions delivered against ``sessions_per_year``.
``below``
    it is under the target.
``unknown``
    the inventory row lacks the value (e.g. no eligible population for a share).
``no_target``
    the plan sets no target for it (sessions only).
``outside_period``
    the year is before the programme's start year or after its end year (shown, not judged).
``no_data``
    the inventory has no row of the programme in the area.
``no_inventory``
    no inventory was given: what was delivered is unknown (and not flagged).

Inventory figures are counts, not samples: no test or interval is made.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.goal_chain import GoalChain
from ctc_helpers.config.implementation_plan import ImplementationPlan, PlanProgramme
from ctc_helpers.config.inventory import normalise

__all__ = [
    "DELIVERY_STATUSES",
    "PLAN_FLAGS",
    "delivered_by_year",
    "plan_vs_delivered",
    "plan_flags",
    "goal_links",
]

DELIVERY_STATUSES = (
    "met", "below", "unknown", "no_target", "outside_period", "no_data", "no_inventory",
)  # fmt: skip
PLAN_FLAGS = (
    "goal_without_plan", "no_short_term_goal", "target_differs_from_goal",
    "no_implementation_team", "no_coaching", "no_trained_staff", "no_budget",
    "not_in_inventory", "reach_below_target", "fidelity_below_target", "sessions_below_plan",
    "funding_ends_early",
)  # fmt: skip
"""Codes of :func:`plan_flags`, in the order a report lists them."""

_DELIVERY_COLUMNS = [
    "area", "plan_id", "programme", "year", "in_period", "target_share", "target_participants",
    "fidelity_target", "sessions_target", "participants", "eligible", "reach", "fidelity",
    "sessions_delivered", "funding_end", "reach_status", "fidelity_status", "sessions_status",
]  # fmt: skip
_STATUS_COLUMNS = ("reach_status", "fidelity_status", "sessions_status")
_FLAG_COLUMNS = ["area", "plan_id", "programme", "flag", "goal_id", "year", "value", "target",
                 "unit", "date"]  # fmt: skip


def _sum(values: pd.Series) -> float:
    values = pd.to_numeric(values, errors="coerce")
    return float(values.sum()) if values.notna().all() and len(values) else np.nan


def delivered_by_year(figures: pd.DataFrame | None, *, area: str, programme: str, wave: int):
    """The inventory's figures of a programme in an area, one row per year up to ``wave``.

    Returns
    -------
    pandas.DataFrame
        Columns ``year, participants, eligible, reach`` (participants / eligible),
        ``fidelity`` (mean of the rows' scores weighted by participants), ``sessions_delivered``,
        ``funding_end`` (the latest date given); empty when the inventory has no such row.

    Examples
    --------
    >>> figures = pd.DataFrame({"area": "a", "programme": ["Steg för steg", "steg-för-steg"],
    ...     "year": [2023.0, 2025.0], "participants_reached": [20, 30], "eligible": [100, 100],
    ...     "fidelity_score": [0.6, 0.7], "sessions_delivered": [5, 6], "funding_end": None})
    >>> table = delivered_by_year(figures, area="a", programme="Steg för steg", wave=2025)
    >>> table["reach"].tolist()
    [0.2, 0.3]
    """
    columns = ["year", "participants", "eligible", "reach", "fidelity", "sessions_delivered",
               "funding_end"]  # fmt: skip
    if figures is None or figures.empty:
        return pd.DataFrame(columns=columns)
    names = figures["programme"].map(normalise)
    rows = figures.loc[
        figures["area"].eq(area) & names.eq(normalise(programme)) & (figures["year"] <= wave)
    ]
    out = []
    for year, group in rows.groupby("year", sort=True):
        participants, eligible = _sum(group["participants_reached"]), _sum(group["eligible"])
        scores = pd.to_numeric(group["fidelity_score"], errors="coerce")
        weights = pd.to_numeric(group["participants_reached"], errors="coerce")
        weighted = weights.notna().all() and weights.sum() > 0
        fidelity = (
            np.nan
            if scores.isna().any()
            else float(np.average(scores, weights=weights if weighted else None))
        )
        ends = [d for d in group.get("funding_end", pd.Series(dtype=object)) if _is_date(d)]
        out.append(
            [int(year), participants, eligible,
             participants / eligible if eligible and not math.isnan(eligible) else np.nan,
             fidelity, _sum(group["sessions_delivered"]), max(ends) if ends else None]
        )  # fmt: skip
    return pd.DataFrame(out, columns=columns)


def _is_date(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and hasattr(
        value, "year"
    )  # fmt: skip


def _compare(value: float, target: float) -> str:
    if math.isnan(target):
        return "no_target"
    if math.isnan(value):
        return "unknown"
    return "met" if value >= target else "below"


def _reach_status(row: dict) -> str:
    if not math.isnan(row["target_share"]) and not math.isnan(row["reach"]):
        return _compare(row["reach"], row["target_share"])
    if not math.isnan(row["target_participants"]) and not math.isnan(row["participants"]):
        return _compare(row["participants"], row["target_participants"])
    return "unknown"


def _targets(plan: ImplementationPlan, entry: PlanProgramme) -> dict[str, Any]:
    reach, sessions = entry.target_reach, entry.sessions_per_year
    return {
        "area": plan.area,
        "plan_id": entry.id,
        "programme": entry.programme,
        "target_share": np.nan if reach.share is None else reach.share,
        "target_participants": np.nan if reach.participants is None else reach.participants,
        "fidelity_target": entry.fidelity_target,
        "sessions_target": np.nan if sessions is None else sessions,
    }


def plan_vs_delivered(
    plan: ImplementationPlan, figures: pd.DataFrame | None, *, wave: int
) -> pd.DataFrame:
    """Each plan programme against the inventory, year by year up to ``wave``.

    Parameters
    ----------
    plan : ImplementationPlan
        :func:`ctc_helpers.config.implementation_plan.load_implementation_plan`.
    figures : pandas.DataFrame or None
        :func:`ctc_helpers.phases.followup.goal_progress.programme_figures` (``None``: no
        inventory).
    wave : int
        Later inventory years are left out.

    Returns
    -------
    pandas.DataFrame
        One row per plan programme and inventory year (one row with ``year`` NaN and the
        status ``no_data`` when the inventory has none, ``no_inventory`` without one):
        ``area, plan_id, programme, year, in_period`` (the year lies within the programme's
        start and end), the targets
        ``target_share, target_participants, fidelity_target, sessions_target``, what was
        delivered ``participants, eligible, reach, fidelity, sessions_delivered, funding_end``
        and ``reach_status, fidelity_status, sessions_status`` (:data:`DELIVERY_STATUSES`).
    """
    rows = []
    for entry in plan.programmes:
        targets = _targets(plan, entry)
        delivered = delivered_by_year(figures, area=plan.area, programme=entry.programme,
                                      wave=wave)  # fmt: skip
        if delivered.empty:
            missing = "no_inventory" if figures is None else "no_data"
            rows.append({**targets, "year": np.nan, "in_period": False, "reach_status": missing,
                         "fidelity_status": missing, "sessions_status": missing})  # fmt: skip
            continue
        for record in delivered.to_dict("records"):
            row = {**targets, **record}
            row["in_period"] = entry.start.year <= record["year"] <= entry.end.year
            row["reach_status"] = _reach_status(row)
            row["fidelity_status"] = _compare(row["fidelity"], row["fidelity_target"])
            row["sessions_status"] = _compare(row["sessions_delivered"], row["sessions_target"])
            if not row["in_period"]:
                row.update(dict.fromkeys(_STATUS_COLUMNS, "outside_period"))
            rows.append(row)
    return pd.DataFrame(rows, columns=_DELIVERY_COLUMNS).astype({"year": float})


def _flag(area: str, entry: PlanProgramme | None, flag: str, **values: Any) -> dict[str, Any]:
    return {
        "area": area,
        "plan_id": entry.id if entry is not None else "",
        "programme": entry.programme if entry is not None else values.pop("programme", ""),
        "flag": flag,
        "goal_id": values.get("goal_id", ""),
        "year": values.get("year", np.nan),
        "value": values.get("value", np.nan),
        "target": values.get("target", np.nan),
        "unit": values.get("unit", ""),
        "date": values.get("date"),
    }


def _support_flags(area: str, entry: PlanProgramme) -> list[dict[str, Any]]:
    support = entry.support
    found = [
        ("no_short_term_goal", not entry.goals),
        ("no_implementation_team", not support.implementation_team),
        ("no_coaching", support.coaching_per_year == 0),
        ("no_trained_staff", support.trained_staff == 0),
        ("no_budget", entry.budget.sek == 0),
    ]
    return [_flag(area, entry, flag) for flag, present in found if present]


def _goal_flags(area: str, entry: PlanProgramme, chain: GoalChain | None) -> list[dict[str, Any]]:
    if chain is None:
        return []
    flags = []
    by_id = {g.id: g for g in chain.goals}
    for goal_id in entry.goals:
        goal = by_id.get(goal_id)
        if goal is None:
            continue
        planned = entry.target_reach.share if goal.kind == "reach" else entry.fidelity_target
        if planned is not None and not math.isclose(planned, goal.target, abs_tol=1e-9):
            flags.append(_flag(area, entry, "target_differs_from_goal", goal_id=goal_id,
                               value=planned, target=goal.target, unit="share"))  # fmt: skip
    return flags


def _delivery_flags(area: str, entry: PlanProgramme, delivered: pd.DataFrame, *, wave: int):
    rows = delivered.loc[delivered["plan_id"].eq(entry.id) & delivered["in_period"]]
    if rows.empty:
        started = entry.start.year <= wave
        return [_flag(area, entry, "not_in_inventory")] if started else []
    last = rows.sort_values("year").iloc[-1]
    year = int(last["year"])
    flags = []
    if last["reach_status"] == "below":
        share = not math.isnan(last["target_share"]) and not math.isnan(last["reach"])
        value, target, unit = (("reach", "target_share", "share") if share else
                               ("participants", "target_participants", "count"))  # fmt: skip
        flags.append(_flag(area, entry, "reach_below_target", year=year, value=last[value],
                           target=last[target], unit=unit))  # fmt: skip
    if last["fidelity_status"] == "below":
        flags.append(_flag(area, entry, "fidelity_below_target", year=year, unit="share",
                           value=last["fidelity"], target=last["fidelity_target"]))  # fmt: skip
    if last["sessions_status"] == "below":
        values = {"value": last["sessions_delivered"], "target": last["sessions_target"]}
        flags.append(_flag(area, entry, "sessions_below_plan", year=year, unit="count", **values))
    funding = last["funding_end"]
    if _is_date(funding) and funding < entry.end:
        flags.append(_flag(area, entry, "funding_ends_early", year=year, date=funding))
    return flags


def plan_flags(
    plan: ImplementationPlan | None,
    figures: pd.DataFrame | None,
    chain: GoalChain | None,
    *,
    wave: int,
    area: str,
) -> pd.DataFrame:
    """What the area team and the steering group should look at in the plan, as codes.

    Parameters
    ----------
    plan : ImplementationPlan or None
        The area's plan (``None``: the area has a goal chain but no plan).
    figures : pandas.DataFrame or None
        The inventory's figures (see :func:`plan_vs_delivered`).
    chain : GoalChain or None
        The area's goal chain.
    wave : int
        The report's survey year.
    area : str
        The area id.

    Returns
    -------
    pandas.DataFrame
        One row per flag: ``area, plan_id`` (``""`` for a goal without a plan), ``programme,
        flag`` (:data:`PLAN_FLAGS`), ``goal_id, year, value, target, date`` where they apply:
        the latest inventory year of the plan period and its value against the target for a
        delivery flag, the planned against the goal's target for ``target_differs_from_goal``,
        ``unit`` (``share`` 0..1 or ``count``) of those values, the date funding ends for
        ``funding_ends_early``. Sorted by :data:`PLAN_FLAGS` order, then programme.
    """
    rows = []
    planned = set()
    if plan is not None:
        delivered = plan_vs_delivered(plan, figures, wave=wave)
        for entry in plan.programmes:
            planned.add(normalise(entry.programme))
            rows += _support_flags(area, entry) + _goal_flags(area, entry, chain)
            if figures is not None:
                rows += _delivery_flags(area, entry, delivered, wave=wave)
    for goal in () if chain is None else chain.goals:
        if goal.level == "short" and normalise(goal.programme or "") not in planned:
            rows.append(_flag(area, None, "goal_without_plan", goal_id=goal.id,
                              programme=goal.programme or ""))  # fmt: skip
    frame = pd.DataFrame(rows, columns=_FLAG_COLUMNS)
    order = frame["flag"].map({f: i for i, f in enumerate(PLAN_FLAGS)})
    return frame.assign(_order=order).sort_values(["_order", "programme"], kind="stable").drop(
        columns="_order").reset_index(drop=True)  # fmt: skip


def goal_links(plan: ImplementationPlan | None, chain: GoalChain | None, *, area: str):
    """The goal chain's short-term goals beside the plan programmes that serve them.

    Returns
    -------
    pandas.DataFrame
        One row per short-term goal of the chain (``plan_id`` ``""`` when no plan programme
        names it) and per plan programme that names no goal (``goal_id`` ``""``): ``area,
        goal_id, kind`` (``reach / fidelity``), ``programme, goal_target, target_year, plan_id,
        plan_target`` (the plan's target share or fidelity target for the goal's kind; NaN) and
        ``agrees`` (plan and goal name the same target; NA when either is missing). Empty
        without a goal chain.
    """
    columns = ["area", "goal_id", "kind", "programme", "goal_target", "target_year", "plan_id",
               "plan_target", "agrees"]  # fmt: skip
    if chain is None:
        return pd.DataFrame(columns=columns)
    entries = {} if plan is None else {g: e for e in plan.programmes for g in e.goals}
    rows = []
    for goal in chain.goals:
        if goal.level != "short":
            continue
        entry = entries.get(goal.id)
        planned = None
        if entry is not None:
            planned = entry.target_reach.share if goal.kind == "reach" else entry.fidelity_target
        agrees = pd.NA if planned is None else math.isclose(planned, goal.target, abs_tol=1e-9)
        rows.append([area, goal.id, goal.kind, goal.programme or "", goal.target,
                     goal.target_year, entry.id if entry else "",
                     np.nan if planned is None else planned, agrees])  # fmt: skip
    for entry in () if plan is None else plan.programmes:
        if not entry.goals:
            rows.append([area, "", "", entry.programme, np.nan, pd.NA, entry.id, np.nan, pd.NA])
    return pd.DataFrame(rows, columns=columns)
