"""What the gap analysis of an area reads: the enrolment, the programmes running in the wave
with their reach and dose, and the prioritised factors, with :func:`load_gap_inputs` reading
them all (with the programme bank and the inventory) in one call.

The resource and gap analysis (resurs- och gapanalys), one module per step, each a function of
tidy frames:

1. The inputs: the programme bank (:mod:`ctc_helpers.config.programme_bank`, on the vocabulary
   of :mod:`ctc_helpers.config.inventory`), the inventory (:mod:`ctc_helpers.phases.gaps.inventory`,
   its rows checked by :mod:`ctc_helpers.phases.gaps.inventory_rows`) and this module.
2. :mod:`ctc_helpers.phases.gaps.matrix`: the gap matrix, coverage and the city view.
3. :mod:`ctc_helpers.phases.gaps.gaps`: the gaps; :mod:`ctc_helpers.phases.gaps.suggestions`:
   programmes of the bank for them.
4. :mod:`ctc_helpers.phases.gaps.actionplan`: the draft goal chain.

Their tables and texts for people are in :mod:`ctc_helpers.views.gaps`, the charts in
:mod:`ctc_helpers.plots.gaps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import load_respondent_schema
from ctc_helpers.config.inventory import normalise
from ctc_helpers.config.priorities import load_team_choices
from ctc_helpers.config.programme_bank import ProgrammeBank, load_programme_bank
from ctc_helpers.errors import InputFileError
from ctc_helpers.i18n import t
from ctc_helpers.paths import resolve_path
from ctc_helpers.phases.gaps.inventory import Inventory, load_inventory
from ctc_helpers.phases.gaps.inventory_rows import read_text_table
from ctc_helpers.phases.prioritization import rank_factors
from ctc_helpers.publish.read import Published, check_wave
from ctc_helpers.vocab import CITY, TOTAL

__all__ = [
    "GapInputs",
    "load_gap_inputs",
    "load_enrolment",
    "current_programmes",
    "prioritised_factors",
]

# --------------------------------------------------------------------------------------------
# Enrolment, current figures, reach


def load_enrolment(
    path: str | Path | None = "", *, participation: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Enrolled pupils by wave, area and grade, from a file or the published participation.

    Parameters
    ----------
    path : str or Path, optional
        A CSV or Excel file with columns ``area, grade, enrolled`` and optionally ``wave`` and
        ``school`` (summed over schools), such as ``data/sample/enrolment.csv``. Empty: use
        ``participation``.
    participation : pandas.DataFrame, optional
        The published ``participation.parquet`` (rows ``school == sex == "all"`` per grade).

    Returns
    -------
    pandas.DataFrame
        Columns ``wave`` (NaN when the file has none), ``area, grade, enrolled``. Empty when
        neither source is given or the published table has no enrolment.

    Raises
    ------
    InputFileError
        The file cannot be read or lacks a column, or a count is not a number (row named).
    """
    columns = ["wave", "area", "grade", "enrolled"]
    if path is not None and str(path).strip():
        return _enrolment_file(resolve_path(path), columns)
    if participation is None or "enrolled" not in participation.columns:
        return pd.DataFrame(columns=columns)
    rows = participation.loc[
        participation["school"].eq(TOTAL)
        & participation["sex"].eq(TOTAL)
        & participation["grade"].ne(TOTAL)
        & participation["area"].ne(CITY)
        & participation["enrolled"].notna()
    ]
    return rows.loc[:, columns].astype({"enrolled": float}).reset_index(drop=True)


def _enrolment_file(path: Path, columns: list[str]) -> pd.DataFrame:
    frame, _ = read_text_table(path, sheet=None, lang="en")
    frame = frame.set_axis([c if c == "row" else normalise(c) for c in frame.columns], axis=1)
    missing = [c for c in ("area", "grade", "enrolled") if c not in frame.columns]
    if missing:
        raise InputFileError(
            t("enrolment_column", None, file=path.name, column=missing[0],
              columns="area, grade, enrolled")
        )  # fmt: skip
    grades = load_respondent_schema().grade_aliases
    enrolled = pd.to_numeric(frame["enrolled"].str.replace(",", "."), errors="coerce")
    bad = enrolled.isna() | frame["grade"].str.casefold().map(grades).isna()
    if bad.any():
        first = frame.loc[bad].iloc[0]
        raise InputFileError(
            t("enrolment_grade", None, file=path.name, row=first["row"],
              grade=repr(first["grade"]), enrolled=repr(first["enrolled"]))
        )  # fmt: skip
    wave = pd.to_numeric(frame["wave"], errors="coerce") if "wave" in frame else np.nan
    table = frame.assign(
        wave=wave, grade=frame["grade"].str.casefold().map(grades), enrolled=enrolled
    )
    return table.groupby(["wave", "area", "grade"], dropna=False, as_index=False)["enrolled"].sum()[
        columns
    ]


