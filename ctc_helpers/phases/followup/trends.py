"""Follow-up statistics between survey waves: levels over time, change, trend tests and the
cohort view. The follow-up report's display edge is :mod:`ctc_helpers.views.followup`, which also
re-exports this module's public API.

Every function reads the tidy aggregate table (``docs/ARCHITECTURE.md``; in notebooks the
published, suppressed one) and returns a tidy frame; nothing is rounded or translated here except
in the ``*_display`` functions and :func:`plot_trends`, which make display copies.

Change between two waves
------------------------
:func:`change_table` compares the chosen wave with the previous wave and with the baseline (the
first wave in the table) through :func:`ctc_helpers.survey.compare.compare_waves`: difference in
percentage points with a Newcombe interval, two-proportion z-test, Cohen's h, and Holm's
correction across the measures compared in one call (the measures shown: pass ``include`` or
``kinds`` to choose them). A change is called an increase or a decrease only when the
Holm-adjusted p-value is below 0.05 *and* the interval excludes 0 (:func:`stats.significance.label_change`);
otherwise it is "no clear change". Groups that are suppressed or smaller than ``min_n`` are
"too few answers to judge" (``too_few``).

Better or worse
---------------
``better`` says which direction is an improvement: ``decrease`` for risk factors, problem
behaviours and the high-risk composite, ``increase`` for protective factors and the
high-protection composite (composites need the measure catalogue, whose ``group`` says ``risk``
or ``protective``). ``assessment`` is ``better``, ``worse``, ``no_clear_change``, ``too_few`` or
``not_comparable``.

Cut-point versions
------------------
Prevalences computed with different cut points cannot be compared. :func:`change_table` and
:func:`trend_table` do not stop the whole table for that: the measures whose versions differ get
``change == "not_comparable"`` (numbers blank) and both versions in ``cutpoint_version`` and
``reference_cutpoint_version``; :func:`explain_not_comparable` turns them into a sentence naming
both versions. :func:`wave_changes` is the strict form that raises
:class:`~ctc_helpers.errors.ComparisonError` (from ``compare_waves``).

Trend over three or more waves
------------------------------
:func:`trend_tests` fits a binomial logistic regression on the survey year to the published
counts of each wave (:func:`stats.trend.logistic_trend_test`; with weights the effective counts
``pct * n_eff`` and ``n_eff``), with Holm across the measures tested. Waves whose group is
suppressed are left out; fewer than three usable waves give ``too_few`` (or ``too_few_waves``
when the table holds fewer than three waves).

Cohort view
-----------
:func:`cohort_table` lines up grades that belong to the same year group (birth cohort) across
waves: a grade of year *y* in wave *w* and a grade of year *y + (w' - w)* in wave *w'* (from the
``year`` of each grade in ``data_schema/respondents.yaml``), e.g. åk 7 in 2021, åk 9 in 2023 and
gy 2 in 2025. The surveys are repeated cross-sections: it is the same year group, **not the same
pupils**, and changes mix growing older with anything else that changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ctc_helpers.config.instrument import RespondentSchema, load_respondent_schema
from ctc_helpers.stats.significance import holm_adjust, label_change
from ctc_helpers.stats.trend import logistic_trend_test
from ctc_helpers.survey.compare import TOO_FEW, compare_waves
from ctc_helpers.vocab import TOTAL

__all__ = [
    "NOT_COMPARABLE",
    "TOO_FEW_WAVES",
    "ASSESSMENTS",
    "better_direction",
    "assess_change",
    "change_table",
    "wave_changes",
    "trend_table",
    "trend_tests",
    "cohort_table",
]


NOT_COMPARABLE = "not_comparable"
"""Change code of a comparison refused because the cut-point versions differ."""

TOO_FEW_WAVES = "too_few_waves"
"""Trend code when the table holds fewer than three waves."""

ASSESSMENTS = ("better", "worse", "no_clear_change", TOO_FEW, NOT_COMPARABLE, TOO_FEW_WAVES)
"""Codes of the ``assessment`` column (translated at the display edge)."""

_CHANGE_STATS = ["diff", "diff_low", "diff_high", "z", "p_value", "p_holm", "cohens_h"]
_LEVEL_COLUMNS = [
    "wave", "area", "grade", "sex", "measure", "measure_kind", "domain",
    "n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff", "suppressed", "cutpoint_version",
]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Better or worse


def better_direction(measure_kind: str, group: str | None = None) -> str:
    """The direction of change that is an improvement for a measure.

    Parameters
    ----------
    measure_kind : str
        ``risk``, ``protective``, ``behaviour`` or ``composite``.
    group : str, optional
        For composites, the kind of factor they count (``risk`` or ``protective``; the ``group``
        column of the measure catalogue).

    Returns
    -------
    str
        ``"decrease"``, ``"increase"``, or ``""`` when unknown (a composite without group).

    Examples
    --------
    >>> better_direction("protective"), better_direction("behaviour")
    ('increase', 'decrease')
    >>> better_direction("composite", "protective"), better_direction("composite")
    ('increase', '')
    """
    kind = group if measure_kind == "composite" else measure_kind
    return {"risk": "decrease", "behaviour": "decrease", "protective": "increase"}.get(kind, "")


def _better_column(frame: pd.DataFrame, measures: pd.DataFrame | None) -> pd.Series:
    groups = (
        {} if measures is None else dict(zip(measures["measure"], measures["group"], strict=True))
    )
    pairs = zip(frame["measure_kind"], frame["measure"].map(groups), strict=True)
    return pd.Series([better_direction(k, g) for k, g in pairs], index=frame.index, dtype=object)


def assess_change(change: Sequence[str], better: Sequence[str]) -> np.ndarray:
    """Turn change codes into ``better`` / ``worse`` given each measure's better direction.

    ``increase``/``decrease`` become ``better`` when they go in the ``better`` direction and
    ``worse`` otherwise; every other code (``no_clear_change``, ``too_few``, ...) is kept. With an
    unknown better direction (``""``) the change code is kept as it is.

    Examples
    --------
    >>> assess_change(["increase", "increase", "no_clear_change", "decrease"],
    ...               ["decrease", "increase", "decrease", ""]).tolist()
    ['worse', 'better', 'no_clear_change', 'decrease']
    """
    change = np.asarray(change, dtype=object)
    better = np.asarray(better, dtype=object)
    directional = np.isin(change, ["increase", "decrease"]) & (better != "")
    judged = np.where(change == better, "better", "worse")
    return np.where(directional, judged, change)


# --------------------------------------------------------------------------------------------
# Selecting a group


def _up_to(aggregates: pd.DataFrame, last_wave: int | None) -> pd.DataFrame:
    """The waves up to ``last_wave`` (all waves when None)."""
    return aggregates if last_wave is None else aggregates.loc[aggregates["wave"] <= last_wave]


def _check_codes(aggregates: pd.DataFrame, **codes: str) -> None:
    for column, code in codes.items():
        if not aggregates[column].eq(code).any():
            known = ", ".join(sorted(map(str, aggregates[column].unique())))
            raise ValueError(f"The aggregate table has no {column} {code!r}; it has: {known}.")


def _measure_mask(
    aggregates: pd.DataFrame,
    *,
    include: Sequence[str] | None,
    kinds: Sequence[str] | None,
    table: pd.DataFrame | None = None,
) -> pd.Series:
    """Rows of the measures shown (``include`` ids and/or ``kinds``); readable errors.

    ``table``: the whole table the rows come from, whose measures ``include`` is checked
    against (default: ``aggregates`` itself).
    """
    keep = pd.Series(True, index=aggregates.index)
    if include is not None:
        known = aggregates if table is None else table
        unknown = sorted(set(include) - set(known["measure"]))
        if unknown:
            raise ValueError(
                f"The aggregate table has no measure {', '.join(map(repr, unknown))}; known"
                f" measures: {', '.join(sorted(known['measure'].unique()))}."
            )
        keep &= aggregates["measure"].isin(list(include))
    if kinds is not None:
        allowed = ("risk", "protective", "behaviour", "composite")
        wrong = [k for k in kinds if k not in allowed]
        if wrong:
            raise ValueError(f"kinds has {wrong[0]!r}; choose from: {', '.join(allowed)}.")
        keep &= aggregates["measure_kind"].isin(list(kinds))
    return keep


def _group_rows(
    aggregates: pd.DataFrame,
    *,
    area: str,
    grade: str,
    sex: str,
    include: Sequence[str] | None,
    kinds: Sequence[str] | None,
) -> pd.DataFrame:
    """Rows of one group (all waves), restricted to the measures shown.

    Each code narrows the row positions kept so far (a report selects from the whole city's
    table); a code found nowhere in the table is an error, as in :func:`_check_codes`.
    """
    positions = np.arange(len(aggregates))
    for column, code in (("area", area), ("grade", grade), ("sex", sex)):
        values = aggregates[column].to_numpy()
        positions = positions[values[positions] == code]
        if not len(positions):
            _check_codes(aggregates, **{column: code})
    rows = aggregates.iloc[positions]
    return rows.loc[_measure_mask(rows, include=include, kinds=kinds, table=aggregates)]


def _hide_small(rows: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Mark (and blank) the values of suppressed groups and of groups smaller than ``min_n``."""
    hidden = (
        rows["suppressed"].fillna(True).astype(bool) | rows["pct"].isna() | ~(rows["n"] >= min_n)
    )
    values = [c for c in ("n", "n_flagged", "pct", "ci_low", "ci_high", "n_eff") if c in rows]
    return rows.assign(suppressed=hidden, **{c: rows[c].astype(float).mask(hidden) for c in values})


