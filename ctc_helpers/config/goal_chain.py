"""The goal chain (målkedja) as data: the schema ``data_schema/goal_chain.yaml`` (levels,
indicator kinds, directions and statuses are read from it, not repeated in code), the
:class:`Goal` and :class:`GoalChain` classes, and reading and validating an area's goal file
(:func:`load_goal_chain`, :func:`load_area_goal_chain`). The file format is in
``docs/ARCHITECTURE.md``. The public API is re-exported by :mod:`ctc_helpers.views.goal_chain`.

A goal chain links short-term goals (a programme's reach and fidelity, from the programme
inventory) to medium-term goals (risk and protective factors) and long-term goals (problem
behaviours), both from the published aggregate table.

A file is checked in two steps, and every problem of both is reported at once: the pydantic
model :class:`GoalChainFile` checks each key and value (the measure ids against the instrument,
the grade and sex codes against the respondent schema, target years against the baseline wave);
then the links between goals are checked (unique ids, ``contributes_to`` to an existing goal of
the same or a longer horizon, no circle) and that factor goals name their cut-point version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainValidator,
    ValidationInfo,
    model_validator,
)

from ctc_helpers.config.fields import FileModel, TextOrTexts, id_text, nonempty_list
from ctc_helpers.config.fields import Text as NonEmptyText
from ctc_helpers.config.files import read_yaml_file
from ctc_helpers.config.instrument import Instrument, RespondentSchema, load_respondent_schema
from ctc_helpers.config.messages import Problem, Text, check, key_path, problem, raise_problems
from ctc_helpers.paths import SCHEMA_DIR, resolve_path
from ctc_helpers.vocab import FACTOR_KINDS, TOTAL

__all__ = [
    "GOAL_SCHEMA_FILE",
    "GOAL_REASONS",
    "TOTAL",
    "goal_schema",
    "schema_codes",
    "indicator_kind_spec",
    "Goal",
    "GoalChain",
    "GoalChainFile",
    "load_goal_chain",
    "goal_chain_path",
    "load_area_goal_chain",
    "goals_frame",
    "common_cutpoint_version",
]


GOAL_SCHEMA_FILE = SCHEMA_DIR / "goal_chain.yaml"
GOAL_REASONS = (
    "target_reached", "target_reached_within_noise", "programme_target_reached",
    "target_met_at_baseline", "no_longer_met", "on_pace", "on_pace_within_noise",
    "programme_on_pace", "behind_pace", "no_progress", "wrong_direction",
    "target_year_passed", "no_wave_after_baseline", "not_measured", "suppressed", "no_baseline",
    "cutpoint_mismatch", "cutpoint_changed", "no_inventory", "programme_not_in_inventory",
    "inventory_value_missing",
)  # fmt: skip
"""Codes of the ``reason`` column of :func:`evaluate_goals` (texts ``goal_reason_<code>``)."""
_ID = r"[A-Za-z0-9][A-Za-z0-9_-]*"


@cache
def goal_schema() -> dict[str, Any]:
    """The parsed ``data_schema/goal_chain.yaml`` (levels, kinds, directions, statuses)."""
    raw, _ = read_yaml_file(GOAL_SCHEMA_FILE, what="schema")
    return raw


def schema_codes(section: str) -> tuple[str, ...]:
    """The codes of a section of the schema (``levels``, ``indicator_kinds``, ``statuses`` ...).

    >>> schema_codes("levels")
    ('short', 'medium', 'long')
    """
    entries = goal_schema()[section]
    return tuple(e["code"] if isinstance(e, dict) else e for e in entries)


def indicator_kind_spec(kind: str) -> dict[str, Any]:
    """The schema entry of an indicator kind (``source``, ``keys``, ``better`` ...).

    >>> indicator_kind_spec("reach")["source"]
    'inventory'
    """
    return next(k for k in goal_schema()["indicator_kinds"] if k["code"] == kind)


# --------------------------------------------------------------------------------------------
# The chain as data


@dataclass(frozen=True)
class Goal:
    """One goal of a chain (see ``data_schema/goal_chain.yaml``)."""

    id: str
    level: str
    kind: str
    direction: str
    baseline: float | None
    target: float
    target_year: int
    measure: str | None = None
    programme: str | None = None
    grade: str = TOTAL
    sex: str = TOTAL
    contributes_to: tuple[str, ...] = ()
    label: str | dict[str, str] | None = None
    note: str | dict[str, str] | None = None


@dataclass(frozen=True)
class GoalChain:
    """A validated goal chain; build it with :func:`load_goal_chain`."""

    area: str
    baseline_wave: int
    goals: tuple[Goal, ...]
    cutpoint_version: str | None = None
    title: str | dict[str, str] | None = None
    note: str | dict[str, str] | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def goal(self, goal_id: str) -> Goal:
        """The goal with this id (KeyError naming the known ids otherwise)."""
        for goal in self.goals:
            if goal.id == goal_id:
                return goal
        known = ", ".join(g.id for g in self.goals)
        raise KeyError(f"The goal chain has no goal {goal_id!r}; its goals: {known}.")


# --------------------------------------------------------------------------------------------
# The file as a model (the validation context carries what the checks compare against)


@dataclass
class _Context:
    kinds: dict[str, str]  # measure id -> measure kind (instrument or measures table)
    schema: RespondentSchema
    area: str | None = None  # the area the file is read for, when given
    baseline_wave: int | None = None  # noted when baseline_wave has been checked


def _year(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 2100:
        raise problem("cfg_goal_year", min=2000, max=2100)
    return value


def _proportion(value: Any, *, nullable: bool) -> float | None:
    if value is None and nullable:
        return None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not 0 <= value <= 1:
        null = Text("cfg_proportion_or_null") if nullable else ""
        hint = Text("cfg_proportion_hint") if number else ""
        raise problem("cfg_proportion", null=null, hint=hint)
    return float(value)


def _baseline(value: Any) -> float | None:
    return _proportion(value, nullable=True)


def _target(value: Any) -> float:
    return _proportion(value, nullable=False)


def _area(value: str, info: ValidationInfo) -> str:
    wanted = info.context.area
    if wanted is not None and value != wanted:
        raise problem("cfg_goal_area", area=wanted)
    return value


def _baseline_wave(value: int, info: ValidationInfo) -> int:
    info.context.baseline_wave = value
    return value


def _target_year(value: int, info: ValidationInfo) -> int:
    baseline = info.context.baseline_wave
    if baseline is not None and value <= baseline:
        raise problem("cfg_goal_target_year", baseline=baseline)
    return value


def _links(value: Any) -> Any:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise problem("cfg_goal_links")
    return value


def _grade(value: Any, info: ValidationInfo) -> str:
    allowed = (TOTAL, *info.context.schema.grade_codes)
    if value not in allowed:
        raise problem("cfg_choice", allowed=allowed)
    return value


def _sex(value: Any, info: ValidationInfo) -> str:
    allowed = (TOTAL, *info.context.schema.published_sex_codes)
    if value not in allowed:
        raise problem("cfg_choice", allowed=allowed)
    return value


def _schema_choice(section: str) -> Any:
    def check(value: Any) -> str:
        allowed = schema_codes(section) if section != "directions" else goal_schema()[section]
        if value not in allowed:
            raise problem("cfg_choice", allowed=tuple(allowed))
        return value

    return Annotated[str, PlainValidator(check)]


class Group(FileModel):
    """``group:`` the grade and sex of a survey goal (default: everyone)."""

    grade: Annotated[str, PlainValidator(_grade)] = TOTAL
    sex: Annotated[str, PlainValidator(_sex)] = TOTAL


class Indicator(FileModel):
    """``indicator:`` what a goal measures: a kind and that kind's keys."""

    kind: _schema_choice("indicator_kinds")
    measure: str | None = None
    programme: str | None = None

    @model_validator(mode="after")
    def _keys_of_the_kind(self, info: ValidationInfo) -> Indicator:
        spec = indicator_kind_spec(self.kind)
        for key in ("measure", "programme"):
            given = getattr(self, key) is not None
            if given != (key in spec["keys"]):
                text = "cfg_indicator_key_missing" if not given else "cfg_indicator_key_extra"
                raise problem(text, key=key, kind=self.kind, keys=spec["keys"])
        if "measure" in spec["keys"]:
            kinds = info.context.kinds
            allowed = sorted(m for m, k in kinds.items() if k in spec["measure_kinds"])
            if self.measure not in allowed:
                what = kinds.get(self.measure)
                text = "cfg_indicator_measure_other" if what else "cfg_indicator_measure"
                raise problem(
                    text, measure=self.measure, kind=self.kind, other=what, allowed=allowed
                )
        elif not self.programme.strip():
            raise problem("cfg_indicator_programme", programme=self.programme)
        return self


