"""The cohort view: the same year group followed across waves as it moves up the grades.

:func:`cohort_table` lines up grades that belong to the same year group (birth cohort) across
waves: a grade of year *y* in wave *w* and a grade of year *y + (w' - w)* in wave *w'* (from the
``year`` of each grade in the vocabulary in force: the one the published folder carries, else
``data_schema/respondents.yaml``), e.g. åk 7 in 2021, åk 9 in 2023 and gy 2 in 2025. The surveys are repeated cross-sections: it is the same year group, **not the same
pupils**, and changes mix growing older with anything else that changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ctc_helpers.config.instrument import RespondentSchema, load_respondent_schema
from ctc_helpers.phases.followup.selection import check_codes, measure_mask, up_to
from ctc_helpers.vocab import TOTAL

__all__ = ["COHORT_COLUMNS", "cohort_table", "grade_years", "grade_years_in_force"]

COHORT_COLUMNS = [
    "cohort", "start_year", "wave", "grade", "grade_year", "area", "sex", "measure",
    "measure_kind", "n", "pct", "ci_low", "ci_high", "suppressed", "cutpoint_version",
    "comparable",
]  # fmt: skip
"""The columns of :func:`cohort_table`."""


def cohort_table(
    aggregates: pd.DataFrame,
    *,
    area: str,
    sex: str = TOTAL,
    include: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    min_n: int = 10,
    schema: RespondentSchema | None = None,
    last_wave: int | None = None,
) -> pd.DataFrame:
    """Values of the same year group (birth cohort) followed across waves as it moves up grades.

    A cohort is identified by the year it started school: ``wave - year`` of its grade (the
    vocabulary in force, see ``schema``). Only cohorts seen in at least two waves are kept. This is
    the same year group, not the same pupils (repeated cross-sections).

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Tidy aggregate table.
    area, sex : str
        The group (all grades are used).
    include, kinds, min_n
        As in :func:`ctc_helpers.phases.followup.changes.change_table`.
    schema : RespondentSchema, optional
        Gives the grade years. Default: the grades the aggregate table carries from the published
        folder (``attrs["run_info"]``, the instrument's or run file's vocabulary), else
        ``data_schema/respondents.yaml``.
    last_wave : int, optional
        Leave out the waves after this one (the wave of the report); default: every wave.

    Returns
    -------
    pandas.DataFrame
        One row per cohort, wave and measure, ordered by cohort then wave: ``cohort`` (grade and
        wave of its first observation, e.g. ``"ak7-2021"``), ``start_year`` (``wave - year``),
        ``wave``, ``grade``, ``grade_year``, ``area``, ``sex``, ``measure``, ``measure_kind``,
        ``n``, ``pct``, ``ci_low``, ``ci_high``, ``suppressed``, ``cutpoint_version``,
        ``comparable`` (False when the cohort's waves used different cut points for the measure).

    Examples
    --------
    >>> table = pd.DataFrame({"wave": [2021, 2021, 2023, 2023], "area": "all",
    ...     "grade": ["ak7", "ak9", "ak7", "ak9"], "sex": "all", "measure": "alcohol_30d",
    ...     "measure_kind": "behaviour", "n": 100, "pct": [0.1, 0.3, 0.12, 0.25], "ci_low": 0.0,
    ...     "ci_high": 1.0, "cutpoint_version": "", "suppressed": False})
    >>> cohort_table(table, area="all")[["cohort", "wave", "grade", "pct"]].values.tolist()
    [['ak7-2021', 2021, 'ak7', 0.1], ['ak7-2021', 2023, 'ak9', 0.25]]
    """
    years = schema.grade_years if schema is not None else grade_years_in_force(aggregates)
    aggregates = up_to(aggregates, last_wave)
    check_codes(aggregates, area=area, sex=sex)
    keep = aggregates["area"].eq(area) & aggregates["sex"].eq(sex)
    rows = aggregates.loc[keep & measure_mask(aggregates, include=include, kinds=kinds)]
    rows = rows.loc[rows["grade"].isin(list(years))]
    grade_year = rows["grade"].map(years).astype(int)
    frame = rows.assign(grade_year=grade_year, start_year=rows["wave"].astype(int) - grade_year)
    seen = frame.groupby("start_year")["wave"].transform("nunique")
    frame = frame.loc[seen >= 2]
    first = frame.sort_values("wave").groupby("start_year").first()
    cohort = frame["start_year"].map(first["grade"] + "-" + first["wave"].astype(str))
    hidden = frame["suppressed"].fillna(True).astype(bool) | frame["pct"].isna()
    versions = frame["cutpoint_version"].fillna("").astype(str)
    comparable = versions.groupby([frame["start_year"], frame["measure"]]).transform("nunique") <= 1
    frame = frame.assign(
        cohort=cohort, suppressed=hidden | (frame["n"] < min_n), comparable=comparable
    )
    first_seen = frame["start_year"].map(first["wave"])
    table = (
        frame.assign(_first=first_seen, _year=frame["start_year"].map(first["grade"].map(years)))
        .sort_values(["_first", "_year", "measure", "wave"], kind="stable")
        .loc[:, COHORT_COLUMNS]
        .reset_index(drop=True)
    )
    table.attrs = dict(aggregates.attrs)  # the vocabulary travels on to the display
    return table


def grade_years(vocabulary: Sequence[dict]) -> dict[str, int]:
    """Map grade code -> school year of a published vocabulary (``run_info["respondents"]
    ["grades"]``); grades without a year are left out.

    >>> grade_years([{"code": "g9", "year": 9}, {"code": "g10", "year": 10}, {"code": "x"}])
    {'g9': 9, 'g10': 10}
    """
    return {str(g["code"]): int(g["year"]) for g in vocabulary if g.get("year") is not None}


def grade_years_in_force(aggregates: pd.DataFrame) -> dict[str, int]:
    """The grade years of the vocabulary the aggregate table carries from its published folder
    (``attrs["run_info"]``), else those of ``data_schema/respondents.yaml``."""
    info = aggregates.attrs.get("run_info") or {}
    published = grade_years((info.get("respondents") or {}).get("grades") or [])
    return published or load_respondent_schema().grade_years
