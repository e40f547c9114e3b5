"""The gaps of an area against its prioritised factors: harmful or ineffective programmes in use,
factors without a programme or with only untested ones, low reach or fidelity, duplication,
funding that ends before the next survey, and effort outside the priorities.

:func:`find_gaps` returns one row per gap as codes and numbers; the gap's name and explanation in
Swedish or English are made by :func:`ctc_helpers.views.gaps.explain_gaps`. Part of the resource
and gap analysis (:mod:`ctc_helpers.phases.gaps`); the matrix the gaps are read from is in
:mod:`ctc_helpers.phases.gaps.matrix`, the programmes suggested for them in
:mod:`ctc_helpers.phases.gaps.suggestions`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.inventory import FLAGGED_KINDS, GAP_TYPES
from ctc_helpers.phases.gaps.inventory import Inventory
from ctc_helpers.phases.gaps.matrix import coverage_summary, gap_matrix
from ctc_helpers.vocab import CITY

__all__ = ["GAP_COLUMNS", "find_gaps", "gap_summary"]

GAP_COLUMNS = (
    "area",
    "gap",
    "factor",
    "programme",
    "value",
    "threshold",
    "factors",
    "level",
    "reached",
    "eligible",
    "funding_end",
    "cutoff",
    "bank_id",
    "evidence_rating",
    "evidence_source",
)


def find_gaps(
    programmes: pd.DataFrame,
    priorities: pd.DataFrame,
    *,
    wave: int,
    area: str = CITY,
    low_reach: float = 0.30,
    low_fidelity: float = 0.80,
    next_survey: dt.date | str | None = None,
) -> pd.DataFrame:
    """The gaps of an area against its prioritised factors, as codes and numbers.

    Gap types (in this order; :func:`ctc_helpers.views.gaps.gap_types` gives their names):

    - ``harmful_or_ineffective``: a flagged programme is in use (any factor);
    - ``no_programme``: a prioritised factor that no programme targets (flagged ones do not
      count);
    - ``only_untested``: a prioritised factor whose programmes are all untested;
    - ``low_reach``: a programme for a prioritised factor reaches less than ``low_reach`` of its
      eligible population (only where the eligible population is known);
    - ``low_fidelity``: its fidelity score is below ``low_fidelity``;
    - ``duplication``: two or more programmes for the same prioritised factor at the same
      prevention level with overlapping target ages;
    - ``funding_ending``: its funding ends before the next survey;
    - ``non_priority_effort``: a programme that targets none of the area's prioritised factors
      (only when the area has priorities).

    Parameters
    ----------
    programmes, priorities : pandas.DataFrame
        From :func:`ctc_helpers.phases.gaps.inputs.current_programmes` and
        :func:`ctc_helpers.phases.gaps.inputs.prioritised_factors`.
    wave : int
        Survey year; the next survey is taken to be in October two years later unless
        ``next_survey`` is given.
    area : str
        Area id or ``"all"``.
    low_reach, low_fidelity : float
        Thresholds, proportions 0..1 ([D] defaults: 30 % reach, 80 % fidelity).
    next_survey : date or "YYYY-MM-DD", optional

    Returns
    -------
    pandas.DataFrame
        One row per gap, by area (priorities' order), gap type, factor and programme. Columns
        ``area, gap, factor`` (the factor, or for programme gaps the prioritised factors the
        programme targets, ";"-separated), ``programme`` ("" for factor gaps; programmes joined
        by " / " for duplication), ``value`` (reach, fidelity, number of programmes; NaN
        otherwise), ``threshold``, ``factors`` (tuple of the factor ids the explanation names),
        ``level`` (prevention level of a duplication), ``reached, eligible`` (of a low reach),
        ``funding_end, cutoff`` (dates of a funding gap), ``bank_id, evidence_rating,
        evidence_source`` (of a flagged programme); empty (``""``, NaN or None) where they do
        not apply.

    Raises
    ------
    ValueError
        If ``next_survey`` is not a date (the message gives the default as an example).
    """
    cutoff = _cutoff(next_survey, wave)
    chosen = priorities if area == CITY else priorities.loc[priorities["area"].eq(area)]
    used = programmes if area == CITY else programmes.loc[programmes["area"].eq(area)]
    summary = coverage_summary(gap_matrix(used, chosen, area=area))
    targets = _programme_targets(used, chosen)
    found = [
        *_flagged_gaps(targets),
        *_factor_gaps(summary),
        *_reach_gaps(targets, low_reach),
        *_fidelity_gaps(targets, low_fidelity),
        *_duplication_gaps(targets),
        *_funding_gaps(targets, cutoff),
        *_non_priority_gaps(targets),
    ]
    order = list(dict.fromkeys([*chosen["area"], *used["area"]]))
    return _ordered(pd.DataFrame(found, columns=list(GAP_COLUMNS)), order)


def _cutoff(next_survey: dt.date | str | None, wave: int) -> dt.date:
    if next_survey is None or (isinstance(next_survey, str) and not next_survey.strip()):
        return dt.date(int(wave) + 2, 10, 1)
    if isinstance(next_survey, dt.date):
        return next_survey
    try:
        return dt.date.fromisoformat(str(next_survey).strip())
    except ValueError:
        raise ValueError(
            f"next_survey must be a date YYYY-MM-DD (e.g. {int(wave) + 2}-10-01); got {next_survey!r}."
        ) from None


def _programme_targets(used: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Programmes with ``priority_factors`` (tuple of the area's prioritised factors targeted)."""
    sets = chosen.groupby("area")["factor"].agg(lambda s: tuple(s)).to_dict()
    priority = [
        tuple(f for f in sets.get(a, ()) if f in fs)
        for a, fs in zip(used["area"], used["targeted_factors"], strict=True)
    ]
    return used.assign(priority_factors=priority, has_priorities=used["area"].isin(sets))


def _gap(
    area: str,
    gap: str,
    factor: str,
    programme: str = "",
    value: float = np.nan,
    threshold: float = np.nan,
    *,
    factors: tuple[str, ...],
    **details: Any,
) -> dict[str, Any]:
    empty = {"level": "", "reached": np.nan, "eligible": np.nan, "funding_end": None,
             "cutoff": None, "bank_id": "", "evidence_rating": "", "evidence_source": ""}  # fmt: skip
    return {
        "area": area,
        "gap": gap,
        "factor": factor,
        "programme": programme,
        "value": value,
        "threshold": threshold,
        "factors": tuple(factors),
        **empty,
        **details,
    }


def _flagged_gaps(targets: pd.DataFrame) -> list[dict]:
    return [
        _gap(
            r["area"],
            "harmful_or_ineffective",
            ";".join(r["targeted_factors"]),
            r["programme"],
            factors=r["targeted_factors"],
            bank_id=r["bank_id"],
            evidence_rating=r["evidence_rating"],
            evidence_source=r["evidence_source"],
        )
        for r in targets.loc[targets["flagged"]].to_dict("records")
    ]


def _factor_gaps(summary: pd.DataFrame) -> list[dict]:
    prioritised = summary.loc[summary["prioritised"]]
    none = prioritised.loc[prioritised["coverage"].eq("none")]
    untested = prioritised.loc[prioritised["coverage"].eq("untested")]
    return [
        *(
            _gap(
                r["area"],
                "no_programme",
                r["factor"],
                factors=(r["factor"],),
            )
            for r in none.to_dict("records")
        ),
        *(
            _gap(
                r["area"],
                "only_untested",
                r["factor"],
                value=float(r["n_programmes"]),
                factors=(r["factor"],),
            )
            for r in untested.to_dict("records")
        ),
    ]


def _serving(targets: pd.DataFrame) -> pd.DataFrame:
    return targets.loc[~targets["flagged"] & targets["priority_factors"].map(bool)]


def _reach_gaps(targets: pd.DataFrame, threshold: float) -> list[dict]:
    rows = _serving(targets)
    rows = rows.loc[rows["reach"].notna() & (rows["reach"] < threshold)]
    return [
        _gap(
            r["area"],
            "low_reach",
            ";".join(r["priority_factors"]),
            r["programme"],
            r["reach"],
            threshold,
            factors=r["priority_factors"],
            reached=r["participants_reached"],
            eligible=r["eligible"],
        )
        for r in rows.to_dict("records")
    ]


def _fidelity_gaps(targets: pd.DataFrame, threshold: float) -> list[dict]:
    rows = _serving(targets)
    rows = rows.loc[rows["fidelity_score"].notna() & (rows["fidelity_score"] < threshold)]
    return [
        _gap(
            r["area"],
            "low_fidelity",
            ";".join(r["priority_factors"]),
            r["programme"],
            r["fidelity_score"],
            threshold,
            factors=r["priority_factors"],
        )
        for r in rows.to_dict("records")
    ]


def _duplication_gaps(targets: pd.DataFrame) -> list[dict]:
    rows = _serving(targets).explode("priority_factors")
    gaps = []
    for (area, factor, level), group in rows.groupby(
        ["area", "priority_factors", "prevention_level"]
    ):
        for cluster in _overlapping(group):
            names = " / ".join(cluster["programme"])
            gaps.append(
                _gap(
                    area,
                    "duplication",
                    factor,
                    names,
                    float(len(cluster)),
                    factors=(factor,),
                    level=level,
                )
            )
    return gaps


def _overlapping(group: pd.DataFrame) -> list[pd.DataFrame]:
    """Clusters of two or more programmes whose age ranges overlap (chained)."""
    ordered = group.sort_values(["age_min", "age_max", "programme"])
    clusters, current, reach_to = [], [], -1
    for record in ordered.to_dict("records"):
        if current and record["age_min"] > reach_to:
            clusters.append(current)
            current = []
        current.append(record)
        reach_to = max(reach_to, record["age_max"]) if len(current) > 1 else record["age_max"]
    clusters.append(current)
    return [pd.DataFrame(c) for c in clusters if len(c) > 1]


def _funding_gaps(targets: pd.DataFrame, cutoff: dt.date) -> list[dict]:
    rows = _serving(targets)
    ending = rows.loc[
        rows["funding_end"].map(lambda d: d is not None and pd.notna(d) and d < cutoff)
    ]
    return [
        _gap(
            r["area"],
            "funding_ending",
            ";".join(r["priority_factors"]),
            r["programme"],
            factors=r["priority_factors"],
            funding_end=r["funding_end"],
            cutoff=cutoff,
        )
        for r in ending.to_dict("records")
    ]


def _non_priority_gaps(targets: pd.DataFrame) -> list[dict]:
    rows = targets.loc[
        ~targets["flagged"] & targets["has_priorities"] & ~targets["priority_factors"].map(bool)
    ]
    return [
        _gap(
            r["area"],
            "non_priority_effort",
            ";".join(r["targeted_factors"]),
            r["programme"],
            factors=r["targeted_factors"],
        )
        for r in rows.to_dict("records")
    ]


def _ordered(frame: pd.DataFrame, areas: list[str]) -> pd.DataFrame:
    ordered = frame.assign(
        _area=frame["area"].map({a: i for i, a in enumerate(areas)}),
        _gap=frame["gap"].map({g: i for i, g in enumerate(GAP_TYPES)}),
    ).sort_values(["_area", "_gap", "factor", "programme"], kind="stable")
    return ordered.drop(columns=["_area", "_gap"]).reset_index(drop=True)


def gap_summary(
    gaps: pd.DataFrame, priorities: pd.DataFrame, inventory: Inventory
) -> dict[str, Any]:
    """The small results record of notebook 03 (counts by gap type, priorities, warnings).

    ``coordinator_notes`` holds every inventory problem and warning as the coordinator needs it
    (file, row, column and value); ``ctc run`` prints them in its summary, since the report
    itself says the same in a reader's words (:mod:`ctc_helpers.views.gaps`).
    """
    return {
        "priorities": priorities.loc[:, ["area", "factor", "kind", "source"]].to_dict("records"),
        "gaps": {g: int(gaps["gap"].eq(g).sum()) for g in GAP_TYPES},
        "gap_rows": gaps.loc[:, ["area", "gap", "factor", "programme"]].to_dict("records"),
        "inventory": {
            "file": inventory.path.name,
            "read": inventory.n_read,
            "kept": inventory.n_kept,
            "rejected": inventory.n_rejected,
        },
        "flagged_in_use": inventory.warnings.loc[
            inventory.warnings["kind"].isin(FLAGGED_KINDS), "programme"
        ].tolist(),
        "coordinator_notes": [
            *inventory.problems["message"].tolist(),
            *inventory.warnings["message"].tolist(),
        ],
    }