def _waves(rows: pd.DataFrame) -> list[int]:
    return sorted(int(w) for w in rows["wave"].unique())


def _versions(rows: pd.DataFrame, wave: int) -> pd.Series:
    one = rows.loc[rows["wave"].eq(wave)].set_index("measure")
    return one["cutpoint_version"].fillna("").astype(str)


def _differing(rows: pd.DataFrame, wave: int, reference_wave: int) -> pd.DataFrame:
    """Measures whose (non-empty) cut-point versions differ between the two waves."""
    both = pd.concat(
        {
            "cutpoint_version": _versions(rows, wave),
            "reference_version": _versions(rows, reference_wave),
        },
        axis=1,
    ).dropna()
    differ = both["cutpoint_version"].ne(both["reference_version"]) & both.ne("").all(axis=1)
    return both.loc[differ]


# --------------------------------------------------------------------------------------------
# Change between two waves


def _compare_pair(
    rows: pd.DataFrame, *, wave: int, reference_wave: int, min_n: int, confidence: float
) -> pd.DataFrame:
    """compare_waves on the comparable measures; refused rows for measures with other cuts."""
    differ = _differing(rows, wave, reference_wave)
    comparable = rows.loc[~rows["measure"].isin(differ.index)]
    first = rows.iloc[0]
    parts = []
    if not comparable.empty:
        compared = compare_waves(
            comparable,
            wave=wave,
            previous_wave=reference_wave,
            area=first["area"],
            grade=first["grade"],
            sex=first["sex"],
            min_n=min_n,
            confidence=confidence,
        )
        shown = _hide_small(rows, min_n)
        parts.append(_with_levels(compared, shown, wave=wave, reference_wave=reference_wave))
    if not differ.empty:
        parts.append(
            _refused(_hide_small(rows, min_n), differ, wave=wave, reference_wave=reference_wave)
        )
    return pd.concat(parts, ignore_index=True).rename(
        columns={"previous_wave": "reference_wave", "pct_previous": "pct_reference",
                 "n_previous": "n_reference"}
    )  # fmt: skip


