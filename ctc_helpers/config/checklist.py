"""The CTC process as data: the milestone checklist and an area's yearly scores of it.

Three files, each described by pydantic models and checked with every problem reported at once,
naming the file, the key path and the value (:mod:`ctc_helpers.config.messages`):

``data_schema/checklist.yaml``
    The default checklist: the five phases, their milestones (our own wording, Swedish and
    English), the 0-4 scale and the score from which a milestone counts as met
    (:func:`load_checklist_definition`).
``<process dir>/milestones.yaml`` (optional)
    The municipality's own milestones, added to the default ones (same keys plus ``phase``).
``<process dir>/<area_id>/checklist_<year>.yaml``
    An area's checklist of one year: each assessed milestone scored 0-4, with a date, a comment
    and what the score rests on (:func:`load_checklist`, :func:`load_area_checklists`).

Examples
--------
>>> definition = load_checklist_definition()
>>> len(definition.phases), definition.met_from, definition.max_score
(5, 3, 4)
>>> [m.id for m in definition.milestones if m.steering_group][:2]
['steering-group-formed', 'steering-group-mandate']
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import AfterValidator, BeforeValidator, PlainValidator, ValidationInfo

from ctc_helpers.config.fields import Date, FileModel, Texts, id_text, nonempty_list, whole
from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.messages import Problem, check, key_path, problem, raise_problems
from ctc_helpers.paths import SCHEMA_DIR, resolve_path

__all__ = [
    "CHECKLIST_SCHEMA",
    "OWN_MILESTONES_FILE",
    "MILESTONE_ID",
    "Milestone",
    "Phase",
    "ChecklistDefinition",
    "MilestoneScore",
    "Checklist",
    "ChecklistSchemaFile",
    "OwnMilestonesFile",
    "ChecklistFile",
    "optional_text",
    "load_checklist_definition",
    "checklist_path",
    "checklist_years",
    "load_checklist",
    "load_area_checklists",
    "checklist_frame",
]

CHECKLIST_SCHEMA = SCHEMA_DIR / "checklist.yaml"
OWN_MILESTONES_FILE = "milestones.yaml"  # in the process folder: the municipality's own items
MILESTONE_ID = r"[a-z][a-z0-9-]*"
_FILE_NAME = re.compile(r"checklist_(\d{4})\.yaml")


# --------------------------------------------------------------------------------------------
# The checklist as data


@dataclass(frozen=True)
class Phase:
    """A phase of the process: its number and its title ``{sv: ..., en: ...}``."""

    number: int
    title: dict[str, str]


@dataclass(frozen=True)
class Milestone:
    """A milestone: its phase, a short label and its text ``{sv: ..., en: ...}``, whether it is a
    steering-group criterion, and whether the municipality added it (``own``)."""

    id: str
    phase: int
    label: dict[str, str]
    text: dict[str, str]
    steering_group: bool = False
    own: bool = False


@dataclass(frozen=True)
class ChecklistDefinition:
    """The milestones an area is scored on: the default checklist plus the municipality's own."""

    version: str
    met_from: int
    scale: dict[int, dict[str, str]]
    phases: tuple[Phase, ...]
    milestones: tuple[Milestone, ...]

    @property
    def max_score(self) -> int:
        return max(self.scale)

    @property
    def milestone_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.milestones)

    def milestone(self, milestone_id: str) -> Milestone:
        """The milestone with this id (KeyError naming the known ids otherwise)."""
        for milestone in self.milestones:
            if milestone.id == milestone_id:
                return milestone
        raise KeyError(
            f"The checklist has no milestone {milestone_id!r}; its milestones: "
            f"{', '.join(self.milestone_ids)}."
        )

    def frame(self) -> pd.DataFrame:
        """One row per milestone in checklist order.

        Returns
        -------
        pandas.DataFrame
            Columns ``milestone, phase, steering_group, own, order``.
        """
        return pd.DataFrame(
            {
                "milestone": [m.id for m in self.milestones],
                "phase": [m.phase for m in self.milestones],
                "steering_group": [m.steering_group for m in self.milestones],
                "own": [m.own for m in self.milestones],
                "order": range(len(self.milestones)),
            }
        )


@dataclass(frozen=True)
class MilestoneScore:
    """One milestone as an area scored it in a year (``score`` None: not assessed)."""

    id: str
    score: int | None
    date: dt.date | None = None
    comment: str = ""
    basis: str = ""


