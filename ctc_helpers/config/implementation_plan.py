"""The implementation plan inside an area's action plan: how each chosen programme is run.

One file per area, ``<process dir>/<area_id>/implementation_plan.yaml`` (format:
``data_schema/implementation_plan.yaml``). For each chosen programme it names the activities, the
responsible organisation, start and end, the budget, the target group and target reach, the
fidelity target and the implementation support (trained staff, coaching, an implementation team).

A file is checked in two steps and every problem of both is reported at once, naming the file,
the key path and the value: the pydantic model :class:`ImplementationPlanFile` checks each key
and value; then the dates (an end before its start, an activity outside its programme's period),
repeated programmes and, when the area's goal chain is given, the links to it: every goal named
under ``goals`` must be a short-term goal of the chain about this very programme.

Examples
--------
>>> from ctc_helpers.paths import SAMPLE_DIR
>>> plan = load_implementation_plan(SAMPLE_DIR / "process" / "solvik" / "implementation_plan.yaml")
>>> plan.area, plan.programmes[0].programme
('solvik', 'Positive Action')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import AfterValidator, BeforeValidator, ValidationInfo, model_validator

from ctc_helpers.config.checklist import optional_text
from ctc_helpers.config.fields import Date, FileModel, Text, choice, id_text, nonempty_list, number
from ctc_helpers.config.fields import whole as whole_number
from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.goal_chain import GoalChain
from ctc_helpers.config.inventory import normalise
from ctc_helpers.config.messages import Problem, check, key_path, problem, raise_problems
from ctc_helpers.config.messages import Text as Text_
from ctc_helpers.paths import SCHEMA_DIR, resolve_path

__all__ = [
    "PLAN_SCHEMA",
    "PLAN_FILE",
    "BUDGET_PERIODS",
    "Budget",
    "TargetReach",
    "Support",
    "Activity",
    "PlanProgramme",
    "ImplementationPlanFile",
    "ImplementationPlan",
    "implementation_plan_path",
    "load_implementation_plan",
    "load_area_implementation_plan",
    "plan_frame",
    "activities_frame",
    "plan_field_labels",
]

PLAN_SCHEMA = SCHEMA_DIR / "implementation_plan.yaml"
PLAN_FILE = "implementation_plan.yaml"
BUDGET_PERIODS = ("year", "total")
_ID = r"[A-Za-z0-9][A-Za-z0-9_-]*"


def _unique(entries: list[Any]) -> list[Any]:
    ids = [entry if isinstance(entry, str) else entry.id for entry in entries]
    twice = [i for i in ids if ids.count(i) > 1]
    if twice:
        raise problem("cfg_id_twice", id=twice[0])
    return entries


def _goal_ids(value: Any) -> Any:
    if value is None:
        return []
    if not isinstance(value, list):
        raise problem("cfg_goal_links")
    return value


class Budget(FileModel):
    """``budget:`` kronor, per year or for the whole period, and where the money comes from."""

    sek: whole_number(minimum=0)
    per: choice(BUDGET_PERIODS)
    source: optional_text = None


class TargetReach(FileModel):
    """``target_reach:`` a share of the target group, a number of participants, or both."""

    share: number(minimum=0, maximum=1, key="cfg_plan_share") | None = None
    participants: whole_number(minimum=1) | None = None

    @model_validator(mode="after")
    def _one_of_the_two(self) -> TargetReach:
        if self.share is None and self.participants is None:
            raise problem("cfg_plan_reach_empty")
        return self


class Support(FileModel):
    """``support:`` trained staff, coaching sessions a year, and the implementation team."""

    trained_staff: whole_number(minimum=0)
    coaching_per_year: whole_number(minimum=0)
    implementation_team: optional_text


class Activity(FileModel):
    """One activity of a programme: what, who, from when to when."""

    id: id_text(_ID, key="cfg_goal_id")
    text: Text
    responsible: optional_text = None
    start: Date
    end: Date


class PlanProgramme(FileModel):
    """One chosen programme of the plan (keys: ``programme_fields`` of the schema)."""

    id: id_text(_ID, key="cfg_goal_id")
    programme: Text
    goals: Annotated[
        list[id_text(_ID, key="cfg_goal_id")],
        BeforeValidator(_goal_ids),
        AfterValidator(_unique),
    ]
    responsible: Text
    partners: optional_text = None
    start: Date
    end: Date
    budget: Budget
    target_group: Text
    target_reach: TargetReach
    fidelity_target: number(minimum=0, maximum=1, key="cfg_plan_share")
    sessions_per_year: whole_number(minimum=1) | None = None
    support: Support
    activities: Annotated[list[Activity], AfterValidator(_unique)] = []


@dataclass(frozen=True)
class _Context:
    area: str | None


def _area(value: str, info: ValidationInfo) -> str:
    wanted = info.context.area
    if wanted is not None and value != wanted:
        raise problem("cfg_checklist_area", area=wanted)
    return value


class ImplementationPlanFile(FileModel):
    """An area's implementation plan (keys: ``fields`` of the schema)."""

    area: Annotated[id_text(r"[a-z0-9][a-z0-9_-]*", key="cfg_area_id"), AfterValidator(_area)]
    decided: Date
    decided_by: optional_text = None
    note: optional_text = None
    programmes: Annotated[
        list[PlanProgramme], BeforeValidator(nonempty_list), AfterValidator(_unique)
    ]


