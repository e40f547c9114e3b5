"""The goal chain (målkedja): read an area's goal file, evaluate every goal, draw the chain.

A goal chain links short-term goals (a programme's reach and fidelity, from the programme
inventory) to medium-term goals (risk and protective factors) and long-term goals (problem
behaviours), both from the published aggregate table. The file format is in
``docs/ARCHITECTURE.md``; its schema is ``data_schema/goal_chain.yaml`` (read here: levels,
indicator kinds, directions and statuses are not repeated in code).

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
(:func:`programme_figures`, via :func:`ctc_helpers.resources.current_programmes`). Fidelity is
the ``fidelity_score`` (0..1; mean over the rows, weighted by participants reached). Inventory
figures are counts, not samples: no test is made for them.

The goal file's ``cutpoint_version`` matches the data's version of a factor when it is equal to it
or is its start up to a ``/`` (e.g. ``ctc-default-2026.1/ref-2021`` names the cut points derived
from the 2021 reference; :func:`common_cutpoint_version` gives it for a wave).
"""

from __future__ import annotations

import re
import textwrap
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ._yaml import load_yaml
from .compare import compare_waves
from .display import display_table, format_pct, grade_labels, measure_labels, sex_labels
from .errors import ConfigError
from .i18n import check_language, t, text_of
from .instrument import Instrument, RespondentSchema, load_respondent_schema
from .paths import REPO_ROOT, SCHEMA_DIR
from .stats import holm_adjust, label_change

__all__ = [
    "GOAL_SCHEMA_FILE",
    "GOAL_REASONS",
    "Goal",
    "GoalChain",
    "goal_schema",
    "load_goal_chain",
    "goal_chain_path",
    "load_area_goal_chain",
    "goals_frame",
    "evaluate_goals",
    "common_cutpoint_version",
    "status_label",
    "reason_text",
    "goal_display",
    "goal_chain_notice",
    "goal_summary",
    "plot_goal_chain",
    "chain_figsize",
    "programme_figures",
    "load_programme_figures",
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
TOTAL = "all"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@cache
def goal_schema() -> dict[str, Any]:
    """The parsed ``data_schema/goal_chain.yaml`` (levels, kinds, directions, statuses)."""
    with GOAL_SCHEMA_FILE.open(encoding="utf-8") as handle:
        return load_yaml(handle)


def _codes(section: str) -> tuple[str, ...]:
    entries = goal_schema()[section]
    return tuple(e["code"] if isinstance(e, dict) else e for e in entries)


def _kind_spec(kind: str) -> dict[str, Any]:
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
# Loading and validation


def _fail(where: str, key: str, value: Any, problem: str) -> ConfigError:
    return ConfigError(f"{where}: {key} is {value!r}; {problem}")


def _allowed(options) -> str:
    return "allowed: " + ", ".join(map(str, options)) + "."


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the goal chain {path}: {exc.strerror}.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name} is not a valid YAML file: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path.name}: a goal chain is a mapping with the keys area, baseline_wave,"
            " cutpoint_version and goals (see data_schema/goal_chain.yaml)."
        )
    return raw


def _check_keys(raw: Mapping, fields: list[dict], where: str) -> None:
    names = [f["name"] for f in fields]
    unknown = [k for k in raw if k not in names]
    if unknown:
        raise _fail(where, "the key", unknown[0], f"unknown key; {_allowed(names)}")
    missing = [f["name"] for f in fields if f.get("required") and f["name"] not in raw]
    if missing:
        raise ConfigError(
            f"{where}: the key {missing[0]!r} is missing (required keys:"
            f" {', '.join(f['name'] for f in fields if f.get('required'))})."
        )


def _integer(value: Any, key: str, where: str, *, low: int = 2000, high: int = 2100) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(where, key, value, f"expected a year between {low} and {high}.")
    return int(value)


def _proportion(value: Any, key: str, where: str, *, nullable: bool = False) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        hint = " (write a proportion: 0.21 for 21 %)" if isinstance(value, int | float) else ""
        null = " or null when not yet measured" if nullable else ""
        raise _fail(where, key, value, f"expected a number between 0 and 1{null}{hint}.")
    return float(value)