class GoalEntry(FileModel):
    """One entry of ``goals:``; the keys are those of ``goal_fields`` in the schema."""

    id: id_text(_ID, key="cfg_goal_id")
    level: _schema_choice("levels")
    indicator: Indicator
    group: Group | None = None
    direction: _schema_choice("directions") | None = None
    baseline: Annotated[float | None, PlainValidator(_baseline)]
    target: Annotated[float, PlainValidator(_target)]
    target_year: Annotated[int, PlainValidator(_year), AfterValidator(_target_year)]
    contributes_to: Annotated[list[str], BeforeValidator(_links)] = []
    label: TextOrTexts = None
    note: TextOrTexts = None

    @model_validator(mode="after")
    def _direction_and_group(self, info: ValidationInfo) -> GoalEntry:
        kind = self.indicator.kind
        measure_kind = info.context.kinds.get(self.indicator.measure or "", "")
        better = indicator_kind_spec(kind)["better"]
        better = better[measure_kind] if isinstance(better, dict) else better
        if self.direction is not None and self.direction != better:
            what = self.indicator.measure or kind
            raise problem(
                "cfg_goal_direction",
                direction=self.direction,
                what=what,
                kind=measure_kind or kind,
                better=better,
                better_word=Text(f"cfg_direction_{better}"),
            )
        survey = indicator_kind_spec(kind)["source"] == "survey"
        if (
            not survey
            and self.group is not None
            and (self.group.grade, self.group.sex)
            != (
                TOTAL,
                TOTAL,
            )
        ):
            group = self.group.model_dump(exclude_defaults=True)
            raise problem("cfg_goal_group", group=group, kind=kind)
        return self