@dataclass(frozen=True)
class ImplementationPlan:
    """A validated implementation plan (:func:`load_implementation_plan`)."""

    area: str
    decided: dt.date
    programmes: tuple[PlanProgramme, ...]
    decided_by: str = ""
    note: str = ""
    source: str = ""


# --------------------------------------------------------------------------------------------
# What one value cannot check by itself


def _date_problems(model: ImplementationPlanFile, raw: dict) -> list[Problem]:
    problems = []
    for i, entry in enumerate(model.programmes):
        if entry.end < entry.start:
            path = key_path(("programmes", i, "end"), raw)
            values = {"start": entry.start.isoformat()}
            problems.append(
                Problem(path, "cfg_plan_end_before_start", values, entry.end.isoformat())
            )
        for j, activity in enumerate(entry.activities):
            path = key_path(("programmes", i, "activities", j), raw)
            if activity.end < activity.start:
                values = {"start": activity.start.isoformat()}
                problems.append(
                    Problem(
                        f"{path}.end", "cfg_plan_end_before_start", values, activity.end.isoformat()
                    )
                )
            elif activity.start < entry.start or activity.end > entry.end:
                values = {
                    "start": entry.start.isoformat(),
                    "end": entry.end.isoformat(),
                    "from": activity.start.isoformat(),
                    "to": activity.end.isoformat(),
                }
                problems.append(Problem(path, "cfg_plan_activity_outside", values))
    return problems


def _name_problems(model: ImplementationPlanFile) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for entry in model.programmes:
        key = normalise(entry.programme)
        if key in seen:
            values = {"name": entry.programme, "other": seen[key]}
            problems.append(Problem(f"programmes[{entry.id}]", "cfg_plan_programme_twice", values))
        seen.setdefault(key, entry.id)
    return problems


def _goal_problems(model: ImplementationPlanFile, raw: dict, chain: GoalChain) -> list[Problem]:
    """Every goal a programme names must be a short-term goal of the chain about it."""
    short = [g for g in chain.goals if g.level == "short"]
    by_id = {g.id: g for g in chain.goals}
    problems = []
    for i, entry in enumerate(model.programmes):
        for j, goal_id in enumerate(entry.goals):
            path = key_path(("programmes", i, "goals", j), raw)
            goal = by_id.get(goal_id)
            if goal is None:
                known = [g.id for g in short] or Text_("cfg_none")
                problems.append(Problem(path, "cfg_plan_goal_unknown", {"known": known}, goal_id))
            elif goal.level != "short":
                values = {"level": goal.level}
                problems.append(Problem(path, "cfg_plan_goal_not_short", values, goal_id))
            elif normalise(goal.programme or "") != normalise(entry.programme):
                values = {"other": goal.programme or "", "programme": entry.programme}
                problems.append(Problem(path, "cfg_plan_goal_programme", values, goal_id))
    return problems


# --------------------------------------------------------------------------------------------
# Loading


def implementation_plan_path(process_dir: str | Path, area: str) -> Path:
    """``<process_dir>/<area>/implementation_plan.yaml`` (a relative folder that does not exist
    from here is taken from the repository root)."""
    return resolve_path(process_dir) / area / PLAN_FILE