def current_programmes(
    inventory: Inventory | pd.DataFrame,
    *,
    wave: int | None = None,
    enrolment: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The latest figures of every programme, with the eligible population, reach and dose.

    Parameters
    ----------
    inventory : Inventory or pandas.DataFrame
        A loaded inventory (or its ``programmes`` frame).
    wave : int, optional
        Survey year: rows with a later ``year`` are left out; per area and programme the row
        of the latest year is kept (a row without a year counts as current).
    enrolment : pandas.DataFrame, optional
        From :func:`load_enrolment`. For a *universal* programme without
        ``eligible_population``, the eligible population is the enrolment of its target grades
        in the area (the latest enrolment wave up to the row's year, or ``wave``); it stays
        unknown when a target grade is not in the enrolment. Selective and indicated
        programmes use only the file's number: their target group is not a whole grade.

    Returns
    -------
    pandas.DataFrame
        The inventory's columns plus ``eligible`` (float), ``eligible_source`` (``file /
        enrolment / ""``), ``reach`` = participants_reached / eligible (NaN when unknown) and
        ``dose`` = sessions_delivered / sessions_planned.
    """
    frame = inventory.programmes if isinstance(inventory, Inventory) else inventory
    if wave is not None:
        frame = frame.loc[frame["year"].isna() | (frame["year"] <= wave)]
    keyed = frame.assign(_key=frame["programme"].map(normalise), _year=frame["year"].fillna(np.inf))
    latest = (
        keyed.sort_values(["_year", "row"], kind="stable")
        .drop_duplicates(["area", "_key"], keep="last")
        .sort_values("row")
        .drop(columns=["_key", "_year"])
        .reset_index(drop=True)
    )
    enrolled = _enrolment_index(enrolment)
    from_enrolment = [
        _enrolled(r, enrolled, wave) if r["prevention_level"] == "universal" else np.nan
        for r in latest.to_dict("records")
    ]
    given = latest["eligible_population"].astype(float)
    eligible = given.fillna(pd.Series(from_enrolment, index=latest.index, dtype=float))
    source = np.where(given.notna(), "file", np.where(eligible.notna(), "enrolment", ""))
    planned = latest["sessions_planned"].astype(float)
    return latest.assign(
        eligible=eligible,
        eligible_source=source,
        reach=latest["participants_reached"].astype(float) / eligible,
        dose=latest["sessions_delivered"].astype(float) / planned.where(planned > 0),
    )


def _enrolment_index(enrolment: pd.DataFrame | None) -> dict[str, dict[Any, dict[str, float]]]:
    """Enrolled pupils by area, wave (NaN: no wave given) and grade, summed once."""
    if enrolment is None or enrolment.empty:
        return {}
    sums = enrolment.groupby(["area", "wave", "grade"], dropna=False)["enrolled"].sum()
    index: dict[str, dict[Any, dict[str, float]]] = {}
    for (area, wave, grade), value in sums.items():
        index.setdefault(area, {}).setdefault(wave, {})[grade] = float(value)
    return index


def _enrolled(
    record: dict, index: dict[str, dict[Any, dict[str, float]]], wave: int | None
) -> float:
    """Enrolment of the record's target grades in its area, in the latest enrolment wave up to
    the record's year (else ``wave``; else the first wave); every row when no wave is given."""
    per_wave = index.get(record["area"])
    if not per_wave:
        return np.nan
    waves = sorted(w for w in per_wave if pd.notna(w))
    reference = record["year"] if pd.notna(record["year"]) else wave
    if waves:
        earlier = [w for w in waves if reference is None or w <= reference]
        by_grade = per_wave[earlier[-1] if earlier else waves[0]]
    else:
        by_grade = {}
        for grades in per_wave.values():
            for grade, value in grades.items():
                by_grade[grade] = by_grade.get(grade, 0.0) + value
    codes = list(record["grade_codes"])
    if not codes or any(c not in by_grade for c in codes):
        return np.nan
    return float(sum(by_grade[c] for c in codes))


# --------------------------------------------------------------------------------------------
# What the gap analysis of one area reads


@dataclass(frozen=True)
class GapInputs:
    """The inputs of an area's gap analysis, read by :func:`load_gap_inputs`."""

    bank: ProgrammeBank
    inventory: Inventory
    enrolment: pd.DataFrame
    programmes: pd.DataFrame
    priorities: pd.DataFrame


def load_gap_inputs(
    published: Published,
    *,
    area: str,
    wave: int,
    lang: str | None = None,
    inventory_path: str | Path,
    priorities_dir: str | Path | None = None,
    programme_bank_path: str | Path | Sequence[str | Path] | None = "",
    enrolment_file: str | Path | None = "",
) -> GapInputs:
    """Read the programme bank, the inventory, the enrolment and the area's priorities.

    One call for what notebook 03 and its charts (:mod:`ctc_helpers.plots.report_charts`) both need: the bank
    extended with ``programme_bank_path``, the validated inventory (without warnings; notebook 03
    shows them), the enrolment, the programmes running in ``wave`` and the prioritised factors
    (:func:`prioritised_factors`, the previous wave taken from ``published``).

    Returns
    -------
    GapInputs
        ``bank``, ``inventory``, ``enrolment``, ``programmes``, ``priorities``.
    """
    bank = load_programme_bank(extra=programme_bank_path, instrument=published.measures)
    inventory = load_inventory(
        inventory_path,
        bank=bank,
        areas=published.areas,
        instrument=published.measures,
        lang=lang,
        warn=False,
    )
    enrolment = load_enrolment(enrolment_file, participation=published.participation)
    priorities = prioritised_factors(
        published,
        area=area,
        wave=wave,
        priorities_dir=priorities_dir,
        previous_wave=check_wave(published, wave),
    )
    programmes = current_programmes(inventory, wave=wave, enrolment=enrolment)
    return GapInputs(bank, inventory, enrolment, programmes, priorities)


# --------------------------------------------------------------------------------------------
# Priorities


def prioritised_factors(
    published: Published,
    *,
    area: str,
    wave: int,
    priorities_dir: str | Path | None = None,
    previous_wave: int | None = None,
) -> pd.DataFrame:
    """The prioritised factors of an area (or of every area for ``"all"``).

    The area team's recorded choice (``<priorities_dir>/<area>.yaml``) when there is one, else
    the suggestion of :func:`ctc_helpers.phases.prioritization.rank_factors` on the published tables.

    Parameters
    ----------
    published : Published
        The published folder (:func:`ctc_helpers.publish.read.load_published`): ``aggregates``,
        ``comparisons``, ``measures`` and ``areas`` are used.
    area : str
        Area id, or ``"all"``: every area of the run (one block of rows per area).
    wave : int
    priorities_dir : str or Path, optional
        Folder of the teams' files; empty or None = use the suggestions only.
    previous_wave : int, optional
        Passed to ``rank_factors``.

    Returns
    -------
    pandas.DataFrame
        Columns ``area, factor, kind, source`` (``team`` / ``suggested``), ``rank`` (order
        within kind), ``decided`` (the team's date as text, "" for suggestions) and
        ``choice_wave`` (the wave the team's choice builds on; NaN for suggestions). An area
        with no recorded choice and too few answers has no rows.
    """
    present = set(published.aggregates.loc[published.aggregates["wave"].eq(wave), "area"])
    areas = [a for a in published.areas["area_id"] if a in present] if area == CITY else [area]
    folder = (
        resolve_path(priorities_dir) if priorities_dir and str(priorities_dir).strip() else None
    )
    frames = [_area_priorities(published, a, wave, folder, previous_wave) for a in areas]
    columns = ["area", "factor", "kind", "source", "rank", "decided", "choice_wave"]
    frames = [f for f in frames if not f.empty]
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


def _area_priorities(
    published: Published, area: str, wave: int, folder: Path | None, previous_wave: int | None
) -> pd.DataFrame:
    choices = load_team_choices(folder, area, factors=published.measures) if folder else None
    if choices is not None:
        rows = [(f, "risk", i) for i, f in enumerate(choices.risk_factors, start=1)]
        rows += [(f, "protective", i) for i, f in enumerate(choices.protective_factors, start=1)]
        return pd.DataFrame(rows, columns=["factor", "kind", "rank"]).assign(
            area=area,
            source="team",
            decided=choices.decided.isoformat(),
            choice_wave=float(choices.wave),
        )
    ranked = rank_factors(
        published.aggregates,
        published.comparisons,
        area=area,
        wave=wave,
        previous_wave=previous_wave,
    )
    suggested = ranked.loc[ranked["suggested"], ["factor", "kind", "rank"]]
    return suggested.assign(area=area, source="suggested", decided="", choice_wave=np.nan)