@dataclass(frozen=True)
class Checklist:
    """An area's checklist of one year, read by :func:`load_checklist`."""

    area: str
    year: int
    assessed: dt.date
    scores: tuple[MilestoneScore, ...]
    assessed_by: str = ""
    note: str = ""
    source: str = ""


# --------------------------------------------------------------------------------------------
# Values


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise problem("cfg_text_or_null")
    return value.strip()


optional_text = Annotated[str | None, PlainValidator(_optional_text)]
"""A non-empty text, or null (also the default when the key is left out)."""


def _unique(entries: list[Any]) -> list[Any]:
    ids = [entry.id for entry in entries]
    twice = [i for i in ids if ids.count(i) > 1]
    if twice:
        raise problem("cfg_id_twice", id=twice[0])
    return entries


# --------------------------------------------------------------------------------------------
# The default checklist and the municipality's own milestones


class ScaleStep(FileModel):
    """One step of the 0-4 scale and its label."""

    score: whole(minimum=0, maximum=9)
    label: Texts


class MilestoneEntry(FileModel):
    """A milestone of the default checklist."""

    id: id_text(MILESTONE_ID, key="cfg_milestone_id")
    label: Texts
    text: Texts
    steering_group: bool = False


class PhaseEntry(FileModel):
    """A phase of the default checklist with its milestones."""

    phase: whole(minimum=1, maximum=9)
    title: Texts
    milestones: Annotated[list[MilestoneEntry], BeforeValidator(nonempty_list)]


def _scale_from_zero(steps: list[ScaleStep]) -> list[ScaleStep]:
    if [s.score for s in steps] != list(range(len(steps))):
        raise problem("cfg_checklist_scale")
    return steps


class ChecklistSchemaFile(FileModel):
    """``data_schema/checklist.yaml``: the phases, the scale and the format of the area files."""

    table: str
    version: id_text(r"[\w.\-]+", key="cfg_checklist_version")
    met_from: whole(minimum=1)
    scale: Annotated[
        list[ScaleStep], BeforeValidator(nonempty_list), AfterValidator(_scale_from_zero)
    ]
    phases: Annotated[list[PhaseEntry], BeforeValidator(nonempty_list)]
    checklist_fields: list[dict[str, Any]]
    score_fields: list[dict[str, Any]]


@dataclass(frozen=True)
class _OwnContext:
    default_ids: frozenset[str]
    phases: tuple[int, ...]


def _new_id(value: str, info: ValidationInfo) -> str:
    if value in info.context.default_ids:
        raise problem("cfg_milestone_in_default")
    return value


def _known_phase(value: int, info: ValidationInfo) -> int:
    if value not in info.context.phases:
        raise problem("cfg_choice", allowed=info.context.phases)
    return value


class OwnMilestone(FileModel):
    """A milestone the municipality adds: like a default one, with the phase it belongs to."""

    id: Annotated[id_text(MILESTONE_ID, key="cfg_milestone_id"), AfterValidator(_new_id)]
    phase: Annotated[whole(minimum=1), AfterValidator(_known_phase)]
    label: Texts
    text: Texts
    steering_group: bool = False


class OwnMilestonesFile(FileModel):
    """``<process dir>/milestones.yaml``: the municipality's own milestones."""

    milestones: Annotated[
        list[OwnMilestone], BeforeValidator(nonempty_list), AfterValidator(_unique)
    ]


def load_checklist_definition(
    process_dir: str | Path | None = None, *, schema_path: str | Path | None = None
) -> ChecklistDefinition:
    """The milestones areas are scored on: the default checklist plus the municipality's own.

    Parameters
    ----------
    process_dir : str or Path, optional
        The process folder; its ``milestones.yaml``, when there is one, adds the municipality's
        own milestones (placed after the default milestones of their phase).
    schema_path : str or Path, optional
        Another default checklist (default ``data_schema/checklist.yaml``).

    Raises
    ------
    ConfigFileError
        Either file is not valid: every problem with the file name, the key path and the value
        (e.g. an own milestone whose id is already a default one, or an unknown phase).
    """
    path = Path(schema_path) if schema_path is not None else CHECKLIST_SCHEMA
    raw, _ = read_yaml_file(path, what="checklist")
    model, problems = check(ChecklistSchemaFile, raw)
    if model is not None:
        ids = [m.id for p in model.phases for m in p.milestones]
        problems += [
            Problem("phases", "cfg_id_twice", {"id": i}) for i in dict.fromkeys(ids) if
            ids.count(i) > 1
        ]  # fmt: skip
        if model.met_from > len(model.scale) - 1:
            problems.append(
                Problem("met_from", "cfg_whole_range", {"min": 1, "max": len(model.scale) - 1},
                        model.met_from)
            )  # fmt: skip
    raise_problems(path.name, problems)
    milestones = [
        Milestone(m.id, p.phase, m.label.as_dict(), m.text.as_dict(), m.steering_group)
        for p in model.phases
        for m in p.milestones
    ]
    own = _own_milestones(process_dir, model)
    order = {p.phase: i for i, p in enumerate(model.phases)}
    every = sorted([*milestones, *own], key=lambda m: order[m.phase])  # stable: own after
    return ChecklistDefinition(
        version=model.version,
        met_from=model.met_from,
        scale={s.score: s.label.as_dict() for s in model.scale},
        phases=tuple(Phase(p.phase, p.title.as_dict()) for p in model.phases),
        milestones=tuple(every),
    )


