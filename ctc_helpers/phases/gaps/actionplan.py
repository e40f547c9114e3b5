"""The action plan (handlingsplan): a draft goal chain (målkedja) for an area.

From the area's prioritised factors, the published aggregates and the programmes it runs,
:func:`draft_goal_chain` drafts the three levels of goals of ``docs/ARCHITECTURE.md`` (format
checked by :func:`ctc_helpers.config.goal_chain.load_goal_chain`, schema ``data_schema/goal_chain.yaml``):

- **long-term goals**: the problem behaviours that the prioritised factors usually lead to (the
  CTC risk-factor chart in ``data_schema/programme_bank.yaml``: ``factor_outcomes`` and
  ``outcome_groups``). The ``max_outcome_groups`` groups served by most prioritised factors are
  taken (ties: the bank's order), each with its behaviours that the survey publishes;
- **medium-term goals**: one per prioritised factor (share at risk down, share with protection
  up), linked to the long-term goals its outcome groups lead to;
- **short-term goals**: reach and fidelity of every programme (not flagged) that targets a
  prioritised factor, linked to those factors' goals. The city's chain has no short-term goals:
  programmes are followed up in the areas' chains.

Baselines are the published values of the wave (all grades, both sexes); a suppressed value
gives ``baseline: null``. Default targets are design choices [D] for the team to revise:
``relative_change`` = 10 % relative improvement of the baseline (a risk share 0.30 -> 0.27,
a protection share 0.50 -> 0.55, at most 1); reach at least ``reach_target`` (60 %) and fidelity
at least ``fidelity_target`` (80 %), or the baseline when it is already higher. Target years
follow ``horizon_years`` ({short: 2, medium: 4, long: 6} years after the wave: survey waves are
two years apart, and ctc-domain.md §4.2 gives 0-2, 2-5 and 5-10 years [B]).

For the city (``area == "all"``) the prioritised factors are those chosen by most areas (at
least two areas when any factor is, at most 5 risk and 3 protective factors).

Examples
--------
>>> goal_id("Steg för steg", prefix="reach")
'reach-steg-for-steg'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ctc_helpers.config.goal_chain import common_cutpoint_version
from ctc_helpers.config.programme_bank import ProgrammeBank, load_programme_bank
from ctc_helpers.i18n import check_language, t
from ctc_helpers.vocab import CITY, TOTAL

__all__ = [
    "DEFAULT_HORIZONS",
    "goal_id",
    "city_priorities",
    "draft_goal_chain",
    "goal_chain_text",
    "write_goal_chain",
    "draft_path",
]

DEFAULT_HORIZONS = {"short": 2, "medium": 4, "long": 6}
CITY_LIMITS = {"risk": 5, "protective": 3}
LEVELS = ("long", "medium", "short")


def goal_id(text: str, *, prefix: str = "") -> str:
    """A goal id from a measure or programme name: ASCII letters, digits and dashes.

    >>> goal_id("alcohol_30d"), goal_id("ÖPP – föräldramöten", prefix="fidelity")
    ('alcohol-30d', 'fidelity-opp-foraldramoten')
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.casefold()).strip("-") or "goal"
    return f"{prefix}-{slug}" if prefix else slug


def city_priorities(priorities: pd.DataFrame) -> pd.DataFrame:
    """The city's factors: those prioritised by most areas.

    Factors chosen by at least two areas when there are any (else by one), at most 5 risk and
    3 protective factors, most areas first (ties: first appearance).

    Returns
    -------
    pandas.DataFrame
        Columns ``area`` (``"all"``), ``factor, kind, source`` (``"areas"``), ``rank``,
        ``n_areas``.
    """
    columns = ["area", "factor", "kind", "source", "rank", "n_areas"]
    if priorities.empty:
        return pd.DataFrame(columns=columns)
    counts = (
        priorities.assign(_first=range(len(priorities)))
        .groupby(["factor", "kind"], as_index=False, sort=False)
        .agg(n_areas=("area", "nunique"), _first=("_first", "min"))
    )
    minimum = 2 if counts["n_areas"].max() >= 2 else 1
    chosen = counts.loc[counts["n_areas"] >= minimum].sort_values(
        ["n_areas", "_first"], ascending=[False, True]
    )
    chosen = chosen.assign(rank=chosen.groupby("kind").cumcount() + 1)
    chosen = chosen.loc[chosen["rank"] <= chosen["kind"].map(CITY_LIMITS)]
    return chosen.assign(area=CITY, source="areas")[columns].reset_index(drop=True)


