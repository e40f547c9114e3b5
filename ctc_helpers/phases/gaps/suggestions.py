"""Programmes of the bank suggested for the gaps of an area: tested programmes (never a flagged
one) that target the factors, ranked by evidence, for the ages of the survey.

Part of the resource and gap analysis (:mod:`ctc_helpers.phases.gaps`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ctc_helpers.config.inventory import FLAGGED_EFFECTS, FLAGGED_RATINGS, survey_ages
from ctc_helpers.config.programme_bank import ProgrammeBank

__all__ = ["SUGGESTION_COLUMNS", "suggest_programmes", "suggest_for_gaps"]


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
        Age window the programme must overlap (default
        :func:`ctc_helpers.config.inventory.survey_ages`, åk 6 - gy 2).
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