def load_implementation_plan(
    path: str | Path, *, area: str | None = None, chain: GoalChain | None = None
) -> ImplementationPlan:
    """Read and validate an implementation plan.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    area : str, optional
        When given, the file's ``area`` must be this area id (its folder).
    chain : GoalChain, optional
        The area's goal chain (:func:`ctc_helpers.config.goal_chain.load_goal_chain`); when given,
        the goals each programme names are checked against it.

    Raises
    ------
    ConfigFileError
        Listing every problem with the file, the key path (``programmes[<id>].budget.sek``) and
        the value: unknown or missing keys, a share outside 0..1, a target reach with neither a
        share nor participants, an end before its start, an activity outside its programme's
        period, a programme listed twice, and goals that are not in the chain, not short-term or
        about another programme.
    """
    path = Path(path)
    raw, _ = read_yaml_file(path, what="implementation_plan")
    model, problems = check(ImplementationPlanFile, raw, context=_Context(area=area))
    if model is not None:
        problems = _date_problems(model, raw) + _name_problems(model)
        problems += [] if chain is None else _goal_problems(model, raw, chain)
    raise_problems(path.name, problems)
    return ImplementationPlan(
        area=model.area,
        decided=model.decided,
        programmes=tuple(model.programmes),
        decided_by=model.decided_by or "",
        note=model.note or "",
        source=str(path),
    )


def load_area_implementation_plan(
    process_dir: str | Path, area: str, *, chain: GoalChain | None = None
) -> ImplementationPlan | None:
    """The area's implementation plan, or ``None`` when it has none (see
    :func:`load_implementation_plan` for the checks)."""
    path = implementation_plan_path(process_dir, area)
    if not path.is_file():
        return None
    return load_implementation_plan(path, area=area, chain=chain)


def plan_frame(plan: ImplementationPlan) -> pd.DataFrame:
    """The plan's programmes as a tidy frame, one row per programme in file order.

    Returns
    -------
    pandas.DataFrame
        Columns ``area, plan_id, programme, goals`` (tuple of goal ids), ``responsible,
        partners, start, end, budget_sek, budget_per, budget_source, target_group,
        target_share, target_participants`` (NaN when not set), ``fidelity_target,
        sessions_per_year`` (NaN when not set), ``trained_staff, coaching_per_year,
        implementation_team`` ("" when none), ``activities`` (how many).
    """
    nan = float("nan")
    rows = [
        {
            "area": plan.area,
            "plan_id": p.id,
            "programme": p.programme,
            "goals": tuple(p.goals),
            "responsible": p.responsible,
            "partners": p.partners or "",
            "start": p.start,
            "end": p.end,
            "budget_sek": p.budget.sek,
            "budget_per": p.budget.per,
            "budget_source": p.budget.source or "",
            "target_group": p.target_group,
            "target_share": nan if p.target_reach.share is None else p.target_reach.share,
            "target_participants": nan
            if p.target_reach.participants is None
            else float(p.target_reach.participants),
            "fidelity_target": p.fidelity_target,
            "sessions_per_year": nan if p.sessions_per_year is None else float(p.sessions_per_year),
            "trained_staff": p.support.trained_staff,
            "coaching_per_year": p.support.coaching_per_year,
            "implementation_team": p.support.implementation_team or "",
            "activities": len(p.activities),
        }
        for p in plan.programmes
    ]
    return pd.DataFrame(rows)


def activities_frame(plan: ImplementationPlan) -> pd.DataFrame:
    """Every activity of the plan, one row each, in file order.

    Returns
    -------
    pandas.DataFrame
        Columns ``area, plan_id, programme, activity, text, responsible`` (the programme's
        organisation when the activity names none), ``start, end``.
    """
    columns = ["area", "plan_id", "programme", "activity", "text", "responsible", "start", "end"]
    rows = [
        [plan.area, p.id, p.programme, a.id, a.text, a.responsible or p.responsible, a.start,
         a.end]
        for p in plan.programmes
        for a in p.activities
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


@cache
def plan_field_labels() -> dict[str, dict[str, str]]:
    """The labels ``{sv: ..., en: ...}`` of every key of the plan format, by key name.

    >>> plan_field_labels()["responsible"]["en"]
    'Responsible organisation'
    """
    raw, _ = read_yaml_file(PLAN_SCHEMA, what="schema")
    sections = [v for k, v in raw.items() if k.endswith("fields")]
    labels: dict[str, dict[str, str]] = {}
    for section in sections:
        for spec in section:
            labels.setdefault(spec["name"], spec["label"])
    return labels