def _with_levels(
    compared: pd.DataFrame, rows: pd.DataFrame, *, wave: int, reference_wave: int
) -> pd.DataFrame:
    """Published levels of both waves (compare_waves blanks them in rows it does not test)."""
    now = rows.loc[rows["wave"].eq(wave)].set_index("measure")
    before = rows.loc[rows["wave"].eq(reference_wave)].set_index("measure")
    measure = compared["measure"]
    return compared.assign(
        pct=measure.map(now["pct"]).astype(float),
        n=measure.map(now["n"]).astype(float),
        pct_previous=measure.map(before["pct"]).astype(float),
        n_previous=measure.map(before["n"]).astype(float),
        reference_cutpoint_version=measure.map(_versions(rows, reference_wave)),
    )


def _refused(rows: pd.DataFrame, differ: pd.DataFrame, *, wave: int, reference_wave: int):
    now = rows.loc[rows["wave"].eq(wave)].set_index("measure").loc[differ.index]
    before = rows.loc[rows["wave"].eq(reference_wave)].set_index("measure").loc[differ.index]
    return pd.DataFrame(
        {
            "wave": wave,
            "previous_wave": reference_wave,
            "area": now["area"].to_numpy(),
            "grade": now["grade"].to_numpy(),
            "sex": now["sex"].to_numpy(),
            "measure": differ.index,
            "measure_kind": now["measure_kind"].to_numpy(),
            "pct": now["pct"].to_numpy(dtype=float),
            "n": now["n"].to_numpy(dtype=float),
            "pct_previous": before["pct"].to_numpy(dtype=float),
            "n_previous": before["n"].to_numpy(dtype=float),
            **{c: np.nan for c in _CHANGE_STATS},
            "change": NOT_COMPARABLE,
            "cutpoint_version": differ["cutpoint_version"].to_numpy(),
            "reference_cutpoint_version": differ["reference_version"].to_numpy(),
        }
    )


