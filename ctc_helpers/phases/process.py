"""The CTC process of an area over the years: milestone status by phase, the unmet milestones,
the steering group's criteria, and (with :mod:`ctc_helpers.phases.delivery`) the implementation
plan against what the programme inventory says was delivered.

Scoring rules
-------------
A milestone's score (0-4, from the area's checklist of a year) gives its ``status``: ``met`` from
the checklist's ``met_from`` (3: largely or fully in place), ``in_progress`` (1 up to
``met_from``), ``not_started`` (0), ``not_assessed`` (no score that year).

An area has *reached* the highest phase in which any milestone scores at least 1 that year. A
milestone is *due* when its phase is at or below the reached phase: an unmet milestone of a later
phase is simply not yet due, one of an earlier phase is a problem. (CTC's phases overlap; a
steering group that stopped meeting is a problem whatever phase the area is in.)

A phase's ``status`` in a year is ``complete`` when every milestone is met, ``in_progress`` when
any scores at least 1, ``not_started`` when all assessed ones score 0, ``not_assessed`` when none
was assessed; ``share_met`` counts an unassessed milestone as not met.

The steering group's criteria are the milestones marked ``steering_group`` in the checklist. In a
year they are ``met`` when every due criterion is met, ``unmet`` when any due one is not, and
``not_due`` before the first is due.

Examples
--------
>>> from ctc_helpers.config.checklist import load_checklist_definition
>>> definition = load_checklist_definition()
>>> frames = load_process("data/sample/process", "stenkulla", wave=2025, definition=definition)
>>> frames.steering.set_index("year").loc[2025, "status"]
'unmet'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.checklist import (
    ChecklistDefinition,
    checklist_frame,
    load_area_checklists,
    load_checklist_definition,
)
from ctc_helpers.config.goal_chain import GoalChain, load_area_goal_chain
from ctc_helpers.config.implementation_plan import (
    ImplementationPlan,
    activities_frame,
    load_area_implementation_plan,
    plan_frame,
)
from ctc_helpers.config.instrument import RespondentSchema
from ctc_helpers.paths import resolve_path
from ctc_helpers.phases.delivery import goal_links, plan_flags, plan_vs_delivered
from ctc_helpers.phases.followup.goal_progress import load_programme_figures
from ctc_helpers.vocab import CITY

__all__ = [
    "MILESTONE_STATUSES",
    "PHASE_STATUSES",
    "STEERING_STATUSES",
    "UNMET_FLAGS",
    "ProcessFrames",
    "score_milestones",
    "phase_status",
    "unmet_milestones",
    "steering_group_status",
    "process_areas",
    "load_process",
    "load_area_process",
    "process_summary",
]

MILESTONE_STATUSES = ("met", "in_progress", "not_started", "not_assessed")
PHASE_STATUSES = ("complete", "in_progress", "not_started", "not_assessed")
STEERING_STATUSES = ("met", "unmet", "not_due")
UNMET_FLAGS = ("steering_group", "not_assessed", "was_met", "dropped", "long_unmet")
"""Flags of an unmet milestone: a steering-group criterion; not assessed this year; met in an
earlier year; scored lower than in the previous checklist; unmet in at least two checklists in a
row while due."""


# --------------------------------------------------------------------------------------------
# Milestones


def score_milestones(milestones: pd.DataFrame, *, met_from: int) -> pd.DataFrame:
    """Each milestone's status, and whether it is due, in each area and year.

    Parameters
    ----------
    milestones : pandas.DataFrame
        :func:`ctc_helpers.config.checklist.checklist_frame` (columns ``area, year, milestone,
        phase, score`` ...).
    met_from : int
        The score from which a milestone counts as met (the checklist's ``met_from``).

    Returns
    -------
    pandas.DataFrame
        The input's columns plus ``status`` (``met / in_progress / not_started /
        not_assessed``), ``met`` (bool), ``reached_phase`` (the area's highest phase with a
        score of at least 1 that year; 0 when none) and ``due`` (bool).

    Examples
    --------
    >>> frame = pd.DataFrame({"area": "a", "year": 2025, "milestone": ["x", "y", "z"],
    ...                       "phase": [1, 1, 2], "score": [4, 2, np.nan]})
    >>> score_milestones(frame, met_from=3)[["status", "due"]].values.tolist()
    [['met', True], ['in_progress', True], ['not_assessed', False]]
    """
    score = milestones["score"].astype(float)
    status = np.select(
        [score.isna(), score >= met_from, score >= 1],
        ["not_assessed", "met", "in_progress"],
        default="not_started",
    )
    working = milestones["phase"].where(score >= 1, 0)
    reached = working.groupby([milestones["area"], milestones["year"]]).transform("max")
    return milestones.assign(
        status=status,
        met=score >= met_from,
        reached_phase=reached.astype(int),
        due=milestones["phase"] <= reached,
    )


def phase_status(scored: pd.DataFrame) -> pd.DataFrame:
    """Milestone status by phase: one row per area, year and phase.

    Returns
    -------
    pandas.DataFrame
        Columns ``area, year, phase, milestones, assessed, met, share_met`` (met / milestones),
        ``mean_score`` (over the assessed ones; NaN when none), ``status`` (``complete /
        in_progress / not_started / not_assessed``), ``due`` (the phase is at or below the
        reached phase).

    Examples
    --------
    >>> frame = pd.DataFrame({"area": "a", "year": 2025, "milestone": ["x", "y", "z"],
    ...                       "phase": [1, 1, 2], "score": [4, 2, 0]})
    >>> phase_status(score_milestones(frame, met_from=3))[["phase", "share_met", "status"]]
       phase  share_met       status
    0      1        0.5  in_progress
    1      2        0.0  not_started
    """
    grouped = scored.groupby(["area", "year", "phase"], sort=True)
    table = grouped.agg(
        milestones=("milestone", "size"),
        assessed=("score", "count"),
        met=("met", "sum"),
        mean_score=("score", "mean"),
        started=("score", lambda s: bool((s >= 1).any())),
        due=("due", "first"),
    ).reset_index()
    status = np.select(
        [table["met"].eq(table["milestones"]), table["started"], table["assessed"].gt(0)],
        ["complete", "in_progress", "not_started"],
        default="not_assessed",
    )
    return table.assign(
        met=table["met"].astype(int),
        share_met=table["met"] / table["milestones"],
        status=status,
    )[["area", "year", "phase", "milestones", "assessed", "met", "share_met", "mean_score",
       "status", "due"]]  # fmt: skip


def _runs_unmet(scored: pd.DataFrame) -> pd.Series:
    """For each row, how many checklists in a row (ending with this one) it was due and unmet."""
    ordered = scored.sort_values(["area", "milestone", "year"], kind="stable")
    unmet = (ordered["due"] & ~ordered["met"]).astype(int)
    blocks = (unmet.eq(0) | ordered[["area", "milestone"]].ne(
        ordered[["area", "milestone"]].shift()).any(axis=1)).cumsum()  # fmt: skip
    return unmet.groupby(blocks).cumsum().reindex(scored.index)


def unmet_milestones(scored: pd.DataFrame, *, year: int | None = None) -> pd.DataFrame:
    """The due milestones that are not met in each area's latest checklist (up to ``year``).

    Parameters
    ----------
    scored : pandas.DataFrame
        :func:`score_milestones`.
    year : int, optional
        Look at each area's latest checklist up to this year (default: its latest).

    Returns
    -------
    pandas.DataFrame
        Columns ``area, year, milestone, phase, steering_group, own, score, status,
        previous_score`` (the previous checklist's; NaN), ``previous_year``, ``years_unmet``
        (checklists in a row, this one included, in which it was due and unmet),
        ``first_met`` (the first year it was met; NaN when never), ``comment, basis`` and
        ``flags`` (a tuple of :data:`UNMET_FLAGS`); steering-group criteria first, then by
        phase and checklist order.
    """
    columns = ["area", "year", "milestone", "phase", "steering_group", "own", "score", "status",
               "previous_score", "previous_year", "years_unmet", "first_met", "comment", "basis",
               "flags"]  # fmt: skip
    frame = scored if year is None else scored.loc[scored["year"] <= year]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.assign(years_unmet=_runs_unmet(frame))
    by = frame.sort_values(["area", "milestone", "year"], kind="stable").groupby(
        ["area", "milestone"]
    )
    frame = frame.assign(
        previous_score=by["score"].shift().reindex(frame.index),
        previous_year=by["year"].shift().reindex(frame.index),
        first_met=frame["year"]
        .where(frame["met"])
        .groupby([frame["area"], frame["milestone"]])
        .transform("min"),  # fmt: skip
    )
    latest = frame["year"].eq(frame.groupby("area")["year"].transform("max"))
    rows = frame.loc[latest & frame["due"] & ~frame["met"]]
    flags = [_flags(r) for r in rows.itertuples(index=False)]
    return (
        rows.assign(flags=pd.Series(flags, index=rows.index, dtype=object))
        .sort_values(
            ["area", "steering_group", "phase", "order"], ascending=[True, False, True, True]
        )  # fmt: skip
        .reset_index(drop=True)[columns]
    )


def _flags(row: Any) -> tuple[str, ...]:
    found = {
        "steering_group": bool(row.steering_group),
        "not_assessed": pd.isna(row.score),
        "was_met": pd.notna(row.first_met) and row.first_met < row.year,
        "dropped": pd.notna(row.score) and pd.notna(row.previous_score)
        and row.score < row.previous_score,
        "long_unmet": row.years_unmet >= 2,
    }  # fmt: skip
    return tuple(flag for flag in UNMET_FLAGS if found[flag])


def steering_group_status(scored: pd.DataFrame) -> pd.DataFrame:
    """The steering group's criteria in each area and year.

    Returns
    -------
    pandas.DataFrame
        Columns ``area, year, criteria, due, met, unmet`` (tuple of the due criteria not met),
        ``status`` (``met / unmet / not_due``), ``years_unmet`` (checklists in a row, this one
        included, with the status ``unmet``).
    """
    criteria = scored.loc[scored["steering_group"].astype(bool)]
    columns = ["area", "year", "criteria", "due", "met", "unmet", "status", "years_unmet"]
    if criteria.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (area, year), group in criteria.groupby(["area", "year"], sort=True):
        due = group.loc[group["due"]]
        unmet = tuple(due.loc[~due["met"], "milestone"])
        status = "not_due" if due.empty else "unmet" if unmet else "met"
        rows.append([area, year, len(group), len(due), int(due["met"].sum()), unmet, status])
    table = pd.DataFrame(rows, columns=columns[:-1])
    unmet = table["status"].eq("unmet").astype(int)
    blocks = (unmet.eq(0) | table["area"].ne(table["area"].shift())).cumsum()
    return table.assign(years_unmet=unmet.groupby(blocks).cumsum())


# --------------------------------------------------------------------------------------------
# Everything a process report or view needs


@dataclass(frozen=True)
class ProcessFrames:
    """The tidy frames of the process section of an area (or, for ``all``, of every area).

    ``milestones`` (:func:`score_milestones`), ``phases`` (:func:`phase_status`), ``unmet``
    (:func:`unmet_milestones`), ``steering`` (:func:`steering_group_status`), ``plan`` and
    ``activities`` (:func:`ctc_helpers.config.implementation_plan.plan_frame` and
    ``activities_frame``), ``delivery``, ``flags`` and ``goals``
    (:mod:`ctc_helpers.phases.delivery`), ``areas`` (the areas read: ``area, checklists,
    plan, goal_chain``).
    """

    area: str
    wave: int
    definition: ChecklistDefinition
    milestones: pd.DataFrame
    phases: pd.DataFrame
    unmet: pd.DataFrame
    steering: pd.DataFrame
    plan: pd.DataFrame
    activities: pd.DataFrame
    delivery: pd.DataFrame
    flags: pd.DataFrame
    goals: pd.DataFrame
    areas: pd.DataFrame

    @property
    def latest_phases(self) -> pd.DataFrame:
        """:attr:`phases` of each area's latest checklist (the city view)."""
        if self.phases.empty:
            return self.phases
        latest = self.phases["year"].eq(self.phases.groupby("area")["year"].transform("max"))
        return self.phases.loc[latest].reset_index(drop=True)


def process_areas(process_dir: str | Path, area: str, known: Iterable[str]) -> list[str]:
    """The areas a report covers: the area itself, or for the city every known area that has a
    folder in the process folder (in the order of ``known``)."""
    if area != CITY:
        return [area]
    folder = resolve_path(process_dir) if str(process_dir) else None
    return [a for a in known if folder is not None and (folder / a).is_dir()]


def load_process(
    process_dir: str | Path,
    area: str,
    *,
    wave: int,
    definition: ChecklistDefinition | None = None,
    known_areas: Iterable[str] = (),
    goal_chain_dir: str | Path = "",
    measures: Any = None,
    figures: pd.DataFrame | None = None,
    respondent_schema: RespondentSchema | None = None,
) -> ProcessFrames:
    """Read and score the checklists and plans of an area (``all``: every area with a folder).

    Parameters
    ----------
    process_dir : str or Path
        The process folder: ``<area>/checklist_<year>.yaml``, ``<area>/implementation_plan.yaml``
        and the municipality's own ``milestones.yaml``.
    area : str
        An area id, or ``all`` for every area of ``known_areas`` that has a folder.
    wave : int
        The report's survey year: checklists and inventory years after it are left out.
    definition : ChecklistDefinition, optional
        Default: :func:`ctc_helpers.config.checklist.load_checklist_definition` of ``process_dir``.
    known_areas : sequence of str
        The area ids of the run (for ``all``).
    goal_chain_dir : str or Path
        Folder of the goal chains (``""``: the plans are not linked to goals).
    measures : Instrument or pandas.DataFrame, optional
        Measure ids and kinds, to validate the goal chains (the published ``measures``).
    figures : pandas.DataFrame, optional
        The inventory's figures by year
        (:func:`ctc_helpers.phases.followup.goal_progress.load_programme_figures`); ``None``: no
        inventory, delivery unknown.
    respondent_schema : RespondentSchema, optional
        The grade and sex codes the goal chains may name (the survey's own vocabulary,
        ``Published.respondent_schema()``); default ``data_schema/respondents.yaml``.

    Raises
    ------
    ConfigFileError
        A checklist, plan, goal chain or the own milestones file is not valid.
    """
    definition = definition or load_checklist_definition(process_dir)
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in ("check", "plan", "act", "del", "flag",
                                                            "goal")}  # fmt: skip
    read = []
    for name in process_areas(process_dir, area, known_areas):
        checklists = load_area_checklists(process_dir, name, definition=definition, up_to=wave)
        chain = _chain(goal_chain_dir, name, measures, respondent_schema)
        plan = load_area_implementation_plan(process_dir, name, chain=chain)
        parts["check"].append(checklist_frame(checklists, definition))
        _add_plan(parts, plan, chain, figures, wave=wave, area=name)
        read.append([name, len(checklists), plan is not None, chain is not None])
    scored = score_milestones(_concat(parts["check"], checklist_frame((), definition)),
                              met_from=definition.met_from)  # fmt: skip
    return ProcessFrames(
        area=area,
        wave=wave,
        definition=definition,
        milestones=scored,
        phases=phase_status(scored) if len(scored) else _empty_phases(),
        unmet=unmet_milestones(scored, year=wave),
        steering=steering_group_status(scored),
        plan=_concat(parts["plan"]),
        activities=_concat(parts["act"]),
        delivery=_concat(parts["del"]),
        flags=_concat(parts["flag"]),
        goals=_concat(parts["goal"]),
        areas=pd.DataFrame(read, columns=["area", "checklists", "plan", "goal_chain"]),
    )