def _own_milestones(process_dir: str | Path | None, model: ChecklistSchemaFile) -> list[Milestone]:
    if process_dir is None or not str(process_dir):
        return []
    path = resolve_path(process_dir) / OWN_MILESTONES_FILE
    if not path.is_file():
        return []
    raw, _ = read_yaml_file(path, what="checklist")
    context = _OwnContext(
        default_ids=frozenset(m.id for p in model.phases for m in p.milestones),
        phases=tuple(p.phase for p in model.phases),
    )
    own, problems = check(OwnMilestonesFile, raw, context=context)
    raise_problems(path.name, problems)
    return [
        Milestone(m.id, m.phase, m.label.as_dict(), m.text.as_dict(), m.steering_group, own=True)
        for m in own.milestones
    ]


# --------------------------------------------------------------------------------------------
# An area's checklist of one year


@dataclass(frozen=True)
class _Context:
    definition: ChecklistDefinition
    area: str | None
    year: int | None


def _area(value: str, info: ValidationInfo) -> str:
    wanted = info.context.area
    if wanted is not None and value != wanted:
        raise problem("cfg_checklist_area", area=wanted)
    return value


def _year(value: Any, info: ValidationInfo) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 2100:
        raise problem("cfg_goal_year", min=2000, max=2100)
    wanted = info.context.year
    if wanted is not None and value != wanted:
        raise problem("cfg_checklist_year", year=wanted)
    return value


def _milestone(value: Any, info: ValidationInfo) -> str:
    known = info.context.definition.milestone_ids
    if not isinstance(value, str) or value not in known:
        close = difflib.get_close_matches(str(value), known, n=1)
        if close:
            raise problem("cfg_milestone_close", close=close[0], known=known)
        raise problem("cfg_milestone_unknown", known=known)
    return value


def _score(value: Any, info: ValidationInfo) -> int | None:
    top = info.context.definition.max_score
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise problem("cfg_checklist_score", max=top)
    return value


class ScoreEntry(FileModel):
    """One milestone of an area's checklist (keys: ``score_fields`` of the schema)."""

    id: Annotated[str, PlainValidator(_milestone)]
    score: Annotated[int | None, PlainValidator(_score)]
    date: Date | None = None
    comment: optional_text = None
    basis: optional_text = None


class ChecklistFile(FileModel):
    """An area's checklist of one year (keys: ``checklist_fields`` of the schema)."""

    area: Annotated[id_text(r"[a-z0-9][a-z0-9_-]*", key="cfg_area_id"), AfterValidator(_area)]
    year: Annotated[int, PlainValidator(_year)]
    assessed: Date
    assessed_by: optional_text = None
    note: optional_text = None
    milestones: Annotated[list[ScoreEntry], BeforeValidator(nonempty_list)]


def _file_problems(model: ChecklistFile, raw: dict) -> list[Problem]:
    """Repeated milestones, dates after the assessment and an assessment long after the year."""
    problems = []
    ids = [entry.id for entry in model.milestones]
    for twice in dict.fromkeys(i for i in ids if ids.count(i) > 1):
        problems.append(Problem("milestones", "cfg_id_twice", {"id": twice}))
    if not model.year <= model.assessed.year <= model.year + 1:
        problems.append(
            Problem(
                "assessed",
                "cfg_checklist_assessed",
                {"year": model.year},
                model.assessed.isoformat(),
            )  # fmt: skip
        )
    for number, entry in enumerate(model.milestones):
        if entry.date is not None and entry.date > model.assessed:
            path = key_path(("milestones", number, "date"), raw)
            values = {"assessed": model.assessed.isoformat()}
            problems.append(
                Problem(path, "cfg_checklist_date_after", values, entry.date.isoformat())
            )
    return problems


