"""Evaluation of a goal chain (målkedja) in a wave: each goal's baseline, latest value,
progress against the planned pace, the test of the change, and its status with the reason.
Reach and fidelity come from the programme inventory; every other indicator from the published
aggregate table. The public API is re-exported by :mod:`ctc_helpers.views.goal_chain`.

Status of a goal in a wave
--------------------------
Notation: ``b`` baseline (the file's, else the data's value in the baseline wave), ``T`` target,
``v`` the latest value, ``y0`` the baseline wave, ``Y`` the target year, ``w`` the year of the
latest value (the wave followed up; for reach and fidelity the latest inventory ``year`` up to
that wave, an empty year counting as the wave). *Progress* is the share of
the planned distance covered, ``(v - b) / (T - b)`` (negative: the wrong way); *expected* is the
share of the planned time elapsed, ``(w - y0) / (Y - y0)`` clipped to 0..1. For survey
indicators the change from the baseline wave to ``w`` is tested as in the wave comparisons
(Newcombe interval, z-test, Holm across the goals of the chain that are tested); it is *clear*
when the adjusted p-value is below 0.05 and the interval excludes 0.

``not_yet_measurable`` (checked first, in this order; the reason names the cause)
    no wave after the baseline (``w <= y0``); the indicator is not in the data of ``w``
    (``not_measured``); the cut-point version of the data differs from the goal file's
    (``cutpoint_mismatch``) or between the baseline wave and ``w`` (``cutpoint_changed``); the
    group is suppressed or smaller than ``min_n`` (``suppressed``); no baseline in the file and
    none in the data of ``y0`` (``no_baseline``); for reach and fidelity: no inventory, the
    programme not in it, or its value missing.
``achieved``
    ``v`` is at or beyond ``T`` and the change from the baseline is clear in the goal's direction
    (``target_reached``); or the baseline already met the target and ``v`` still does
    (``target_met_at_baseline``: the target asks for no change, consider a more ambitious one).
    Inventory indicators are counts, not samples: reaching the target is enough
    (``programme_target_reached``).
``on_track``
    ``v`` is at or beyond ``T`` but the change is not clear (``target_reached_within_noise``);
    or progress is positive and at least the expected share (``on_pace``, or
    ``on_pace_within_noise`` when the change is not yet clear; ``programme_on_pace`` for reach and
    fidelity).
``not_on_track``
    the baseline met the target and ``v`` no longer does (``no_longer_met``); the target year has
    passed (``target_year_passed``); the change is clear in the wrong direction
    (``wrong_direction``); progress is zero or negative within the noise (``no_progress``); or
    progress is positive but below the expected share (``behind_pace``).

Reach is ``participants_reached / eligible`` of the programme's inventory rows for the area
(summed over its rows; the whole city sums every area); ``eligible`` is the file's eligible
population or, for universal programmes, the enrolment of the target grades
(:func:`programme_figures`, via :func:`ctc_helpers.phases.gaps.inputs.current_programmes`). Fidelity is
the ``fidelity_score`` (0..1; mean over the rows, weighted by participants reached). Inventory
figures are counts, not samples: no test is made for them.

The goal file's ``cutpoint_version`` matches the data's version of a factor when it is equal to it
or is its start up to a ``/`` (e.g. ``ctc-default-2026.1/ref-2021`` names the cut points derived
from the 2021 reference; :func:`common_cutpoint_version` gives it for a wave).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.goal_chain import (
    Goal,
    GoalChain,
    goals_frame,
    indicator_kind_spec,
    schema_codes,
)
from ctc_helpers.config.inventory import FlaggedProgrammeWarning
from ctc_helpers.config.programme_bank import load_programme_bank
from ctc_helpers.paths import resolve_path
from ctc_helpers.phases.gaps.inputs import current_programmes, load_enrolment
from ctc_helpers.phases.gaps.inventory import load_inventory
from ctc_helpers.publish.read import Published
from ctc_helpers.stats.significance import holm_adjust, label_change
from ctc_helpers.survey.compare import compare_waves
from ctc_helpers.vocab import TOTAL

__all__ = [
    "programme_figures",
    "published_programme_figures",
    "load_programme_figures",
    "evaluate_goals",
    "focus_measures",
    "goal_summary",
]


# --------------------------------------------------------------------------------------------
# Evaluation


def _usable(row: pd.Series | None, min_n: int) -> bool:
    return (
        row is not None
        and not bool(row.get("suppressed", False))
        and pd.notna(row["pct"])
        and row["n"] >= min_n
    )


def _version_matches(goal_version: str | None, data_version: str) -> bool:
    if not goal_version:
        return True
    return data_version == goal_version or data_version.startswith(goal_version + "/")


def _blank_survey(**values: Any) -> dict[str, Any]:
    base = {
        "latest_year": np.nan,
        "latest": np.nan, "latest_low": np.nan, "latest_high": np.nan, "n": np.nan,
        "baseline_data": np.nan, "baseline_data_low": np.nan, "baseline_data_high": np.nan,
        "diff": np.nan, "diff_low": np.nan, "diff_high": np.nan, "p_value": np.nan,
        "tested": False, "blocked": "", "data_cutpoint_version": "",
        "baseline_cutpoint_version": "",
    }  # fmt: skip
    return {**base, **values}


def _lookup(aggregates: pd.DataFrame, wave: int, area: str, goal: Goal) -> pd.Series | None:
    keep = (
        aggregates["wave"].eq(wave)
        & aggregates["area"].eq(area)
        & aggregates["grade"].eq(goal.grade)
        & aggregates["sex"].eq(goal.sex)
        & aggregates["measure"].eq(goal.measure)
    )
    rows = aggregates.loc[keep]
    return None if rows.empty else rows.iloc[0]


def _survey_values(
    goal: Goal, chain: GoalChain, aggregates: pd.DataFrame, *, wave: int, min_n: int
) -> dict[str, Any]:
    """Latest and baseline values of a survey goal, its test against the baseline wave, or the
    reason it cannot be followed up."""
    now = _lookup(aggregates, wave, chain.area, goal)
    before = _lookup(aggregates, chain.baseline_wave, chain.area, goal)
    version = "" if now is None else str(now.get("cutpoint_version", "") or "")
    before_version = "" if before is None else str(before.get("cutpoint_version", "") or "")
    versions = {"data_cutpoint_version": version, "baseline_cutpoint_version": before_version}
    if wave <= chain.baseline_wave:
        return _blank_survey(blocked="no_wave_after_baseline", **versions)
    if now is None:
        return _blank_survey(blocked="not_measured", **versions)
    if goal.kind == "factor" and not _version_matches(chain.cutpoint_version, version):
        return _blank_survey(blocked="cutpoint_mismatch", **versions)
    if before is not None and version and before_version and version != before_version:
        return _blank_survey(blocked="cutpoint_changed", **versions)
    if not _usable(now, min_n):
        return _blank_survey(blocked="suppressed", **versions)
    values = _blank_survey(
        latest_year=wave,
        latest=float(now["pct"]), latest_low=float(now["ci_low"]),
        latest_high=float(now["ci_high"]), n=float(now["n"]), **versions,
    )  # fmt: skip
    if not _usable(before, min_n):
        return values if goal.baseline is not None else {**values, "blocked": "no_baseline"}
    values.update(
        baseline_data=float(before["pct"]), baseline_data_low=float(before["ci_low"]),
        baseline_data_high=float(before["ci_high"]),
    )  # fmt: skip
    return {**values, **_test(goal, chain, aggregates, wave=wave, min_n=min_n)}


def _test(goal: Goal, chain: GoalChain, aggregates: pd.DataFrame, *, wave: int, min_n: int):
    """The baseline-wave comparison of one goal through compare_waves (raw p; Holm later).

    The cut-point versions of both waves were checked equal before, so compare_waves does not
    refuse the comparison here.
    """
    rows = aggregates.loc[
        aggregates["measure"].eq(goal.measure) & aggregates["area"].eq(chain.area)
        & aggregates["wave"].isin([wave, chain.baseline_wave])
    ]  # fmt: skip
    result = compare_waves(
        rows, wave=wave, previous_wave=chain.baseline_wave, area=chain.area,
        grade=goal.grade, sex=goal.sex, min_n=min_n,
    ).iloc[0]  # fmt: skip
    return {
        "diff": result["diff"], "diff_low": result["diff_low"], "diff_high": result["diff_high"],
        "p_value": result["p_value"], "tested": bool(pd.notna(result["p_value"])),
    }  # fmt: skip


def _programme_value(kind: str, rows: pd.DataFrame) -> float:
    """Reach (sum reached / sum eligible) or fidelity (mean weighted by reach) of some rows."""
    reached = pd.to_numeric(rows["participants_reached"], errors="coerce")
    if kind == "reach":
        column = "eligible" if "eligible" in rows else "eligible_population"
        eligible = pd.to_numeric(rows[column], errors="coerce")
        complete = reached.notna().all() and eligible.notna().all() and eligible.sum() > 0
        return float(reached.sum() / eligible.sum()) if complete else np.nan
    score = pd.to_numeric(rows["fidelity_score"], errors="coerce")
    if score.isna().any():
        return np.nan
    weighted = reached.notna().all() and reached.sum() > 0
    return float(np.average(score, weights=reached if weighted else None))


def _inventory_values(goal: Goal, chain: GoalChain, inventory: pd.DataFrame | None, *, wave: int):
    """Reach or fidelity of the goal's programme from the inventory rows of the area.

    Rows with a ``year`` after ``wave`` are ignored; an empty ``year`` means "current" (the
    wave). The latest year is followed up; rows of the baseline year give the data's baseline.
    """
    blank = _blank_survey()
    if wave <= chain.baseline_wave:
        return {**blank, "blocked": "no_wave_after_baseline"}
    if inventory is None:
        return {**blank, "blocked": "no_inventory"}
    names = inventory["programme"].astype(str).str.strip().str.casefold()
    rows = inventory.loc[names.eq(goal.programme.casefold())]
    if chain.area != TOTAL:
        rows = rows.loc[rows["area"].astype(str).eq(chain.area)]
    year = pd.to_numeric(rows["year"], errors="coerce") if "year" in rows else pd.Series(
        np.nan, index=rows.index
    )  # fmt: skip
    year = year.fillna(wave)
    rows, year = rows.loc[year <= wave], year.loc[year <= wave]
    if rows.empty:
        return {**blank, "blocked": "programme_not_in_inventory"}
    latest_year = int(year.max())
    baseline = _programme_value(goal.kind, rows.loc[year.eq(chain.baseline_wave)]) if year.eq(
        chain.baseline_wave
    ).any() else np.nan  # fmt: skip
    values = {**blank, "latest_year": latest_year, "baseline_data": baseline}
    if latest_year <= chain.baseline_wave:
        return {**values, "blocked": "no_wave_after_baseline"}
    value = _programme_value(goal.kind, rows.loc[year.eq(latest_year)])
    if pd.isna(value):
        return {**values, "blocked": "inventory_value_missing"}
    return {**values, "latest": value}


def programme_figures(
    inventory: pd.DataFrame, *, wave: int, enrolment: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Inventory rows of every year up to ``wave`` with the eligible population filled in.

    :func:`ctc_helpers.phases.gaps.inputs.current_programmes` keeps only the latest year of each
    programme; the follow-up also needs the baseline year, so it is applied to each year's rows
    separately (an empty ``year`` counts as ``wave``).

    Parameters
    ----------
    inventory : pandas.DataFrame
        ``Inventory.programmes`` of :func:`ctc_helpers.phases.gaps.inventory.load_inventory`.
    wave : int
        The wave of the report; later years are left out.
    enrolment : pandas.DataFrame, optional
        :func:`ctc_helpers.phases.gaps.inputs.load_enrolment`, for universal programmes without an
        eligible population in the file.

    Returns
    -------
    pandas.DataFrame
        The inventory's columns plus ``eligible``, ``eligible_source``, ``reach`` and ``dose``,
        ``year`` filled (empty -> ``wave``).
    """
    year = pd.to_numeric(inventory["year"], errors="coerce").fillna(wave)
    rows = inventory.assign(year=year).loc[year <= wave]
    parts = [
        current_programmes(part, wave=int(y), enrolment=enrolment)
        for y, part in rows.groupby("year", sort=True)
    ]
    return pd.concat(parts, ignore_index=True) if parts else rows