def _baseline(aggregates: pd.DataFrame, *, area: str, wave: int, measure: str) -> float | None:
    rows = aggregates.loc[
        aggregates["wave"].eq(wave)
        & aggregates["area"].eq(area)
        & aggregates["grade"].eq(TOTAL)
        & aggregates["sex"].eq(TOTAL)
        & aggregates["measure"].eq(measure)
    ]
    if rows.empty or bool(rows["suppressed"].iloc[0]) or pd.isna(rows["pct"].iloc[0]):
        return None
    return round(float(rows["pct"].iloc[0]), 3)


def _target(baseline: float | None, direction: str, relative_change: float) -> float | None:
    if baseline is None:
        return None
    factor = 1 - relative_change if direction == "decrease" else 1 + relative_change
    return round(min(1.0, baseline * factor), 3)


def _floor_target(baseline: float | None, floor: float) -> float:
    return round(max(floor, baseline if baseline is not None else 0.0), 3)


def _goal(
    goal: str,
    level: str,
    indicator: dict,
    direction: str,
    baseline: float | None,
    target: float | None,
    year: int,
    links: list[str],
    label: str,
) -> dict[str, Any]:
    entry = {"id": goal, "level": level, "indicator": indicator}
    if indicator["kind"] in ("behaviour", "factor"):
        entry["group"] = {"grade": TOTAL, "sex": TOTAL}
    return {
        **entry,
        "direction": direction,
        "baseline": baseline,
        "target": target,
        "target_year": int(year),
        "contributes_to": links,
        "label": label,
    }


def _outcome_groups(
    bank: ProgrammeBank, factors: list[str], limit: int, published: set[str]
) -> pd.DataFrame:
    """The outcome groups with a published behaviour served by most of the factors (bank
    order breaks ties); ``behaviours`` keeps only the published ones."""
    links = bank.factor_outcomes.loc[bank.factor_outcomes["factor"].isin(factors)]
    counts = links.groupby("group").size()
    groups = bank.outcome_groups.assign(
        n=bank.outcome_groups["group"].map(counts).fillna(0),
        behaviours=bank.outcome_groups["behaviours"].map(
            lambda bs: tuple(b for b in bs if b in published)
        ),
    )
    groups = groups.loc[(groups["n"] > 0) & groups["behaviours"].map(bool)]
    return groups.sort_values("n", ascending=False, kind="stable").head(limit)


