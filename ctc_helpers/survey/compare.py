"""Comparisons read from the aggregate table: an area against the city, a wave against a wave.

Both functions take the tidy table of :func:`~ctc_helpers.survey.profile.aggregate` (suppressed or
not), compare every measure of one group, and return one tidy row per measure with the
difference in proportions and its Newcombe interval, the two-proportion z-test, the p-value
after Holm's correction across the measures compared in the call, Cohen's h and a change code
(``increase``, ``decrease``, ``no_clear_change``; ``too_few`` when a group is suppressed or has
fewer than ``min_n`` respondents, with every number of that row blank).

Area against city
-----------------
The area's pupils are part of the city's, so the two samples are not independent and a test of
area against whole city would understate the uncertainty. The test therefore compares the area
with the **rest of the city** (city counts minus area counts): independent samples, and a
difference with the same sign as the difference to the whole city. ``pct_city`` still shows the
whole city, the figure readers know; ``diff`` is ``pct_area - pct_rest``, the tested quantity.
With weights the rest of the city is approximated from the published figures (flagged =
``pct * n_eff``, effective n of the rest = city minus area), since Kish effective sizes do not
subtract exactly.

Between waves
-------------
Waves are independent samples. Different cut-point versions make prevalences incomparable, so
:func:`compare_waves` refuses them with a :class:`~ctc_helpers.errors.ComparisonError`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctc_helpers.errors import ComparisonError
from ctc_helpers.stats.significance import compare_proportions, holm_adjust, label_change

__all__ = ["TOO_FEW", "compare_to_city", "compare_waves"]

TOO_FEW = "too_few"
"""Change code of a comparison that was not made (suppressed or too small group)."""

_STATISTICS = ["diff", "diff_low", "diff_high", "z", "p_value", "p_holm", "cohens_h"]


def _select(table: pd.DataFrame, **codes) -> pd.DataFrame:
    """Rows of one group, indexed by measure; a readable error when a code is absent."""
    rows = table
    for column, code in codes.items():
        if column not in table.columns:
            raise KeyError(f"The aggregate table has no column {column!r}.")
        if not (table[column] == code).any():
            known = ", ".join(map(str, sorted(table[column].unique(), key=str)))
            raise ValueError(f"The aggregate table has no {column} {code!r}; it has: {known}.")
        rows = rows[rows[column] == code]
    if rows["measure"].duplicated().any():
        raise ValueError(
            f"The aggregate table has several rows per measure for {codes}; pass one table per"
            " instrument and run."
        )
    return rows.set_index("measure")


def _usable(rows: pd.DataFrame, min_n: int) -> pd.Series:
    hidden = rows["suppressed"].ne(False) if "suppressed" in rows else rows["n"].isna()
    return ~hidden & (rows["n"] >= min_n) & rows["pct"].notna()


def _counts(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Flagged and size on the effective-n scale (unweighted: n_flagged and n)."""
    n_eff = rows["n_eff"].astype(float)
    return rows["pct"].astype(float) * n_eff, n_eff


def _tested(focus_x, focus_n, ref_x, ref_n, testable: pd.Series, confidence: float):
    """compare_proportions on the testable rows, Holm across them, change codes."""
    x1, n1, x2, n2 = (
        pd.Series(np.where(testable, v, np.nan), index=testable.index)
        for v in (focus_x, focus_n, ref_x, ref_n)
    )
    result = compare_proportions(x1, n1, x2, n2, confidence=confidence)
    result["p_holm"] = holm_adjust(result["p_value"].to_numpy())
    changes = label_change(result["diff_low"], result["diff_high"], result["p_holm"])
    result["change"] = np.where(testable, changes, TOO_FEW)
    return result


def _blank_too_few(frame: pd.DataFrame, numbers: list[str]) -> pd.DataFrame:
    too_few = frame["change"] == TOO_FEW
    return frame.assign(**{c: frame[c].astype(float).mask(too_few) for c in numbers})