class GoalChainFile(FileModel):
    """An area's goal file; the keys are those of ``fields`` in the schema (a test checks)."""

    area: Annotated[NonEmptyText, AfterValidator(_area)]
    baseline_wave: Annotated[int, PlainValidator(_year), AfterValidator(_baseline_wave)]
    cutpoint_version: str | None = None
    title: TextOrTexts = None
    note: TextOrTexts = None
    goals: Annotated[list[GoalEntry], BeforeValidator(nonempty_list)]


# --------------------------------------------------------------------------------------------
# Links between goals, and loading


def _chain_problems(model: GoalChainFile, raw: dict) -> list[Problem]:
    """Ids, links and the cut-point version: what one goal cannot check by itself."""
    goals = model.goals
    ids = [g.id for g in goals]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        return [Problem("goals", "cfg_id_twice", {"id": twice[0]})]
    levels = schema_codes("levels")
    by_id = {g.id: g for g in goals}
    problems = []
    for number, goal in enumerate(goals):
        for place, link in enumerate(goal.contributes_to):
            path = key_path(("goals", number, "contributes_to", place), raw)
            if link not in by_id:
                problems.append(Problem(path, "cfg_goal_link_missing", {"known": ids}, link))
            elif link == goal.id:
                problems.append(Problem(path, "cfg_goal_link_self", {}, link))
            elif levels.index(by_id[link].level) < levels.index(goal.level):
                values = {"level": goal.level, "other": by_id[link].level, "link": link,
                          "levels": levels[levels.index(goal.level) :]}  # fmt: skip
                problems.append(Problem(path, "cfg_goal_link_shorter", values, link))
    cycle = [] if problems else _find_cycle({g.id: g.contributes_to for g in goals})
    if cycle:
        problems.append(Problem("goals", "cfg_goal_cycle", {"cycle": " -> ".join(cycle)}))
    version = model.cutpoint_version
    factor_goals = [g.id for g in goals if g.indicator.kind == "factor"]
    if factor_goals and (version is None or not version.strip()):
        problems.append(
            Problem("cutpoint_version", "cfg_goal_cutpoint", {"goal": factor_goals[0]}, version)
        )
    return problems