def draft_goal_chain(
    area: str,
    wave: int,
    priorities: pd.DataFrame,
    aggregates: pd.DataFrame,
    inventory: pd.DataFrame | None = None,
    *,
    horizon_years: Mapping[str, int] | None = None,
    bank: ProgrammeBank | None = None,
    cutpoint_version: str | None = None,
    relative_change: float = 0.10,
    reach_target: float = 0.60,
    fidelity_target: float = 0.80,
    max_outcome_groups: int = 3,
    labels: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """Draft the goal chain of an area (see the module documentation for the rules).

    Parameters
    ----------
    area : str
        Area id, or ``"all"`` for the city.
    wave : int
        The baseline wave.
    priorities : pandas.DataFrame
        :func:`ctc_helpers.phases.gaps.inputs.prioritised_factors` (for the city: of every area).
    aggregates : pandas.DataFrame
        The published aggregate table (baselines).
    inventory : pandas.DataFrame, optional
        :func:`ctc_helpers.phases.gaps.inputs.current_programmes` (needs ``reach`` and
        ``fidelity_score``); None = no short-term goals.
    horizon_years : mapping, optional
        Years after ``wave`` per level (default ``DEFAULT_HORIZONS``).
    bank : ProgrammeBank, optional
        For the factor -> outcome links (default the built-in bank).
    cutpoint_version : str, optional
        The cut-point version the baselines were computed with; default the common start of
        the factors' versions in ``aggregates`` (e.g. ``"ctc-default-2026.1/ref-2021"``, see
        :func:`ctc_helpers.config.goal_chain.common_cutpoint_version`). The follow-up compares it.
    relative_change, reach_target, fidelity_target : float
        Default targets (proportions).
    max_outcome_groups : int
        How many outcome groups become long-term goals.
    labels : mapping, optional
        Measure id -> label, for the goals' ``label``.
    lang : {"sv", "en"}, optional

    Returns
    -------
    dict
        ``area, baseline_wave, cutpoint_version, title, goals`` (a list of goal dicts with
        ``id, level, indicator, group`` (survey goals), ``direction, baseline, target,
        target_year, contributes_to, label``), long-term goals first.

    Raises
    ------
    ValueError
        If a horizon is missing or not a positive whole number, or a target parameter is
        outside 0..1.
    """
    lang = check_language(lang)
    horizons = _horizons(horizon_years)
    _check_proportions(
        relative_change=relative_change, reach_target=reach_target, fidelity_target=fidelity_target
    )
    bank = bank or load_programme_bank()
    labels = labels or {}
    chosen = (
        city_priorities(priorities) if area == CITY else priorities.loc[priorities["area"].eq(area)]
    )
    factors = list(chosen["factor"])
    long_goals = _long_goals(
        bank, factors, area, wave, aggregates, horizons, relative_change, max_outcome_groups, labels
    )
    medium = _medium_goals(
        chosen, bank, long_goals, area, wave, aggregates, horizons, relative_change, labels
    )
    short = (
        []
        if area == CITY or inventory is None
        else _short_goals(
            inventory, area, factors, wave, horizons, reach_target, fidelity_target, lang
        )
    )
    return {
        "area": area,
        "baseline_wave": int(wave),
        "cutpoint_version": _cutpoint_version(cutpoint_version, aggregates, wave),
        "title": t("plan_title", lang, area=area, wave=wave),
        "goals": [*long_goals, *medium, *short],
    }


def _cutpoint_version(given: str | None, aggregates: pd.DataFrame, wave: int) -> str:
    if given is None:
        return common_cutpoint_version(aggregates, wave=wave)
    if not isinstance(given, str):
        raise ValueError(
            f"cutpoint_version must be a text such as 'ctc-default-2026.1/ref-2021'; got {given!r}."
        )
    return given


def _horizons(horizon_years: Mapping[str, int] | None) -> dict[str, int]:
    horizons = dict(horizon_years) if horizon_years is not None else dict(DEFAULT_HORIZONS)
    for level in ("short", "medium", "long"):
        value = horizons.get(level)
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(
                f"horizon_years[{level!r}] must be a whole number of years of at least 1; got"
                f" {value!r} (default {DEFAULT_HORIZONS})."
            )
    return horizons


def _check_proportions(**values: float) -> None:
    for name, value in values.items():
        if not 0 < value <= 1:
            raise ValueError(f"{name} must be a proportion between 0 and 1; got {value!r}.")


def _long_goals(bank, factors, area, wave, aggregates, horizons, change, limit, labels) -> list:
    goals = []
    published = set(aggregates["measure"])
    for group in _outcome_groups(bank, factors, limit, published).to_dict("records"):
        for measure in group["behaviours"]:
            baseline = _baseline(aggregates, area=area, wave=wave, measure=measure)
            goals.append(
                _goal(
                    goal_id(measure),
                    "long",
                    {"kind": "behaviour", "measure": measure},
                    "decrease",
                    baseline,
                    _target(baseline, "decrease", change),
                    wave + horizons["long"],
                    [],
                    labels.get(measure, measure),
                )
            )
    return goals


def _medium_goals(chosen, bank, long_goals, area, wave, aggregates, horizons, change, labels):
    behaviour_goal = {g["indicator"]["measure"]: g["id"] for g in long_goals}
    group_behaviours = dict(
        zip(bank.outcome_groups["group"], bank.outcome_groups["behaviours"], strict=True)
    )
    goals = []
    for row in chosen.to_dict("records"):
        factor = row["factor"]
        direction = "decrease" if row["kind"] == "risk" else "increase"
        groups = bank.factor_outcomes.loc[bank.factor_outcomes["factor"].eq(factor), "group"]
        links = [
            behaviour_goal[b] for g in groups for b in group_behaviours[g] if b in behaviour_goal
        ]
        baseline = _baseline(aggregates, area=area, wave=wave, measure=factor)
        goals.append(
            _goal(
                goal_id(factor),
                "medium",
                {"kind": "factor", "measure": factor},
                direction,
                baseline,
                _target(baseline, direction, change),
                wave + horizons["medium"],
                list(dict.fromkeys(links)),
                labels.get(factor, factor),
            )
        )
    return goals


def _short_goals(inventory, area, factors, wave, horizons, reach_target, fidelity_target, lang):
    rows = inventory.loc[inventory["area"].eq(area) & ~inventory["flagged"].astype(bool)]
    goals = []
    for row in rows.to_dict("records"):
        served = [goal_id(f) for f in row["targeted_factors"] if f in factors]
        if not served:
            continue
        reach = None if pd.isna(row.get("reach", np.nan)) else round(float(row["reach"]), 3)
        fidelity = (
            None if pd.isna(row["fidelity_score"]) else round(float(row["fidelity_score"]), 3)
        )
        indicator = {"programme": row["programme"]}
        goals += [
            _goal(
                goal_id(row["programme"], prefix="reach"),
                "short",
                {"kind": "reach", **indicator},
                "increase",
                reach,
                _floor_target(reach, reach_target),
                wave + horizons["short"],
                served,
                t("plan_label_reach", lang, programme=row["programme"]),
            ),
            _goal(
                goal_id(row["programme"], prefix="fidelity"),
                "short",
                {"kind": "fidelity", **indicator},
                "increase",
                fidelity,
                _floor_target(fidelity, fidelity_target),
                wave + horizons["short"],
                served,
                t("plan_label_fidelity", lang, programme=row["programme"]),
            ),
        ]
    return goals


# --------------------------------------------------------------------------------------------
# Writing the draft


def _scalar(value: Any) -> str:
    """One YAML scalar (quoted when needed), on one line."""
    return (
        yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
        .strip()
        .removesuffix("\n...")
        .strip()
    )


def _flow(mapping: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"


def goal_chain_text(draft: Mapping[str, Any], *, lang: str | None = None) -> str:
    """The draft as commented YAML (the text :func:`write_goal_chain` writes).

    The comments say how the draft was made and what to edit; ``yaml.safe_load`` of the text
    gives back the draft's keys and values.
    """
    lang = check_language(lang)
    lines = [
        f"# {line}".rstrip()
        for line in t(
            "plan_file_header", lang, area=draft["area"], wave=draft["baseline_wave"]
        ).splitlines()
    ]
    lines += [
        f"area: {_scalar(draft['area'])}",
        f"baseline_wave: {int(draft['baseline_wave'])}",
        f"cutpoint_version: {_scalar(draft.get('cutpoint_version') or '')}",
        f"title: {_scalar(draft['title'])}",
        "goals:",
    ]
    level = None
    for goal in draft["goals"]:
        if goal["level"] != level:
            level = goal["level"]
            lines += ["", f"  # --- {t(f'plan_level_{level}_comment', lang)}"]
        lines += _goal_lines(goal, lang)
    return "\n".join(lines) + "\n"


def _goal_lines(goal: Mapping[str, Any], lang: str) -> list[str]:
    lines = [f"  - id: {_scalar(goal['id'])}"]
    for key in (
        "level",
        "indicator",
        "group",
        "direction",
        "baseline",
        "target",
        "target_year",
        "contributes_to",
        "label",
    ):
        if key not in goal:
            continue
        value = goal[key]
        text = (
            _flow(value)
            if isinstance(value, Mapping)
            else (
                "[" + ", ".join(_scalar(v) for v in value) + "]"
                if isinstance(value, list)
                else _scalar(value)
            )
        )
        comment = ""
        if key == "baseline" and value is None:
            comment = f"  # {t('plan_no_baseline', lang)}"
        if key == "target" and value is None:
            comment = f"  # {t('plan_no_target', lang)}"
        lines.append(f"    {key}: {text}{comment}")
    return lines


def write_goal_chain(
    draft: Mapping[str, Any], path: str | Path, *, lang: str | None = None
) -> Path | None:
    """Write the draft as a commented YAML file the team edits; ``""`` writes nothing.

    A goal whose baseline is unknown gets ``target: null`` and a comment asking the team to set
    one (the follow-up refuses a file with an empty target until then).

    Returns
    -------
    Path or None
        The file written (folders are created).
    """
    if not str(path):
        return None
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(goal_chain_text(draft, lang=lang), encoding="utf-8")
    return target


def draft_path(output_dir: str | Path, area: str) -> str:
    """Where a report writes its draft: ``<output_dir>/goal_chain_draft.yaml`` ("" = nowhere).

    >>> draft_path("", "solvik"), draft_path("reports/2025/solvik", "solvik")
    ('', 'reports/2025/solvik/goal_chain_draft.yaml')
    """
    return "" if not str(output_dir) else str(Path(output_dir) / "goal_chain_draft.yaml")
