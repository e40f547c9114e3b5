"""The gap analysis of one area: the gap matrix (prioritised factors against the programmes
that target them), the gaps found in it (harmful or ineffective programmes, factors without a
programme or with only untested ones, low reach or fidelity, duplication, funding ending,
effort outside the priorities) and the programmes of the bank suggested for each gap.

Part of the resource and gap analysis; the overview is in :mod:`ctc_helpers.phases.gaps.inputs`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.inventory import (
    CITY,
    FLAGGED_EFFECTS,
    FLAGGED_RATINGS,
    GAP_TYPES,
    _factor_kinds,
    load_inventory_schema,
    survey_ages,
)
from ctc_helpers.config.programme_bank import ProgrammeBank
from ctc_helpers.i18n import check_language, t

__all__ = [
    "MATRIX_COLUMNS",
    "gap_matrix",
    "coverage_summary",
    "find_gaps",
    "gap_types",
    "gap_types_table",
    "suggest_programmes",
    "SUGGESTION_COLUMNS",
    "suggest_for_gaps",
]


# --------------------------------------------------------------------------------------------
# The gap matrix, the gaps, the suggestions


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
        From :func:`current_programmes` (needs ``reach``, ``eligible`` and ``dose``).
    priorities : pandas.DataFrame
        From :func:`prioritised_factors`.
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
    kinds = _factor_kinds(instrument)
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
        _kind=matrix["factor"].map(kinds).map({"risk": 0, "protective": 1}).fillna(2),
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


def find_gaps(
    programmes: pd.DataFrame,
    priorities: pd.DataFrame,
    *,
    bank: ProgrammeBank,
    wave: int,
    area: str = CITY,
    low_reach: float = 0.30,
    low_fidelity: float = 0.80,
    next_survey: dt.date | str | None = None,
    labels: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """The gaps of an area against its prioritised factors, each named and explained.

    Gap types (in this order; :func:`gap_types` gives the texts):

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
        From :func:`current_programmes` and :func:`prioritised_factors`.
    bank : ProgrammeBank
        For the evidence behind a flag.
    wave : int
        Survey year; the next survey is taken to be in October two years later unless
        ``next_survey`` is given.
    area : str
        Area id or ``"all"``.
    low_reach, low_fidelity : float
        Thresholds, proportions 0..1 ([D] defaults: 30 % reach, 80 % fidelity).
    next_survey : date or "YYYY-MM-DD", optional
    labels : mapping, optional
        Factor id -> label for the explanations (default the ids).
    lang : {"sv", "en"}, optional

    Returns
    -------
    pandas.DataFrame
        Columns ``area, gap, factor`` (the factor, or for programme gaps the prioritised
        factors the programme targets, ";"-separated), ``programme`` ("" for factor gaps;
        programmes joined by " / " for duplication), ``value`` (reach, fidelity, number of
        programmes; NaN otherwise), ``threshold``, ``label``, ``explanation``.
    """
    lang = check_language(lang)
    cutoff = _cutoff(next_survey, wave)
    chosen = priorities if area == CITY else priorities.loc[priorities["area"].eq(area)]
    used = programmes if area == CITY else programmes.loc[programmes["area"].eq(area)]
    summary = coverage_summary(gap_matrix(used, chosen, area=area))
    targets = _programme_targets(used, chosen)
    found = [
        *_flagged_gaps(targets, bank, lang),
        *_factor_gaps(summary),
        *_reach_gaps(targets, low_reach),
        *_fidelity_gaps(targets, low_fidelity),
        *_duplication_gaps(targets, chosen),
        *_funding_gaps(targets, cutoff),
        *_non_priority_gaps(targets, chosen),
    ]
    order = list(dict.fromkeys([*chosen["area"], *used["area"]]))
    return _render_gaps(found, labels or {}, lang, order)


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
    **fields: Any,
) -> dict[str, Any]:
    return {
        "area": area,
        "gap": gap,
        "factor": factor,
        "programme": programme,
        "value": value,
        "threshold": threshold,
        "fields": fields,
    }


def _flagged_gaps(targets: pd.DataFrame, bank: ProgrammeBank, lang: str) -> list[dict]:
    gaps = []
    for r in targets.loc[targets["flagged"]].to_dict("records"):
        entry = bank.programme(r["bank_id"]) if r["bank_id"] else None
        evidence = (
            entry[f"effect_evidence_{lang}"]
            if entry
            else bank.rating_label(r["evidence_rating"], lang)
        )
        source = entry["effect_source"] if entry else r["evidence_source"] or "-"
        gaps.append(
            _gap(
                r["area"],
                "harmful_or_ineffective",
                ";".join(r["targeted_factors"]),
                r["programme"],
                factors=r["targeted_factors"],
                evidence=evidence,
                source=source,
                effect=r["effect"],
            )
        )
    return gaps


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
                flagged=int(r["n_flagged"]),
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


def _duplication_gaps(targets: pd.DataFrame, chosen: pd.DataFrame) -> list[dict]:
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
            date=r["funding_end"].isoformat(),
            cutoff=cutoff.isoformat(),
        )
        for r in ending.to_dict("records")
    ]


def _non_priority_gaps(targets: pd.DataFrame, chosen: pd.DataFrame) -> list[dict]:
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


def _render_gaps(
    found: list[dict], labels: Mapping[str, str], lang: str, areas: list[str]
) -> pd.DataFrame:
    from ctc_helpers.views.numbers import format_pct

    columns = ["area", "gap", "factor", "programme", "value", "threshold", "label", "explanation"]
    levels = load_inventory_schema().choice_labels("prevention_levels", lang)
    rows = []
    for gap in found:
        fields = dict(gap["fields"])
        factors = ", ".join(labels.get(f, f) for f in fields.pop("factors", ()))
        if "level" in fields:
            fields["level"] = levels.get(fields["level"], fields["level"])
        for key in ("reached", "eligible"):
            if key in fields:
                fields[key] = "" if pd.isna(fields[key]) else f"{fields[key]:.0f}"
        text = t(
            f"res_gap_{gap['gap']}_text",
            lang,
            factors=factors,
            programme=gap["programme"],
            value=format_pct(gap["value"], lang),
            threshold=format_pct(gap["threshold"], lang),
            count="" if pd.isna(gap["value"]) else f"{gap['value']:.0f}",
            **fields,
        )
        rows.append(
            {
                **{k: gap[k] for k in columns[:6]},
                "label": t(f"res_gap_{gap['gap']}", lang),
                "explanation": text,
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    ordered = frame.assign(
        _area=frame["area"].map({a: i for i, a in enumerate(areas)}),
        _gap=frame["gap"].map({g: i for i, g in enumerate(GAP_TYPES)}),
    ).sort_values(["_area", "_gap", "factor", "programme"], kind="stable")
    return ordered.drop(columns=["_area", "_gap"]).reset_index(drop=True)


def gap_types(lang: str | None = None) -> pd.DataFrame:
    """The gap types with their name and description: columns ``gap, label, description``.

    >>> gap_types("en").loc[0, "label"]
    'Harmful or ineffective programme in use'
    """
    lang = check_language(lang)
    return pd.DataFrame(
        [
            {
                "gap": g,
                "label": t(f"res_gap_{g}", lang),
                "description": t(f"res_gap_{g}_about", lang),
            }
            for g in GAP_TYPES
        ]
    )


def gap_types_table(lang: str | None = None) -> Any:
    """Display copy of :func:`gap_types`: the name and meaning of each gap type."""
    from ctc_helpers.views.tables import display_table

    types = gap_types(lang)
    return display_table(
        pd.DataFrame({t("res_col_gap", lang): types["label"],
                      t("res_col_meaning", lang): types["description"]}),
        lang=lang,
    )  # fmt: skip


def suggest_programmes(
    bank: ProgrammeBank,
    *,
    factors: Iterable[str],
    ages: tuple[int, int] | None = None,
    settings: Iterable[str] | None = None,
    prevention_levels: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    tested_only: bool = True,
    min_overlap: int = 2,
    top: int | None = None,
) -> pd.DataFrame:
    """Candidate programmes from the bank for factors, ranked by evidence. Never a flagged one.

    Parameters
    ----------
    bank : ProgrammeBank
    factors : iterable of str
        Factor ids to fill.
    ages : (int, int), optional
        Age window the programme must overlap (default :func:`survey_ages`, åk 6 - gy 2).
    min_overlap : int
        Years of age the programme and the window must share (default 2, so that a programme
        for ages 3-12 is not offered for ages 12-17).
    settings, prevention_levels : iterable of str, optional
        Keep programmes with at least one of these settings / levels (default any).
    exclude : iterable of str
        Programme ids to leave out (e.g. those the area already runs).
    tested_only : bool
        Only programmes whose rating counts as tested (default True).
    top : int, optional
        At most this many per factor.

    Returns
    -------
    pandas.DataFrame
        One row per factor x candidate: ``factor, rank`` (1 = best within the factor),
        ``programme_id, name, settings, prevention_levels`` (";"-joined), ``age_min, age_max,
        evidence_rating, evidence_rank, n_factors`` (how many of the requested factors it
        targets), ``evidence_source, caution_sv, caution_en``. Ranked by evidence rank, then
        ``n_factors``, then name.

    Examples
    --------
    >>> from ctc_helpers.config.programme_bank import load_programme_bank
    >>> bank = load_programme_bank()
    >>> suggest_programmes(bank, factors=["family_conflict"], top=2)["name"].tolist()
    ['Multisystemisk terapi (MST)', 'Funktionell familjeterapi (FFT)']
    """
    factors = list(dict.fromkeys(factors))
    low, high = ages if ages is not None else survey_ages()
    pool = bank.programmes
    keep = (
        ~pool["flagged"]
        & ~pool["effect"].isin(FLAGGED_EFFECTS)
        & ~pool["evidence_rating"].isin(FLAGGED_RATINGS)
        & (np.minimum(pool["age_max"], high) - np.maximum(pool["age_min"], low) + 1 >= min_overlap)
        & ~pool["programme_id"].isin(set(exclude))
    )
    if tested_only:
        keep &= pool["tested"]
    if settings is not None:
        wanted = set(settings)
        keep &= pool["settings"].map(lambda s: bool(wanted & set(s)))
    if prevention_levels is not None:
        wanted_levels = set(prevention_levels)
        keep &= pool["prevention_levels"].map(lambda s: bool(wanted_levels & set(s)))
    pool = pool.loc[keep]
    rows = [
        {**r, "factor": f, "n_factors": len(set(r["factors"]) & set(factors))}
        for f in factors
        for r in pool.loc[pool["factors"].map(lambda fs, f=f: f in fs)].to_dict("records")
    ]
    return _rank_suggestions(pd.DataFrame(rows), factors, top)


SUGGESTION_COLUMNS = (
    "factor",
    "rank",
    "programme_id",
    "name",
    "settings",
    "prevention_levels",
    "age_min",
    "age_max",
    "evidence_rating",
    "evidence_rank",
    "n_factors",
    "evidence_source",
    "caution_sv",
    "caution_en",
)


def _rank_suggestions(rows: pd.DataFrame, factors: list[str], top: int | None) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=list(SUGGESTION_COLUMNS))
    order = {f: i for i, f in enumerate(factors)}
    ranked = rows.assign(_f=rows["factor"].map(order)).sort_values(
        ["_f", "evidence_rank", "n_factors", "name"], ascending=[True, False, False, True]
    )
    ranked = ranked.assign(
        rank=ranked.groupby("factor").cumcount() + 1,
        settings=ranked["settings"].map(";".join),
        prevention_levels=ranked["prevention_levels"].map(";".join),
    )
    if top is not None:
        ranked = ranked.loc[ranked["rank"] <= top]
    return ranked.loc[:, list(SUGGESTION_COLUMNS)].reset_index(drop=True)


def suggest_for_gaps(
    gaps: pd.DataFrame,
    *,
    bank: ProgrammeBank,
    programmes: pd.DataFrame | None = None,
    ages: tuple[int, int] | None = None,
    top: int = 3,
) -> pd.DataFrame:
    """Bank candidates for the factors of the gaps ``no_programme``, ``only_untested`` and
    ``harmful_or_ineffective`` (replacements), leaving out programmes the area already runs.

    Returns
    -------
    pandas.DataFrame
        ``area, gap`` and the columns of :func:`suggest_programmes`, one block per gap factor.
    """
    wanted = gaps.loc[gaps["gap"].isin(("harmful_or_ineffective", "no_programme", "only_untested"))]
    frames = []
    for record in wanted.to_dict("records"):
        running = (
            set()
            if programmes is None
            else set(programmes.loc[programmes["area"].eq(record["area"]), "bank_id"]) - {""}
        )
        found = suggest_programmes(
            bank, factors=record["factor"].split(";"), ages=ages, exclude=running, top=top
        )
        frames.append(found.assign(area=record["area"], gap=record["gap"]))
    columns = ["area", "gap", *SUGGESTION_COLUMNS]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return (
        pd.concat(frames, ignore_index=True)
        .drop_duplicates(["area", "gap", "factor", "programme_id"])[columns]
        .reset_index(drop=True)
    )