def load_programme_figures(
    inventory_path: str | Path, *, published: Published, wave: int
) -> pd.DataFrame | None:
    """Read the programme inventory for the follow-up of reach and fidelity goals.

    Parameters
    ----------
    inventory_path : str or Path
        The inventory file (``data_schema/inventory.yaml``); ``""`` means none (reach and
        fidelity goals are then "not yet measurable"). A relative path that does not exist from
        here is taken from the repository root.
    published : Published
        The published folder: its area list, measures and participation (for enrolment).
    wave : int
        The wave of the report.

    Returns
    -------
    pandas.DataFrame or None
        :func:`programme_figures` of the inventory, or ``None`` without a file.

    Raises
    ------
    InputFileError
        If the file cannot be read (see :func:`ctc_helpers.phases.gaps.inventory.load_inventory`).
    """
    if not str(inventory_path):
        return None
    with warnings.catch_warnings():
        # notebook 03 shows the warnings about flagged programmes; not repeated here
        warnings.simplefilter("ignore", FlaggedProgrammeWarning)
        inventory = load_inventory(
            resolve_path(inventory_path),
            bank=load_programme_bank(),
            areas=published.areas,
            instrument=published.measures,
        )
    return published_programme_figures(inventory.programmes, published=published, wave=wave)


def published_programme_figures(
    programmes: pd.DataFrame, *, published: Published, wave: int
) -> pd.DataFrame:
    """:func:`programme_figures` with the enrolment of the published participation table: the
    figures of reach and fidelity goals, the same in report 04 and the Uppföljning dashboard.

    ``programmes`` is ``Inventory.programmes`` of
    :func:`ctc_helpers.phases.gaps.inventory.load_inventory`.
    """
    enrolment = load_enrolment(participation=published.participation)
    return programme_figures(programmes, wave=wave, enrolment=enrolment)