def compare_to_city(
    table: pd.DataFrame,
    *,
    area: str,
    wave: int,
    grade: str = "all",
    sex: str = "all",
    min_n: int = 10,
    total: str = "all",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare one area with the rest of the city, measure by measure.

    Parameters
    ----------
    table : pandas.DataFrame
        Aggregate table (``profile.aggregate``, suppressed or not).
    area : str
        The area id.
    wave : int
        The survey year.
    grade, sex : str, default "all"
        The group compared (``all`` = total).
    min_n : int, default 10
        Smallest group (area, and rest of the city) that is compared.
    total : str, default "all"
        Code of the totals in the table (the city is ``area == total``).
    confidence : float, default 0.95
        Confidence level of the difference interval.

    Returns
    -------
    pandas.DataFrame
        One row per measure: ``wave``, ``area``, ``grade``, ``sex``, ``measure``,
        ``measure_kind``, ``pct_area``, ``n_area``, ``pct_city``, ``n_city`` (whole city),
        ``pct_rest``, ``n_rest`` (city without the area), ``diff`` (``pct_area - pct_rest``),
        ``diff_low``, ``diff_high`` (Newcombe), ``z``, ``p_value``, ``p_holm`` (Holm across the
        measures of this call), ``cohens_h``, ``change``, ``cutpoint_version``.

    Raises
    ------
    ValueError
        If the wave, area or group is not in the table, or ``area`` is the city total.
    """
    if area == total:
        raise ValueError(f"area must be one area of the city, not the total code {total!r}.")
    local = _select(table, wave=wave, area=area, grade=grade, sex=sex)
    city = _select(table, wave=wave, area=total, grade=grade, sex=sex).reindex(local.index)
    x_area, n_area = _counts(local)
    x_city, n_city = _counts(city)
    n_rest = n_city - n_area
    x_rest = (x_city - x_area).clip(lower=0.0).clip(upper=n_rest)
    testable = (
        _usable(local, min_n)
        & _usable(city, min_n)
        & (city["n"] - local["n"] >= min_n)
        & (n_rest > 0)
    )
    result = _tested(x_area, n_area, x_rest, n_rest, testable, confidence)
    frame = pd.DataFrame(
        {
            "wave": wave,
            "area": area,
            "grade": grade,
            "sex": sex,
            "measure": local.index,
            "measure_kind": local["measure_kind"].to_numpy(),
            "pct_area": local["pct"].to_numpy(),
            "n_area": local["n"].to_numpy(),
            "pct_city": city["pct"].to_numpy(),
            "n_city": city["n"].to_numpy(),
            "pct_rest": (x_rest / n_rest).to_numpy(),
            "n_rest": (city["n"] - local["n"]).to_numpy(),
            **{c: result[c].to_numpy() for c in [*_STATISTICS, "change"]},
            "cutpoint_version": local["cutpoint_version"].to_numpy(),
        }
    )
    numbers = ["pct_area", "n_area", "pct_city", "n_city", "pct_rest", "n_rest", *_STATISTICS]
    return _blank_too_few(frame, numbers)


def _check_versions(now: pd.Series, before: pd.Series, *, wave: int, previous_wave: int) -> None:
    both = now.notna() & before.notna() & (now != "") & (before != "")
    differ = both & (now != before)
    if differ.any():
        measure = differ.idxmax()
        others = int(differ.sum()) - 1
        more = f" (and {others} more measures)" if others else ""
        raise ComparisonError(
            f"The cut points of {measure!r}{more} differ between {previous_wave}"
            f" (version {before[measure]!r}) and {wave} (version {now[measure]!r}), so the"
            " prevalences are not comparable. Score both waves with the same cut points:"
            " freeze them with save_cutpoints and reuse them with load_cutpoints, or derive"
            " them once from one reference for both waves."
        )


def compare_waves(
    table: pd.DataFrame,
    *,
    wave: int,
    previous_wave: int,
    area: str = "all",
    grade: str = "all",
    sex: str = "all",
    min_n: int = 10,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Compare one group between two waves, measure by measure.

    Parameters
    ----------
    table : pandas.DataFrame
        Aggregate table holding both waves (``profile.aggregate``, suppressed or not).
    wave, previous_wave : int
        The later and the earlier survey year; a positive ``diff`` is an increase.
    area, grade, sex : str, default "all"
        The group compared (``all`` = total; ``area="all"`` is the city).
    min_n : int, default 10
        Smallest group that is compared.
    confidence : float, default 0.95
        Confidence level of the difference interval.

    Returns
    -------
    pandas.DataFrame
        One row per measure present in either wave: ``wave``, ``previous_wave``, ``area``,
        ``grade``, ``sex``, ``measure``, ``measure_kind``, ``pct``, ``n``, ``pct_previous``,
        ``n_previous``, ``diff`` (``pct - pct_previous``), ``diff_low``, ``diff_high``
        (Newcombe), ``z``, ``p_value``, ``p_holm`` (Holm across the measures of this call),
        ``cohens_h``, ``change``, ``cutpoint_version``.

    Raises
    ------
    ComparisonError
        If a measure's cut-point version differs between the waves.
    ValueError
        If a wave or group is not in the table.
    """
    now = _select(table, wave=wave, area=area, grade=grade, sex=sex)
    before = _select(table, wave=previous_wave, area=area, grade=grade, sex=sex)
    measures = now.index.union(before.index, sort=False)
    now, before = now.reindex(measures), before.reindex(measures)
    _check_versions(
        now["cutpoint_version"], before["cutpoint_version"], wave=wave, previous_wave=previous_wave
    )
    x_now, n_now = _counts(now)
    x_before, n_before = _counts(before)
    testable = _usable(now, min_n) & _usable(before, min_n)
    result = _tested(x_now, n_now, x_before, n_before, testable, confidence)
    frame = pd.DataFrame(
        {
            "wave": wave,
            "previous_wave": previous_wave,
            "area": area,
            "grade": grade,
            "sex": sex,
            "measure": measures,
            "measure_kind": now["measure_kind"].fillna(before["measure_kind"]).to_numpy(),
            "pct": now["pct"].to_numpy(),
            "n": now["n"].to_numpy(),
            "pct_previous": before["pct"].to_numpy(),
            "n_previous": before["n"].to_numpy(),
            **{c: result[c].to_numpy() for c in [*_STATISTICS, "change"]},
            "cutpoint_version": now["cutpoint_version"]
            .fillna(before["cutpoint_version"])
            .to_numpy(),
        }
    )
    return _blank_too_few(frame, ["pct", "n", "pct_previous", "n_previous", *_STATISTICS])