def _chain(
    goal_chain_dir: str | Path, area: str, measures: Any, schema: RespondentSchema | None
) -> GoalChain | None:
    if not str(goal_chain_dir) or measures is None:
        return None
    return load_area_goal_chain(goal_chain_dir, area, instrument=measures, respondent_schema=schema)


def _add_plan(parts, plan: ImplementationPlan | None, chain, figures, *, wave: int, area: str):
    if plan is not None:
        parts["plan"].append(plan_frame(plan))
        parts["act"].append(activities_frame(plan))
        parts["del"].append(plan_vs_delivered(plan, figures, wave=wave))
    if plan is not None or chain is not None:
        parts["flag"].append(plan_flags(plan, figures, chain, wave=wave, area=area))
        parts["goal"].append(goal_links(plan, chain, area=area))


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame | None = None) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if frames:
        return pd.concat(frames, ignore_index=True)
    return empty if empty is not None else pd.DataFrame()


def _empty_phases() -> pd.DataFrame:
    return pd.DataFrame(columns=["area", "year", "phase", "milestones", "assessed", "met",
                                 "share_met", "mean_score", "status", "due"])  # fmt: skip


def load_area_process(
    published: Any,
    *,
    area: str,
    wave: int,
    process_dir: str | Path,
    goal_chain_dir: str | Path = "",
    inventory_path: str | Path = "",
) -> ProcessFrames:
    """Every frame of the process report or dashboard view of an area (``all``: every area).

    The one call of notebook 06 and of the dashboard's "Process" view: it reads the team files
    (checklists, implementation plans, goal chains, the programme inventory) and, from the
    published folder, only the area list, the measures (to check the goal chains) and the
    participation (the enrolment behind a universal programme's reach); never row-level data.

    Parameters
    ----------
    published : ctc_helpers.publish.read.Published
        The published folder of the wave.
    area : str
        An area id, or ``all`` for every area of the published area list with a process folder.
    wave : int
        The survey year reported.
    process_dir : str or Path
        The process folder (``<area>/checklist_<year>.yaml``, ``<area>/implementation_plan.yaml``).
    goal_chain_dir, inventory_path : str or Path
        The goal chains' folder and the programme inventory (``""``: none).

    Raises
    ------
    ConfigFileError
        A team file is not valid (the message names the file, the key path and the value).
    InputFileError
        The inventory cannot be read as a whole.
    """
    figures = load_programme_figures(inventory_path, published=published, wave=wave)
    return load_process(
        process_dir,
        area,
        wave=wave,
        known_areas=published.areas["area_id"],
        goal_chain_dir=goal_chain_dir,
        measures=published.measures,
        figures=figures,
        respondent_schema=published.respondent_schema(),
    )