def checklist_path(process_dir: str | Path, area: str, year: int) -> Path:
    """Where an area's checklist of a year lives: ``<process_dir>/<area>/checklist_<year>.yaml``.

    A relative folder that does not exist from the current folder is taken from the repository
    root (so ``"data/sample/process"`` works from ``notebooks/``).
    """
    return resolve_path(process_dir) / area / f"checklist_{int(year)}.yaml"


def checklist_years(process_dir: str | Path, area: str) -> tuple[int, ...]:
    """The years an area has a checklist file for, oldest first (other files are ignored).

    >>> checklist_years("data/sample/process", "solvik")
    (2021, 2022, 2023, 2024, 2025)
    """
    folder = resolve_path(process_dir) / area
    if not folder.is_dir():
        return ()
    found = (_FILE_NAME.fullmatch(p.name) for p in folder.iterdir() if p.is_file())
    return tuple(sorted(int(m.group(1)) for m in found if m))


def load_checklist(
    path: str | Path,
    *,
    definition: ChecklistDefinition,
    area: str | None = None,
    year: int | None = None,
) -> Checklist:
    """Read and validate one checklist file.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    definition : ChecklistDefinition
        The milestones it may score (:func:`load_checklist_definition`).
    area, year : optional
        When given, the file's ``area`` and ``year`` must be these (the folder and file name).

    Raises
    ------
    ConfigFileError
        Listing every problem with the file, the key path (``milestones[<id>].score``) and the
        value: unknown or missing keys, an unknown milestone (with the closest id), a score
        outside 0-4, a milestone listed twice, a date after the assessment, an assessment date
        that is not in the year or the next, a file for another area or year.
    """
    path = Path(path)
    raw, _ = read_yaml_file(path, what="checklist")
    context = _Context(definition=definition, area=area, year=year)
    model, problems = check(ChecklistFile, raw, context=context)
    raise_problems(path.name, problems or _file_problems(model, raw))
    return Checklist(
        area=model.area,
        year=model.year,
        assessed=model.assessed,
        scores=tuple(
            MilestoneScore(e.id, e.score, e.date, e.comment or "", e.basis or "")
            for e in model.milestones
        ),
        assessed_by=model.assessed_by or "",
        note=model.note or "",
        source=str(path),
    )


def load_area_checklists(
    process_dir: str | Path,
    area: str,
    *,
    definition: ChecklistDefinition,
    up_to: int | None = None,
) -> tuple[Checklist, ...]:
    """Every checklist of an area up to the year ``up_to``, oldest first (``()`` without any).

    Raises
    ------
    ConfigFileError
        For the first file (oldest year) that is not valid (see :func:`load_checklist`).
    """
    years = [y for y in checklist_years(process_dir, area) if up_to is None or y <= up_to]
    return tuple(
        load_checklist(
            checklist_path(process_dir, area, y), definition=definition, area=area, year=y
        )
        for y in years
    )


def checklist_frame(
    checklists: tuple[Checklist, ...] | list[Checklist], definition: ChecklistDefinition
) -> pd.DataFrame:
    """The checklists as a tidy frame: one row per checklist and milestone of the definition.

    A milestone a checklist does not list (or lists with ``score: null``) has a missing score.

    Returns
    -------
    pandas.DataFrame
        Columns ``area, year, assessed, milestone, phase, steering_group, own, order, score``
        (float, NaN = not assessed), ``date`` (a date or None), ``comment``, ``basis``; sorted by
        area, year and checklist order.
    """
    milestones = definition.frame()
    rows = []
    for checklist in checklists:
        given = {s.id: s for s in checklist.scores}
        for milestone in definition.milestone_ids:
            entry = given.get(milestone)
            rows.append(
                {
                    "area": checklist.area,
                    "year": checklist.year,
                    "assessed": checklist.assessed,
                    "milestone": milestone,
                    "score": float("nan") if entry is None or entry.score is None else entry.score,
                    "date": None if entry is None else entry.date,
                    "comment": "" if entry is None else entry.comment,
                    "basis": "" if entry is None else entry.basis,
                }
            )
    columns = ["area", "year", "assessed", "milestone", "score", "date", "comment", "basis"]
    frame = pd.DataFrame(rows, columns=columns).astype({"score": float})
    order = ["area", "year", "assessed", "milestone", "phase", "steering_group", "own", "order",
             "score", "date", "comment", "basis"]  # fmt: skip
    return (
        frame.merge(milestones, on="milestone", how="left")
        .sort_values(["area", "year", "order"], kind="stable")
        .reset_index(drop=True)[order]
    )