def evaluate_goals(
    chain: GoalChain | None,
    aggregates: pd.DataFrame,
    *,
    wave: int,
    inventory: pd.DataFrame | None = None,
    min_n: int = 10,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Status of every goal of a chain in one wave (rules in the module docstring).

    Parameters
    ----------
    chain : GoalChain or None
        The area's goal chain; ``None`` (no chain yet) gives an empty frame.
    aggregates : pandas.DataFrame
        Tidy (published) aggregate table holding the wave followed up and, for the test, the
        baseline wave.
    wave : int
        The wave followed up.
    inventory : pandas.DataFrame, optional
        Programme inventory (``area``, ``programme``, ``participants_reached``,
        ``eligible_population``, ``fidelity_score``) for reach and fidelity goals.
    min_n : int, default 10
        Smallest group followed up.
    alpha : float, default 0.05
        Significance level after Holm's correction across the tested goals.

    Returns
    -------
    pandas.DataFrame
        One row per goal, in file order: ``area``, ``wave``, the columns of :func:`goals_frame`,
        ``baseline_wave``, ``baseline_used`` (the file's baseline, else the data's),
        ``baseline_source`` (``file``, ``data`` or ``""``), ``baseline_data`` (the data's value
        in the baseline wave) with ``baseline_data_low``/``_high``, ``latest_year`` (``wave``;
        for inventory indicators the latest inventory year up to ``wave``), ``latest`` (its
        value), ``latest_low``, ``latest_high`` (Wilson; NaN for inventory indicators), ``n``,
        ``diff``, ``diff_low``, ``diff_high`` (change from the baseline wave, Newcombe),
        ``p_value``, ``p_holm``, ``change`` (``increase``, ``decrease``, ``no_clear_change`` or
        ``not_tested``), ``progress``, ``expected_progress``, ``status``, ``reason``, ``note``
        (``baseline_from_data`` or ``baseline_differs_from_data`` or ``""``),
        ``goal_cutpoint_version``, ``data_cutpoint_version``, ``baseline_cutpoint_version``.

    Raises
    ------
    ValueError
        If the chain's area is not in the aggregate table.
    """
    if chain is None:
        return pd.DataFrame(columns=_EVALUATED_COLUMNS)
    if not aggregates["area"].eq(chain.area).any():
        known = ", ".join(sorted(map(str, aggregates["area"].unique())))
        raise ValueError(
            f"The goal chain is for the area {chain.area!r}, which is not in the aggregate"
            f" table; its areas: {known}."
        )
    values = pd.DataFrame(
        [
            _survey_values(g, chain, aggregates, wave=wave, min_n=min_n)
            if indicator_kind_spec(g.kind)["source"] == "survey"
            else _inventory_values(g, chain, inventory, wave=wave)
            for g in chain.goals
        ]
    )
    frame = pd.concat([goals_frame(chain), values], axis=1).assign(
        area=chain.area, wave=wave, baseline_wave=chain.baseline_wave,
        goal_cutpoint_version=chain.cutpoint_version or "",
    )  # fmt: skip
    frame = _with_baseline(frame)
    frame = _with_changes(frame, alpha=alpha)
    frame = _with_progress(frame)
    evaluated = _with_status(frame)[_EVALUATED_COLUMNS]
    evaluated.attrs = dict(aggregates.attrs)  # the run's vocabulary, for the goal's group label
    return evaluated


_EVALUATED_COLUMNS = [
    "area", "wave", "goal_id", "level", "indicator_kind", "measure", "programme", "grade", "sex",
    "direction", "baseline", "target", "target_year", "contributes_to", "label",
    "baseline_wave", "baseline_used", "baseline_source", "baseline_data", "baseline_data_low",
    "baseline_data_high", "latest_year", "latest", "latest_low", "latest_high", "n", "diff",
    "diff_low", "diff_high", "p_value", "p_holm", "change", "progress", "expected_progress",
    "status", "reason", "note", "goal_cutpoint_version", "data_cutpoint_version",
    "baseline_cutpoint_version",
]  # fmt: skip


def _with_baseline(frame: pd.DataFrame) -> pd.DataFrame:
    from_file = frame["baseline"].notna()
    used = frame["baseline"].where(from_file, frame["baseline_data"])
    source = np.select([from_file, used.notna()], ["file", "data"], default="")
    outside = from_file & (
        (frame["baseline"] < frame["baseline_data_low"] - 1e-9)
        | (frame["baseline"] > frame["baseline_data_high"] + 1e-9)
    )
    note = np.select(
        [outside, source == "data"], ["baseline_differs_from_data", "baseline_from_data"], ""
    )
    blocked = frame["blocked"].mask(frame["blocked"].eq("") & used.isna(), "no_baseline")
    return frame.assign(baseline_used=used, baseline_source=source, note=note, blocked=blocked)


def _with_changes(frame: pd.DataFrame, *, alpha: float) -> pd.DataFrame:
    tested = frame["tested"].astype(bool) & frame["blocked"].eq("")
    p_holm = np.full(len(frame), np.nan)
    p_holm[tested.to_numpy()] = holm_adjust(frame.loc[tested, "p_value"].to_numpy(dtype=float))
    labels = label_change(
        frame["diff_low"].fillna(0.0), frame["diff_high"].fillna(0.0), p_holm, alpha=alpha
    )
    return frame.assign(p_holm=p_holm, change=np.where(tested, labels, "not_tested"))


def _with_progress(frame: pd.DataFrame) -> pd.DataFrame:
    span = frame["target"] - frame["baseline_used"]
    with np.errstate(divide="ignore", invalid="ignore"):
        progress = (frame["latest"] - frame["baseline_used"]) / span.where(span != 0)
    elapsed = (frame["latest_year"] - frame["baseline_wave"]) / (
        frame["target_year"] - frame["baseline_wave"]
    )
    return frame.assign(progress=progress, expected_progress=elapsed.clip(0.0, 1.0))


def _with_status(frame: pd.DataFrame) -> pd.DataFrame:
    sign = np.where(frame["direction"].eq("increase"), 1.0, -1.0)
    met = sign * (frame["latest"] - frame["target"]) >= -1e-12
    met_at_baseline = sign * (frame["baseline_used"] - frame["target"]) >= -1e-12
    inventory = ~frame["indicator_kind"].map(lambda k: indicator_kind_spec(k)["source"] == "survey")
    clear_good = frame["change"].eq(frame["direction"])
    clear_bad = frame["change"].isin(["increase", "decrease"]) & ~clear_good
    progress, expected = frame["progress"], frame["expected_progress"]
    on_pace = (progress > 0) & (progress >= expected - 1e-12)
    blocked = frame["blocked"].ne("")
    rules = [
        (blocked, "not_yet_measurable", frame["blocked"]),
        (met_at_baseline & met, "achieved", "target_met_at_baseline"),
        (met_at_baseline, "not_on_track", "no_longer_met"),
        (met & inventory, "achieved", "programme_target_reached"),
        (met & clear_good, "achieved", "target_reached"),
        (met, "on_track", "target_reached_within_noise"),
        (frame["latest_year"] >= frame["target_year"], "not_on_track", "target_year_passed"),
        (clear_bad, "not_on_track", "wrong_direction"),
        (on_pace & inventory, "on_track", "programme_on_pace"),
        (on_pace & clear_good, "on_track", "on_pace"),
        (on_pace, "on_track", "on_pace_within_noise"),
        (progress <= 0, "not_on_track", "no_progress"),
    ]
    conditions = [np.asarray(c, dtype=bool) for c, _, _ in rules]
    status = np.select(conditions, [s for _, s, _ in rules], default="not_on_track")
    reason = np.select(
        conditions, [np.broadcast_to(np.asarray(r, dtype=object), len(frame)) for _, _, r in rules],
        default="behind_pace",
    )  # fmt: skip
    return frame.assign(status=status, reason=reason)


# --------------------------------------------------------------------------------------------
# What the follow-up shows and records


def focus_measures(aggregates: pd.DataFrame, chain: GoalChain | None = None) -> list[str]:
    """Measures to chart: the survey measures of the goal chain, else the composites, else
    (an instrument without factor scales) the behaviours.

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Tidy aggregate table (only measures present in it are returned).
    chain : GoalChain, optional
        The area's goal chain (:func:`ctc_helpers.config.goal_chain.load_goal_chain`).

    Returns
    -------
    list of str
        Measure ids in the chain's order (long-term goals last), without repeats.

    Examples
    --------
    >>> table = pd.DataFrame({"measure": ["alcohol_30d", "high_risk", "high_protection"],
    ...     "measure_kind": ["behaviour", "composite", "composite"]})
    >>> focus_measures(table)
    ['high_risk', 'high_protection']
    >>> focus_measures(table.iloc[:1])
    ['alcohol_30d']
    """
    present = list(dict.fromkeys(aggregates["measure"]))
    wanted = [] if chain is None else [g.measure for g in chain.goals if g.measure]
    chosen = [m for m in dict.fromkeys(wanted) if m in present]
    if chosen:
        return chosen
    for kind in ("composite", "behaviour"):
        shown = aggregates.loc[aggregates["measure_kind"].eq(kind), "measure"]
        if not shown.empty:
            return list(dict.fromkeys(shown))
    return []


def goal_summary(evaluated: pd.DataFrame) -> dict[str, Any]:
    """Counts of goals per status and the statuses per goal (for the notebook's results file)."""
    counts = evaluated["status"].value_counts() if len(evaluated) else pd.Series(dtype=int)
    return {
        "goals": int(len(evaluated)),
        "status_counts": {s: int(counts.get(s, 0)) for s in schema_codes("statuses")},
        "statuses": dict(zip(evaluated["goal_id"], evaluated["status"], strict=True)),
    }
