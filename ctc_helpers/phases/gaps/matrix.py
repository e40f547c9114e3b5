"""The gap matrix of an area: its prioritised factors against the programmes that target them,
how each factor is covered, and the city view (every area's priorities next to its coverage).

Part of the resource and gap analysis (:mod:`ctc_helpers.phases.gaps`): made from
:func:`ctc_helpers.phases.gaps.inputs.current_programmes` and
:func:`ctc_helpers.phases.gaps.inputs.prioritised_factors`; the gaps found in it are in
:mod:`ctc_helpers.phases.gaps.gaps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.inventory import factor_kinds
from ctc_helpers.vocab import CITY, FACTOR_KINDS, TOTAL

__all__ = [
    "MATRIX_COLUMNS",
    "gap_matrix",
    "coverage_summary",
    "city_view",
    "report_areas",
]


MATRIX_COLUMNS = (
    "area",
    "factor",
    "kind",
    "prioritised",
    "priority_source",
    "priority_rank",
    "programme",
    "provider",
    "bank_id",
    "prevention_level",
    "setting",
    "age_min",
    "age_max",
    "evidence_rating",
    "evidence_rank",
    "tested",
    "flagged",
    "effect",
    "participants_reached",
    "eligible",
    "reach",
    "dose",
    "fidelity_score",
    "funding_end",
)


def gap_matrix(
    programmes: pd.DataFrame,
    priorities: pd.DataFrame,
    *,
    area: str = CITY,
    instrument: Any = None,
) -> pd.DataFrame:
    """Factors x programmes of an area: which programme targets which factor, and how well.

    Parameters
    ----------
    programmes : pandas.DataFrame
        From :func:`ctc_helpers.phases.gaps.inputs.current_programmes` (needs ``reach``,
        ``eligible`` and ``dose``).
    priorities : pandas.DataFrame
        From :func:`ctc_helpers.phases.gaps.inputs.prioritised_factors`.
    area : str
        Area id, or ``"all"`` for every area.
    instrument : Instrument or pandas.DataFrame, optional
        Gives the kind of the factors that are not prioritised.

    Returns
    -------
    pandas.DataFrame
        One row per area x factor x programme (a prioritised factor without any programme has
        one row with ``programme`` NaN). Columns ``area, factor, kind, prioritised`` (bool),
        ``priority_source, priority_rank, programme, provider, bank_id, prevention_level,
        setting, age_min, age_max, evidence_rating, evidence_rank, tested, flagged, effect,
        participants_reached, eligible, reach`` (0..1), ``dose, fidelity_score, funding_end``.
        Prioritised factors first (risk, then protective, in the team's order).
    """
    kinds = factor_kinds(instrument)
    exploded = programmes.explode("targeted_factors").rename(columns={"targeted_factors": "factor"})
    chosen = (
        priorities.loc[:, ["area", "factor", "source", "rank"]]
        .rename(columns={"source": "priority_source", "rank": "priority_rank"})
        .assign(prioritised=True)
    )
    matrix = exploded.merge(chosen, on=["area", "factor"], how="outer")
    if area != CITY:
        matrix = matrix.loc[matrix["area"].eq(area)]
    matrix = matrix.assign(
        prioritised=matrix["prioritised"].eq(True),
        kind=matrix["factor"].map(kinds).fillna(""),
        flagged=matrix["flagged"].eq(True),
        _kind=matrix["factor"].map(kinds).map({k: i for i, k in enumerate(FACTOR_KINDS)}).fillna(2),
        _rank=-pd.to_numeric(matrix["evidence_rank"], errors="coerce").fillna(-9),
    )
    ordered = matrix.sort_values(
        [
            "area",
            "prioritised",
            "_kind",
            "priority_rank",
            "factor",
            "flagged",
            "_rank",
            "programme",
        ],
        ascending=[True, False, True, True, True, True, True, True],
        kind="stable",
    )
    return ordered.loc[:, list(MATRIX_COLUMNS)].reset_index(drop=True)


def coverage_summary(matrix: pd.DataFrame) -> pd.DataFrame:
    """One row per area x factor of a gap matrix: how the factor is covered.

    Returns
    -------
    pandas.DataFrame
        Columns ``area, factor, kind, prioritised, priority_source, n_programmes`` (programmes
        not flagged), ``n_tested``, ``n_flagged``, ``best_rating`` (highest-ranked rating of
        those programmes, "" when none), ``max_reach``, ``min_fidelity`` and ``coverage``:
        ``tested`` (at least one tested programme), ``untested`` (programmes, none tested) or
        ``none``.
    """
    rows = matrix.assign(
        _real=matrix["programme"].notna() & ~matrix["flagged"],
        _tested=matrix["programme"].notna() & ~matrix["flagged"] & matrix["tested"].eq(True),
        _flag=matrix["programme"].notna() & matrix["flagged"],
    )
    real = rows.loc[rows["_real"]]
    best = real.sort_values("evidence_rank", ascending=False).drop_duplicates(["area", "factor"])
    summary = rows.groupby(["area", "factor"], sort=False).agg(
        kind=("kind", "first"),
        prioritised=("prioritised", "any"),
        priority_source=("priority_source", "first"),
        n_programmes=("_real", "sum"),
        n_tested=("_tested", "sum"),
        n_flagged=("_flag", "sum"),
    )
    measures = real.groupby(["area", "factor"]).agg(
        max_reach=("reach", "max"), min_fidelity=("fidelity_score", "min")
    )
    summary = (
        summary.join(measures)
        .join(best.set_index(["area", "factor"])["evidence_rating"].rename("best_rating"))
        .reset_index()
    )
    coverage = np.select(
        [summary["n_tested"] > 0, summary["n_programmes"] > 0], ["tested", "untested"], "none"
    )
    return summary.assign(
        best_rating=summary["best_rating"].fillna(""),
        coverage=coverage,
        priority_source=summary["priority_source"].fillna(""),
    )


def city_view(
    programmes: pd.DataFrame,
    priorities: pd.DataFrame,
    *,
    areas: Sequence[str] | None = None,
    aggregates: pd.DataFrame | None = None,
    wave: int | None = None,
    instrument: Any = None,
) -> pd.DataFrame:
    """Areas x factors: each area's priority next to its programme coverage.

    Shows whether programmes follow local risk (a universal programme where the factor is
    prioritised) or are spread evenly. Factors shown: those prioritised in at least one area or
    targeted by at least one programme.

    Parameters
    ----------
    programmes, priorities : pandas.DataFrame
        From :func:`ctc_helpers.phases.gaps.inputs.current_programmes` and
        :func:`ctc_helpers.phases.gaps.inputs.prioritised_factors` (``area="all"``).
    areas : sequence of str, optional
        Areas in display order (default those in the two frames, sorted).
    aggregates : pandas.DataFrame, optional
        The published aggregate table; with ``wave`` it adds ``pct`` (the area's share at risk
        or with protection; NaN when suppressed).
    instrument : Instrument or pandas.DataFrame, optional
        For the kind of each factor.

    Returns
    -------
    pandas.DataFrame
        One row per area x factor: the columns of :func:`coverage_summary` (a pair without any
        programme or priority has zero counts and ``coverage == "none"``) plus ``pct``.
    """
    summary = coverage_summary(gap_matrix(programmes, priorities, instrument=instrument))
    kinds = factor_kinds(instrument)
    areas = list(areas) if areas is not None else sorted(set(summary["area"]))
    summary = summary.loc[summary["area"].isin(areas)]
    factors = sorted(set(summary["factor"]), key=lambda f: (kinds.get(f) != "risk", f))
    grid = pd.MultiIndex.from_product([areas, factors], names=["area", "factor"]).to_frame(
        index=False
    )
    view = grid.merge(summary, on=["area", "factor"], how="left")
    view = view.assign(
        kind=view["factor"].map(kinds).fillna(""),
        prioritised=view["prioritised"].eq(True),
        priority_source=view["priority_source"].fillna(""),
        n_programmes=view["n_programmes"].fillna(0).astype(int),
        n_tested=view["n_tested"].fillna(0).astype(int),
        n_flagged=view["n_flagged"].fillna(0).astype(int),
        best_rating=view["best_rating"].fillna(""),
        coverage=view["coverage"].fillna("none"),
    )
    return view.assign(pct=_area_pct(view, aggregates, wave))


def _area_pct(view: pd.DataFrame, aggregates: pd.DataFrame | None, wave: int | None) -> pd.Series:
    if aggregates is None or wave is None:
        return pd.Series(np.nan, index=view.index)
    rows = aggregates.loc[
        aggregates["wave"].eq(wave) & aggregates["grade"].eq(TOTAL) & aggregates["sex"].eq(TOTAL)
    ]
    pct = rows["pct"].where(~rows["suppressed"].astype(bool))
    lookup = dict(zip(zip(rows["area"], rows["measure"], strict=True), pct, strict=True))
    return pd.Series(
        [lookup.get(k, np.nan) for k in zip(view["area"], view["factor"], strict=True)],
        index=view.index,
        dtype=float,
    )


def report_areas(areas: pd.DataFrame, area: str) -> list[str]:
    """The areas a report covers: every area id of the list for ``"all"``, else ``[area]``.

    >>> report_areas(pd.DataFrame({"area_id": ["a", "b"]}), "all"), report_areas(None, "b")
    (['a', 'b'], ['b'])
    """
    return list(areas["area_id"]) if area == CITY else [area]
