"""The goal chain (målkedja) as data: the schema ``data_schema/goal_chain.yaml`` (levels,
indicator kinds, directions and statuses are read from it, not repeated in code), the
:class:`Goal` and :class:`GoalChain` classes, and reading and validating an area's goal file
(:func:`load_goal_chain`, :func:`load_area_goal_chain`). The file format is in
``docs/ARCHITECTURE.md``. The public API is re-exported by :mod:`ctc_helpers.views.goal_chain`.

A goal chain links short-term goals (a programme's reach and fidelity, from the programme
inventory) to medium-term goals (risk and protective factors) and long-term goals (problem
behaviours), both from the published aggregate table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ctc_helpers.config.instrument import Instrument, RespondentSchema, load_respondent_schema
from ctc_helpers.config.yaml_load import load_yaml
from ctc_helpers.errors import ConfigError
from ctc_helpers.paths import SCHEMA_DIR, resolve_path
from ctc_helpers.vocab import TOTAL

__all__ = [
    "GOAL_SCHEMA_FILE",
    "GOAL_REASONS",
    "TOTAL",
    "goal_schema",
    "Goal",
    "GoalChain",
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


def goal_chain_path(goal_chain_dir: str | Path, area: str) -> Path:
    """Where the goal chain of ``area`` lives: ``<goal_chain_dir>/<area>.yaml``.

    A relative folder that does not exist from the current folder is taken from the repository
    root (so ``"data/sample/goal_chains"`` works from ``notebooks/``).
    """
    return resolve_path(goal_chain_dir) / f"{area}.yaml"


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