def _choice(value: Any, key: str, where: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise _fail(where, key, value, _allowed(options))
    return str(value)


def _text(value: Any, key: str, where: str) -> str | dict[str, str] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and all(isinstance(value.get(lang), str) for lang in ("sv", "en")):
        return {"sv": value["sv"], "en": value["en"]}
    raise _fail(where, key, value, "expected a text or {sv: ..., en: ...}.")


def _catalogue(instrument: Instrument | pd.DataFrame) -> dict[str, str]:
    """measure id -> measure_kind from an Instrument or a measures table."""
    if isinstance(instrument, Instrument):
        instrument = instrument.measures()
    return dict(zip(instrument["measure"], instrument["measure_kind"], strict=True))


def _indicator(raw: Any, where: str, kinds: dict[str, str]) -> dict[str, Any]:
    options = _codes("indicator_kinds")
    if not isinstance(raw, dict) or "kind" not in raw:
        raise _fail(where, "indicator", raw, f"expected a mapping with a kind; {_allowed(options)}")
    kind = _choice(raw["kind"], "indicator.kind", where, options)
    spec = _kind_spec(kind)
    _check_keys(raw, [{"name": "kind"}, *({"name": k, "required": True} for k in spec["keys"])],
                f"{where}: indicator")  # fmt: skip
    if "measure" in spec["keys"]:
        allowed = sorted(m for m, k in kinds.items() if k in spec["measure_kinds"])
        measure = raw["measure"]
        if measure not in allowed:
            other = f" (it is a {kinds[measure]} measure)" if measure in kinds else ""
            raise _fail(
                where, "indicator.measure", measure,
                f"not a {kind} of the instrument{other}; {_allowed(allowed)}",
            )  # fmt: skip
        return {"kind": kind, "measure": measure, "measure_kind": kinds[measure]}
    programme = raw["programme"]
    if not isinstance(programme, str) or not programme.strip():
        raise _fail(where, "indicator.programme", programme, "expected the programme's name.")
    return {"kind": kind, "programme": programme.strip(), "measure_kind": ""}


def _better(indicator: dict[str, Any]) -> str:
    better = _kind_spec(indicator["kind"])["better"]
    return better[indicator["measure_kind"]] if isinstance(better, dict) else better


def _group(raw: Any, where: str, schema: RespondentSchema, kind: str) -> tuple[str, str]:
    if raw is None:
        return TOTAL, TOTAL
    if not isinstance(raw, dict):
        raise _fail(where, "group", raw, "expected a mapping {grade: ..., sex: ...}.")
    _check_keys(raw, [{"name": "grade"}, {"name": "sex"}], f"{where}: group")
    grade = _choice(raw.get("grade", TOTAL), "group.grade", where, (TOTAL, *schema.grade_codes))
    sex = _choice(raw.get("sex", TOTAL), "group.sex", where, (TOTAL, *schema.published_sex_codes))
    if _kind_spec(kind)["source"] != "survey" and (grade, sex) != (TOTAL, TOTAL):
        raise _fail(where, "group", raw, f"a {kind} goal has no group; remove the key.")
    return grade, sex


def _goal_id(raw: Any, head: str) -> str:
    if not isinstance(raw, dict):
        raise ConfigError(f"{head}: expected a mapping with the keys id, level, indicator, ...")
    goal_id = raw.get("id")
    if not isinstance(goal_id, str) or not _ID_PATTERN.match(goal_id):
        raise _fail(head, "id", goal_id, "expected letters, digits, '-' or '_' (e.g. alcohol-30d).")
    return goal_id


def _direction(raw: dict, indicator: dict[str, Any], where: str) -> str:
    """The goal's direction: the one that is better for the indicator (default and check)."""
    better = _better(indicator)
    allowed = tuple(goal_schema()["directions"])
    direction = _choice(raw.get("direction", better), "direction", where, allowed)
    if direction != better:
        what = indicator.get("measure") or indicator["kind"]
        raise _fail(
            where, "direction", direction,
            f"for {what} ({indicator['measure_kind'] or indicator['kind']}) the goal can only be"
            f" to {better} it; write direction: {better} or leave the key out.",
        )  # fmt: skip
    return direction


def _target_year(raw: dict, where: str, baseline_wave: int) -> int:
    year = _integer(raw["target_year"], "target_year", where)
    if year <= baseline_wave:
        raise _fail(
            where, "target_year", year, f"it must come after the baseline wave {baseline_wave}."
        )
    return year


def _links(raw: dict, where: str) -> tuple[str, ...]:
    links = raw.get("contributes_to") or []
    if not isinstance(links, list) or not all(isinstance(x, str) for x in links):
        raise _fail(
            where, "contributes_to", links, "expected a list of goal ids, e.g. [alcohol-30d]."
        )
    return tuple(links)


def _parse_goal(raw: Any, number: int, context: dict[str, Any]) -> Goal:
    """One goal entry; ``context`` holds the file name, measure kinds, schema and baseline wave."""
    goal_id = _goal_id(raw, f"{context['file']}: goal number {number}")
    where = f"{context['file']}: goal {goal_id!r}"
    _check_keys(raw, goal_schema()["goal_fields"], where)
    indicator = _indicator(raw["indicator"], where, context["kinds"])
    grade, sex = _group(raw.get("group"), where, context["schema"], indicator["kind"])
    return Goal(
        id=goal_id,
        level=_choice(raw["level"], "level", where, _codes("levels")),
        kind=indicator["kind"],
        direction=_direction(raw, indicator, where),
        baseline=_proportion(raw["baseline"], "baseline", where, nullable=True),
        target=_proportion(raw["target"], "target", where),
        target_year=_target_year(raw, where, context["baseline_wave"]),
        measure=indicator.get("measure"),
        programme=indicator.get("programme"),
        grade=grade,
        sex=sex,
        contributes_to=_links(raw, where),
        label=_text(raw.get("label"), "label", where),
        note=_text(raw.get("note"), "note", where),
    )


def _check_links(goals: tuple[Goal, ...], file: str) -> None:
    ids = [g.id for g in goals]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ConfigError(
            f"{file}: the goal id {twice[0]!r} is used more than once; ids must be unique."
        )
    levels = _codes("levels")
    by_id = {g.id: g for g in goals}
    for goal in goals:
        for link in goal.contributes_to:
            where = f"{file}: goal {goal.id!r}"
            if link not in by_id:
                raise _fail(
                    where, "contributes_to", link, f"no such goal in the file; {_allowed(ids)}"
                )
            if link == goal.id:
                raise _fail(where, "contributes_to", link, "a goal cannot contribute to itself.")
            if levels.index(by_id[link].level) < levels.index(goal.level):
                raise _fail(
                    where, "contributes_to", link,
                    f"a {goal.level} goal can only contribute to a goal of the same or a longer"
                    f" horizon ({', '.join(levels[levels.index(goal.level):])}), not to the"
                    f" {by_id[link].level} goal {link!r}.",
                )  # fmt: skip
    cycle = _find_cycle({g.id: g.contributes_to for g in goals})
    if cycle:
        raise ConfigError(
            f"{file}: the goals' contributes_to links form a circle ({' -> '.join(cycle)}); a goal"
            " chain must run one way, from short-term to long-term goals."
        )


def _find_cycle(edges: dict[str, tuple[str, ...]]) -> list[str]:
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
    ConfigError
        With a message naming the file, the goal id, the key, the value and the allowed options:
        unreadable file, unknown or missing key, unknown level, indicator kind, measure, grade or
        sex, a direction that would make things worse, a value outside 0..1, a target year not
        after the baseline wave, duplicate ids, a ``contributes_to`` id that does not exist, points
        to a shorter-term goal or closes a circle, or a factor goal without ``cutpoint_version``.
    """
    path = Path(path)
    raw = _read(path)
    _check_keys(raw, goal_schema()["fields"], path.name)
    if area is not None and raw["area"] != area:
        raise _fail(path.name, "area", raw["area"], f"this file is read for the area {area!r}.")
    goals_raw = raw["goals"]
    if not isinstance(goals_raw, list) or not goals_raw:
        raise _fail(path.name, "goals", goals_raw, "expected a list with at least one goal.")
    context = {
        "file": path.name,
        "kinds": _catalogue(instrument),
        "schema": respondent_schema or load_respondent_schema(),
        "baseline_wave": _integer(raw["baseline_wave"], "baseline_wave", path.name),
    }
    goals = tuple(_parse_goal(entry, i, context) for i, entry in enumerate(goals_raw, 1))
    _check_links(goals, path.name)
    version = raw.get("cutpoint_version")
    factor_goals = [g.id for g in goals if g.kind == "factor"]
    if factor_goals and (not isinstance(version, str) or not version.strip()):
        raise _fail(
            path.name, "cutpoint_version", version,
            f"the factor goal {factor_goals[0]!r} needs the cut-point version its baseline was"
            " computed with (the cutpoint_version column of the published aggregates, or its"
            " common start such as 'ctc-default-2026.1/ref-2021').",
        )  # fmt: skip
    return GoalChain(
        area=str(raw["area"]),
        baseline_wave=context["baseline_wave"],
        goals=goals,
        cutpoint_version=version.strip() if isinstance(version, str) else None,
        title=_text(raw.get("title"), "title", path.name),
        note=_text(raw.get("note"), "note", path.name),
        source=str(path),
    )


def _resolve(path: str | Path) -> Path:
    """A relative path that does not exist from here is taken from the repository root."""
    path = Path(path).expanduser()
    return REPO_ROOT / path if not path.is_absolute() and not path.exists() else path


def goal_chain_path(goal_chain_dir: str | Path, area: str) -> Path:
    """Where the goal chain of ``area`` lives: ``<goal_chain_dir>/<area>.yaml``.

    A relative folder that does not exist from the current folder is taken from the repository
    root (so ``"data/sample/goal_chains"`` works from ``notebooks/``).
    """
    return _resolve(goal_chain_dir) / f"{area}.yaml"


def load_area_goal_chain(
    goal_chain_dir: str | Path, area: str, *, instrument: Instrument | pd.DataFrame
) -> GoalChain | None:
    """The area's goal chain, or ``None`` when the area has no goal file yet.

    Raises
    ------
    ConfigError
        If the file exists but is not valid (see :func:`load_goal_chain`).
    """
    path = goal_chain_path(goal_chain_dir, area)
    if not path.is_file():
        return None
    return load_goal_chain(path, instrument=instrument, area=area)


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
        aggregates["wave"].eq(wave) & aggregates["measure_kind"].isin(["risk", "protective"])
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

    :func:`ctc_helpers.resources.current_programmes` keeps only the latest year of each
    programme; the follow-up also needs the baseline year, so it is applied to each year's rows
    separately (an empty ``year`` counts as ``wave``).

    Parameters
    ----------
    inventory : pandas.DataFrame
        ``Inventory.programmes`` of :func:`ctc_helpers.resources.load_inventory`.
    wave : int
        The wave of the report; later years are left out.
    enrolment : pandas.DataFrame, optional
        :func:`ctc_helpers.resources.load_enrolment`, for universal programmes without an
        eligible population in the file.

    Returns
    -------
    pandas.DataFrame
        The inventory's columns plus ``eligible``, ``eligible_source``, ``reach`` and ``dose``,
        ``year`` filled (empty -> ``wave``).
    """
    from .resources import current_programmes

    year = pd.to_numeric(inventory["year"], errors="coerce").fillna(wave)
    rows = inventory.assign(year=year).loc[year <= wave]
    parts = [
        current_programmes(part, wave=int(y), enrolment=enrolment)
        for y, part in rows.groupby("year", sort=True)
    ]
    return pd.concat(parts, ignore_index=True) if parts else rows


def load_programme_figures(inventory_path: str | Path, *, published, wave: int):
    """Read the programme inventory for the follow-up of reach and fidelity goals.

    Parameters
    ----------
    inventory_path : str or Path
        The inventory file (``data_schema/inventory.yaml``); ``""`` means none (reach and
        fidelity goals are then "not yet measurable"). A relative path that does not exist from
        here is taken from the repository root.
    published : display.Published
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
        If the file cannot be read (see :func:`ctc_helpers.resources.load_inventory`).
    """
    from .resources import (
        FlaggedProgrammeWarning,
        load_enrolment,
        load_inventory,
        load_programme_bank,
    )

    if not str(inventory_path):
        return None
    with warnings.catch_warnings():
        # notebook 03 shows the warnings about flagged programmes; not repeated here
        warnings.simplefilter("ignore", FlaggedProgrammeWarning)
        inventory = load_inventory(
            _resolve(inventory_path),
            bank=load_programme_bank(),
            areas=published.areas,
            instrument=published.measures,
        )
    enrolment = load_enrolment(participation=published.participation)
    return programme_figures(inventory.programmes, wave=wave, enrolment=enrolment)


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
            if _kind_spec(g.kind)["source"] == "survey"
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
    return _with_status(frame)[_EVALUATED_COLUMNS]


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
    inventory = ~frame["indicator_kind"].map(lambda k: _kind_spec(k)["source"] == "survey")
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
# Display edge


def _statuses() -> dict[str, dict[str, str]]:
    return {s["code"]: s for s in goal_schema()["statuses"]}


def status_label(status: str, lang: str | None = None) -> str:
    """The status as symbol and word, readable without colour: ``"✓ uppnått"``.

    >>> status_label("on_track", "en"), status_label("not_yet_measurable", "sv")
    ('→ on track', '? kan inte bedömas än')
    """
    return f"{_statuses()[status]['symbol']} {t(f'goal_status_{status}', lang)}"


def _goal_name(row: pd.Series, labels: dict[str, str], lang: str) -> str:
    if row["label"] is not None and not (isinstance(row["label"], float) and pd.isna(row["label"])):
        return text_of(row["label"], lang)
    if row["programme"]:
        return t(f"goal_indicator_{row['indicator_kind']}", lang, programme=row["programme"])
    return labels.get(row["measure"], row["measure"])


def _group_text(row: pd.Series, lang: str) -> str:
    parts = [grade_labels(lang)[row["grade"]]] if row["grade"] != TOTAL else []
    parts += [sex_labels(lang)[row["sex"]]] if row["sex"] != TOTAL else []
    return f" ({', '.join(parts)})" if parts else ""


def reason_text(row: pd.Series, lang: str | None = None, *, min_n: int = 10) -> str:
    """The reason of an evaluated goal (a row of :func:`evaluate_goals`) in words.

    The note (baseline taken from the data, or differing from it) is appended.
    """
    lang = check_language(lang)
    values = {
        "progress": format_pct(row["progress"], lang),
        "expected": format_pct(row["expected_progress"], lang),
        "target_year": row["target_year"],
        "baseline_wave": row["baseline_wave"],
        "wave": row["wave"],
        "goal_version": row["goal_cutpoint_version"],
        "data_version": row["data_cutpoint_version"],
        "baseline_version": row["baseline_cutpoint_version"],
        "programme": row["programme"],
        "min_n": min_n,
        "baseline_data": format_pct(row["baseline_data"], lang),
    }
    text = t(f"goal_reason_{row['reason']}", lang, **values)
    note = t(f"goal_note_{row['note']}", lang, **values) if row["note"] else ""
    return f"{text} {note}".strip()


def goal_display(
    evaluated: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    min_cell: int = 10,
):
    """Display copy of :func:`evaluate_goals`: one row per goal, short-term goals first.

    Columns (in ``lang``): level, goal, baseline (year), latest value with its 95 % interval,
    target (year), status (symbol and word) and the reason in words.
    """
    lang = check_language(lang)
    labels = {} if measures is None else measure_labels(measures, lang)
    order = {code: i for i, code in enumerate(_codes("levels"))}
    rows = evaluated.assign(_order=evaluated["level"].map(order)).sort_values(
        "_order", kind="stable"
    )
    level_names = {e["code"]: text_of(e["label"], lang) for e in goal_schema()["levels"]}
    word = t("followup_interval_to", lang)
    table = pd.DataFrame(
        {
            t("goal_col_level", lang): rows["level"].map(level_names),
            t("goal_col_goal", lang): [
                _goal_name(r, labels, lang) + _group_text(r, lang) for _, r in rows.iterrows()
            ],
            t("goal_col_baseline", lang): [
                f"{format_pct(b, lang)} ({y})" if pd.notna(b) else "" for b, y in
                zip(rows["baseline_used"], rows["baseline_wave"], strict=True)
            ],
            t("goal_col_latest", lang): [
                _latest_text(r, lang, word) for _, r in rows.iterrows()
            ],
            t("goal_col_target", lang): [
                f"{format_pct(v, lang)} ({y})" for v, y in
                zip(rows["target"], rows["target_year"], strict=True)
            ],
            t("goal_col_status", lang): rows["status"].map(lambda s: status_label(s, lang)),
            t("goal_col_reason", lang): [
                reason_text(r, lang, min_n=min_cell) for _, r in rows.iterrows()
            ],
        }
    )  # fmt: skip
    return display_table(table, lang=lang, min_cell=min_cell, notes=(t("goal_status_note", lang),))


def _latest_text(row: pd.Series, lang: str, word: str) -> str:
    if pd.isna(row["latest"]):
        return t("suppressed_marker", lang) if row["reason"] == "suppressed" else ""
    text = f"{format_pct(row['latest'], lang)} ({int(row['latest_year'])})"
    if pd.notna(row["latest_low"]):
        text += (
            f", {format_pct(row['latest_low'], lang)} {word} {format_pct(row['latest_high'], lang)}"
        )
    return text


def goal_chain_notice(
    chain: GoalChain | None, *, area: str, goal_chain_dir: str | Path, lang: str | None = None
):
    """A paragraph about the area's goal chain, or how to create one when there is none.

    With a chain: the file, the number of goals, the baseline year and the cut-point version.
    Without: where the file belongs and how to make it from notebook 03's draft.
    """
    from IPython.display import Markdown

    path = goal_chain_path(goal_chain_dir, area)
    if chain is None:
        return Markdown(t("goal_chain_missing", lang, path=path, area=area))
    return Markdown(
        t(
            "goal_chain_read",
            lang,
            path=Path(chain.source).name,
            goals=len(chain.goals),
            baseline_wave=chain.baseline_wave,
            version=chain.cutpoint_version or "–",
        )
    )


def goal_summary(evaluated: pd.DataFrame) -> dict[str, Any]:
    """Counts of goals per status and the statuses per goal (for the notebook's results file)."""
    counts = evaluated["status"].value_counts() if len(evaluated) else pd.Series(dtype=int)
    return {
        "goals": int(len(evaluated)),
        "status_counts": {s: int(counts.get(s, 0)) for s in _codes("statuses")},
        "statuses": dict(zip(evaluated["goal_id"], evaluated["status"], strict=True)),
    }


# --------------------------------------------------------------------------------------------
# The chain as a picture


def _box_lines(row: pd.Series, labels: dict[str, str], lang: str) -> str:
    name = textwrap.fill(_goal_name(row, labels, lang) + _group_text(row, lang), width=30)
    start = format_pct(row["baseline_used"], lang) if pd.notna(row["baseline_used"]) else "?"
    now = format_pct(row["latest"], lang) if pd.notna(row["latest"]) else "?"
    goal = t(
        "goal_box_target", lang, target=format_pct(row["target"], lang), year=row["target_year"]
    )
    return f"{name}\n{start} → {now} ({goal})\n{status_label(row['status'], lang)}"


def _positions(evaluated: pd.DataFrame) -> dict[str, tuple[float, float]]:
    levels = _codes("levels")
    places = {}
    for column, level in enumerate(levels):
        ids = evaluated.loc[evaluated["level"].eq(level), "goal_id"].tolist()
        for row, goal_id in enumerate(ids):
            places[goal_id] = (float(column), -float(row))
    return places


def chain_figsize(evaluated: pd.DataFrame, *, width: float = 13.0) -> tuple[float, float]:
    """A figure size that fits the chain: about 1.2 inches per goal in the fullest column.

    >>> chain_figsize(pd.DataFrame({"level": ["short", "long", "long"]}))
    (13.0, 4.4)
    """
    fullest = int(evaluated["level"].value_counts().max()) if len(evaluated) else 1
    return (width, round(2.0 + 1.2 * fullest, 1))


_ARROW = {
    "arrowstyle": "-|>", "color": "#333333", "connectionstyle": "arc3,rad=0.05",
    "shrinkA": 2, "shrinkB": 2,
}  # fmt: skip


def plot_goal_chain(
    evaluated: pd.DataFrame,
    *,
    measures: pd.DataFrame | None = None,
    lang: str | None = None,
    ax=None,
):
    """Draw the evaluated chain from programmes to factors to behaviours.

    Columns short / medium / long, one box per goal, arrows along ``contributes_to``; each box
    is coloured by status *and* labelled with the status symbol and word (✓ achieved, → on
    track, ✗ not on track, ? not yet measurable), so the chart reads without colour.

    Parameters
    ----------
    evaluated : pandas.DataFrame
        Output of :func:`evaluate_goals` (an empty frame draws a notice).
    measures : pandas.DataFrame, optional
        Measure catalogue for the labels.
    lang : str, optional
        ``"sv"`` or ``"en"``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: the current Axes).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    lang = check_language(lang)
    ax = ax if ax is not None else plt.gca()
    ax.set_axis_off()
    if evaluated.empty:
        ax.text(0.5, 0.5, t("goal_chain_none", lang), ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
        return ax
    labels = {} if measures is None else measure_labels(measures, lang)
    boxes = _draw_boxes(ax, evaluated, labels, lang)
    for goal_id, links in zip(evaluated["goal_id"], evaluated["contributes_to"], strict=True):
        for link in links:
            ax.annotate("", xy=(0.0, 0.5), xycoords=boxes[link], xytext=(1.0, 0.5),
                        textcoords=boxes[goal_id], arrowprops=_ARROW)  # fmt: skip
    _draw_frame(ax, lowest=min(box.get_position()[1] for box in boxes.values()), lang=lang)
    return ax


def _draw_boxes(ax, evaluated: pd.DataFrame, labels: dict[str, str], lang: str) -> dict:
    """One text box per goal in its level's column, coloured by status; returns id -> Text."""
    statuses = _statuses()
    rows = evaluated.set_index("goal_id")
    return {
        goal_id: ax.text(
            x,
            y,
            _box_lines(rows.loc[goal_id], labels, lang),
            ha="center",
            va="center",
            fontsize=8,
            zorder=3,
            bbox={
                "boxstyle": "round,pad=0.5",
                "edgecolor": "#333333",
                "alpha": 0.9,
                "facecolor": statuses[rows.loc[goal_id, "status"]]["colour"],
            },
        )  # fmt: skip
        for goal_id, (x, y) in _positions(evaluated).items()
    }


def _draw_frame(ax, *, lowest: float, lang: str) -> None:
    """Column headings, limits and the status legend (symbol and word beside each colour)."""
    from matplotlib.patches import Patch

    levels = goal_schema()["levels"]
    for column, entry in enumerate(levels):
        ax.text(column, 0.75, text_of(entry["label"], lang), ha="center", va="bottom",
                fontweight="bold")  # fmt: skip
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_ylim(lowest - 0.7, 1.1)
    handles = [
        Patch(facecolor=s["colour"], edgecolor="#333333", label=status_label(code, lang))
        for code, s in _statuses().items()
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=len(handles), frameon=False)  # fmt: skip