def change_table(
    aggregates: pd.DataFrame,
    *,
    area: str,
    wave: int,
    grade: str = TOTAL,
    sex: str = TOTAL,
    include: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    measures: pd.DataFrame | None = None,
    min_n: int = 10,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Change of every measure shown since the previous wave and since the baseline wave.

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Tidy aggregate table holding several waves.
    area : str
        Area id, ``"all"`` for the city.
    wave : int
        The wave followed up (the later wave of each comparison).
    grade, sex : str, default "all"
        The group.
    include : sequence of str, optional
        Measure ids to compare (default: every measure); Holm's correction runs across them.
    kinds : sequence of str, optional
        Keep only these measure kinds (``risk``, ``protective``, ``behaviour``, ``composite``).
    measures : pandas.DataFrame, optional
        Measure catalogue (published ``measures.csv`` or ``Instrument.measures()``); gives the
        better direction of composites.
    min_n : int, default 10
        Smallest group compared.
    confidence : float, default 0.95
        Confidence level of the difference interval.

    Returns
    -------
    pandas.DataFrame
        Two rows per measure, one per reference (``previous`` and ``baseline``, both written
        also when the previous wave is the baseline), none when ``wave`` is the first wave:
        ``wave``, ``reference`` (``"previous"`` or ``"baseline"``), ``reference_wave``,
        ``area``, ``grade``, ``sex``, ``measure``, ``measure_kind``, ``pct``, ``n``,
        ``pct_reference``, ``n_reference``, ``diff`` (``pct - pct_reference``),
        ``diff_low``, ``diff_high`` (Newcombe), ``z``, ``p_value``, ``p_holm`` (Holm across the
        measures of one comparison), ``cohens_h``, ``change`` (``increase``, ``decrease``,
        ``no_clear_change``, ``too_few``, ``not_comparable``), ``better``, ``assessment``,
        ``cutpoint_version``, ``reference_cutpoint_version``.

    Raises
    ------
    ValueError
        If the group, a measure or the wave is not in the table.

    Examples
    --------
    >>> table = pd.DataFrame({"wave": [2021, 2023], "area": "all", "grade": "all", "sex": "all",
    ...     "measure": "alcohol_30d", "measure_kind": "behaviour", "domain": "behaviour",
    ...     "n": [400, 400], "n_flagged": [100.0, 60.0], "pct": [0.25, 0.15], "n_eff": 400.0,
    ...     "cutpoint_version": "", "suppressed": False})
    >>> out = change_table(table, area="all", wave=2023)
    >>> out[["reference", "diff", "change", "assessment"]].round(3).to_dict("records")[0]
    {'reference': 'previous', 'diff': -0.1, 'change': 'decrease', 'assessment': 'better'}
    """
    rows = _group_rows(aggregates, area=area, grade=grade, sex=sex, include=include, kinds=kinds)
    waves = _waves(rows)
    if wave not in waves:
        raise ValueError(
            f"The survey year {wave!r} is not in the table for this group; years: "
            f"{', '.join(map(str, waves))}."
        )
    earlier = [w for w in waves if w < wave]
    references = {"previous": earlier[-1], "baseline": earlier[0]} if earlier else {}
    parts = [
        _compare_pair(
            rows, wave=wave, reference_wave=ref, min_n=min_n, confidence=confidence
        ).assign(reference=name)
        for name, ref in references.items()
    ]
    if not parts:
        return pd.DataFrame(columns=_CHANGE_COLUMNS)
    frame = pd.concat(parts, ignore_index=True)
    better = _better_column(frame, measures)
    return frame.assign(better=better, assessment=assess_change(frame["change"], better))[
        _CHANGE_COLUMNS
    ]


_CHANGE_COLUMNS = [
    "wave", "reference", "reference_wave", "area", "grade", "sex", "measure", "measure_kind",
    "pct", "n", "pct_reference", "n_reference", *_CHANGE_STATS, "change", "better",
    "assessment", "cutpoint_version", "reference_cutpoint_version",
]  # fmt: skip


def wave_changes(
    aggregates: pd.DataFrame,
    *,
    area: str,
    wave: int,
    reference_wave: int,
    grade: str = TOTAL,
    sex: str = TOTAL,
    include: Sequence[str] | None = None,
    measures: pd.DataFrame | None = None,
    min_n: int = 10,
) -> pd.DataFrame:
    """Strict comparison of two waves, refusing different cut points (no refused rows).

    :func:`ctc_helpers.survey.compare.compare_waves` on the measures shown (``include``), plus
    ``better`` and ``assessment``; the other options are those of :func:`change_table`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`ctc_helpers.survey.compare.compare_waves` plus ``better`` and
        ``assessment``.

    Raises
    ------
    ComparisonError
        If a measure's cut-point version differs between the two waves (the message names the
        measure and both versions).
    """
    rows = _group_rows(aggregates, area=area, grade=grade, sex=sex, include=include, kinds=None)
    compared = compare_waves(
        rows, wave=wave, previous_wave=reference_wave, area=area, grade=grade, sex=sex, min_n=min_n
    )
    better = _better_column(compared, measures)
    return compared.assign(better=better, assessment=assess_change(compared["change"], better))


# --------------------------------------------------------------------------------------------
# Levels over all waves


def trend_table(
    aggregates: pd.DataFrame,
    *,
    area: str,
    grade: str = TOTAL,
    sex: str = TOTAL,
    include: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    measures: pd.DataFrame | None = None,
    min_n: int = 10,
    last_wave: int | None = None,
) -> pd.DataFrame:
    """Every wave's value of every measure shown, with its interval and the previous-wave change.

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Tidy aggregate table.
    area, grade, sex : str
        The group (``area="all"`` is the city).
    include, kinds, measures, min_n
        As in :func:`change_table` (Holm runs across the measures of each pair of waves).
    last_wave : int, optional
        Leave out the waves after this one (the wave of the report); default: every wave.

    Returns
    -------
    pandas.DataFrame
        One row per measure and wave, oldest first: ``wave``, ``area``, ``grade``, ``sex``,
        ``measure``, ``measure_kind``, ``domain``, ``n``, ``n_flagged``, ``pct``, ``ci_low``,
        ``ci_high`` (Wilson, as published), ``n_eff``, ``suppressed`` (True also when the value
        is blank or ``n < min_n``), ``cutpoint_version``, ``previous_wave`` (NaN in the first
        wave), ``diff_previous``, ``diff_previous_low``, ``diff_previous_high`` (Newcombe),
        ``p_holm_previous``, ``change_previous`` (``""`` in the first wave), ``better``,
        ``assessment_previous``.

    Examples
    --------
    >>> table = pd.DataFrame({"wave": [2021, 2023, 2025], "area": "all", "grade": "all",
    ...     "sex": "all", "measure": "alcohol_30d", "measure_kind": "behaviour",
    ...     "domain": "behaviour", "n": 400, "n_flagged": [100.0, 96.0, 60.0],
    ...     "pct": [0.25, 0.24, 0.15], "ci_low": 0.0, "ci_high": 1.0, "n_eff": 400.0,
    ...     "cutpoint_version": "", "suppressed": False})
    >>> trend_table(table, area="all")["change_previous"].tolist()
    ['', 'no_clear_change', 'decrease']
    """
    aggregates = _up_to(aggregates, last_wave)
    rows = _group_rows(aggregates, area=area, grade=grade, sex=sex, include=include, kinds=kinds)
    waves = _waves(rows)
    levels = rows.reindex(columns=_LEVEL_COLUMNS).sort_values(["measure", "wave"], kind="stable")
    levels = _hide_small(levels, min_n)
    pairs = [
        _compare_pair(rows, wave=now, reference_wave=before, min_n=min_n, confidence=0.95)
        for before, now in zip(waves[:-1], waves[1:], strict=True)
    ]
    changes = _previous_columns(pairs)
    frame = levels.merge(changes, on=["wave", "measure"], how="left")
    frame = frame.assign(change_previous=frame["change_previous"].fillna(""))
    better = _better_column(frame, measures)
    return frame.assign(
        better=better, assessment_previous=assess_change(frame["change_previous"], better)
    ).reset_index(drop=True)


def _previous_columns(pairs: list[pd.DataFrame]) -> pd.DataFrame:
    names = {
        "reference_wave": "previous_wave",
        "diff": "diff_previous",
        "diff_low": "diff_previous_low",
        "diff_high": "diff_previous_high",
        "p_holm": "p_holm_previous",
        "change": "change_previous",
    }
    if not pairs:
        return pd.DataFrame(columns=["wave", "measure", *names.values()])
    both = pd.concat(pairs, ignore_index=True)
    return both.loc[:, ["wave", "measure", *names]].rename(columns=names)


# --------------------------------------------------------------------------------------------
# Trend test


def _trend_of(one: pd.DataFrame, *, n_table_waves: int, min_n: int, cycle_years: float) -> dict:
    usable = one.loc[
        ~one["suppressed"].fillna(True).astype(bool) & one["pct"].notna() & (one["n"] >= min_n)
    ]
    versions = sorted({v for v in one["cutpoint_version"].fillna("").astype(str) if v})
    result = {
        "first_wave": int(one["wave"].min()),
        "last_wave": int(one["wave"].max()),
        "n_waves": int(usable["wave"].nunique()),
        "cutpoint_version": " | ".join(versions),
    }
    if n_table_waves < 3:
        return {**result, "trend": TOO_FEW_WAVES}
    if len(versions) > 1:
        return {**result, "trend": NOT_COMPARABLE}
    if usable["wave"].nunique() < 3:
        return {**result, "trend": TOO_FEW}
    n_eff = usable["n_eff"].astype(float) if "n_eff" in usable else usable["n"].astype(float)
    fit = logistic_trend_test(
        usable["pct"].astype(float) * n_eff, n_eff, usable["wave"], cycle_years=cycle_years
    )
    return {**result, **fit._asdict(), "n_waves": fit.n_waves, "trend": ""}


def trend_tests(
    aggregates: pd.DataFrame,
    *,
    area: str,
    grade: str = TOTAL,
    sex: str = TOTAL,
    include: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    measures: pd.DataFrame | None = None,
    min_n: int = 10,
    alpha: float = 0.05,
    cycle_years: float = 2.0,
    last_wave: int | None = None,
) -> pd.DataFrame:
    """A logistic trend test over all waves for every measure shown, Holm across them.

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Tidy aggregate table.
    area, grade, sex, include, kinds, measures, min_n
        As in :func:`change_table`.
    alpha : float, default 0.05
        Significance level after Holm's correction.
    cycle_years : float, default 2.0
        Years between waves; the odds ratio is per cycle.
    last_wave : int, optional
        Leave out the waves after this one (the wave of the report); default: every wave.

    Returns
    -------
    pandas.DataFrame
        One row per measure: ``area``, ``grade``, ``sex``, ``measure``, ``measure_kind``,
        ``first_wave``, ``last_wave``, ``n_waves`` (usable waves), ``slope`` (log-odds per
        year), ``slope_low``, ``slope_high``, ``odds_ratio`` (per cycle), ``or_low``,
        ``or_high``, ``p_value``, ``p_holm``, ``trend`` (``increase``, ``decrease``,
        ``no_clear_change``, ``too_few``, ``too_few_waves``, ``not_comparable``), ``better``,
        ``assessment``, ``cutpoint_version`` (the versions found, joined by `` | `` when they
        differ).
    """
    aggregates = _up_to(aggregates, last_wave)
    rows = _group_rows(aggregates, area=area, grade=grade, sex=sex, include=include, kinds=kinds)
    n_table_waves = len(_waves(rows))
    records = [
        {"measure": measure, "measure_kind": one["measure_kind"].iloc[0]}
        | _trend_of(one, n_table_waves=n_table_waves, min_n=min_n, cycle_years=cycle_years)
        for measure, one in rows.groupby("measure", sort=False)
    ]
    frame = (
        pd.DataFrame(records)
        .reindex(columns=_TREND_COLUMNS[3:])
        .assign(area=area, grade=grade, sex=sex)
    )
    tested = frame["trend"].eq("")
    p_holm = np.full(len(frame), np.nan)
    p_holm[tested.to_numpy()] = holm_adjust(frame.loc[tested, "p_value"].to_numpy(dtype=float))
    labels = label_change(
        frame["slope_low"].fillna(0.0), frame["slope_high"].fillna(0.0), p_holm, alpha=alpha
    )
    frame = frame.assign(p_holm=p_holm, trend=np.where(tested, labels, frame["trend"]))
    better = _better_column(frame, measures)
    return frame.assign(better=better, assessment=assess_change(frame["trend"], better))[
        _TREND_COLUMNS
    ]


_TREND_COLUMNS = [
    "area", "grade", "sex", "measure", "measure_kind", "first_wave", "last_wave", "n_waves",
    "slope", "slope_low", "slope_high", "odds_ratio", "or_low", "or_high", "p_value", "p_holm",
    "trend", "better", "assessment", "cutpoint_version",
]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Cohort view


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

    A cohort is identified by the year it started school: ``wave - year`` of its grade
    (``data_schema/respondents.yaml``). Only cohorts seen in at least two waves are kept. This is
    the same year group, not the same pupils (repeated cross-sections).

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Tidy aggregate table.
    area, sex : str
        The group (all grades are used).
    include, kinds, min_n
        As in :func:`change_table`.
    schema : RespondentSchema, optional
        Gives the grade years (default: ``data_schema/respondents.yaml``).
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
    schema = schema if schema is not None else load_respondent_schema()
    years = schema.grade_years
    aggregates = _up_to(aggregates, last_wave)
    _check_codes(aggregates, area=area, sex=sex)
    keep = aggregates["area"].eq(area) & aggregates["sex"].eq(sex)
    rows = aggregates.loc[keep & _measure_mask(aggregates, include=include, kinds=kinds)]
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
    columns = ["cohort", "start_year", "wave", "grade", "grade_year", "area", "sex", "measure",
               "measure_kind", "n", "pct", "ci_low", "ci_high", "suppressed", "cutpoint_version",
               "comparable"]  # fmt: skip
    first_seen = frame["start_year"].map(first["wave"])
    return (
        frame.assign(_first=first_seen, _year=frame["start_year"].map(first["grade"].map(years)))
        .sort_values(["_first", "_year", "measure", "wave"], kind="stable")
        .loc[:, columns]
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------------------------