def _find_cycle(edges: dict[str, tuple[str, ...] | list[str]]) -> list[str]:
    """A list of ids forming a cycle (first id repeated at the end), or [] (depth-first)."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = 2
        return []

    for start in edges:
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return []


def _catalogue(instrument: Instrument | pd.DataFrame) -> dict[str, str]:
    """measure id -> measure_kind from an Instrument or a measures table."""
    if isinstance(instrument, Instrument):
        instrument = instrument.measures()
    return dict(zip(instrument["measure"], instrument["measure_kind"], strict=True))


def _goal(entry: GoalEntry, kinds: dict[str, str]) -> Goal:
    indicator = entry.indicator
    kind_of_measure = kinds.get(indicator.measure or "", "")
    better = indicator_kind_spec(indicator.kind)["better"]
    group = entry.group or Group()
    return Goal(
        id=entry.id,
        level=entry.level,
        kind=indicator.kind,
        direction=entry.direction
        or (better[kind_of_measure] if isinstance(better, dict) else better),
        baseline=entry.baseline,
        target=entry.target,
        target_year=entry.target_year,
        measure=indicator.measure,
        programme=indicator.programme.strip() if indicator.programme else None,
        grade=group.grade,
        sex=group.sex,
        contributes_to=tuple(entry.contributes_to),
        label=entry.label,
        note=entry.note,
    )


def load_goal_chain(
    path: str | Path,
    *,
    instrument: Instrument | pd.DataFrame,
    respondent_schema: RespondentSchema | None = None,
    area: str | None = None,
) -> GoalChain:
    """Read and validate a goal-chain file (``data_schema/goal_chain.yaml``).

    Parameters
    ----------
    path : str or Path
        The YAML file.
    instrument : Instrument or pandas.DataFrame
        Gives the measure ids and kinds: the instrument, or a measures table with the columns
        ``measure`` and ``measure_kind`` (the published ``measures.csv``).
    respondent_schema : RespondentSchema, optional
        Gives the grade and sex codes of ``group`` (default: ``data_schema/respondents.yaml``).
    area : str, optional
        When given, the file's ``area`` must be this area id.

    Returns
    -------
    GoalChain

    Raises
    ------
    ConfigFileError
        Listing every problem with the file, the goal id, the key, the value and the allowed
        options: unreadable file, unknown or missing key, unknown level, indicator kind, measure,
        grade or sex, a direction that would make things worse, a value outside 0..1, a target
        year not after the baseline wave, duplicate ids, a ``contributes_to`` id that does not
        exist, points to a shorter-term goal or closes a circle, or a factor goal without
        ``cutpoint_version``.
    """
    path = Path(path)
    raw, _ = read_yaml_file(path, what="goal_chain")
    context = _Context(
        kinds=_catalogue(instrument),
        schema=respondent_schema or load_respondent_schema(),
        area=area,
    )
    model, problems = check(GoalChainFile, raw, context=context)
    raise_problems(path.name, problems or _chain_problems(model, raw))
    version = model.cutpoint_version
    return GoalChain(
        area=model.area,
        baseline_wave=model.baseline_wave,
        goals=tuple(_goal(entry, context.kinds) for entry in model.goals),
        cutpoint_version=version.strip() if version else None,
        title=model.title,
        note=model.note,
        source=str(path),
    )


def goal_chain_path(goal_chain_dir: str | Path, area: str) -> Path:
    """Where the goal chain of ``area`` lives: ``<goal_chain_dir>/<area>.yaml``.

    A relative folder that does not exist from the current folder is taken from the repository
    root (so ``"data/sample/goal_chains"`` works from ``notebooks/``).
    """
    return resolve_path(goal_chain_dir) / f"{area}.yaml"


def load_area_goal_chain(
    goal_chain_dir: str | Path,
    area: str,
    *,
    instrument: Instrument | pd.DataFrame,
    respondent_schema: RespondentSchema | None = None,
) -> GoalChain | None:
    """The area's goal chain, or ``None`` when the area has no goal file yet.

    ``respondent_schema`` gives the grade and sex codes in force (a survey's own vocabulary:
    ``Published.respondent_schema()``); default ``data_schema/respondents.yaml``.

    Raises
    ------
    ConfigError
        If the file exists but is not valid (see :func:`load_goal_chain`).
    """
    path = goal_chain_path(goal_chain_dir, area)
    if not path.is_file():
        return None
    return load_goal_chain(
        path, instrument=instrument, respondent_schema=respondent_schema, area=area
    )


def goals_frame(chain: GoalChain) -> pd.DataFrame:
    """The goals as a tidy frame: one row per goal, in file order.

    Returns
    -------
    pandas.DataFrame
        Columns ``goal_id``, ``level``, ``indicator_kind``, ``measure``, ``programme``,
        ``grade``, ``sex``, ``direction``, ``baseline`` (NaN when null), ``target``,
        ``target_year``, ``contributes_to`` (tuple of ids), ``label``.
    """
    return pd.DataFrame(
        [
            {
                "goal_id": g.id,
                "level": g.level,
                "indicator_kind": g.kind,
                "measure": g.measure or "",
                "programme": g.programme or "",
                "grade": g.grade,
                "sex": g.sex,
                "direction": g.direction,
                "baseline": np.nan if g.baseline is None else g.baseline,
                "target": g.target,
                "target_year": g.target_year,
                "contributes_to": g.contributes_to,
                "label": g.label,
            }
            for g in chain.goals
        ]
    )


def common_cutpoint_version(aggregates: pd.DataFrame, *, wave: int) -> str:
    """The common start of the factors' cut-point versions in a wave (for a goal file).

    Versions look like ``ctc-default-2026.1/ref-2021/P75-P90/3f2a9c1b``; risk and protective
    factors differ after the reference, so the common start is typically
    ``ctc-default-2026.1/ref-2021``. Returns ``""`` when the wave has no factor.

    >>> table = pd.DataFrame({"wave": 2025, "measure_kind": ["risk", "protective"],
    ...     "cutpoint_version": ["inst-1/ref-2021/P75-P90/aa", "inst-1/ref-2021/P25-P10/bb"]})
    >>> common_cutpoint_version(table, wave=2025)
    'inst-1/ref-2021'
    """
    rows = aggregates.loc[
        aggregates["wave"].eq(wave) & aggregates["measure_kind"].isin(FACTOR_KINDS)
    ]
    parts = [v.split("/") for v in rows["cutpoint_version"].dropna().astype(str).unique() if v]
    if not parts:
        return ""
    common = []
    for pieces in zip(*parts, strict=False):
        if len(set(pieces)) > 1:
            break
        common.append(pieces[0])
    return "/".join(common)