def process_summary(frames: ProcessFrames) -> dict[str, Any]:
    """Numbers and codes for the notebook's results record (``06_process.json``).

    Per area read: the latest checklist year, the reached phase, the status of each phase, the
    steering group's status and unmet criteria, the unmet milestones and the plan's flags.
    """
    summary = {"wave": frames.wave, "checklist_version": frames.definition.version, "areas": {}}
    latest = frames.latest_phases
    for name in frames.areas["area"]:
        phases = latest.loc[latest["area"].eq(name)]
        steering = frames.steering.loc[frames.steering["area"].eq(name)].tail(1)
        flags = frames.flags.loc[frames.flags["area"].eq(name)] if len(frames.flags) else None
        unmet = frames.unmet.loc[frames.unmet["area"].eq(name)]
        scored = frames.milestones.loc[frames.milestones["area"].eq(name)]
        summary["areas"][name] = {
            "latest_year": int(phases["year"].max()) if len(phases) else None,
            "reached_phase": int(scored.loc[scored["year"].eq(scored["year"].max()),
                                            "reached_phase"].max()) if len(scored) else None,
            "phase_status": dict(zip(phases["phase"].astype(str), phases["status"], strict=True)),
            "steering_group": steering["status"].iloc[0] if len(steering) else None,
            "steering_unmet": list(steering["unmet"].iloc[0]) if len(steering) else [],
            "unmet": list(unmet["milestone"]),
            "plan_flags": [] if flags is None else sorted(set(flags["flag"])),
        }  # fmt: skip
    return summary
